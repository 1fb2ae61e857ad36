"""The SQLite ledger saved between processes: a new crawl starts from the last one's windows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from botsweep.config import Settings
from botsweep.crawler.ratelimit import RateLedger, RateSnapshot
from botsweep.crawler.run import open_crawl
from botsweep.crawler.saved_ledger import SavedRateLedger
from botsweep.crawler.shared_ledger import SharedRateLedger, make_ledger
from botsweep.crawler.source import XSource
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.storage.db import Database
from botsweep.storage.schema import rate_limits
from tests.crawler.rate_server import FakeRateServer, ledger_ops, play
from tests.crawler.simkit import LinkScorer

FOL = "/2/users/:id/followers"
USERS = "/2/users"
T0 = 1_700_000_000.0
LIMITS = {FOL: (15, 900), USERS: (300, 900)}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    yield database
    database.dispose()


def _rows(db: Database) -> dict[tuple[str, str], tuple[int, int, float]]:
    with db.connect() as conn:
        return {(r.token_key, r.endpoint): (r.limit, r.remaining, r.reset)
                for r in conn.execute(select(rate_limits))}


def test_make_ledger_saves_on_sqlite(db: Database) -> None:
    assert isinstance(make_ledger(db, ["TOK"]), SavedRateLedger)


def test_a_used_up_window_holds_the_next_process_until_its_reset(db: Database) -> None:
    first = SavedRateLedger(db, ["TOK"], LIMITS)
    for i in range(3):
        assert first.acquire(FOL, T0 + i) == "TOK"
        first.observe("TOK", FOL, RateSnapshot(3, 2 - i, T0 + 15), T0 + i)
    assert _rows(db) == {("TOK", FOL): (3, 0, T0 + 15)}  # the token itself is never stored
    second = SavedRateLedger(db, ["TOK"], LIMITS)
    assert second.acquire(FOL, T0 + 5) is None
    assert second.wait_until(FOL, T0 + 5) == T0 + 15
    assert second.wait_until(USERS, T0 + 5) == T0 + 5  # other endpoints are untouched
    assert [second.acquire(FOL, T0 + 15) for _ in range(4)] == ["TOK"] * 3 + [None]


def test_the_next_process_gets_only_the_calls_left(db: Database) -> None:
    first = SavedRateLedger(db, ["A", "B"], LIMITS)
    assert first.acquire(FOL, T0) == "A"
    first.observe("A", FOL, RateSnapshot(15, 13, T0 + 900), T0)  # another call, elsewhere
    second = SavedRateLedger(db, ["A", "B"], LIMITS)
    keys = [second.acquire(FOL, T0 + 1) for _ in range(29)]
    assert keys.count("A") == 13 and keys.count("B") == 15 and keys[-1] is None


def test_calls_in_flight_are_saved_as_spent(db: Database) -> None:
    first = SavedRateLedger(db, ["TOK"], LIMITS)
    assert first.acquire(FOL, T0) == first.acquire(FOL, T0) == "TOK"
    first.observe("TOK", FOL, RateSnapshot(15, 14, T0 + 900), T0)  # the other is still out
    assert _rows(db)[("TOK", FOL)] == (15, 13, T0 + 900)


def test_a_429_is_saved(db: Database) -> None:
    first = SavedRateLedger(db, ["TOK"], LIMITS)
    assert first.acquire(FOL, T0) == "TOK"
    first.observe("TOK", FOL, RateSnapshot(15, 0, T0 + 30), T0)
    first.on_rate_limited("TOK", FOL, T0 + 30, T0)
    assert SavedRateLedger(db, ["TOK"], LIMITS).wait_until(FOL, T0 + 1) == T0 + 30


def test_an_expired_saved_window_is_ignored_but_its_limit_kept(db: Database) -> None:
    first = SavedRateLedger(db, ["TOK"], LIMITS)
    assert first.acquire(FOL, T0) == "TOK"
    first.observe("TOK", FOL, RateSnapshot(3, 0, T0 + 15), T0)
    second = SavedRateLedger(db, ["TOK"], LIMITS)
    assert second.wait_until(FOL, T0 + 15) == T0 + 15  # over: a fresh window at once
    assert [second.acquire(FOL, T0 + 20) for _ in range(4)] == ["TOK"] * 3 + [None]
    snap = second.snapshot(T0 + 20)["endpoints"][FOL]["TOK"]
    assert (snap["limit"], snap["remaining"]) == (3, 3)  # a new window, not the old one


def test_a_row_of_the_shared_ledger_not_started_is_skipped(db: Database) -> None:
    SharedRateLedger(db, ["TOK"], LIMITS)  # writes (limit, limit, reset 0) rows
    ledger = SavedRateLedger(db, ["TOK"], LIMITS)
    assert ledger.snapshot(T0)["endpoints"][FOL]["TOK"]["reset"] is None
    assert ledger.acquire(FOL, T0) == "TOK"


def test_an_unchanged_window_is_not_written_again(db: Database) -> None:
    ledger = SavedRateLedger(db, ["TOK"], LIMITS)
    assert ledger.acquire(FOL, T0) == "TOK"
    ledger.observe("TOK", FOL, RateSnapshot(15, 14, T0 + 900), T0)
    with db.begin() as conn:
        conn.execute(delete(rate_limits))
    assert ledger.acquire(FOL, T0 + 1) == "TOK"
    ledger.observe("TOK", FOL, RateSnapshot(15, 14, T0 + 900), T0 + 1)  # late: still 13
    assert _rows(db) == {("TOK", FOL): (15, 13, T0 + 900)}
    with db.begin() as conn:
        conn.execute(delete(rate_limits))
    ledger.observe("TOK", FOL, RateSnapshot(15, 14, T0 + 900), T0 + 2)  # nothing new
    assert _rows(db) == {}


@pytest.fixture(scope="module")
def property_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('saved') / 'crawl.db'}")
    yield database
    database.dispose()


_restart_ops = st.lists(st.one_of(ledger_ops,
                                  st.just([("restart", 0)])), max_size=6).map(
    lambda parts: [op for part in parts for op in part])


@settings(max_examples=150, deadline=None)
@given(ops=_restart_ops, limit=st.integers(1, 20),
       window=st.sampled_from([9.0, 60.0, 900.0]), aligned=st.booleans(),
       tokens=st.integers(1, 3), margin=st.sampled_from([0.0, 0.5]))
def test_never_more_calls_than_the_server_allows_across_restarts(
        property_db: Database, ops, limit, window, aligned, tokens, margin) -> None:
    """The in-memory ledger's property, with crawl processes one after another."""
    with property_db.begin() as conn:
        conn.execute(delete(rate_limits))
    keys = [f"TOK_{i}" for i in range(tokens)]

    def restart() -> RateLedger:
        return SavedRateLedger(property_db, keys, {FOL: (limit, int(window))},
                               margin_s=margin)

    server = play(restart(), FakeRateServer(limit, window, aligned), FOL, ops, T0,
                  restart=restart)
    assert server.too_many == 0


