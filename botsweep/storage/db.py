"""Engines, SQLite pragmas, automatic migrations, and translation of storage failures.

``Database(settings.database)`` opens the configured URL (SQLite by default, PostgreSQL
with ``postgresql+psycopg://``), brings the schema to the newest Alembic revision on first
use, and hands out transactions with :meth:`Database.begin`.  SQLite runs in WAL mode with
foreign keys on, ``synchronous=NORMAL`` and a busy timeout, and its transactions are
explicit: :meth:`Database.begin` opens one with ``BEGIN IMMEDIATE``, so that its reads and
writes see one state and a writer waits for the lock at the start rather than failing
part-way (the sqlite3 module's implicit transactions are off, so write through
:meth:`Database.begin`, not ``engine.begin()``).  A lock held past the busy timeout becomes
:class:`~botsweep.errors.DatabaseLocked`; a full disk (or ``max_page_count``) becomes
:class:`~botsweep.errors.StorageFull`; either way the transaction has been rolled back.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from botsweep.config import DatabaseSettings
from botsweep.errors import (
    BotsweepError,
    ConfigError,
    DatabaseConflict,
    DatabaseLocked,
    StorageError,
    StorageFull,
)

__all__ = ["Database", "HEAD_REVISION", "translate_db_error"]

log = logging.getLogger("botsweep.storage")

HEAD_REVISION = "0003"
_MIGRATIONS = Path(__file__).with_name("migrations")
_migrate_lock = threading.Lock()
_CONFLICTS = ("40P01", "40001")  # deadlock_detected, serialization_failure
_PG_LOCK_KEY = 0x62737770  # "bswp": the advisory lock class for botsweep's migrations
_PG_WRITE_KEY = 0x62737778  # "bswx": botsweep's write transactions, one at a time (per schema)


def translate_db_error(exc: BaseException) -> StorageError:
    """Our StorageError for a driver error, with a message that says what to do."""
    orig = getattr(exc, "orig", exc)
    text_ = str(orig).lower()
    sqlstate = getattr(orig, "sqlstate", None)  # PostgreSQL's error code (psycopg)
    if sqlstate in _CONFLICTS:  # before "locked": the text says "deadlock ... blocked"
        return DatabaseConflict(
            f"the transaction conflicted with another worker's ({_one_line(orig)}) and was "
            "rolled back; nothing of it was kept, so the same work can be tried again"
        )
    if sqlstate == "25P03":  # idle_in_transaction_session_timeout
        return StorageError(
            "this process stalled inside a transaction for longer than twice "
            "database.busy_timeout_s, so PostgreSQL ended its session (freeing the write "
            "turn for the others); the transaction was rolled back: run the command again"
        )
    if "locked" in text_ or "busy" in text_:
        return DatabaseLocked(
            "the database is locked by another process (a second crawl or an open sqlite3 "
            "shell?); the busy timeout ran out; the transaction was rolled back, so retry "
            "when the other writer has finished, or raise database.busy_timeout_s"
        )
    if "full" in text_ or "no space" in text_:
        return StorageFull(
            "the database or disk is full; the transaction was rolled back and nothing of it "
            "was kept; free some space and run the same command again to resume"
        )
    return StorageError(f"database error: {_one_line(getattr(exc, 'orig', exc))}")


def _one_line(exc: BaseException) -> str:
    """A driver message on one line (psycopg's span several, with tabs)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _shown_url(url: Any) -> str:
    """A database URL as it may be shown: any password hidden (in text that is no URL,
    whatever stands between ``user:`` and ``@``)."""
    try:
        return str(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        return re.sub(r"(//[^/:@\s]*:)[^@\s]*@", r"\1***@", str(url))


def _sqlite_file(url: Any) -> Path | None:
    """The file a SQLite URL names (None for an in-memory database)."""
    database = url.database
    if not database or database == ":memory:":
        return None
    return Path(database)  # a leading ~/ was read as home by the config already


class Database:
    """One configured database: an Engine, migrated to the newest schema on first use."""

    def __init__(self, settings: DatabaseSettings | str, *, migrate: bool = True,
                 create: bool = True) -> None:
        """Open (and migrate) the database; ``create=False`` refuses a SQLite file that does
        not exist yet, for commands that only make sense on a crawl already begun."""
        if isinstance(settings, str):
            settings = DatabaseSettings(url=settings)
        self.settings = settings
        self.url = settings.url
        try:
            url = make_url(settings.url)
        except ArgumentError:
            raise ConfigError(
                f"database.url = {_shown_url(settings.url)!r}: not a database URL; expected e.g. "
                "sqlite:///botsweep.db or postgresql+psycopg://user@host/db"
            ) from None
        self.dialect = url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"database.url = {_shown_url(url)!r}: unsupported database {self.dialect!r}; "
                "use sqlite:/// or postgresql+psycopg://"
            )
        file = _sqlite_file(url) if self.dialect == "sqlite" else None
        if file is not None and not create and not file.exists():
            raise ConfigError(
                f"database {url.database} does not exist: check database.url (or "
                "BOTSWEEP_DATABASE__URL) and the directory you run in; `botsweep seed` "
                "starts a new one")
        self.file = file  # the SQLite file (None for PostgreSQL or an in-memory database)
        self.engine = self._create_engine(url, file)
        self._migrated = False
        if migrate:
            self.migrate()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def location(self) -> str:
        """Where the data lives, fit for a log line: the SQLite file's absolute path (or
        ``:memory:``), else the URL with any password hidden."""
        if self.is_sqlite:
            return str(self.file.resolve()) if self.file is not None else ":memory:"
        return _shown_url(self.url)

    def _create_engine(self, url: Any, file: Path | None) -> Engine:
        timeout = self.settings.busy_timeout_s
        if self.dialect == "sqlite":
            if file is not None:
                folder = file.parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise ConfigError(
                        f"database.url = {_shown_url(url)!r}: cannot create the folder "
                        f"{folder}: {exc.strerror or exc}; choose a writable path"
                    ) from None
            engine = create_engine(
                url, echo=self.settings.echo,
                connect_args={"timeout": timeout, "check_same_thread": False},
            )

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                # No implicit transactions from the sqlite3 module: it would open one only
                # before the first INSERT/UPDATE/DELETE, leaving earlier reads outside it.
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                cur.close()

            return engine
        try:
            return create_engine(
                url, echo=self.settings.echo, pool_pre_ping=True,
                connect_args={"connect_timeout": max(1, int(timeout))},
            )
        except ModuleNotFoundError:
            raise ConfigError(
                "database.url names PostgreSQL but psycopg is not installed; "
                "pip install 'botsweep[postgres]'"
            ) from None

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (cheap when already at head).

        Several processes may open a new database at once (a daemon and a CLI command on a
        fresh volume), so the upgrade runs in one transaction that holds a lock: SQLite's
        write lock (``BEGIN IMMEDIATE``), or on PostgreSQL an advisory lock for the schema.
        Whoever waits for the lock then finds the schema at head and does nothing.
        """
        if self._migrated:
            return
        with _migrate_lock:
            try:
                with self.engine.connect() as conn:
                    current = self._current_revision(conn)
                if current != HEAD_REVISION:
                    self._check_known(current)
                    with self.engine.begin() as conn:
                        self._lock_for_migration(conn)
                        if self._current_revision(conn) != HEAD_REVISION:
                            self._upgrade(conn)
            except DBAPIError as exc:
                raise self._open_error(exc) from None
        self._migrated = True

    def _open_error(self, exc: DBAPIError) -> BotsweepError:
        """The error for a database that could not be opened (or migrated)."""
        message = _one_line(getattr(exc, "orig", exc))
        shown = _shown_url(make_url(self.url))
        if self.is_sqlite and "unable to open database file" in message:
            return ConfigError(
                f"database.url = {shown!r}: SQLite cannot open or create that file; check "
                "that its folder exists and is writable"
            )
        error = translate_db_error(exc)
        if type(error) is StorageError:
            return StorageError(f"cannot open the database {shown}: {message}")
        return error

    def _lock_for_migration(self, conn: Connection) -> None:
        if self.is_sqlite:
            # SQLite transactions are explicit; this one makes the upgrade atomic and makes
            # a second process wait (up to the busy timeout) until it is done.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            self.hold_lock(conn, _PG_LOCK_KEY)

    def hold_lock(self, conn: Connection, lock_class: int) -> None:
        """In a transaction: wait until no other transaction on this schema holds
        ``lock_class``, and hold it until this one ends.  On SQLite the write lock that
        :meth:`begin` takes already does this; on PostgreSQL it is an advisory lock."""
        if not self.is_sqlite:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                {"key": lock_class},
            )

    def _check_known(self, revision: str | None) -> None:
        """ConfigError for a schema this botsweep has no migration for: one made by a newer
        botsweep (after a rollback, or with mixed versions on one database)."""
        known = {path.name.split("_", 1)[0]
                 for path in (_MIGRATIONS / "versions").glob("[0-9]*.py")}
        if revision is not None and revision not in known:
            raise ConfigError(
                f"the database {_shown_url(self.url)} has schema revision "
                f"{revision!r}, newer than this botsweep knows ({HEAD_REVISION}); upgrade "
                "botsweep, or open a backup made with this version (botsweep never downgrades "
                "a schema)")

    @staticmethod
    def _current_revision(conn: Connection) -> str | None:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @staticmethod
    def _upgrade(conn: Connection) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.attributes["connection"] = conn
        log.info("migrating database schema to revision %s", HEAD_REVISION)
        command.upgrade(cfg, "head")

    @contextmanager
    def begin(self, *, turn: bool = True) -> Iterator[Connection]:
        """A transaction: committed on success, rolled back (and translated) on error.

        On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken (or waited
        for, up to the busy timeout) before anything is read, so what the transaction reads
        is still true when it writes.  On PostgreSQL it takes botsweep's transaction-level
        advisory lock the same way: the workers' transactions (a page write re-ranks queued
        lists that another worker's may be re-ranking too) then never deadlock, and they
        are short, since no request to the API is made inside one.  A writer waits for
        the turn as long as the holder works (a long re-ranking is legitimate), but a holder
        that stalls (idle in its transaction for twice ``database.busy_timeout_s``: a
        paused process, a lost host) loses its session, and with it the turn.
        ``turn=False`` is for a write that touches only its own row (a daemon's heartbeat),
        which must not wait behind a long transaction.  The driver's own errors (a page
        write uses its cursor directly) are translated like SQLAlchemy's."""
        try:
            with self.engine.begin() as conn:
                if self.is_sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif turn:  # one writer at a time, as on SQLite: no deadlock between workers
                    idle_ms = max(1000, int(2 * self.settings.busy_timeout_s * 1000))
                    conn.exec_driver_sql(  # an int (ms): a stalled holder loses the turn
                        f"SET LOCAL idle_in_transaction_session_timeout = {idle_ms}")
                    self.hold_lock(conn, _PG_WRITE_KEY)
                yield conn
        except (OperationalError, sqlite3.OperationalError) as exc:
            raise translate_db_error(exc) from None
        except DBAPIError as exc:  # psycopg's session-ended error is an InternalError
            if getattr(exc.orig, "sqlstate", None) != "25P03":
                raise
            raise translate_db_error(exc) from None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (no transaction is committed)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise translate_db_error(exc) from None

    def insert_ignore(self, table: Table, index: Sequence[str] | None = None) -> Any:
        """``INSERT ... ON CONFLICT DO NOTHING`` for this dialect (use with executemany)."""
        stmt = (sqlite_insert if self.is_sqlite else pg_insert)(table)
        return stmt.on_conflict_do_nothing(index_elements=list(index) if index else None)

    def upsert(self, table: Table, index: Sequence[str], update: Sequence[str]) -> Any:
        """``INSERT ... ON CONFLICT (index) DO UPDATE SET col = excluded.col`` for ``update``."""
        stmt = (sqlite_insert if self.is_sqlite else pg_insert)(table)
        return stmt.on_conflict_do_update(
            index_elements=list(index), set_={col: stmt.excluded[col] for col in update}
        )

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({_shown_url(self.url)!r})"


