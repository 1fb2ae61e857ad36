"""Storage fixtures: ``pg_url`` (a fresh PostgreSQL schema, see tests/pg.py), ``sqlite_db``,
and ``db``, which runs a test once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from botsweep.storage.db import Database
from tests.pg import database_on, pg_url  # noqa: F401  (pg_url registers the fixture here)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in the test's directory."""
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on each backend: SQLite in the test's directory, then a fresh
    PostgreSQL schema (skipped, with the reason, when no server is reachable)."""
    with database_on(request.param, tmp_path) as database:
        yield database
