"""A small crawled-looking database, written through the storage layer as a crawl writes it.

Two seeds (a bot hub and a 19-digit id), profiles for most accounts, two follow pages, a
stub that was discovered but never profiled, a suspended account, and bot scores.  The
names hold what crawled text can hold: markup, quotes, commas, a newline, an emoji and a
control character.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.pages import mark_accounts, write_follow_page, write_profiles
from botsweep.storage.schema import frontier, scores

__all__ = ["HUB", "BIG", "LEAVES", "STUB", "GONE", "NAMES", "PROBABILITY", "EDGES",
           "build_crawl", "task_id"]

HUB = 1001                      # seed: a bot hub whose followers and following are read
BIG = 2**63 - 25                # seed with a 19-digit id (JavaScript would round it)
LEAVES = [2001, 2002, 2003]     # follow the hub (followers page of HUB)
STUB = 3001                     # HUB follows it; discovered, never profiled
GONE = 2003                     # later found suspended
NAMES = {
    HUB: 'Hub <script>alert("x")</script> & co',
    BIG: "Big, \"quoted\"\nname 🤖",
    2001: "=HYPERLINK(\"http://evil\")",
    2002: "ctrl\x01char",
    2003: "plain",
}
PROBABILITY = {HUB: 0.91, 2001: 0.85, 2002: 0.12, BIG: 0.5}
# follower -> followee
EDGES = {(leaf, HUB) for leaf in LEAVES} | {(HUB, STUB), (2001, BIG)}
FETCHED_AT = 1_700_000_000.0


def _user(account_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(account_id), "username": f"user{account_id % 100000}", "name": name,
        "description": "see https://t.co/x", "created_at": "2012-05-01T00:00:00.000Z",
        "protected": False, "verified": False,
        "public_metrics": {"followers_count": 3, "following_count": 1, "tweet_count": 40,
                           "listed_count": 0, "like_count": 2},
    }


def task_id(db: Database, kind: str, account_id: int) -> int:
    """The frontier task id of ``kind`` for ``account_id``."""
    with db.connect() as conn:
        return int(conn.execute(
            select(frontier.c.id).where(frontier.c.kind == kind,
                                        frontier.c.account_id == account_id)
        ).scalar_one())


def build_crawl(db: Database) -> None:
    """Write the crawl described in the module docstring into ``db``."""
    add_seeds(db, [AccountRef(id=HUB), AccountRef(id=BIG)], label="bot", campaign="pron",
              now=FETCHED_AT)
    with db.begin() as conn:
        write_follow_page(
            conn, db, task_id=task_id(db, "followers", HUB), account_id=HUB,
            direction="followers", items=[{"id": str(i)} for i in LEAVES], next_cursor=None,
            fetched_at=FETCHED_AT, max_list_size=1000,
        )
        write_follow_page(
            conn, db, task_id=task_id(db, "following", HUB), account_id=HUB,
            direction="following", items=[{"id": str(STUB)}], next_cursor=None,
            fetched_at=FETCHED_AT, max_list_size=1000,
        )
        # BIG's followers list is read only partly (one page, more to come).
        write_follow_page(
            conn, db, task_id=task_id(db, "followers", BIG), account_id=BIG,
            direction="followers", items=[{"id": "2001"}], next_cursor="next-page",
            fetched_at=FETCHED_AT, max_list_size=1000,
        )
    with db.begin() as conn:
        write_profiles(conn, db, [_user(i, n) for i, n in NAMES.items()], FETCHED_AT + 1)
        mark_accounts(conn, {GONE: "suspended"}, FETCHED_AT + 2)
        conn.execute(scores.insert(), [
            {"account_id": i, "scorer": "bot", "model_version": "test-model-1",
             "probability": p, "profile_fetched_at": FETCHED_AT + 1, "scored_at": FETCHED_AT}
            for i, p in PROBABILITY.items()
        ])
