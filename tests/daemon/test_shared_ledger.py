"""The DB-backed rate ledger: RateLedger's arithmetic, shared by every worker on one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from botsweep.crawler.ratelimit import RateSnapshot
from botsweep.crawler.saved_ledger import SavedRateLedger
from botsweep.crawler.shared_ledger import SharedRateLedger, make_ledger
from botsweep.storage.db import Database
from botsweep.storage.schema import rate_limits
from tests.crawler.rate_server import (
    FakeRateServer,
    check_unsent_call_does_not_start_window,
    ledger_ops,
    play,
)
from tests.pg import database_on

FOL = "/2/users/:id/followers"
USERS = "/2/users"
T0 = 1_700_000_000.0


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """SQLite in the test's directory, then a fresh PostgreSQL schema (skipped without one)."""
    with database_on(request.param, tmp_path) as database:
        yield database


def test_defaults_then_fresh_window(sqlite_db: Database) -> None:
    ledger = SharedRateLedger(sqlite_db, ["TOK"])
    keys = [ledger.acquire(FOL, T0 + i) for i in range(16)]
    assert keys[:15] == ["TOK"] * 15 and keys[15] is None
    assert ledger.wait_until(FOL, T0 + 20) == T0 + 900  # first use + documented window
    assert ledger.wait_until(USERS, T0 + 20) == T0 + 20  # other endpoints are untouched
    assert ledger.acquire(FOL, T0 + 900) == "TOK"


def test_two_ledgers_on_one_database_share_the_budget(sqlite_db: Database) -> None:
    one = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (5, 60)})
    two = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (5, 60)})
    got = [ledger.acquire(FOL, T0) for ledger in (one, two, one, two, one, two)]
    assert got == ["TOK"] * 5 + [None]
    assert one.wait_until(FOL, T0 + 1) == two.wait_until(FOL, T0 + 1) == T0 + 60


def test_server_headers_win_and_same_window_only_lowers(sqlite_db: Database) -> None:
    ledger = SharedRateLedger(sqlite_db, ["TOK"])
    assert ledger.acquire(FOL, T0) == "TOK"
    # The sim raised the limit; its window ends earlier than our estimate.
    ledger.observe("TOK", FOL, RateSnapshot(limit=1000, remaining=999, reset=T0 + 30), T0)
    row = ledger.snapshot(T0)["endpoints"][FOL]["TOK"]
    assert (row["limit"], row["remaining"], row["reset"]) == (1000, 999, T0 + 30)
    ledger.acquire(FOL, T0 + 1)
    ledger.acquire(FOL, T0 + 1)
    ledger.observe("TOK", FOL, RateSnapshot(1000, 998, T0 + 30), T0 + 2)  # late, higher
    assert ledger.snapshot(T0 + 2)["endpoints"][FOL]["TOK"]["remaining"] == 997
    ledger.observe("TOK", FOL, RateSnapshot(1000, 990, T0 + 30), T0 + 2)  # others' calls
    assert ledger.snapshot(T0 + 2)["endpoints"][FOL]["TOK"]["remaining"] == 990


def test_new_server_window_keeps_calls_in_flight_counted(sqlite_db: Database) -> None:
    a = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (10, 900)})
    b = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (10, 900)})
    for _ in range(3):
        assert b.acquire(FOL, T0) == "TOK"  # three calls of b still in flight
    assert a.acquire(FOL, T0) == "TOK"
    # a's reply comes first: the server has counted only a's call in its window.
    a.observe("TOK", FOL, RateSnapshot(10, 9, T0 + 100), T0 + 1)
    assert a.snapshot(T0 + 1)["endpoints"][FOL]["TOK"]["remaining"] == 6
    assert [a.acquire(FOL, T0 + 2) for _ in range(7)].count("TOK") == 6


def test_rate_limited_blocks_until_reset_and_release_gives_back(sqlite_db: Database) -> None:
    ledger = SharedRateLedger(sqlite_db, ["A", "B"], {FOL: (2, 900)})
    assert ledger.acquire(FOL, T0) == "A"
    ledger.observe("A", FOL, None, T0)
    ledger.on_rate_limited("A", FOL, T0 + 50, T0)
    assert ledger.rate_limited_count == 1
    assert [ledger.acquire(FOL, T0 + 1) for _ in range(3)] == ["B", "B", None]
    ledger.release("B", FOL)  # never sent
    assert ledger.acquire(FOL, T0 + 2) == "B"
    assert ledger.wait_until(FOL, T0 + 3) == T0 + 50
    assert ledger.acquire(FOL, T0 + 50) == "A"


def test_release_after_the_window_changed_gives_nothing_back(sqlite_db: Database) -> None:
    ledger = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (2, 60)})
    assert [ledger.acquire(FOL, T0), ledger.acquire(FOL, T0)] == ["TOK", "TOK"]
    ledger.observe("TOK", FOL, RateSnapshot(2, 0, T0 + 10), T0 + 1)  # window: no calls left
    ledger.release("TOK", FOL)  # the other call: its (estimated) window was replaced
    assert ledger.acquire(FOL, T0 + 2) is None


