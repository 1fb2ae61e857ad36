"""The schema as a user's database gets it: migrated on first use (also when several processes
open a new database at once), identical on SQLite and PostgreSQL, SQLite tuned as DESIGN.md
says, and the follows table keyed for how pages arrive."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from botsweep.config import DatabaseSettings
from botsweep.errors import StorageError
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import HEAD_REVISION, Database
from botsweep.storage.schema import metadata, scores, seeds
from tests.pg import pg_url_or_skip

TABLES = {table.name for table in metadata.sorted_tables}


def _index_names(db: Database) -> set[tuple[str, str]]:
    """(table, index) for every index that is not a primary key or unique constraint."""
    with db.connect() as conn:
        if db.is_sqlite:  # constraint indexes are sqlite_autoindex_* with no SQL text
            rows = conn.execute(text(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            ))
        else:
            rows = conn.execute(text(
                "SELECT i.tablename, i.indexname FROM pg_indexes i WHERE i.schemaname = "
                "current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname AND c.connamespace = "
                "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()))"
            ))
        return {(table, name) for table, name in rows}


def migrate(db: Database, step: Callable[[Config, str], object], revision: str) -> None:
    """Run an Alembic command (upgrade or downgrade) on ``db`` to ``revision``."""
    from botsweep.storage.db import _MIGRATIONS

    with db.engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        step(config, revision)


def test_first_use_creates_every_table_at_the_newest_revision(db: Database) -> None:
    with db.connect() as conn:
        assert set(inspect(conn).get_table_names()) == TABLES | {"alembic_version"}
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            HEAD_REVISION)


def test_the_migration_builds_exactly_what_schema_py_declares(db: Database) -> None:
    with db.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect the lower(username) index; _index_names checks it below.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_both_backends_have_the_same_indexes(db: Database) -> None:
    declared = {(table.name, index.name) for table in metadata.sorted_tables
                for index in table.indexes}
    assert ("accounts", "ix_accounts_username_lower") in declared
    assert _index_names(db) == declared


def test_stepping_back_to_0001_and_up_again_keeps_rows_and_indexes(db: Database) -> None:
    # 0002 and 0003 only add columns to accounts; going back must not copy the table
    # (a SQLite table copy drops the expression index on lower(username)).
    from alembic import command

    declared = _index_names(db)
    with db.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, first_seen, username, found_via, "
                          "found_direction) VALUES (5, 1.0, 'Ann', 3, 'followers')"))

    migrate(db, command.downgrade, "0001")
    with db.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index")
        columns = {c["name"] for c in inspect(conn).get_columns("accounts")}
        assert conn.execute(text("SELECT id, username FROM accounts")).all() == [(5, "Ann")]
    assert "found_via" not in columns
    assert _index_names(db) == declared - {("accounts", "ix_accounts_found_via")}
    migrate(db, command.upgrade, "head")
    assert _index_names(db) == declared


def test_0003_moves_the_pending_via_rows_onto_their_accounts_and_back(db: Database) -> None:
    # before 0003 an account found on a list and not yet counted had a meta row
    # "via:<id>" = "<owner> <direction>"; an account found before 0002 has no found_via
    from alembic import command

    migrate(db, command.downgrade, "0002")
    with db.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, first_seen, found_via, found_direction) "
                          "VALUES (5, 1.0, 3, 'followers'), (6, 1.0, NULL, NULL), "
                          "(7, 1.0, 3, 'followers')"))
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('via:5', '3 followers'), "
                          "('via:6', '4 following'), ('novelty:x', '1 2 3')"))
    migrate(db, command.upgrade, "head")
    query = text("SELECT id, found_via, found_direction, yield_pending FROM accounts ORDER BY id")
    with db.connect() as conn:
        assert [tuple(row) for row in conn.execute(query)] == [
            (5, 3, "followers", True), (6, 4, "following", True), (7, 3, "followers", False)]
        assert conn.execute(text("SELECT key FROM meta")).scalars().all() == ["novelty:x"]
    migrate(db, command.downgrade, "0002")
    with db.connect() as conn:
        assert dict(conn.execute(text("SELECT key, value FROM meta WHERE key LIKE 'via:%'"))
                    .all()) == {"via:5": "3 followers", "via:6": "4 following"}
    migrate(db, command.upgrade, "head")


def test_follows_is_keyed_for_how_pages_arrive(db: Database) -> None:
    # DESIGN.md: a followers page has one fixed followee, so a key that starts with
    # followee_id takes the page as one run of adjacent keys (~500k edges/s measured),
    # while a second index (or a rowid table) sends every edge to a random B-tree page.
    with db.connect() as conn:
        inspector = inspect(conn)
        pk = inspector.get_pk_constraint("follows")["constrained_columns"]
        assert pk == ["followee_id", "follower_id"]
        assert inspector.get_indexes("follows") == []
        if db.is_sqlite:
            ddl = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'follows'"
            )).scalar_one()
            assert "WITHOUT ROWID" in ddl.upper()
            plan = " ".join(str(row[-1]) for row in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT follower_id FROM follows WHERE followee_id = 5")))
            assert "PRIMARY KEY" in plan, plan


def test_ids_are_64_bit_on_both_backends(db: Database) -> None:
    with db.connect() as conn:
        columns = {c["name"]: c["type"] for c in inspect(conn).get_columns("follows")}
    for name in ("followee_id", "follower_id"):
        assert columns[name].python_type is int
        if not db.is_sqlite:
            assert str(columns[name]) == "BIGINT"


def test_sqlite_runs_in_wal_with_foreign_keys_and_the_configured_busy_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep" / "dir" / "crawl.db"  # missing directories are made
    db = Database(DatabaseSettings(url=f"sqlite:///{path}", busy_timeout_s=2.5))
    try:
        with db.connect() as conn:
            pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
        assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 2500,
                          "synchronous": 1}  # 1 is NORMAL
        assert path.exists()
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(scores.insert().values(
            account_id=999, scorer="bot", model_version="m", probability=0.5, scored_at=1.0))


def test_reopening_keeps_the_data_and_migrates_only_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'crawl.db'}"
    with caplog.at_level(logging.INFO, logger="botsweep.storage"):
        first = Database(url)
        add_seeds(first, [AccountRef(id=12)], now=1.0)
        first.dispose()
        second = Database(url)
    try:
        migrations = [r for r in caplog.records if "migrating database schema" in r.message]
        assert len(migrations) == 1
        with second.connect() as conn:
            assert conn.execute(seeds.select()).one().account_key == "12"
    finally:
        second.dispose()


def test_a_schema_newer_than_this_botsweep_is_one_line_and_left_alone(
        db: Database, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After a rollback, or with an older worker on a shared database, every command used
    to end in alembic's 100-line "Can't locate revision" traceback."""
    from botsweep.cli import main

    with db.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    db.dispose()
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", db.url)
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "schema revision '0099', newer than this botsweep knows" in err[0]
    with db.connect() as conn:  # not touched
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"


