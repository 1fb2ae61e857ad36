"""The smart policy's bot yield: kinds of list whose new ids scored as bots go first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from botsweep.crawler.bot_yield import (
    finish_rerank,
    read_bot_yield,
    rerank_pending,
    update_bot_yield,
)
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.policy import Candidate, SmartPolicy
from botsweep.errors import StorageError
from botsweep.storage.db import Database
from botsweep.storage.pages import absorb_discovered, pack_ids
from botsweep.storage.schema import accounts, discovered, frontier, scores


class _Model:
    version = "fixed"
    threshold = 0.5


def _best(policy: SmartPolicy, candidate: Candidate) -> float:
    return max(d.priority for d in policy.decide(candidate, 0.5) if d.skip is None)


def test_a_list_kind_that_yielded_bots_beats_a_bigger_one_that_yielded_humans() -> None:
    policy = SmartPolicy()
    audience = Candidate(1, followers_count=900, following_count=800, target_probability=0.95)
    hub = Candidate(2, followers_count=0, following_count=100, target_probability=0.95)
    # No yield known: the bigger first (an unscored kind's size counts up to 128 ids).
    assert _best(policy, audience) > _best(policy, hub)
    policy.bot_yield[policy.yield_key(audience, "followers", 0.5)] = (10.0, 900.0)
    policy.bot_yield[policy.yield_key(audience, "following", 0.5)] = (5.0, 800.0)
    policy.bot_yield[policy.yield_key(hub, "following", 0.5)] = (95.0, 100.0)
    assert _best(policy, hub) > 2 * _best(policy, audience)


def test_hub_shaped_and_audience_shaped_owners_are_counted_apart() -> None:
    policy = SmartPolicy()
    hub = Candidate(1, followers_count=1, following_count=150, target_probability=0.95)
    even = Candidate(2, followers_count=140, following_count=150, target_probability=0.95)
    assert (policy.yield_key(hub, "following", 0.5)
            != policy.yield_key(even, "following", 0.5))


def test_scored_ids_are_counted_against_the_list_that_brought_them(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'y.db'}")
    policy = SmartPolicy()
    ctx = ScoringContext(policy=policy, bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
    hub, celeb, queued = 7, 8, 9
    leaves, fans = list(range(100, 140)), list(range(200, 240))
    with db.begin() as conn:
        conn.execute(insert(accounts), [
            {"id": hub, "first_seen": 0.0, "followers_count": 0, "following_count": 40,
             "fetched_at": 0.0},
            {"id": celeb, "first_seen": 0.0, "followers_count": 40, "following_count": 1,
             "fetched_at": 0.0},
            {"id": queued, "first_seen": 0.0, "followers_count": 0, "following_count": 40,
             "fetched_at": 0.0},
        ])
        conn.execute(insert(scores), [
            {"account_id": aid, "scorer": "bot", "model_version": "fixed", "probability": 0.95,
             "scored_at": 0.0} for aid in (hub, celeb, queued)])
        conn.execute(insert(frontier), [
            {"kind": "following", "account_id": queued, "priority": 1.0, "enqueued_at": 0.0}])
        conn.execute(insert(discovered), [
            {"via_id": hub, "direction": "following", "ids": pack_ids(leaves),
             "first_seen": 1.0},
            {"via_id": celeb, "direction": "followers", "ids": pack_ids(fans),
             "first_seen": 1.0},
        ])
        absorb_discovered(conn, db)
        pending = accounts.c.yield_pending
        sources = {row.id: (row.found_via, row.found_direction) for row in conn.execute(
            select(accounts.c.id, accounts.c.found_via, accounts.c.found_direction)
            .where(pending))}
        assert sources[100] == (hub, "following")
        assert len(sources) == 80
        scored = {**dict.fromkeys(leaves, 0.9), **dict.fromkeys(fans, 0.1)}
        update_bot_yield(conn, db, ctx, scored)
        counts = read_bot_yield(conn)
        left = conn.execute(select(accounts.c.id).where(pending)).all()
        update_bot_yield(conn, db, ctx, scored)  # scored again: nothing is counted twice
        assert read_bot_yield(conn) == counts
        ranked_with: dict[str, float] = {}
        assert rerank_pending(conn, ctx, ranked_with)
        # not in the scoring transaction: ranking a big queue would hold the write lock
        assert conn.execute(select(frontier.c.priority)).scalar_one() == 1.0
    assert finish_rerank(db, ctx, threading.Event()) == 1
    with db.connect() as conn:
        priority = conn.execute(select(frontier.c.priority)).scalar_one()
    hub_c = Candidate(hub, 0, 40, 0.95)
    celeb_c = Candidate(celeb, 40, 1, 0.95)
    assert counts[policy.yield_key(hub_c, "following", 0.5)] == (40.0, 40.0)
    assert counts[policy.yield_key(celeb_c, "followers", 0.5)] == (0.0, 40.0)
    assert left == []  # sources are dropped once counted
    # the queued hub-shaped list now ranks with its kind's yield of ~1, not the prior of 0.5
    assert priority > 1.5 * 40 ** policy.size_power * 0.5
    db.dispose()


def test_bfs_crawls_clear_the_pending_marks_too(tmp_path: Path) -> None:
    from botsweep.crawler.policy import BfsPolicy

    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    ctx = ScoringContext(policy=BfsPolicy(), bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
    with db.begin() as conn:
        conn.execute(insert(discovered).values(
            via_id=7, direction="followers", ids=pack_ids([100, 101]), first_seen=1.0))
        absorb_discovered(conn, db)
        assert conn.execute(select(accounts.c.id).where(accounts.c.yield_pending)).all() == [
            (100,), (101,)]
        update_bot_yield(conn, db, ctx, {100: 0.9, 101: 0.1})
        left = conn.execute(select(accounts.c.id).where(accounts.c.yield_pending)).all()
    assert left == []
    db.dispose()


def test_the_queue_is_ranked_a_chunk_of_owners_per_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue of 38,000 lists took ~5 s to rank, all inside a page's transaction: the
    write lock was held that long, and heartbeats and `seed` timed out behind it."""
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    policy = SmartPolicy()
    ctx = ScoringContext(policy=policy, bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
    owners = [11, 12, 13]
    with db.begin() as conn:
        conn.execute(insert(accounts), [
            {"id": aid, "first_seen": 0.0, "followers_count": 0, "following_count": 40,
             "fetched_at": 0.0} for aid in owners])
        conn.execute(insert(scores), [
            {"account_id": aid, "scorer": "bot", "model_version": "fixed", "probability": 0.95,
             "scored_at": 0.0} for aid in owners])
        conn.execute(insert(frontier), [
            {"kind": "following", "account_id": aid, "priority": 1.0, "enqueued_at": 0.0}
            for aid in owners])
    monkeypatch.setattr("botsweep.crawler.bot_yield._RANK_OWNERS", 2)
    begun = []
    real_begin = db.begin
    monkeypatch.setattr(db, "begin", lambda *a, **k: begun.append(1) or real_begin(*a, **k))

    assert finish_rerank(db, ctx, threading.Event()) == 0  # nothing due: nothing done
    ctx.rerank_due, ctx.ranked_with = True, {"some": 0.5}
    stop = threading.Event()
    stop.set()  # a daemon stopping: the rest waits, and the next page ranks it all
    assert finish_rerank(db, ctx, stop) == 0 and ctx.ranked_with == {} and not begun
    ctx.rerank_due = True
    assert finish_rerank(db, ctx, threading.Event()) == 3
    assert len(begun) == 2  # owners 11-12, then 13
    assert not ctx.rerank_due
    # an error part-way (a locked database): the next scored page ranks the queue again
    ctx.rerank_due, ctx.ranked_with = True, {"some": 0.5}
    monkeypatch.setattr(db, "begin", lambda *a, **k: (_ for _ in ()).throw(
        StorageError("the database is locked")))
    with pytest.raises(StorageError):
        finish_rerank(db, ctx, threading.Event())
    assert ctx.ranked_with == {} and not ctx.rerank_due
    with db.connect() as conn:
        assert {p for (p,) in conn.execute(select(frontier.c.priority))} != {1.0}
    db.dispose()
