"""The crawl when the API cannot be reached, or answers every request with a 5xx: no task's
attempts are used up, the crawl backs off and then stops with one clear error, and it picks
up again once the API answers.

A fake Source on a fake clock (no network, no real sleeping); the same thing against the
real sim over loopback is in tests/reliability/test_unreachable.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.policy import make_policy
from botsweep.errors import ApiUnreachable, Transient, Unreachable
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, runs
from tests.crawler.fakes import FakeSource, NameScorer
from tests.crawler.test_engine import CELEB, HUB, flower_world, stored_edges

BASE = "http://api.example.test:8787"


def refused(sent: bool = False) -> Unreachable:
    if sent:
        return Unreachable(f"/2/users: {BASE}: the connection was reset before a reply",
                           kind="reset", sent=True,
                           reason="the connection was reset before a reply")
    return Unreachable(f"/2/users: cannot connect to {BASE}: connection refused",
                       reason="connection refused")


def server_error() -> Transient:
    return Transient("/2/users: server error 503: Service Unavailable", kind="5xx",
                     reason="server error 503: Service Unavailable")


def timed_out() -> Transient:
    return Transient(f"/2/users: no reply from {BASE} within 5 s", kind="timeout",
                     reason="no reply within 5 s")


class Outage:
    """Wraps a FakeSource: while ``down`` is set (or for the next ``down_for`` calls), every
    call fails with ``fail()`` before reaching it."""

    base_url = BASE

    def __init__(self, inner: FakeSource, fail: Callable[[], Exception] = refused) -> None:
        self.inner = inner
        self.token_keys = inner.token_keys
        self.fail = fail
        self.down = False
        self.down_for = 0
        self.failed = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        call = getattr(self.inner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.down or self.down_for > 0:
                self.down_for -= 1
                self.failed += 1
                raise self.fail()
            return call(*args, **kwargs)

        return wrapped


def engine_for(db: Database, source: Any, clock: FakeClock, **api: Any) -> CrawlEngine:
    settings = Settings.model_validate({"api": api, "crawler": {"policy": "bfs"}})
    scoring = ScoringContext(policy=make_policy("bfs"), bot=NameScorer(), threshold=0.5)
    return CrawlEngine(db, source, settings, scoring, clock=clock, worker_id="w1")


def tasks(db: Database) -> dict[tuple[str, int], tuple[str, int, str | None]]:
    with db.connect() as conn:
        return {(r.kind, r.account_id): (r.state, r.attempts, r.cursor) for r in conn.execute(
            select(frontier.c.kind, frontier.c.account_id, frontier.c.state,
                   frontier.c.attempts, frontier.c.cursor))}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Database, Outage, FakeClock]:
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    return db, Outage(FakeSource(flower_world(), clock)), clock


def test_an_outage_uses_no_attempts_and_stops_the_crawl_with_one_error(
    setup: tuple[Database, Outage, FakeClock], tmp_path: Path,
) -> None:
    db, source, clock = setup
    engine_for(db, source, clock).run(max_requests=1)  # the hub's profile and one list
    before = tasks(db)
    assert any(state == "pending" for state, _, _ in before.values())

    source.down = True
    engine = engine_for(db, source, clock)
    with pytest.raises(ApiUnreachable) as info:
        engine.run()
    message = str(info.value)
    assert message.startswith(f"cannot reach the API at {BASE}: 5 requests in a row got "
                              "no reply (connection refused)")
    assert "\n" not in message and info.value.exit_code == 1
    assert source.failed == 5
    # Every task is as it was: pending, no attempt used, its lease given back.
    assert tasks(db) == before
    with db.connect() as conn:
        assert conn.execute(select(accounts.c.lookup_attempts)
                            .where(accounts.c.lookup_attempts > 0)).first() is None
        assert conn.execute(select(runs.c.outcome).order_by(runs.c.id.desc())).scalar() == (
            "unreachable")
    # It backed off between the tries (1 s base, doubling), never a hot loop.
    waits = [s for s in clock.sleeps if s > 0.01]
    assert len(waits) >= 4 and sum(waits) >= 0.5 + 1 + 2 + 4
    # No rate-limit budget was spent on requests that never left.
    assert engine.ledger.wait_until("/2/users/:id/followers", clock.now()) <= clock.now()

    # The API is back: the crawl ends with the same graph as one that never saw an outage.
    source.down = False
    engine = engine_for(db, source, clock)
    engine.run()
    assert engine.stats.outcome == "idle" and engine.stats.failed_tasks == 0
    clean_clock = FakeClock()
    clean = Database(f"sqlite:///{tmp_path / 'clean.db'}")
    add_seeds(clean, [AccountRef(id=HUB)], label="bot", now=clean_clock.now())
    engine_for(clean, FakeSource(flower_world(), clean_clock), clean_clock).run()
    assert stored_edges(db) == stored_edges(clean)
    assert {k: v[0] for k, v in tasks(db).items()} == {k: v[0] for k, v in tasks(clean).items()}


def test_a_budget_that_runs_out_before_any_reply_is_an_error_not_a_result(
    setup: tuple[Database, Outage, FakeClock],
) -> None:
    db, source, clock = setup
    engine_for(db, source, clock).run(max_requests=1)
    source.down = True
    engine = engine_for(db, source, clock, max_unreachable=50)
    with pytest.raises(ApiUnreachable) as info:
        engine.run(max_requests=3)
    # Said as what it is: the budget ran out first, not "gave up after 3 of 50 failures".
    assert str(info.value).startswith(
        f"cannot reach the API at {BASE}: the crawl's budget (3 follows requests) ran out "
        "while the API was unreachable: 3 requests, none got a reply (connection refused)")
    assert engine.stats.follows_requests == 3 and engine.stats.faults == {"unreachable": 3}


def test_a_blip_between_replies_costs_nothing(setup: tuple[Database, Outage, FakeClock],
                                             caplog: pytest.LogCaptureFixture) -> None:
    db, source, clock = setup
    calls = [0]
    inner_following = source.inner.following

    def flaky_following(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] % 2:  # every other list request: connection refused
            raise refused()
        return inner_following(*args, **kwargs)

    source.inner.following = flaky_following  # type: ignore[method-assign]
    engine = engine_for(db, source, clock)
    with caplog.at_level(logging.INFO, logger="botsweep.crawler.reach"):
        engine.run()
    assert engine.stats.outcome == "idle" and engine.stats.failed_tasks == 0
    assert engine.stats.faults.get("unreachable", 0) >= 1
    assert all(attempts == 0 for _, attempts, _ in tasks(db).values())
    # each blip's end is said, as its start was
    assert f"the API at {BASE} answers again (after 1 request(s) in a row got no reply)" \
        in caplog.text


@pytest.mark.parametrize(("fail", "seeds"), [
    (lambda: refused(sent=True), (HUB, CELEB)), (server_error, (HUB, CELEB)),
    (server_error, (HUB,)), (timed_out, (HUB,))],
    ids=["dropped", "5xx", "5xx-last-list-left", "timeout-last-list-left"])
def test_a_request_the_server_always_drops_fails_in_the_end_while_the_crawl_goes_on(
    tmp_path: Path, fail: Callable[[], Exception], seeds: tuple[int, ...],
) -> None:
    """The one request dropped (or answered with a 5xx) every time, while others get
    replies, is that request's fault: it uses up its attempts and is marked failed; the
    rest of the crawl finishes.  So is it when nothing else is left to ask: a whole streak
    of its own failures, and the crawl ends rather than stopping as if the API were down,
    run after run."""
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=s) for s in seeds], label="bot", now=clock.now())
    source = FakeSource(flower_world(), clock)
    source.faults[("following", HUB, None)] = [fail() for _ in range(200)]
    engine = engine_for(db, source, clock)
    engine.run()
    assert engine.stats.outcome == "idle" and engine.stats.failed_tasks == 1
    state, attempts, _ = tasks(db)[("following", HUB)]
    assert state == "failed" and attempts == 5
    if CELEB in seeds:
        assert tasks(db)[("followers", CELEB)][0] == "done"


def clean_graph(tmp_path: Path) -> Database:
    """The hub's flower crawled with the API up all along."""
    clock = FakeClock()
    clean = Database(f"sqlite:///{tmp_path / 'clean.db'}")
    add_seeds(clean, [AccountRef(id=HUB)], label="bot", now=clock.now())
    engine_for(clean, FakeSource(flower_world(), clock), clock).run()
    return clean


