"""The crawl loop: claim → fetch → store → enqueue, within the rate limits.

:class:`CrawlEngine` is the only coordinator.  Each turn it does the most useful thing the
rate limits allow: resolve handles, look up profiles (batches of up to 100), or read one
page of a followers/following list.  While one endpoint waits, the others go on.  When
every endpoint with work is spent it sleeps until the earliest reset (``until_idle``) or
returns (a daemon tick).  Every page is stored in one transaction with its cursor, so a
crash loses at most the page in flight.

Progress goes to ``on_event`` listeners as :class:`CrawlStats` snapshots; the loop itself
knows nothing of progress bars.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Hashable, Sequence

from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import Clock, SystemClock
from botsweep.crawler.decide import ScoringContext, rerank_mates, skip_unreadable
from botsweep.crawler.frontier import Frontier, Task
from botsweep.crawler.lookups import LookupSteps
from botsweep.crawler.ratelimit import RateLedger
from botsweep.crawler.reach import Reach, is_outage_sign, ran_out
from botsweep.crawler.replies import ENDPOINTS, Page
from botsweep.crawler.retarget import stand_down
from botsweep.crawler.retry import RetryPolicy
from botsweep.crawler.source import Source
from botsweep.crawler.stats import CrawlStats
from botsweep.errors import (
    ApiUnreachable,
    DatabaseConflict,
    Fatal,
    NotFound,
    Protected,
    RateLimited,
    SourceError,
    Suspended,
    Transient,
    Unreachable,
)
from botsweep.storage.db import Database
from botsweep.storage.pages import log_call, mark_accounts, write_follow_page
from botsweep.storage.runs import close_run, open_run
from botsweep.storage.schema import GONE_STATES, accounts

__all__ = ["CrawlEngine", "CrawlStats", "CrawlAborted"]

log = logging.getLogger("botsweep.crawler")
FOLLOW_KINDS = ("followers", "following")
MAX_CONFLICTS = 20


class CrawlAborted(Fatal):
    """The API refused the crawl as a whole (bad token, wrong base URL)."""


class CrawlEngine:
    """Crawls from the frontier until the budget, the time or the work runs out."""

    def __init__(
        self,
        db: Database,
        source: Source,
        settings: Settings,
        scoring: ScoringContext,
        *,
        clock: Clock | None = None,
        ledger: RateLedger | None = None,
        worker_id: str | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
    ) -> None:
        import os
        import socket

        self.db = db
        self.source = source
        self.settings = settings
        self.crawler = settings.crawler
        self.scoring = scoring
        self.clock = clock or SystemClock()
        self.ledger = ledger or RateLedger(list(source.token_keys))
        self.worker_id = worker_id or self.crawler.worker_id or (
            f"{socket.gethostname()}-{os.getpid()}")
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()
        self.retry = RetryPolicy.from_settings(settings.api)
        self.reach = Reach(str(getattr(source, "base_url", settings.api.base_url)),
                           settings.api.max_unreachable, self.retry, self.rng)
        self.frontier = Frontier(db, self.worker_id, self.crawler.lease_s)
        self.stats = CrawlStats()
        self.listeners: list[Callable[[CrawlStats], None]] = []
        self.run_id: int | None = None
        self.lookups = LookupSteps(self)
        self.conflicts = 0  # steps in a row rolled back by a conflict with another worker

    # -- bookkeeping -------------------------------------------------------------------
    def emit(self) -> None:
        for listener in self.listeners:
            listener(self.stats)

    def log_call(self, endpoint: str, token_key: str, status: int | None, outcome: str,
                 items: int = 0, seconds: float | None = None, conn: object = None) -> None:
        values = dict(run_id=self.run_id, at=self.clock.now(), endpoint=endpoint,
                      token_key=token_key, status=status, outcome=outcome, items=items,
                      seconds=seconds)
        if conn is not None:
            log_call(conn, **values)  # type: ignore[arg-type]
        else:
            with self.db.begin() as c:
                log_call(c, **values)

    def handle_source_error(self, exc: SourceError, endpoint: str, token_key: str) -> str:
        """Count a failed call, feed the ledger, and return its outcome label."""
        if isinstance(exc, Unreachable) and not exc.sent:
            self.ledger.release(token_key, endpoint)  # never sent: no budget spent
        else:
            self.ledger.observe(token_key, endpoint, getattr(exc, "rate", None),
                                self.clock.now())
        if not is_outage_sign(exc):
            self.reach.replied()  # an error reply is a reply: the API is there
        status = getattr(exc, "status", None)
        if isinstance(exc, RateLimited):
            self.ledger.on_rate_limited(token_key, endpoint, exc.until, self.clock.now())
            self.stats.rate_limited += 1
            outcome = "rate_limited"
        elif isinstance(exc, Transient):
            self.stats.fault(exc.kind)
            outcome = exc.kind
        elif isinstance(exc, Suspended | NotFound | Protected):
            outcome = "account_error"
        else:
            outcome = "fatal"
        self.log_call(endpoint, token_key, status, outcome)
        if isinstance(exc, Fatal) and status in (401, 402, 403, 404, 429):  # 429: a cap
            raise CrawlAborted(f"the API refused the crawl: {exc}") from None
        return outcome

    def page_arrived(self, page: Page, endpoint: str, token_key: str,
                     work: Sequence[Hashable] = ()) -> None:
        """A reply: feed its rate headers to the ledger, and note that the API answers
        (and that ``work``, answered, owes nothing for its earlier failures)."""
        self.ledger.observe(token_key, endpoint, page.rate, self.clock.now())
        self.reach.replied(work)

    def spare(self, exc: SourceError, work: Sequence[tuple[str, int]]) -> bool:
        """True when ``exc`` got no reply (in time), or a 5xx, not yet known to be the
        request's own: the caller gives ``work`` back untouched, and the crawl backs off
        before its next request (:mod:`botsweep.crawler.reach`)."""
        if not is_outage_sign(exc):
            return False
        now = self.clock.now()
        charged = self.reach.failed(exc, work, now, lambda: self.frontier.only_work(
            work, self.crawler.max_attempts))
        if not charged and self.reach.streak < self.reach.limit:
            log.info("%s from %s (%s, %d in a row); next request in %.1f s",
                     self.reach.what_failed(), self.reach.base_url, self.reach.reason,
                     self.reach.streak, self.reach.wait(now))
        return not charged

    def backoff(self, attempts: int, exc: Exception | None = None) -> float:
        """Jittered exponential backoff, and no sooner than a 5xx's Retry-After says."""
        wait = self.retry.delay(attempts + 1, self.rng)
        return self.clock.now() + max(wait, getattr(exc, "retry_after", None) or 0.0)

    # -- the loop ----------------------------------------------------------------------
    def run(
        self,
        *,
        max_requests: int | None = None,
        max_seconds: float | None = None,
        until_idle: bool = True,
        command: str = "crawl",
        keep_claim: bool = False,
    ) -> CrawlStats:
        """Crawl; stop on the follows-request budget, the time limit, idleness or ``stop``.
        A daemon's tick ``keep_claim``s: its claim on the target outlives the run.

        Raises :class:`~botsweep.errors.ApiUnreachable` when the API stays unreachable."""
        started = self.clock.now()
        self.reach.rearm()  # (a daemon's Reach outlives its ticks)
        self.frontier.reclaim_on_start()
        # a new target or campaign model (ConfigError if a live worker hunts another target)
        self.scoring.refresh(self.db, started, force=True, worker=self.worker_id)
        self.run_id = open_run(self.db, self.worker_id, command)
        try:
            while not self.stop.is_set():
                self.reach.check()
                if max_requests is not None and self.stats.follows_requests >= max_requests:
                    self.stats.outcome = "budget"
                    break
                if max_seconds is not None and self.clock.now() - started >= max_seconds:
                    self.stats.outcome = "time"
                    break
                pause = self.reach.wait(self.clock.now())
                if pause > 0:  # no reply last time: back off before the next request
                    if max_seconds is not None:
                        pause = min(pause, started + max_seconds - self.clock.now())
                    self.clock.sleep(max(0.01, min(pause, 30.0)))
                    continue
                if self._step_or_conflict():
                    self.stats.waiting_until = None
                    self.emit()
                    continue
                wake, why = self._next_wake()
                if wake is None:
                    self.stats.outcome = "idle"
                    break
                if not until_idle:
                    self.stats.outcome = why
                    break
                self.stats.waiting_until = wake
                self.emit()
                self.clock.sleep(max(0.05, min(wake - self.clock.now(), 30.0)))
            else:
                self.stats.outcome = "stopped"
            self.lookups.absorb()  # the last page's profiles, before this run's cache goes
            if self.stats.outcome in ("budget", "time"):  # nothing replied in the whole run
                self.reach.check_end(ran_out(self.stats.outcome, command, max_requests,
                                              max_seconds))
        except ApiUnreachable:
            self.stats.outcome = "unreachable"
            raise
        except BaseException:  # the run's row must not stay "running" (a 401, a bug)
            self.stats.outcome = "error"
            raise
        finally:
            self.stats.waiting_until = None
            self.frontier.release_all()
            stand_down(self.db, self.worker_id, self.clock.now(), keep_own=keep_claim)
            close_run(self.db, self.run_id, self.stats.outcome, self.stats.as_dict())
            self.emit()
        return self.stats

    def _step_or_conflict(self) -> bool:
        """A step; when PostgreSQL rolled its transaction back because another worker's
        conflicted with it (a deadlock), give back what this worker holds (the work is
        tried again) and go on, unless that happened ``MAX_CONFLICTS`` times in a row."""
        try:
            stepped = self._step()
        except DatabaseConflict as exc:
            self.conflicts += 1
            if self.conflicts >= MAX_CONFLICTS:
                raise
            log.info("%s (%d in a row)", exc, self.conflicts)
            self.frontier.release_all()
            return True
        self.conflicts = 0
        return stepped

    def _step(self) -> bool:
        self.lookups.absorb()
        now = self.clock.now()
        self.scoring.refresh(self.db, now, worker=self.worker_id)  # a campaign model refitted
        return (self.lookups.resolve(now) or self.lookups.lookup(now)
                or self._follows(now))

    def _next_wake(self) -> tuple[float | None, str]:
        """When something could next be done (None when no work is left at all), and why
        not now: ``rate_limited`` when the soonest work waits for a rate-limit window,
        ``waiting`` when it waits for a retry delay or another worker's lease."""
        now = self.clock.now()
        waits: list[tuple[float, str]] = []
        for kinds, endpoint in (
            (("resolve",), ENDPOINTS["users_by"]),
            (("followers",), ENDPOINTS["followers"]),
            (("following",), ENDPOINTS["following"]),
        ):
            if self.frontier.has_work(kinds, now):
                waits.append(self._window(endpoint, now))
        if self.lookups.pending(now):
            waits.append(self._window(ENDPOINTS["users"], now))
        for later in (self.frontier.next_ready_at(("resolve",) + FOLLOW_KINDS, now),
                      self.lookups.next_ready_at(now)):
            if later is not None:
                waits.append((later, "waiting"))
        if not waits:
            return None, "idle"
        return min(waits)

    def _window(self, endpoint: str, now: float) -> tuple[float, str]:
        wait = self.ledger.wait_until(endpoint, now)
        return wait, "rate_limited" if wait > now else "waiting"

    def _follows(self, now: float) -> bool:
        kinds = [k for k in FOLLOW_KINDS if self.ledger.wait_until(ENDPOINTS[k], now) <= now]
        if not kinds:
            return False
        tasks = self.frontier.claim(kinds, now)
        if not tasks:
            return False
        task = tasks[0]
        if self._skip_unreadable(task):
            return True
        endpoint = ENDPOINTS[task.kind]
        token_key = self.ledger.acquire(endpoint, now)
        if token_key is None:
            self.frontier.release(task)
            return False
        self._fetch_list(task, endpoint, token_key)
        return True

    def _skip_unreadable(self, task: Task) -> bool:
        with self.db.connect() as conn:
            row = conn.execute(
                select(accounts.c.state, accounts.c.followers_count, accounts.c.following_count)
                .where(accounts.c.id == task.account_id)
            ).one_or_none()
        if row is None or row.state is None or task.cursor:
            return False
        reason = None
        if row.state in GONE_STATES:
            reason = f"account {row.state}"
        elif row.state == "protected":
            reason = "protected: lists cannot be read"
        if reason is None:
            return False
        self.frontier.finish(task, "skipped", reason, self.clock.now())
        self.stats.skipped_tasks += 1
        return True

    def _fetch_list(self, task: Task, endpoint: str, token_key: str) -> None:
        assert task.account_id is not None
        call = self.source.followers if task.kind == "followers" else self.source.following
        page_size = min(self.crawler.page_size, max(1, self.crawler.max_list_size - task.items))
        self.stats.follows_requests += 1
        began = time.monotonic()
        try:
            page = call(task.account_id, task.cursor, token_key=token_key, max_results=page_size)
        except (Suspended, NotFound, Protected) as exc:
            self.handle_source_error(exc, endpoint, token_key)
            state = {Suspended: "suspended", NotFound: "not_found",
                     Protected: "protected"}[type(exc)]
            fetched = self.clock.now()
            with self.db.begin() as conn:  # the state and the skipped lists, together
                if state != "protected":
                    mark_accounts(conn, {task.account_id: state}, fetched)
                skip_unreadable(conn, [task.account_id], f"account {state}", fetched)
            self.stats.skipped_tasks += 1
            return
        except RateLimited as exc:
            self.handle_source_error(exc, endpoint, token_key)
            self.frontier.release(task)
            return
        except SourceError as exc:
            outcome = self.handle_source_error(exc, endpoint, token_key)
            if self.spare(exc, [("task", task.id)]):
                self.frontier.release(task, self.reach.hold(exc))
                return
            if not self.frontier.retry_later(
                task, f"{outcome}: {exc}", self.backoff(task.attempts, exc),
                self.crawler.max_attempts if isinstance(exc, Transient) else 1,
            ):
                self.stats.failed_tasks += 1
                log.warning("giving up on %s of %s: %s", task.kind, task.account_id, exc)
            return
        self.page_arrived(page, endpoint, token_key, [("task", task.id)])
        fetched_at = page.fetched_at.timestamp()
        cursor = page.next_cursor
        if cursor is not None and cursor == task.cursor:  # would read this page forever
            log.warning("%s of %s: the API gave the same next_token again; the list ends "
                        "here", task.kind, task.account_id)
            cursor = None
        with self.db.begin() as conn:
            result = write_follow_page(
                conn, self.db, task_id=task.id, account_id=task.account_id,
                direction=task.kind, items=page.items, next_cursor=cursor,
                fetched_at=fetched_at, max_list_size=self.crawler.max_list_size,
                lease_owner=None if self.db.is_sqlite else self.worker_id,
            )
            self.log_call(endpoint, token_key, page.status, "ok", len(page.items),
                          time.monotonic() - began, conn=conn)
            rerank_mates(conn, self.scoring, [task.account_id])
        self.lookups.from_lists.keep(page.items, fetched_at)  # profiled once they are stubs
        self.stats.pages += 1
        self.stats.edges += len(result["ids"])
        if not result["held"]:
            log.warning("%s of %s: the lease had lapsed and another worker holds the list; "
                        "this page's edges are kept, its cursor is theirs", task.kind,
                        task.account_id)