@pytest.mark.parametrize("ending", ["rate_limited", "stopped"])
def test_a_second_crawl_waits_for_the_window_the_first_used_up(
        tmp_path: Path, ending: str) -> None:
    """Two crawl processes one after another on one SQLite file, against the sim: the
    second starts inside the window the first used up (3 calls per endpoint, windows of
    5 s), and waits for its reset instead of getting a 429."""
    world = generate_world(accounts=400, rng_seed=1)
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
    secret = "sim-secret-4f1c9e"
    server = SimServer(world, time_scale=180.0, tokens=(secret,),
                       rate_limits={"followers": 3, "following": 3})
    with server as url:
        runs = []
        for budget in (None, 3):
            source = XSource({"X_BEARER_TOKEN": secret}, base_url=url, timeout_s=5.0)
            with open_crawl(Settings(), db, policy="bfs", source=source,
                            bot_model=LinkScorer()) as engine:
                if budget is None and ending == "stopped":  # Ctrl-C after the 6th call
                    engine.listeners.append(lambda s, e=engine: s.follows_requests >= 6
                                            and e.stop.set())
                runs.append(engine.run(max_requests=budget, until_idle=budget is not None))
            source.close()
        served = server.stats()
    db.dispose()
    first, second = runs
    assert first.outcome == ending and first.follows_requests == 6
    assert second.outcome == "budget" and second.follows_requests == 3 and second.pages == 3
    assert first.rate_limited == second.rate_limited == 0
    assert served["rate_limited"] == 0
    for path in tmp_path.glob("crawl.db*"):
        assert secret.encode() not in path.read_bytes()
