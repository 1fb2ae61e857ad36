"""One crawling process at a time on a SQLite database: an OS lock on a file beside it.

On SQLite the rate ledger lives in the crawling process (written to the ``rate_limits``
table after each reply, read back only at start-up: see
:mod:`botsweep.crawler.saved_ledger`), so two processes crawling one SQLite file at once
would each spend every token's whole budget, and get 429s for it.  ``botsweep crawl`` and
``botsweep daemon`` therefore hold an exclusive lock (``flock``) on ``<database>.crawl-lock``
for as long as they run, and a second one is refused with a line naming the first one's
process id.  The operating system drops the lock when the process ends, however it ends
(a crash, ``kill -9``), so nothing stale is ever left to clean up.  PostgreSQL keeps the
ledger in the database, shared by every worker, and needs no such lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from botsweep.errors import UserError
from botsweep.storage.db import Database

__all__ = ["crawl_lock", "hold_crawl_lock", "lock_path"]

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS: no lock to take
    fcntl = None  # type: ignore[assignment]


def lock_path(file: Path) -> Path:
    """The lock file of the SQLite database ``file``."""
    return file.with_name(file.name + ".crawl-lock")


@contextmanager
def hold_crawl_lock(file: Path | None, command: str) -> Iterator[None]:
    """Hold the crawl lock of the SQLite database ``file`` while the block runs (nothing to
    hold for None: PostgreSQL or an in-memory database); raise UserError if another process
    holds it."""
    if file is None or fcntl is None:
        yield
        return
    fd = os.open(lock_path(file), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            raise UserError(
                f"{file}: another botsweep process is crawling this SQLite database"
                f"{f' ({holder})' if holder else ''}; SQLite takes one crawler at a time, "
                "since each keeps its rate budget in memory: stop that one first, or use "
                "PostgreSQL for several workers (docs/deploy.md)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, botsweep {command}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # no process id left behind for the next reader
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def crawl_lock(db: Database, command: str) -> AbstractContextManager[None]:
    """:func:`hold_crawl_lock` for ``db``'s file."""
    return hold_crawl_lock(db.file, command)
