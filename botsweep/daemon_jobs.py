"""The daemon's whole-graph jobs, run in a subprocess, and the ``jobs`` table they report to.

Scoring every new profile and writing the report both need the whole graph in memory; run
inside the daemon they would leave that memory behind for weeks.  So the daemon starts
``python -m botsweep.daemon_jobs score|report`` for each run: the settings arrive as JSON
on stdin, and the child prints one JSON object on stdout (``{"outcome": ..., "detail":
...}``) before it exits and gives all its memory back.

* :func:`run_in_subprocess` is the parent's side: it waits for the child, and on ``stop``
  sends it SIGTERM (then SIGKILL after ``grace_s``).  A child stopped that way has lost only
  its current transaction (score batches commit one by one; the report is written to a
  temporary file and renamed), so nothing is left half-written.
* On PostgreSQL a job first takes an advisory lock, so when several workers share one
  database only one of them scores (or writes the report) at a time; the others report
  ``skipped``.
* :func:`record_job` writes one row of ``jobs`` (what ``botsweep status`` shows).
* :func:`record_beat` is a running daemon's heartbeat, written every :data:`BEAT_S` between
  ticks as well as during them (``meta`` key ``daemon:<hash of its worker id>``: worker id,
  host, pid, when it started, when it was last heard from), and :func:`clear_beat` removes
  it when the daemon stops.  :func:`live_daemons` is what ``botsweep status`` shows: the
  daemons heard from within :data:`DAEMON_LIVE_S`.  A daemon killed without its clean-up
  (SIGKILL, a lost machine) stops beating and drops out of that list within
  :data:`DAEMON_LIVE_S`, or at once when it ran where status runs (the same host and PID
  namespace) and its process is gone; this works alike on SQLite and on a PostgreSQL
  database shared by daemons on several machines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botsweep.atomic import temp_pattern
from botsweep.liveness import pid_namespace, process_gone
from botsweep.storage.db import Database
from botsweep.storage.schema import jobs, meta

__all__ = ["JobResult", "SUBPROCESS_JOBS", "run_in_subprocess", "record_job", "main",
           "BEAT_S", "DAEMON_LIVE_S", "DAEMON_PREFIX", "record_beat", "clear_beat",
           "live_daemons"]

log = logging.getLogger("botsweep.daemon")

# pg_try_advisory_lock keys: one per whole-graph job, shared by every worker.
_LOCK_KEYS = {"score": 0x626F7473_01, "report": 0x626F7473_02}

DAEMON_PREFIX = "daemon:"  # one heartbeat row in meta per running daemon
BEAT_S = 15.0  # how often a running daemon says so
# A daemon counts as running while heard from within this long: four beats, so that a beat
# held up by a busy database (database.busy_timeout_s, 30 s by default) is not a death.
DAEMON_LIVE_S = 60.0


@dataclass(frozen=True)
class JobResult:
    """How one run of a job ended: ``outcome`` is short (it goes into ``jobs.last_outcome``)."""

    outcome: str
    detail: str = ""


# -- the child ---------------------------------------------------------------------------
def _score(settings: Any, db: Database, config: Path | None = None) -> JobResult:  # noqa: ARG001
    from botsweep.models.scorer import load_scorer
    from botsweep.storage.scores import score_pending

    scorer = load_scorer(settings)
    scored = score_pending(db, scorer)
    return JobResult("ok", f"scored {scored} new or changed profiles with {scorer.version}")


def _report(settings: Any, db: Database, config: Path | None = None) -> JobResult:
    """Write the report; its label commands name ``config``, the daemon's config file."""
    from botsweep.viz.graph import load_report_graph
    from botsweep.viz.report import build_report

    out = Path(settings.report.out)
    graph = load_report_graph(db, campaign=settings.crawler.campaign, config=config)
    summary = build_report(graph, out, min_score=settings.report.min_score,
                           max_nodes=settings.report.max_nodes)
    return JobResult("ok", f"wrote {summary.path}: {summary.describe()}")


