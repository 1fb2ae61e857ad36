"""The DB-backed rate ledger: RateLedger's arithmetic, shared by every worker on one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from botsweep.crawler.ratelimit import RateLedger, RateSnapshot
from botsweep.crawler.shared_ledger import SharedRateLedger, make_ledger
from botsweep.storage.db import Database
from botsweep.storage.schema import rate_limits

FOL = "/2/users/:id/followers"
USERS = "/2/users"
T0 = 1_700_000_000.0


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    yield db
    db.dispose()


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
    assert isinstance(make_ledger(sqlite_db, ["TOK"]), RateLedger)


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
