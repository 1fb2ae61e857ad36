"""One account whose profile always breaks the reply must not take its batch down with it.

A lookup asks for up to 100 profiles at once, and the parser refuses a whole reply when any
user object in it has a field of the wrong type.  If the same 100 ids were asked for again
on every retry, one such account would leave 99 others unprofiled (never scored, never
expanded) for good, and the crawl would still say "failed tasks 0".  Wanted: every other
account is profiled, and the one that cannot be is counted as failed and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.policy import make_policy
from botsweep.crawler.replies import Page
from botsweep.errors import Transient
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts
from tests.crawler.fakes import FakeSource, FakeWorld, NameScorer

HUB, POISON = 1, 57


@dataclass
class PoisonedSource(FakeSource):
    """Any lookup that includes POISON gets a malformed reply, as XSource would raise."""

    def lookup_users(self, ids: Sequence[int], *, token_key: str) -> Page:
        if POISON in ids:
            self._rate(token_key, "/2/users")
            self.calls.append(("users", tuple(ids), None))
            raise Transient(f"/2/users: malformed reply (user {POISON}: field name is not a "
                            "string)", kind="malformed")
        return super().lookup_users(ids, token_key=token_key)


def test_one_bad_profile_does_not_lose_its_batch(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    names = {HUB: "bothub"} | {i: f"human{i}" for i in range(2, 150)}
    world = FakeWorld.build(names, {(HUB, i) for i in range(2, 150)})
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'poison.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    source = PoisonedSource(world, clock)
    scoring = ScoringContext(policy=make_policy("bfs"), bot=NameScorer(), threshold=0.5)
    engine = CrawlEngine(db, source, Settings(), scoring, clock=clock, worker_id="w1")
    with caplog.at_level(logging.WARNING, logger="botsweep"):
        stats = engine.run(until_idle=True)
    assert stats.outcome == "idle"
    with db.connect() as conn:
        unprofiled = sorted(conn.execute(select(accounts.c.id).where(
            accounts.c.fetched_at.is_(None), accounts.c.state.is_(None))).scalars())
    assert unprofiled == [POISON]
    assert stats.failed_tasks == 1
    assert any(str(POISON) in r.getMessage() for r in caplog.records), caplog.text
    lookups = [c for c in source.calls if c[0] == "users"]
    assert len(lookups) < 40  # a bounded number of extra, smaller lookups


@dataclass
class PoisonedHandleSource(FakeSource):
    """Any handle lookup that includes @broken gets a malformed reply."""

    def lookup_usernames(self, names: Sequence[str], *, token_key: str) -> Page:
        if "broken" in names:
            self._rate(token_key, "/2/users/by")
            self.calls.append(("users_by", tuple(names), None))
            raise Transient("/2/users/by: malformed reply", kind="malformed")
        return super().lookup_usernames(names, token_key=token_key)


def test_one_bad_handle_does_not_sink_the_other_seeds(tmp_path: Path) -> None:
    names = {i: f"human{i}" for i in range(2, 40)} | {1: "broken"}
    world = FakeWorld.build(names, set())
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'handles.db'}")
    add_seeds(db, [AccountRef(handle=n) for n in sorted(names.values())], label="human",
              now=clock.now())
    scoring = ScoringContext(policy=make_policy("bfs"), bot=NameScorer(), threshold=0.5)
    engine = CrawlEngine(db, PoisonedHandleSource(world, clock), Settings(), scoring,
                         clock=clock, worker_id="w1")
    stats = engine.run(until_idle=True)
    with db.connect() as conn:
        profiled = set(conn.execute(select(accounts.c.username).where(
            accounts.c.fetched_at.is_not(None))).scalars())
    assert profiled == set(names.values()) - {"broken"}
    assert stats.failed_tasks == 1
