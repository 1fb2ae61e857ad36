"""Storage faults: a DB locked by another process, and a full disk.

* Locked: another process holds SQLite's write lock.  Held for less than the busy timeout,
  the crawl waits and then finishes.  Held past it, the crawl stops with one clear line
  (exit 1, no traceback); once the lock is gone, running it again finishes the crawl.
* Full: ``PRAGMA max_page_count`` (set on every connection) caps the file.  A page write
  that does not fit raises StorageFull and leaves nothing of the page behind; the crawl
  stops with StorageFull; with the cap lifted, resuming ends with the clean crawl's graph.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from botsweep.errors import StorageFull
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.pages import write_follow_page
from botsweep.storage.schema import follows, frontier
from tests.reliability.kit import crawl_in_process, frontier_rows, graph, run_cli, write_config

pytestmark = pytest.mark.slow

_LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
if float(sys.argv[2]) > 0:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.readline()
conn.execute("COMMIT")
"""


def _lock(db_path: Path, hold_s: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _LOCKER, str(db_path), str(hold_s)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _seeded(db_path: Path, world: World) -> Path:
    db = Database(f"sqlite:///{db_path}")
    add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
    db.dispose()
    return db_path


def test_a_short_lock_is_waited_out_and_a_long_one_is_one_clear_line(
    world: World, sim_url: str, tmp_path: Path
) -> None:
    db_path = _seeded(tmp_path / "locked.db", world)
    patient = write_config(tmp_path / "patient.yaml", db=db_path, base_url=sim_url,
                           extra={"database": {"busy_timeout_s": 10}})
    hasty = write_config(tmp_path / "hasty.yaml", db=db_path, base_url=sim_url,
                         extra={"database": {"busy_timeout_s": 0.5}})

    locker = _lock(db_path, 0)  # held until told
    started = time.monotonic()
    refused = run_cli(hasty, "crawl", "--no-progress", "--max-requests", "3")
    locker.communicate("go\n", timeout=10)
    assert refused.returncode == 1, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert lines[0].startswith("botsweep: error: the database is locked by another process")
    assert "retry" in lines[0]
    assert time.monotonic() - started < 30

    locker = _lock(db_path, 1.5)  # released while the crawl waits on it
    waited = run_cli(patient, "crawl", "--no-progress")
    locker.wait(timeout=10)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.startswith("idle"), waited.stdout
    assert all(s in ("done", "skipped") for _, _, s in frontier_rows(db_path))
    assert len(graph(db_path)[0]) > 100


def _cap_pages(db: Database, spare_pages: int) -> None:
    """Every new connection of ``db`` may grow the file by only ``spare_pages`` pages."""
    with db.connect() as conn:
        cap = int(conn.execute(text("PRAGMA page_count")).scalar_one()) + spare_pages

    @event.listens_for(db.engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA max_page_count = {cap}")
        cur.close()

    db.engine.dispose()


def test_a_page_that_does_not_fit_is_rolled_back_whole(world: World, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'full.db'}")
    add_seeds(db, [AccountRef(id=world.seeds[0])], label="bot")
    with db.connect() as conn:
        task = conn.execute(select(frontier.c.id, frontier.c.account_id, frontier.c.cursor,
                                   frontier.c["items"], frontier.c.state)
                            .where(frontier.c.kind == "followers")).one()
    _cap_pages(db, 3)
    items = [{"id": str(10_000_000 + i)} for i in range(20_000)]
    with pytest.raises(StorageFull, match="rolled back"):
        with db.begin() as conn:
            write_follow_page(conn, db, task_id=task.id, account_id=task.account_id,
                              direction="followers", items=items, next_cursor="next-page",
                              fetched_at=time.time(), max_list_size=50_000)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(follows)).scalar_one() == 0
        after = conn.execute(select(frontier.c.id, frontier.c.account_id, frontier.c.cursor,
                                    frontier.c["items"], frontier.c.state)
                             .where(frontier.c.id == task.id)).one()
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert tuple(after) == tuple(task)
    db.dispose()


def test_a_crawl_that_fills_the_disk_stops_and_resumes_to_the_clean_graph(
    world: World, tmp_path: Path
) -> None:
    with SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000}) as url:
        crawl_in_process(world, tmp_path / "clean.db", url)
        full = Database(f"sqlite:///{tmp_path / 'full.db'}")
        _cap_pages(full, 40)
        with pytest.raises(StorageFull):
            crawl_in_process(world, tmp_path / "full.db", url, db=full)
        full.dispose()
        with Database(f"sqlite:///{tmp_path / 'full.db'}").connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert conn.execute(select(func.count()).select_from(frontier).where(
                frontier.c.state == "pending")).scalar_one() > 0  # it really stopped early
        crawl_in_process(world, tmp_path / "full.db", url)
    assert graph(tmp_path / "full.db") == graph(tmp_path / "clean.db")
    assert frontier_rows(tmp_path / "full.db") == frontier_rows(tmp_path / "clean.db")
