"""Two PostgreSQL workers whose transactions deadlock: the loser's error says what happened
(not a SQLite lock).  What the crawl does then is in tests/crawler/test_engine.py."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, select, update

from botsweep.errors import DatabaseConflict, StorageError
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts

pytestmark = pytest.mark.postgres


def test_a_deadlock_between_two_workers_is_a_conflict_not_a_sqlite_lock(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with db.begin() as conn:
            conn.execute(insert(accounts), [{"id": 1, "first_seen": 0.0},
                                            {"id": 2, "first_seen": 0.0}])
        both_hold_one = threading.Barrier(2, timeout=20)
        errors: list[BaseException] = []

        def worker(first: int, second: int) -> None:
            try:
                with db.begin() as conn:
                    conn.execute(update(accounts).where(accounts.c.id == first)
                                 .values(bot_links=accounts.c.bot_links + 1))
                    both_hold_one.wait()
                    conn.execute(update(accounts).where(accounts.c.id == second)
                                 .values(bot_links=accounts.c.bot_links + 1))
            except StorageError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=pair) for pair in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(errors) == 1 and isinstance(errors[0], DatabaseConflict), errors
        message = str(errors[0])
        assert "deadlock" in message and "sqlite" not in message.lower()
        assert "\n" not in message
        with db.connect() as conn:  # the winner's transaction alone was kept
            links = dict(conn.execute(select(accounts.c.id, accounts.c.bot_links)).all())
        assert links == {1: 1, 2: 1}
    finally:
        db.dispose()