SUBPROCESS_JOBS: dict[str, Callable[[Any, Database, Path | None], JobResult]] = {
    "score": _score,
    "report": _report,
}


def _remove_report_temp(settings: Any, since: float) -> None:
    """Remove a temporary report file this child began but did not rename (stopped)."""
    out = Path(settings.report.out)
    for tmp in out.parent.glob(temp_pattern(out)):
        try:
            if tmp.stat().st_mtime >= since - 1:
                tmp.unlink()
        except OSError:
            pass


def _with_lock(kind: str, db: Database, body: Callable[[], JobResult]) -> JobResult:
    if db.is_sqlite:
        return body()
    from sqlalchemy import func, select

    with db.engine.connect() as conn:  # the session holds the advisory lock until closed
        if not conn.execute(select(func.pg_try_advisory_lock(_LOCK_KEYS[kind]))).scalar():
            return JobResult("skipped", f"another worker is running the {kind} job")
        conn.commit()
        try:
            return body()
        finally:
            conn.execute(select(func.pg_advisory_unlock(_LOCK_KEYS[kind])))
            conn.commit()


def _child(kind: str, payload: dict[str, Any]) -> JobResult:
    from botsweep.config import Settings
    from botsweep.logs import setup_logging

    setup_logging(int(payload.get("verbosity", 0)), bool(payload.get("log_json", False)))
    settings = Settings.model_validate(payload["settings"])
    started = time.time()
    db = Database(settings.database)
    try:
        config = Path(payload["config"]) if payload.get("config") else None
        return _with_lock(kind, db, lambda: SUBPROCESS_JOBS[kind](settings, db, config))
    except SystemExit:
        if kind == "report":
            _remove_report_temp(settings, started)
        raise
    finally:
        db.dispose()