@pytest.mark.parametrize(("fail", "kind"), [(server_error, "5xx"), (timed_out, "timeout")])
def test_a_server_outage_longer_than_a_tasks_retries_uses_up_no_attempts(
    tmp_path: Path, fail: Callable[[], Exception], kind: str,
) -> None:
    """Every request gets a 503 (or no reply in time) for a while, more failures than a
    task may have, then the API is back: nothing is marked failed, and the graph is the
    one a calm crawl gets."""
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    source = Outage(FakeSource(flower_world(), clock), fail=fail)
    engine_for(db, source, clock).run(max_requests=1)  # the hub's profile and one list
    source.down_for = 8
    engine = engine_for(db, source, clock, max_retries=1, max_unreachable=10)
    engine.run()
    assert source.failed == 8 and engine.stats.faults == {kind: 8}
    assert engine.stats.outcome == "idle" and engine.stats.failed_tasks == 0
    assert all(attempts == 0 for _, attempts, _ in tasks(db).values())
    with db.connect() as conn:
        assert conn.execute(select(accounts.c.lookup_attempts)
                            .where(accounts.c.lookup_attempts > 0)).first() is None
    waits = [s for s in clock.sleeps if s > 0.01]  # it backed off, 1 s doubling
    assert sum(waits) >= 0.5 + 1 + 2 + 4 + 8
    assert stored_edges(db) == stored_edges(clean_graph(tmp_path))


