"""The page write as the crawl uses it, on SQLite and on PostgreSQL: a page handed over by
the reply parser (ids already converted) is stored exactly like the same users given as
plain objects, in either direction; and a SQLite write transaction holds the write lock
from its first statement, so a read-then-write transaction never loses another one's
update."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from botsweep.config import DatabaseSettings
from botsweep.crawler.replies import ENDPOINTS, parse_reply
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.pages import (
    absorb_discovered,
    pending_discovered_ids,
    write_follow_page,
    write_profiles,
)
from botsweep.storage.schema import accounts, follows, frontier, meta

BIG = 2**63 - 1
# A full page of 1,000 users, out of order, with 19-digit ids and duplicates (the API can
# repeat an id across a page boundary): 611 distinct ids, more than two 250-row inserts.
IDS = [BIG, 5, *[(i * 7_919_000_003_331) % (2**63 - 3) + 2 for i in range(600)], BIG - 1,
       *[17 + 3 * i for i in range(8)]]
IDS = [IDS[(i * 389) % len(IDS)] for i in range(1000)]


def _reply(ids: list[int], direction: str, owner: int) -> Any:
    body = json.dumps({"data": [{"id": str(i), "username": f"u{i % 1000}"} for i in ids],
                       "meta": {"result_count": len(ids), "next_token": "tok2"}})
    return parse_reply(200, {}, body.encode(), endpoint=ENDPOINTS[direction], token_key="K",
                       now=1_700_000_000.0, max_items=1000, account_id=owner).items


def _task(db: Database, owner: int, kind: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(frontier.c.id).where(
            frontier.c.account_id == owner, frontier.c.kind == kind)).scalar_one())


def _stored(db: Database, owner: int, kind: str) -> tuple[Any, ...]:
    with db.connect() as conn:
        column = follows.c.followee_id if kind == "followers" else follows.c.follower_id
        other = follows.c.follower_id if kind == "followers" else follows.c.followee_id
        edges = sorted(conn.execute(select(other, follows.c.first_seen)
                                    .where(column == owner)).all())
        task = conn.execute(select(frontier.c.cursor, frontier.c.state, frontier.c["items"],
                                   frontier.c.pages)
                            .where(frontier.c.id == _task(db, owner, kind))).one()
    return tuple(edges), tuple(task)


@pytest.mark.parametrize("kind", ["followers", "following"])
def test_a_parsed_reply_is_stored_like_the_same_users_as_plain_objects(
    db: Database, kind: str
) -> None:
    parsed_owner, plain_owner = 900, 901
    add_seeds(db, [AccountRef(id=parsed_owner), AccountRef(id=plain_owner)], now=1.0)
    parsed = _reply(IDS, kind, parsed_owner)
    assert [u["id"] for u in parsed] == [str(i) for i in IDS]  # it still reads as a list
    results = []
    for owner, items in ((parsed_owner, parsed),
                         (plain_owner, [{"id": str(i)} for i in IDS])):
        with db.begin() as conn:
            results.append(write_follow_page(
                conn, db, task_id=_task(db, owner, kind), account_id=owner, direction=kind,
                items=items, next_cursor="tok2", fetched_at=50.0, max_list_size=1000))
    unique = sorted(set(IDS))
    assert results[0] == results[1] == {"ids": unique, "done": False, "truncated": False,
                                        "held": True}
    edges, task = _stored(db, parsed_owner, kind)
    assert edges == tuple((i, 50.0) for i in unique)
    assert task == ("tok2", "pending", len(unique), 1)
    assert _stored(db, plain_owner, kind) == (edges, task)
    with db.connect() as conn:
        assert pending_discovered_ids(conn) == set(unique)
    with db.begin() as conn:
        absorb_discovered(conn, db)
    with db.connect() as conn:
        links = dict(conn.execute(select(accounts.c.id, accounts.c.bot_links)
                                  .where(accounts.c.id.in_(unique))).all())
    assert links == {i: 2 for i in unique}  # found on both owners' lists, once each


def _counter(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(meta.c.value).where(meta.c.key == "n")).scalar_one())


def _increment(db: Database, read: threading.Event | None = None, hold_s: float = 0.0) -> None:
    with db.begin() as conn:
        value = int(conn.execute(select(meta.c.value).where(meta.c.key == "n")).scalar_one())
        if read is not None:
            read.set()
        time.sleep(hold_s)
        conn.execute(meta.update().where(meta.c.key == "n").values(value=str(value + 1)))


def test_a_read_then_write_transaction_loses_no_concurrent_update(sqlite_db: Database) -> None:
    # The novelty counts and bot links are read, added to and written back: the second
    # writer must wait for the first one's commit, not overwrite it with a stale sum.
    with sqlite_db.begin() as conn:
        conn.execute(meta.insert().values(key="n", value="0"))
    read = threading.Event()
    first = threading.Thread(target=_increment, args=(sqlite_db, read, 0.3))
    first.start()
    assert read.wait(10)
    _increment(sqlite_db)
    first.join(10)
    assert _counter(sqlite_db) == 2


def test_with_echo_on_a_sqlite_page_is_stored_the_same(tmp_path: Path) -> None:
    # echo logs every statement, so that page write goes through SQLAlchemy, not the cursor.
    echoing = Database(DatabaseSettings(url=f"sqlite:///{tmp_path / 'echo.db'}", echo=True))
    plain = Database(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        for db in (echoing, plain):
            add_seeds(db, [AccountRef(id=900)], now=1.0)
            for kind in ("followers", "following"):
                with db.begin() as conn:
                    write_follow_page(conn, db, task_id=_task(db, 900, kind), account_id=900,
                                      direction=kind, items=_reply(IDS, kind, 900),
                                      next_cursor=None, fetched_at=50.0, max_list_size=1000)
        for kind in ("followers", "following"):
            stored = _stored(echoing, 900, kind)
            assert stored == _stored(plain, 900, kind)
            assert len(stored[0]) == len(set(IDS)) and stored[1] == (None, "done", 611, 1)
    finally:
        echoing.dispose()
        plain.dispose()


@pytest.mark.postgres
def test_a_page_read_after_the_lease_was_lost_keeps_its_edges_and_nothing_else(
        pg_url: str) -> None:
    """Worker A stalls past its lease; B takes the list over.  A's page used to be counted
    as discovered too (inflating bot_links and the novelty counts), and A could then release
    or close B's task.  Now A keeps the page's edges only, and leaves B's task alone."""
    from botsweep.crawler.frontier import Frontier

    db = Database(pg_url)
    add_seeds(db, [AccountRef(id=7)], label="bot")
    with db.begin() as conn:  # lists are read once their owner is profiled
        write_profiles(conn, db, [{"id": "7", "username": "seven"}], 1.0)
    a, b = Frontier(db, "A", lease_s=10), Frontier(db, "B", lease_s=10)
    (task,) = a.claim(["followers"], now=time.time())
    (taken,) = b.claim(["followers"], now=time.time() + 60)  # A's lease has lapsed
    assert taken.id == task.id
    ids = [101, 102, 103]
    with db.begin() as conn:
        result = write_follow_page(
            conn, db, task_id=task.id, account_id=7, direction="followers",
            items=[{"id": str(i)} for i in ids], next_cursor="next", fetched_at=1.0,
            max_list_size=10_000, lease_owner="A")
    assert result["held"] is False and result["done"] is False
    edges, (cursor, state, items, pages) = _stored(db, 7, "followers")
    assert [edge[0] for edge in edges] == ids  # the edges are facts, kept
    assert (cursor, state, items, pages) == (None, "leased", 0, 0)  # B's, untouched
    with db.connect() as conn:
        assert pending_discovered_ids(conn) == set()  # B counts them when it reads the page
    a.release(task)
    # its last attempt, but the task is B's now: A does not give it up (nor counts it failed)
    assert a.retry_later(task, "timeout", not_before=0.0, max_attempts=1)
    a.finish(task, "failed", "A's view")
    with db.connect() as conn:
        row = conn.execute(select(frontier.c.state, frontier.c.lease_owner, frontier.c.attempts)
                           .where(frontier.c.id == task.id)).one()
    assert tuple(row) == ("leased", "B", 0)
    with db.begin() as conn:  # B, the holder, reads the same page: now it counts
        result = write_follow_page(
            conn, db, task_id=task.id, account_id=7, direction="followers",
            items=[{"id": str(i)} for i in ids], next_cursor=None, fetched_at=2.0,
            max_list_size=10_000, lease_owner="B")
        assert result["held"] and result["done"]
        assert pending_discovered_ids(conn) == set(ids)
    db.dispose()
