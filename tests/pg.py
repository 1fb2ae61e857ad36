"""A throw-away PostgreSQL schema per test, on the local server, or a skip saying why.

Use the context manager anywhere::

    from tests.pg import pg_url_or_skip

    with pg_url_or_skip() as url:
        db = Database(url)
        ...
        db.dispose()

or the ``pg_url`` fixture (import it into a conftest.py to register it there, as
``tests/storage/conftest.py`` does).  Each use creates a schema ``bs_<random>`` in the
database ``test`` at 127.0.0.1:5432 (user postgres, trust auth) and returns a SQLAlchemy
URL whose ``search_path`` is that schema, so tests never see each other's tables.
Afterwards every session still connected with that URL is ended and the schema is dropped
with CASCADE, so nothing is left behind even when the test forgot to dispose its engine.

``BOTSWEEP_TEST_PG`` (read at import) points elsewhere: ``user@host:port/database``.
Mark PostgreSQL tests ``@pytest.mark.postgres``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from botsweep.storage.db import Database

__all__ = ["PG_TARGET", "pg_url_or_skip", "pg_url", "new_schema_name", "database_on"]

PG_TARGET = os.environ.get("BOTSWEEP_TEST_PG", "postgres@127.0.0.1:5432/test")
_CONNECT_TIMEOUT_S = 3
_UNREACHABLE: list[str] = []  # the reason, once the server has been found unreachable


def new_schema_name() -> str:
    """A fresh schema name: ``bs_`` and 12 random hex digits."""
    return f"bs_{secrets.token_hex(6)}"


def _admin_dsn() -> str:
    return f"postgresql://{PG_TARGET}?connect_timeout={_CONNECT_TIMEOUT_S}"


@contextmanager
def pg_url_or_skip() -> Iterator[str]:
    """Yield a ``postgresql+psycopg://`` URL bound to a new, empty schema; skip the test
    (with the reason) when psycopg is missing or the server cannot be reached."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'botsweep[postgres]')")
    if _UNREACHABLE:  # asked once per session: a silent host would cost the timeout each time
        pytest.skip(_UNREACHABLE[0])
    try:
        admin = psycopg.connect(_admin_dsn(), autocommit=True)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _UNREACHABLE.append(f"no PostgreSQL server at {PG_TARGET}: {reason}")
        pytest.skip(_UNREACHABLE[0])
    schema = new_schema_name()
    try:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        # application_name tags every session of the test so the clean-up can end them.
        yield (
            f"postgresql+psycopg://{PG_TARGET}"
            f"?options=-csearch_path%3D{schema}&application_name={schema}"
        )
    finally:
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (schema,),
            )
            admin.execute("SET lock_timeout = '10s'")
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema)))
        finally:
            admin.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a fresh PostgreSQL schema, dropped after the test (skips without a server)."""
    with pg_url_or_skip() as url:
        yield url


@contextmanager
def database_on(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on ``backend``: ``sqlite`` in ``tmp_path``, or ``postgres`` in a
    fresh schema (the test is skipped, with the reason, when no server is reachable)."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    with pg_url_or_skip() as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()