def test_a_reservation_never_sent_does_not_start_the_window(any_db: Database) -> None:
    ledger = SharedRateLedger(any_db, ["TOK"], {FOL: (1, 9)})
    check_unsent_call_does_not_start_window(ledger, FOL, T0)
    assert ledger.acquire(FOL, T0 + 10) == "TOK"


def test_a_worker_giving_back_its_call_does_not_start_the_window_of_another(
        any_db: Database) -> None:
    """Two workers on one row: one gives its call back, the other's call is lost."""
    one = SharedRateLedger(any_db, ["TOK"], {FOL: (2, 9)})
    two = SharedRateLedger(any_db, ["TOK"], {FOL: (2, 9)})
    assert one.acquire(FOL, T0) == "TOK"
    one.release("TOK", FOL)
    assert two.acquire(FOL, T0 + 1) == "TOK"
    two.observe("TOK", FOL, None, T0 + 1)
    assert two.acquire(FOL, T0 + 2) == "TOK"
    two.observe("TOK", FOL, None, T0 + 2)
    assert one.wait_until(FOL, T0 + 3) == two.wait_until(FOL, T0 + 3) == T0 + 10
    assert one.acquire(FOL, T0 + 9.5) is None


def test_giving_back_a_later_call_leaves_the_window_on_the_first(sqlite_db: Database) -> None:
    """The first call was sent, so the window is the server's: a later call given back must
    not move it (a longer window would let a call after the server's reset, whose reply is
    lost, and a fresh window of ours fall into one window of the server's)."""
    ledger = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (2, 9)})
    assert ledger.acquire(FOL, T0) == "TOK"
    ledger.observe("TOK", FOL, None, T0)
    assert ledger.acquire(FOL, T0 + 1) == "TOK"
    ledger.release("TOK", FOL)
    row = ledger.snapshot(T0 + 1)["endpoints"][FOL]["TOK"]
    assert (row["remaining"], row["reset"]) == (1, T0 + 9)


def test_a_window_the_server_described_is_kept_when_a_call_is_given_back(
        sqlite_db: Database) -> None:
    ledger = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (3, 900)})
    assert ledger.acquire(FOL, T0) == "TOK"
    ledger.observe("TOK", FOL, RateSnapshot(3, 2, T0 + 30), T0)
    assert ledger.acquire(FOL, T0 + 1) == "TOK"
    ledger.release("TOK", FOL)
    row = ledger.snapshot(T0 + 1)["endpoints"][FOL]["TOK"]
    assert (row["remaining"], row["reset"]) == (2, T0 + 30)


@pytest.fixture(scope="module")
def property_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'crawl.db'}")
    yield db
    db.dispose()


@settings(max_examples=100, deadline=None)
@given(ops=ledger_ops, limit=st.integers(1, 20), window=st.sampled_from([9.0, 60.0, 900.0]),
       aligned=st.booleans(), tokens=st.integers(1, 3), margin=st.sampled_from([0.0, 0.5]))
# The case the in-memory ledger's property test found: a call given back started the window.
@example(ops=[("unsent", 0), ("wait", 1.0), ("call", 1), ("drop", 0), ("sleep", 0),
              ("call", 1)], limit=1, window=9.0, aligned=False, tokens=1, margin=0.0)
# A later call given back must not move the window off a first call that was sent.
@example(ops=[("call", 1), ("drop", 0), ("wait", 1.0), ("unsent", 0), ("wait", 8.5),
              ("call", 1), ("drop", 0), ("sleep", 0), ("call", 2)],
         limit=2, window=9.0, aligned=False, tokens=1, margin=0.0)
def test_never_more_calls_than_the_server_allows(property_db: Database, ops, limit, window,
                                                 aligned, tokens, margin) -> None:
    """The in-memory ledger's property (tests/crawler/test_ratelimit.py), shared on SQLite."""
    with property_db.begin() as conn:
        conn.execute(delete(rate_limits))
    keys = [f"TOK_{i}" for i in range(tokens)]
    ledger = SharedRateLedger(property_db, keys, {FOL: (limit, int(window))}, margin_s=margin)
    server = play(ledger, FakeRateServer(limit, window, aligned), FOL, ops, T0)
    assert server.too_many == 0
    assert ledger.rate_limited_count == 0


def test_keys_are_env_names_never_tokens(sqlite_db: Database) -> None:
    with pytest.raises(ValueError, match="never the token"):
        SharedRateLedger(sqlite_db, ["AAAA-secret token"])
    ledger = SharedRateLedger(sqlite_db, ["X_BEARER_TOKEN"])
    with sqlite_db.connect() as conn:
        keys = {row.token_key for row in conn.execute(rate_limits.select())}
    assert keys == {"X_BEARER_TOKEN"}
    with pytest.raises(ValueError, match="unknown endpoint"):
        ledger.acquire("/2/tweets", T0)