_OPEN_AND_SEED = """
import sys
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
db = Database(sys.argv[1])
add_seeds(db, [AccountRef(id=int(sys.argv[2]))], now=1.0)
db.dispose()
"""


def _open_at_once(url: str, processes: int = 4) -> None:
    """Start ``processes`` processes that open the same new database and seed one id each."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN_AND_SEED, url, str(100 + i)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(processes)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    db = Database(url)
    try:
        with db.connect() as conn:
            keys = set(conn.execute(seeds.select().with_only_columns(seeds.c.account_key))
                       .scalars())
        assert keys == {str(100 + i) for i in range(processes)}
    finally:
        db.dispose()


@pytest.mark.slow
def test_processes_opening_a_new_sqlite_database_at_once_all_succeed(tmp_path: Path) -> None:
    # A daemon and a CLI command on a fresh volume: the loser of the race must wait for the
    # migration, not fail with "table accounts already exists".
    _open_at_once(f"sqlite:///{tmp_path / 'new.db'}")


@pytest.mark.slow
@pytest.mark.postgres
def test_processes_opening_a_new_postgres_schema_at_once_all_succeed() -> None:
    with pg_url_or_skip() as url:
        _open_at_once(url)


def test_a_failed_migration_leaves_nothing_half_made(tmp_path: Path) -> None:
    # Pointed at someone else's SQLite file that happens to have a "jobs" table, the
    # migration fails part-way; it must not leave botsweep's other tables behind.
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE jobs (name TEXT)")
    with pytest.raises(StorageError, match="jobs") as info:
        Database(f"sqlite:///{path}")
    assert "\n" not in str(info.value)
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"jobs"}
