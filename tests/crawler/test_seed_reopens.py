"""Seeding an account that an earlier crawl chose not to expand gets its lists read.

A researcher who seeds an account has said it is a bot, whatever the crawl made of it
before: lists skipped by the policy's choice (a likely human's list too long to read) are
reopened.  Lists that cannot be read (protected, gone, empty, or skipped part-way) stay
skipped, so seeding never costs a wasted request."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.policy import make_policy
from botsweep.seeding import SEED_PRIORITY, AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, follows, frontier
from tests.crawler.fakes import FakeSource, FakeWorld, NameScorer

HUB, TIED = 1, 200


def tied_world() -> FakeWorld:
    """A hub following ten leaves, and a human (TIED) who follows four of them and has an
    audience of 30 humans: tied to bots, but scored human."""
    names = {HUB: "bothub", TIED: "tiedhuman"}
    edges: set[tuple[int, int]] = set()
    for leaf in range(2, 12):
        names[leaf] = f"botleaf{leaf}"
        edges.add((HUB, leaf))
    for leaf in range(2, 6):
        edges.add((TIED, leaf))
    for human in range(100, 130):
        names[human] = f"human{human}"
        edges.add((human, TIED))
    return FakeWorld.build(names, edges)


def _crawl(db: Database, world: FakeWorld, clock: FakeClock) -> None:
    policy = make_policy("smart", skip_human_lists_over=3)
    scoring = ScoringContext(policy=policy, bot=NameScorer(), threshold=0.5)
    CrawlEngine(db, FakeSource(world, clock), Settings(), scoring, clock=clock,
                worker_id="w1").run()


def _lists(db: Database, account: int) -> dict[str, tuple[str, str | None]]:
    with db.connect() as conn:
        return {kind: (state, why) for kind, state, why in conn.execute(
            select(frontier.c.kind, frontier.c.state, frontier.c.last_error)
            .where(frontier.c.account_id == account))}


@pytest.mark.parametrize("ref", [AccountRef(id=TIED), AccountRef(handle="TiedHuman")],
                         ids=["id", "handle"])
def test_a_seeded_account_the_crawl_skipped_as_too_costly_is_expanded(
        tmp_path: Path, ref: AccountRef) -> None:
    clock = FakeClock()
    world = tied_world()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    _crawl(db, world, clock)
    before = _lists(db, TIED)
    assert {state for state, _ in before.values()} == {"skipped"}, before
    assert all("too costly" in (why or "") for _, why in before.values()), before

    assert add_seeds(db, [ref], label="bot", now=clock.now()) == 1
    if ref.id is not None:  # a handle is resolved by the crawl first
        assert {state for state, _ in _lists(db, TIED).values()} == {"pending"}
    _crawl(db, world, clock)
    assert {state for state, _ in _lists(db, TIED).values()} == {"done"}
    with db.connect() as conn:
        audience = set(conn.execute(select(follows.c.follower_id)
                                    .where(follows.c.followee_id == TIED)).scalars())
    assert audience == set(range(100, 130))
    db.dispose()


def test_lists_that_cannot_be_read_stay_skipped(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'q.db'}")
    costly = "likely human with 9000 followers: too costly to read"
    rows = [  # (account, state, followers, following, list, why, cursor)
        (1, "active", 9000, 40, "followers", costly, None),
        (1, "active", 9000, 40, "following", "likely human", None),
        (2, "protected", 50, 50, "followers", "protected: lists cannot be read", None),
        (3, "suspended", 50, 50, "following", "account suspended", None),
        (4, "active", 50, 0, "following", "empty list (count 0)", None),
        (5, "active", 9000, 40, "followers", "account suspended", "CURSOR1"),
    ]
    with db.begin() as conn:
        for aid, state, followers, following, *_ in rows:
            conn.execute(accounts.insert().prefix_with("OR IGNORE").values(
                id=aid, first_seen=1.0, state=state, followers_count=followers,
                following_count=following))
        conn.execute(frontier.insert(), [
            {"kind": kind, "account_id": aid, "state": "skipped", "priority": 3.0,
             "last_error": why, "cursor": cursor, "enqueued_at": 1.0, "done_at": 1.0}
            for aid, _, _, _, kind, why, cursor in rows])
    assert add_seeds(db, [AccountRef(id=i) for i in range(1, 6)], now=2.0) == 5
    with db.connect() as conn:
        got = {(aid, kind): (state, priority) for aid, kind, state, priority in conn.execute(
            select(frontier.c.account_id, frontier.c.kind, frontier.c.state,
                   frontier.c.priority))}
    assert got[(1, "followers")] == ("pending", SEED_PRIORITY)
    assert got[(1, "following")] == ("pending", SEED_PRIORITY)
    for unreadable in [(2, "followers"), (3, "following"), (4, "following"), (5, "followers")]:
        assert got[unreadable][0] == "skipped", unreadable
    # the other list of each account was new, and is queued as any seed's
    assert got[(4, "followers")] == ("pending", SEED_PRIORITY)
    db.dispose()
