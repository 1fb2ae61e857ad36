"""Storage fixtures: ``pg_url`` (a fresh PostgreSQL schema, see tests/pg.py) and ``sqlite_db``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from botsweep.storage.db import Database
from tests.pg import pg_url  # noqa: F401  (registers the fixture for this directory)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in the test's directory."""
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    yield db
    db.dispose()