def test_unreported_reservations_do_not_pile_up(sqlite_db: Database) -> None:
    """A long-running daemon remembers only a bounded number of unreported calls."""
    ledger = SharedRateLedger(sqlite_db, ["TOK"], {FOL: (1000, 900)})
    for _ in range(200):  # acquired, never observed nor released
        assert ledger.acquire(FOL, T0) == "TOK"
    assert ledger.snapshot(T0)["endpoints"][FOL]["TOK"]["pending"] == 64
    ledger.observe("TOK", FOL, None, T0)
    assert ledger.snapshot(T0)["endpoints"][FOL]["TOK"]["pending"] == 63
    assert ledger.snapshot(T0)["endpoints"][FOL]["TOK"]["remaining"] == 800


def test_make_ledger_picks_by_dialect(sqlite_db: Database) -> None:
    # SQLite: the in-memory arithmetic, saved for the next process (test_saved_ledger.py)
    assert isinstance(make_ledger(sqlite_db, ["TOK"]), SavedRateLedger)


@pytest.mark.postgres
def test_concurrent_workers_never_exceed_the_limit(pg_url: str) -> None:
    """Eight threads, each its own ledger and connection pool, race for 40 calls."""
    db = Database(pg_url)
    try:
        ledgers = [SharedRateLedger(Database(pg_url), ["A", "B"], {FOL: (20, 900)})
                   for _ in range(8)]
        assert isinstance(make_ledger(db, ["A"]), SharedRateLedger)
        got: list[str | None] = []
        lock = threading.Lock()
        start = threading.Barrier(len(ledgers))

        def worker(ledger: SharedRateLedger) -> None:
            start.wait()
            for _ in range(10):
                key = ledger.acquire(FOL, T0)
                with lock:
                    got.append(key)

        threads = [threading.Thread(target=worker, args=(ledger,)) for ledger in ledgers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert got.count("A") == 20 and got.count("B") == 20 and got.count(None) == 40
        with db.connect() as conn:
            rows = conn.execute(rate_limits.select().where(rate_limits.c.endpoint == FOL)).all()
        assert sorted((r.token_key, r.remaining) for r in rows) == [("A", 0), ("B", 0)]
        for ledger in ledgers:
            ledger.db.dispose()
    finally:
        db.dispose()


@pytest.mark.postgres
def test_concurrent_releases_are_all_counted(pg_url: str) -> None:
    """Eight workers take and give back calls at once; two keep the first call they get.
    Every release is counted, and the window has started only if a kept call is out."""
    limit, window = 3, 900
    db = Database(pg_url)
    try:
        ledgers = [SharedRateLedger(Database(pg_url), ["TOK"], {FOL: (limit, window)})
                   for _ in range(8)]
        kept: list[int] = []  # the workers holding a call
        lock = threading.Lock()
        start = threading.Barrier(len(ledgers))

        def worker(index: int, ledger: SharedRateLedger) -> None:
            keep = index < 2
            start.wait()
            for attempt in range(10_000):
                if attempt >= 200 and not keep:
                    break
                key = ledger.acquire(FOL, T0)
                if key is None:
                    continue
                if keep:
                    with lock:
                        kept.append(index)
                    keep = False
                else:
                    ledger.release(key, FOL)

        threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(ledgers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        def row() -> tuple[int, float]:
            with db.connect() as conn:
                found = conn.execute(
                    rate_limits.select().where(rate_limits.c.endpoint == FOL)).one()
            return found.remaining, found.reset

        assert sorted(kept) == [0, 1]
        assert row() == (limit - 2, T0 + window)
        for index in kept:  # the kept calls are given back too: the window has not started
            ledgers[index].release("TOK", FOL)
        assert row() == (limit, 0.0)
        for ledger in ledgers:
            ledger.db.dispose()
    finally:
        db.dispose()


@pytest.mark.parametrize("kind", ["memory", "shared"])
def test_a_clock_ahead_of_the_apis_costs_a_few_429s_once_not_every_window(
        kind: str, any_db: Database) -> None:
    """Our clock 20 s ahead of the API's: a reset we have passed is not the API's.  The
    ledger learns the skew from the first window's 429s, and later windows get none."""
    from botsweep.crawler.ratelimit import RateLedger
    from tests.crawler.rate_server import FakeRateServer

    skew, window, limit = 20.0, 60.0, 5
    ledger = (RateLedger(["TOK"], {FOL: (limit, int(window))}) if kind == "memory"
              else SharedRateLedger(any_db, ["TOK"], {FOL: (limit, int(window))}))
    server = FakeRateServer(limit, window, aligned=True)
    now, calls, late = T0 + skew, 0, 0
    while now < T0 + skew + 12 * window:
        key = ledger.acquire(FOL, now)
        if key is None:
            now = max(now + 0.01, ledger.wait_until(FOL, now))
            continue
        before = server.too_many
        snap = server.receive(key, now - skew)  # the API's clock
        ledger.observe(key, FOL, snap, now)
        if server.too_many > before:
            ledger.on_rate_limited(key, FOL, until=server.reset[key], now=now)
            late += now > T0 + skew + 3 * window
        else:
            calls += 1
        now += 0.01
    assert server.too_many <= 8, server.too_many  # the first window, while learning
    assert late == 0  # none once learnt
    assert calls >= limit * 10  # and the rate is still used