def _endless(setup: tuple[Database, Outage, FakeClock], fail: Callable[[], Exception],
             ) -> tuple[str, dict[tuple[str, int], tuple[str, int, str | None]]]:
    """Crawl a list, seed a second account (so that more than one request is there to
    fail: with one alone, an outage cannot be told from a request the server always fails
    on, which is charged), then fail every request with ``fail()``: the error, and the
    tasks as they were before the outage."""
    db, source, clock = setup
    engine_for(db, source, clock).run(max_requests=1)
    add_seeds(db, [AccountRef(id=CELEB)], label="bot", now=clock.now())
    before = tasks(db)
    source.fail, source.down = fail, True
    with pytest.raises(ApiUnreachable) as info:
        engine_for(db, source, clock).run()
    assert info.value.exit_code == 1 and tasks(db) == before
    return str(info.value), before


def test_an_endless_server_outage_stops_the_crawl_with_one_line(
    setup: tuple[Database, Outage, FakeClock],
) -> None:
    message, before = _endless(setup, server_error)
    assert message == (
        f"the API at {BASE} is failing: 5 requests in a row got a server error (server "
        "error 503: Service Unavailable), so the crawl gave up (api.max_unreachable: 5); "
        "no task used up an attempt, so crawl again later")
    db, source, clock = setup
    with pytest.raises(ApiUnreachable) as info:
        engine_for(db, source, clock, max_unreachable=50).run(max_requests=2)
    assert str(info.value).startswith(
        f"the API at {BASE} is failing: the crawl's budget (2 follows requests) ran out "
        "while the API was failing: 2 requests, each got a server error (server error 503")
    assert tasks(db) == before


def test_a_hung_api_stops_the_crawl_as_one_that_gets_no_reply(
    setup: tuple[Database, Outage, FakeClock],
) -> None:
    message, _ = _endless(setup, timed_out)
    assert message.startswith(
        f"cannot reach the API at {BASE}: 5 requests in a row got no reply (no reply within "
        "5 s), so the crawl gave up")


def test_an_outage_while_the_follows_windows_are_spent_charges_no_lookup(
        tmp_path: Path) -> None:
    """The usual state of a daemon: both follows endpoints wait for their windows, so only
    a lookup batch can be tried. A 503 streak on it is an outage (other work is queued),
    not that batch's fault: no lookup attempt is used."""
    from botsweep.crawler.replies import ENDPOINTS

    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    source = Outage(FakeSource(flower_world(), clock), fail=server_error)
    engine_for(db, source, clock).run(max_requests=1)  # a list read: its ids to look up
    add_seeds(db, [AccountRef(id=CELEB)], label="bot", now=clock.now())
    source.down = True
    engine = engine_for(db, source, clock)
    for kind in ("followers", "following"):
        engine.ledger.on_rate_limited("TOKEN_A", ENDPOINTS[kind], clock.now() + 900,
                                      clock.now())
    with pytest.raises(ApiUnreachable, match="5 requests in a row got a server error"):
        engine.run()
    with db.connect() as conn:
        assert conn.execute(select(accounts.c.lookup_attempts)
                            .where(accounts.c.lookup_attempts > 0)).first() is None


def test_work_that_got_its_answer_owes_nothing_for_earlier_failures() -> None:
    """A list that failed once in an early outage and was then read is not charged for its
    first failure in a later outage; one that was never answered still is."""
    import random

    from botsweep.crawler.reach import Reach
    from botsweep.crawler.retry import RetryPolicy

    reach = Reach(BASE, 5, RetryPolicy(), random.Random(0))
    answered, unanswered = ("task", 1), ("task", 3)
    assert not reach.failed(server_error(), [answered], 0.0)  # outage 1
    assert not reach.failed(server_error(), [unanswered], 1.0)
    reach.replied([("task", 2)])  # the API is back; the first list is read
    reach.replied([answered])
    assert not reach.failed(server_error(), [answered], 10.0)  # outage 2: not its own yet
    assert reach.failed(server_error(), [unanswered], 11.0)  # others were answered since


def test_a_seed_whose_profile_the_server_always_fails_on_fails_in_the_end(
        tmp_path: Path) -> None:
    """The seed's lists wait for its profile, so the failing lookup is the only work that
    can go: it is charged and given up on, and the crawl ends (it used to stop every run
    as an outage, with the seed's lists never read)."""
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    inner = FakeSource(flower_world(), clock)
    real_lookup = inner.lookup_users

    def lookup(ids: Any, *, token_key: str) -> Any:
        if HUB in ids:
            raise server_error()
        return real_lookup(ids, token_key=token_key)

    inner.lookup_users = lookup  # type: ignore[method-assign]
    engine = engine_for(db, inner, clock)
    engine.run()
    assert engine.stats.outcome == "idle" and engine.stats.failed_tasks == 1
    with db.connect() as conn:
        assert conn.execute(select(accounts.c.lookup_attempts)
                            .where(accounts.c.id == HUB)).scalar() == 5
