"""The long-running daemon: crawl ticks, scoring and the report, on an APScheduler 3 schedule.

``Daemon(settings, db).run()`` is ``botsweep daemon``.  Its jobs come from the ``schedule``
section of the config:

* ``crawl``, every ``crawl_every_s``: one bounded tick of the crawl engine
  (``crawl_max_requests`` follows requests, ``crawl_max_seconds``), which returns as soon as
  every endpoint with work is rate-limited instead of sleeping inside the job.  The Source,
  the scorer and the rate ledger live as long as the daemon; each tick gets a fresh engine.
* ``score``, every ``score_every_s``: score new or changed profiles, in a subprocess.
* ``report``, on the cron ``report_cron`` (UTC): write the HTML report, in a subprocess.

Every job coalesces missed runs, never runs twice at once (``max_instances=1``) and is
skipped when it is more than ``misfire_grace_s`` late.  Each daemon has its own in-memory
job store; workers coordinate only through the frontier's leases (and, on PostgreSQL, the
shared rate ledger and an advisory lock per whole-graph job).

Each run ends with one log line and one row in ``jobs`` (last run, outcome, detail, next
run) for ``botsweep status``.  While it runs, the daemon beats every
:data:`~botsweep.daemon_jobs.BEAT_S` (between ticks too), so that status shows it as
running, and stops showing it once it stops or dies.  On SIGTERM or SIGINT the crawl tick
finishes the page in hand, gives back its leases, the subprocess jobs are stopped, and
:meth:`Daemon.run` returns 0 within :data:`STOP_BUDGET_S` seconds.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botsweep.config import Settings
from botsweep.crawler.retarget import renew_claim, stand_down
from botsweep.crawler.stats import describe_crawl
from botsweep.cron import report_trigger
from botsweep.daemon_jobs import (
    BEAT_S,
    JobResult,
    clear_beat,
    live_daemons,
    record_beat,
    record_job,
    run_in_subprocess,
)
from botsweep.errors import BotsweepError, ConfigError
from botsweep.logs import redact
from botsweep.storage.db import Database

__all__ = ["Daemon", "JOB_IDS", "STOP_BUDGET_S", "default_worker_id"]

log = logging.getLogger("botsweep.daemon")

JOB_IDS = ("crawl", "score", "report")
STOP_BUDGET_S = 9.0  # SIGTERM to exit, leaving a second of the 10 s promised


def default_worker_id() -> str:
    """``<hostname>-<pid>``: unique per process, as the crawl engine's default."""
    return f"{socket.gethostname()}-{os.getpid()}"[:64]


