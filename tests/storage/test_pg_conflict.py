"""Two PostgreSQL workers whose transactions touch the same rows in opposite orders: through
``Database.begin`` they take turns (no deadlock), and a deadlock that does happen (outside
it) is said as what it is, not as a SQLite lock.  What the crawl does with one is in
tests/crawler/test_engine.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import OperationalError

from botsweep.errors import DatabaseConflict, StorageError
from botsweep.storage.db import Database, translate_db_error
from botsweep.storage.schema import accounts

pytestmark = pytest.mark.postgres


def _opposite_orders(db: Database, begin: Callable[[], AbstractContextManager[Any]],
                     ) -> list[BaseException]:
    """Worker 1 updates account 1 then 2, worker 2 account 2 then 1, overlapping."""
    first_holds_one = threading.Event()
    errors: list[BaseException] = []

    def worker(order: tuple[int, int], wait: bool) -> None:
        try:
            if wait:
                first_holds_one.wait(10)
            with begin() as conn:
                conn.execute(update(accounts).where(accounts.c.id == order[0])
                             .values(bot_links=accounts.c.bot_links + 1))
                if not wait:
                    first_holds_one.set()
                time.sleep(0.5)
                conn.execute(update(accounts).where(accounts.c.id == order[1])
                             .values(bot_links=accounts.c.bot_links + 1))
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=((1, 2), False)),
               threading.Thread(target=worker, args=((2, 1), True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


@pytest.fixture
def two_rows(pg_url: str) -> Any:
    db = Database(pg_url)
    with db.begin() as conn:
        conn.execute(insert(accounts), [{"id": 1, "first_seen": 0.0},
                                        {"id": 2, "first_seen": 0.0}])
    yield db
    db.dispose()


def _links(db: Database) -> dict[int, int]:
    with db.connect() as conn:
        return dict(conn.execute(select(accounts.c.id, accounts.c.bot_links)).all())


def test_workers_transactions_take_turns_instead_of_deadlocking(two_rows: Database) -> None:
    assert _opposite_orders(two_rows, two_rows.begin) == []
    assert _links(two_rows) == {1: 2, 2: 2}


def test_a_deadlock_is_a_conflict_not_a_sqlite_lock(two_rows: Database) -> None:
    errors = _opposite_orders(two_rows, two_rows.engine.begin)  # no turn-taking
    assert len(errors) == 1 and isinstance(errors[0], OperationalError), errors
    conflict = translate_db_error(errors[0])
    assert isinstance(conflict, DatabaseConflict)
    message = str(conflict)
    assert "deadlock" in message and "sqlite" not in message.lower() and "\n" not in message
    assert _links(two_rows) == {1: 1, 2: 1}  # the winner's transaction alone was kept


def test_a_stalled_holder_loses_the_turn_and_a_heartbeat_never_waits(pg_url: str) -> None:
    """A writer waits while the turn's holder works; a holder idle in its transaction (a
    paused process) loses its session after twice busy_timeout_s, and the writer goes on.
    A daemon's heartbeat writes its own row without waiting at all."""
    from botsweep.config import DatabaseSettings
    from botsweep.daemon_jobs import record_beat

    db = Database(DatabaseSettings(url=pg_url, busy_timeout_s=0.5))  # idle limit: 1 s
    holding = threading.Event()
    holder_error: list[BaseException] = []

    def stall() -> None:
        try:
            with db.begin() as conn:
                conn.execute(select(1))
                holding.set()
                time.sleep(3)  # stalled inside its transaction
                conn.execute(select(1))
        except Exception as exc:  # noqa: BLE001 - its session was ended under it
            holder_error.append(exc)

    holder = threading.Thread(target=stall)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        record_beat(db, "w1", started_at=0.0)  # its own row: not behind the held turn
        assert time.monotonic() - started < 0.4
        with db.begin() as conn:  # waits for the stalled holder's session to be ended
            conn.execute(select(1))
        waited = time.monotonic() - started
        assert 0.5 < waited < 2.9, waited
    finally:
        holder.join(10)
        db.dispose()
    assert holder_error, "the stalled holder kept its session"
    message = str(holder_error[0])  # one line saying what happened, no SQL, no traceback
    assert isinstance(holder_error[0], StorageError), repr(holder_error[0])
    assert "stalled inside a transaction" in message and "\n" not in message


def test_a_turn_is_per_schema(pg_url: str) -> None:
    """Two deployments in two schemas of one database do not wait for each other."""
    from botsweep.config import DatabaseSettings
    from tests.pg import pg_url_or_skip

    with pg_url_or_skip() as other_url:  # (a shared turn would end in DatabaseLocked, 2 s)
        first = Database(pg_url)
        other = Database(DatabaseSettings(url=other_url, busy_timeout_s=2))
        try:
            with first.begin() as conn:
                conn.execute(select(1))
                started = time.monotonic()
                with other.begin() as other_conn:  # another schema: no wait
                    other_conn.execute(select(1))
                assert time.monotonic() - started < 1.0
        finally:
            first.dispose()
            other.dispose()


def test_a_heartbeat_does_not_turn_a_new_claim_back(pg_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim renewal takes no turn; a tick that claims a new target between its read
    and its write keeps the new target (the write only lands on the value it read)."""
    import json

    from botsweep.crawler import retarget
    from botsweep.storage.schema import meta

    db = Database(pg_url)
    try:
        key = retarget.claim_key("w1")
        with db.begin() as conn:
            conn.execute(insert(meta), [{"key": key, "value": json.dumps(
                {"worker": "w1", "target": "bot", "at": 0.0})}])
        real_here = retarget.here
        newer = json.dumps({"worker": "w1", "target": "campaign:pron", "at": 5.0})

        def tick_claims_meanwhile() -> dict[str, Any]:
            with db.begin() as conn:  # another connection: the tick's new claim, committed
                conn.execute(update(meta).where(meta.c.key == key).values(value=newer))
            return real_here()

        monkeypatch.setattr(retarget, "here", tick_claims_meanwhile)
        retarget.renew_claim(db, "w1", 10.0)
        with db.connect() as conn:
            stored = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        assert json.loads(stored)["target"] == "campaign:pron"
    finally:
        db.dispose()