def _on_sigterm(_signum: int, _frame: object) -> None:
    # Unwind: the open transaction rolls back and ``finally`` blocks run.  Once only: a
    # second SIGTERM while unwinding (the terminal's, then the daemon's) would raise again
    # inside ``finally`` blocks or the interpreter's shutdown and print a traceback; the
    # parent's SIGKILL after its grace period stays the backstop.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """``python -m botsweep.daemon_jobs score|report`` with the job's JSON on stdin."""
    from botsweep.errors import BotsweepError
    from botsweep.logs import redact

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in SUBPROCESS_JOBS:
        print(f"usage: python -m botsweep.daemon_jobs {{{'|'.join(SUBPROCESS_JOBS)}}} "
              "< job.json", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = _child(args[0], json.loads(sys.stdin.read()))
        code = 0
    except BotsweepError as exc:
        result, code = JobResult("error", redact(str(exc))), 1
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which keeps running
        result, code = JobResult("error", redact(f"{type(exc).__name__}: {exc}")), 1
    print(json.dumps({"outcome": result.outcome, "detail": result.detail}), flush=True)
    return code


# -- the parent --------------------------------------------------------------------------
def run_in_subprocess(
    kind: str,
    settings: Any,
    stop: threading.Event,
    *,
    verbosity: int = 0,
    log_json: bool = False,
    grace_s: float = 5.0,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
    config: Path | None = None,
) -> JobResult:
    """Run job ``kind`` in a child process; stop it (SIGTERM) when ``stop`` is set.
    ``config``: the daemon's config file, named in the report's label commands."""
    if kind not in SUBPROCESS_JOBS:
        raise ValueError(f"unknown subprocess job {kind!r}; expected {list(SUBPROCESS_JOBS)}")
    payload = json.dumps({"settings": settings.model_dump(mode="json"),
                          "verbosity": verbosity, "log_json": log_json,
                          "config": str(config) if config is not None else None})
    proc = subprocess.Popen(
        [sys.executable, "-m", "botsweep.daemon_jobs", kind],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    if on_start is not None:
        on_start(proc)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    lines: list[str] = []
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: lines.append(stdout.read()), daemon=True)
    reader.start()
    stopped = False
    while proc.poll() is None:
        if stop.wait(0.1) and not stopped:
            stopped = True
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    reader.join(2.0)
    if stopped:
        return JobResult("stopped", f"stopped by shutdown (exit {proc.returncode})")
    text = (lines[0] if lines else "").strip().splitlines()
    try:
        answer = json.loads(text[-1]) if text else {}
    except json.JSONDecodeError:
        answer = {}
    if proc.returncode == 0 and answer.get("outcome"):
        return JobResult(str(answer["outcome"]), str(answer.get("detail", "")))
    detail = answer.get("detail") or f"the {kind} process exited with status {proc.returncode}"
    return JobResult("error", str(detail))


def record_job(db: Database, worker_id: str, job_id: str, *, last_run_at: float | None = None,
               result: JobResult | None = None, next_run_at: float | None = None,
               now: float | None = None) -> None:
    """Upsert this worker's row for ``job_id``; leave the last run alone when not given."""
    row: dict[str, Any] = {"worker_id": worker_id, "job_id": job_id, "next_run_at": next_run_at,
                           "updated_at": time.time() if now is None else now}
    update = ["next_run_at", "updated_at"]
    if result is not None:
        row.update(last_run_at=last_run_at, last_outcome=result.outcome[:16],
                   last_detail=result.detail[:2000])
        update += ["last_run_at", "last_outcome", "last_detail"]
    with db.begin() as conn:
        conn.execute(db.upsert(jobs, ["worker_id", "job_id"], update), [row])


def _beat_key(worker_id: str) -> str:
    """The ``meta`` key of ``worker_id``'s heartbeat (hashed: ``meta.key`` holds 64)."""
    return DAEMON_PREFIX + hashlib.sha1(worker_id.encode("utf-8")).hexdigest()[:16]


def record_beat(db: Database, worker_id: str, started_at: float,
                now: float | None = None, conn: Any = None) -> None:
    """Say that the daemon ``worker_id`` (this process, on this host) is running (in
    ``conn``'s transaction when given)."""
    value = json.dumps({"worker_id": worker_id, "host": socket.gethostname(),
                        "pid": os.getpid(), "pid_ns": pid_namespace(),
                        "started_at": started_at,
                        "heard_at": time.time() if now is None else now})
    if conn is not None:
        conn.execute(db.upsert(meta, ["key"], ["value"]),
                     [{"key": _beat_key(worker_id), "value": value}])
        return
    with db.begin(turn=False) as own:  # its own row: never behind a long transaction
        record_beat(db, worker_id, started_at, now, own)


def clear_beat(db: Database, worker_id: str) -> None:
    """The daemon ``worker_id`` has stopped: remove its heartbeat."""
    with db.begin(turn=False) as conn:
        conn.execute(meta.delete().where(meta.c.key == _beat_key(worker_id)))


def live_daemons(conn: Any, now: float) -> list[dict[str, Any]]:
    """Every daemon heard from within :data:`DAEMON_LIVE_S` of ``now`` whose process, if it
    ran here (:func:`~botsweep.liveness.process_gone`), is still there; by worker id:
    ``{worker_id, host, pid, started_at, heard_at}`` (unreadable rows are nobody's)."""
    from sqlalchemy import select

    out = []
    for (raw,) in conn.execute(select(meta.c.value)
                               .where(meta.c.key.startswith(DAEMON_PREFIX))):
        try:
            beat = json.loads(raw)
            row = {"worker_id": str(beat["worker_id"]), "host": str(beat["host"]),
                   "pid": int(beat["pid"]), "started_at": float(beat["started_at"]),
                   "heard_at": float(beat["heard_at"])}
        except (ValueError, TypeError, KeyError):
            continue
        if now - row["heard_at"] < DAEMON_LIVE_S and not process_gone(beat):
            out.append(row)
    return sorted(out, key=lambda row: row["worker_id"])


if __name__ == "__main__":
    sys.exit(main())