@contextmanager
def _signals_set(stop: threading.Event) -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP set ``stop`` (main thread only; elsewhere nothing
    changes).  SIGHUP too: a daemon started with ``&`` from a terminal gets it when the
    terminal closes, and it would otherwise die on the spot, leases held.  It is a stop,
    not a reload: a changed config.yaml is read when the daemon is started again.  A
    SIGHUP ignored already (``nohup botsweep daemon &``) stays ignored."""
    previous: dict[int, Any] = {}

    def _handler(signum: int, _frame: object) -> None:
        if not stop.is_set():
            log.info("received %s: stopping", signal.Signals(signum).name,
                     extra={"event": "signal", "signal": signal.Signals(signum).name})
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            if sig == signal.SIGHUP and signal.getsignal(sig) is signal.SIG_IGN:
                continue  # started with nohup: meant to outlive the terminal
            previous[sig] = signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Daemon:
    """One worker: a scheduler with the crawl, score and report jobs."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        worker_id: str | None = None,
        stop: threading.Event | None = None,
        source: Any = None,
        bot_model: Any = None,
        clock: Any = None,
        verbosity: int = 0,
        log_json: bool = False,
        config_path: Path | None = None,
    ) -> None:
        from botsweep.crawler.clock import SystemClock

        self.config_path = config_path  # named in the report's label commands
        self.settings = settings
        self.db = db
        self.worker_id = (worker_id or settings.crawler.worker_id or default_worker_id())[:64]
        self.stop = stop or threading.Event()
        self.clock = clock or SystemClock(self.stop)
        self.verbosity, self.log_json = verbosity, log_json
        self._source, self._owns_source = source, source is None
        self._bot_model = bot_model
        self._scoring: Any = None
        self._ledger: Any = None
        self._reach: Any = None  # the crawl ticks' Reach (botsweep.crawler.reach)
        self._scheduler: Any = None
        self._running: dict[str, float] = {}
        self._children: set[subprocess.Popen[str]] = set()
        self._lock = threading.Condition()
        self._started_at = 0.0
        self._beating: threading.Thread | None = None

    # -- set-up ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Open the Source, load the scorer and the ledger (errors surface here, at start)."""
        from botsweep.crawler.run import scoring_context
        from botsweep.crawler.shared_ledger import make_ledger

        if self._source is None:
            from botsweep.crawler.source import XSource

            self._source = XSource.from_settings(self.settings.api)
        if self._scoring is None:
            self._scoring = scoring_context(self.settings, self.db, bot_model=self._bot_model)
        if self._ledger is None:
            self._ledger = make_ledger(self.db, list(self._source.token_keys))

    def build_scheduler(self) -> Any:
        """A BackgroundScheduler with this daemon's memory job store and its three jobs."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        sched = self.settings.schedule
        trigger = report_trigger(sched.report_cron)
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(len(JOB_IDS))},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": max(1, math.ceil(sched.misfire_grace_s))},
            timezone=UTC,
        )
        now = datetime.now(UTC)
        scheduler.add_job(self._job("crawl", self.crawl_tick), IntervalTrigger(
            seconds=sched.crawl_every_s, timezone=UTC), id="crawl", name="crawl tick",
            next_run_time=now)
        scheduler.add_job(self._job("score", self.score_job), IntervalTrigger(
            seconds=sched.score_every_s, timezone=UTC), id="score", name="score new profiles")
        first_report = {"next_run_time": now} if sched.report_at_start else {}
        scheduler.add_job(self._job("report", self.report_job), trigger, id="report",
                          name="write the report", **first_report)
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        scheduler.add_listener(self._on_skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        return scheduler

    # -- the jobs ----------------------------------------------------------------------
    def crawl_tick(self) -> JobResult:
        """One bounded crawl: returns on the budget, the time, idleness or a rate limit."""
        from botsweep.crawler.engine import CrawlEngine

        self.prepare()
        sched = self.settings.schedule
        engine = CrawlEngine(self.db, self._source, self.settings, self._scoring,
                             clock=self.clock, ledger=self._ledger, worker_id=self.worker_id,
                             stop=self.stop)
        # One Reach over the ticks: a tick that tries one held request and ends 'waiting'
        # still adds to the streak, so an outage is reported and a request that fails
        # alone is charged, however few requests each tick makes.
        engine.reach = self._reach = self._reach or engine.reach
        stats = engine.run(max_requests=sched.crawl_max_requests,
                           max_seconds=sched.crawl_max_seconds, until_idle=False,
                           command="daemon", keep_claim=True)  # held until the daemon stops
        return JobResult(stats.outcome, describe_crawl(stats))

    def score_job(self) -> JobResult:
        return self._subprocess("score")

    def report_job(self) -> JobResult:
        return self._subprocess("report")

    def _subprocess(self, kind: str) -> JobResult:
        def _track(proc: subprocess.Popen[str]) -> None:
            with self._lock:
                self._children.add(proc)

        try:
            return run_in_subprocess(kind, self.settings, self.stop, verbosity=self.verbosity,
                                     log_json=self.log_json, grace_s=STOP_BUDGET_S / 2,
                                     on_start=_track, config=self.config_path)
        finally:
            with self._lock:
                self._children = {p for p in self._children if p.poll() is None}

    # -- bookkeeping -------------------------------------------------------------------
    def _next_run(self, job_id: str) -> float | None:
        if self._scheduler is None or self.stop.is_set():
            return None
        job = self._scheduler.get_job(job_id)
        if job is None:
            return None
        # The scheduler may not have moved next_run_time on yet: ask the trigger.
        upcoming = job.trigger.get_next_fire_time(None, datetime.now(UTC))
        return upcoming.timestamp() if upcoming is not None else None

    def _job(self, job_id: str, body: Callable[[], JobResult]) -> Callable[[], None]:
        def run() -> None:
            if self.stop.is_set():
                return
            started = time.time()
            with self._lock:
                self._running[job_id] = started
            log.info("job %s started", job_id,
                     extra={"event": "job_start", "job": job_id, "worker_id": self.worker_id})
            try:
                result = body()
            except BotsweepError as exc:
                result = JobResult("error", redact(str(exc)))
            except Exception as exc:  # noqa: BLE001 - one failed run must not end the daemon
                log.exception("job %s failed", job_id)
                result = JobResult("error", redact(f"{type(exc).__name__}: {exc}"))
            seconds = time.time() - started
            try:
                record_job(self.db, self.worker_id, job_id, last_run_at=started, result=result,
                           next_run_at=self._next_run(job_id))
            except BotsweepError as exc:
                log.error("job %s: cannot record the run: %s", job_id, exc)
            finally:
                with self._lock:
                    self._running.pop(job_id, None)
                    self._lock.notify_all()
            level = logging.WARNING if result.outcome == "error" else logging.INFO
            log.log(level, "job %s %s in %.1f s: %s", job_id, result.outcome, seconds,
                    result.detail, extra={
                        "event": "job_end", "job": job_id, "worker_id": self.worker_id,
                        "outcome": result.outcome, "seconds": round(seconds, 3),
                        "detail": result.detail})

        run.__name__ = f"botsweep_{job_id}"
        return run

    def _on_skipped(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_MISSED

        why = ("more than schedule.misfire_grace_s late" if event.code == EVENT_JOB_MISSED
               else "the previous run is still going")
        log.info("job %s skipped: %s", event.job_id, why,
                 extra={"event": "job_skipped", "job": event.job_id,
                        "worker_id": self.worker_id, "reason": why})

    def _record_schedule(self) -> None:
        for job_id in JOB_IDS:
            record_job(self.db, self.worker_id, job_id, next_run_at=self._next_run(job_id))

    def _beat(self) -> None:
        """Say that this daemon runs (a failed write is logged; the next beat retries)."""
        try:
            record_beat(self.db, self.worker_id, self._started_at)
            renew_claim(self.db, self.worker_id, time.time())  # its target, between ticks
        except BotsweepError as exc:
            log.warning("daemon %s: cannot record its heartbeat: %s", self.worker_id, exc)

    def _beat_until_stopped(self) -> None:
        while not self.stop.wait(BEAT_S):
            self._beat()

    # -- running -----------------------------------------------------------------------
    def start(self) -> None:
        """Prepare, then start the scheduler in the background (the first tick runs now).

        The schedule is checked and the Source, scorer and ledger opened before anything
        is written, so a daemon refused at start leaves no trace in the database."""
        from botsweep.viz.report import check_report_path

        scheduler = self.build_scheduler()
        # The report job's file, checked once: a reports volume that drops out later fails
        # the report job alone, never the crawl ticks.
        check_report_path(Path(self.settings.report.out), "report.out")
        self.prepare()
        self._started_at = time.time()
        self._take_worker_id()
        # Our listener and job wrapper log misses, skips and failures, one line each.
        logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
        sched = self.settings.schedule
        # Said before the scheduler starts: its first crawl tick runs at once, and its
        # 'job crawl started' line should come after this one.
        log.info("daemon %s started on %s: crawl every %g s, score every %g s, report at "
                 "'%s'", self.worker_id, self.db.location, sched.crawl_every_s,
                 sched.score_every_s, sched.report_cron,
                 extra={"event": "daemon_start", "worker_id": self.worker_id,
                        "database": self.db.dialect, "database_location": self.db.location})
        # The first runs are due now, not when the schedule was built: loading the model
        # can take longer than misfire_grace_s, and they were then skipped as missed.
        now = datetime.now(UTC)
        scheduler.modify_job("crawl", next_run_time=now)
        if sched.report_at_start:
            scheduler.modify_job("report", next_run_time=now)
        self._scheduler = scheduler
        self._scheduler.start()
        self._record_schedule()
        self._beat()
        self._beating = threading.Thread(target=self._beat_until_stopped, daemon=True,
                                         name=f"botsweep-beat-{self.worker_id}")
        self._beating.start()

    def shutdown(self, budget_s: float = STOP_BUDGET_S) -> bool:
        """Stop everything; True when every job ended within ``budget_s``."""
        deadline = time.monotonic() + budget_s
        self.stop.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        with self._lock:
            for proc in list(self._children):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            while self._running and time.monotonic() < deadline:
                self._lock.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            stuck = sorted(self._running)
        clean = not stuck
        if self._beating is not None:  # no beat may land after the one cleared below
            self._beating.join(max(0.0, deadline - time.monotonic()))
        if self._owns_source and self._source is not None:
            self._source.close()
        if self._scheduler is None:  # refused at start: nothing ran, nothing to record
            return clean
        try:
            for job_id in JOB_IDS:
                record_job(self.db, self.worker_id, job_id, next_run_at=None)
            clear_beat(self.db, self.worker_id)
            stand_down(self.db, self.worker_id, time.time())  # its claim on the target
        except BotsweepError as exc:
            log.error("cannot record the stop: %s", exc)
        if clean:
            log.info("daemon %s stopped", self.worker_id,
                     extra={"event": "daemon_stop", "worker_id": self.worker_id})
        else:
            log.error("daemon %s: job(s) %s did not stop within %.0f s", self.worker_id,
                      ", ".join(stuck), budget_s,
                      extra={"event": "daemon_stop", "worker_id": self.worker_id,
                             "stuck": stuck})
        return clean

    def _take_worker_id(self) -> None:
        """Refuse to start while another live daemon runs under this worker id (the two
        would take back each other's leases and overwrite each other's heartbeat); else
        write the first heartbeat.  Check and write are one transaction, which takes the
        write turn, so two daemons started at the same instant cannot both pass."""
        with self.db.begin() as conn:
            twins = [d for d in live_daemons(conn, time.time())
                     if d["worker_id"] == self.worker_id and (d["host"], d["pid"]) != (
                         socket.gethostname(), os.getpid())]
            if not twins:
                record_beat(self.db, self.worker_id, self._started_at, conn=conn)
        if twins:
            twin = twins[0]
            raise ConfigError(
                f"worker id {self.worker_id!r} is taken by a running daemon (pid {twin['pid']} "
                f"on {twin['host']}, heard from {time.time() - twin['heard_at']:.0f} s ago); "
                "give each daemon its own --worker-id (or crawler.worker_id)")

    def run(self) -> bool:
        """Run until SIGTERM/SIGINT (or ``stop``); True when the stop was clean."""
        with _signals_set(self.stop):
            try:
                self.start()
                while not self.stop.wait(0.5):
                    pass
            finally:
                clean = self.shutdown()
        return clean
