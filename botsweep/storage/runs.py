"""The ``runs`` table: one row per crawl (a ``botsweep crawl``, a daemon tick, a demo).

A run is opened when the crawl starts and closed with its outcome when it ends.  A process
killed with SIGKILL, or a machine that stopped, leaves its run open; :func:`close_lost_runs`
closes such runs when a crawl that could not be running beside them starts, so that
nothing reading ``runs`` takes them for crawls still going.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, func, select, update

from botsweep.storage.db import Database
from botsweep.storage.schema import api_calls, runs

__all__ = ["LOST", "close_lost_runs", "open_run", "close_run"]

LOST = "lost"


def close_lost_runs(conn: Connection, worker_id: str | None) -> int:
    """Close the open runs of ``worker_id`` (every open run when None: on SQLite, where one
    crawler at a time holds the database) as ``lost``, ended at their last API call (or
    their start); return how many were closed."""
    condition = runs.c.ended_at.is_(None)
    if worker_id is not None:
        condition = condition & (runs.c.worker_id == worker_id)
    lost = conn.execute(select(runs.c.id, runs.c.started_at).where(condition)).all()
    detail = json.dumps({"note": "the process ended without closing its run (killed, or "
                                 "its machine stopped)"})
    for run_id, started_at in lost:
        last = conn.execute(select(func.max(api_calls.c.at))
                            .where(api_calls.c.run_id == run_id)).scalar()
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            ended_at=max(float(started_at), float(last or started_at)), outcome=LOST,
            detail=detail))
    return len(lost)


def open_run(db: Database, worker_id: str, command: str) -> int:
    """Open a run for ``worker_id``; a killed predecessor's open run is closed first (any
    on SQLite, where one crawler at a time holds the database; this worker's own on
    PostgreSQL).  Returns the run's id."""
    with db.begin() as conn:
        close_lost_runs(conn, None if db.is_sqlite else worker_id)
        run_id: int = conn.execute(runs.insert().values(
            worker_id=worker_id, command=command, started_at=time.time(),
        )).inserted_primary_key[0]
    return run_id


def close_run(db: Database, run_id: int | None, outcome: str, detail: dict[str, Any]) -> None:
    """Close run ``run_id`` with its outcome and its figures."""
    with db.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            ended_at=time.time(), outcome=outcome, detail=json.dumps(detail)))
