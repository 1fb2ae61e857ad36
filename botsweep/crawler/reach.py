"""Telling "the API is down" apart from "this request failed".

A request that gets no reply at all (the host name does not resolve, the connection is
refused or reset, no connection is made in time) says nothing about its task: the task
is fine and the network is not.  Nor does a reply that never comes in time, or a server
error (5xx), while every request fails so: the service is down, not the task's account.
Counting such failures against the task's attempts would mark every task ``failed`` for
good during an outage, so they are kept apart:

* :func:`no_reply_error` is the Source's half: it turns a requests exception into
  :class:`~botsweep.errors.Unreachable` (``sent=False``, kind ``unreachable``: the request
  never left; ``sent=True``, kind ``reset``: the connection was dropped before any reply)
  or into an ordinary :class:`~botsweep.errors.Transient` (kind ``timeout``: connected
  and sent, but no reply came in time; kind ``reset``: a reply began and broke off).
* :class:`Reach` is the engine's half, one per crawl run.  Each ``Unreachable``, each
  timeout and each 5xx gives the work back untouched (lease released, attempts unchanged)
  and makes the whole crawl wait, backing off exponentially (``api.backoff_base_s``
  doubling up to ``api.backoff_max_s``, with jitter, and no sooner than a 5xx's
  ``Retry-After``), so an outage is never a hot loop.  Any other reply (a page, a 429, an
  account error, a malformed body) ends the streak.  After ``api.max_unreachable``
  failures in a row, or at the end of a run (budget or time) in which every request
  failed so, the crawl stops with :class:`~botsweep.errors.ApiUnreachable`, one line
  naming the base URL, what the requests got (no reply, or a server error) and which of
  the two ended the crawl (a daemon tick's time can run out after fewer failures than the
  limit).

One guard keeps a task from being retried for free forever: after a request was sent and
its connection dropped, it timed out or it got a 5xx, the work waits until just after the
backoff, so other work goes first; once the API has answered others since that work's
first such failure, the next one is that request's fault rather than the service's (an
account whose list the server always fails on), and is charged as an ordinary attempt.
When that work is the only work queued at all, nothing else can answer: after a whole
streak of its own failures it is charged the same way, so the last list left does not stop
every crawl as an outage for good.
"""

from __future__ import annotations

import logging
import random
import socket
from collections.abc import Callable, Hashable, Iterable
from typing import TypeGuard

import requests
from requests.exceptions import ProxyError, SSLError
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.exceptions import ProxyError as _UrllibProxyError

from botsweep.crawler.retry import RetryPolicy
from botsweep.errors import ApiUnreachable, Transient, Unreachable

log = logging.getLogger(__name__)

__all__ = ["Reach", "is_outage_sign", "is_server_error", "no_reply_error", "ran_out"]

# The request never left: no connection (or no TLS session, or no proxy) was made.
_NEVER_SENT = (requests.ConnectTimeout, ProxyError, SSLError)
_CONNECT_PHASE = (NewConnectionError, ConnectTimeoutError, _UrllibProxyError)


def _connect_reason(reason: object, timeout_s: float) -> str:
    """A few words on why no connection was made."""
    if isinstance(reason, SSLError):
        return "the TLS handshake failed (check the certificate and api.base_url)"
    if isinstance(reason, NewConnectionError):  # before ConnectTimeoutError: urllib3 1.x
        cause = reason.__cause__ or reason.__context__
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        return "no connection could be made"
    if isinstance(reason, ConnectTimeoutError | requests.ConnectTimeout):
        return f"no connection within {timeout_s:g} s"
    if isinstance(reason, _UrllibProxyError | ProxyError):
        return "the proxy could not be reached"
    return "no connection could be made"


def no_reply_error(
    exc: requests.RequestException, endpoint: str, host: str, timeout_s: float
) -> Transient:
    """The botsweep error for a request that got no (whole) reply.

    ``Unreachable`` when no reply came at all, else an ordinary ``Transient``; the message
    names the endpoint and the host, never the request's headers.
    """
    inner = exc.args[0] if exc.args else None
    reason = inner.reason if isinstance(inner, MaxRetryError) else inner
    if isinstance(exc, _NEVER_SENT) or (
        isinstance(exc, requests.ConnectionError) and isinstance(reason, _CONNECT_PHASE)
    ):
        why = _connect_reason(reason if isinstance(reason, _CONNECT_PHASE) else exc, timeout_s)
        return Unreachable(f"{endpoint}: cannot connect to {host}: {why}",
                           kind="unreachable", sent=False, reason=why)
    if isinstance(exc, requests.Timeout):
        return Transient(f"{endpoint}: no reply from {host} within {timeout_s:g} s",
                         kind="timeout", reason=f"no reply within {timeout_s:g} s")
    if isinstance(exc, requests.ConnectionError):
        cause = reason.args[1] if isinstance(reason, ProtocolError) and len(
            reason.args) > 1 else None
        why = ("the connection was reset before a reply"
               if cause is None or isinstance(cause, ConnectionResetError)
               else "the connection was closed before a reply")
        return Unreachable(f"{endpoint}: {host}: {why} ({type(exc).__name__})",
                           kind="reset", sent=True, reason=why)
    return Transient(f"{endpoint}: the reply from {host} broke off ({type(exc).__name__})",
                     kind="reset")


def ran_out(outcome: str, command: str, max_requests: int | None,
             max_seconds: float | None) -> str:
    """What ended a run before its failures reached ``api.max_unreachable``, in words (a
    daemon's tick names the schedule setting that bounds it)."""
    tick = command == "daemon"
    if outcome == "time":
        return (f"the tick's time (schedule.crawl_max_seconds, {max_seconds:g} s) ran out"
                if tick else f"the crawl's time ({max_seconds:g} s) ran out")
    return (f"the tick's budget (schedule.crawl_max_requests, {max_requests}) ran out"
            if tick else f"the crawl's budget ({max_requests} follows requests) ran out")


class Reach:
    """Whether the API answers at all, over one crawl run (see the module docstring)."""

    def __init__(self, base_url: str, limit: int, retry: RetryPolicy,
                 rng: random.Random | None = None) -> None:
        self.base_url = base_url
        self.limit = max(1, int(limit))
        self.retry = retry
        self.rng = rng or random.Random()
        self.streak = 0  # requests in a row that got no reply
        self.replies = 0  # replies of any kind in this run
        self.until = 0.0  # no request before this epoch (backing off)
        self.reason = ""
        self.server_errors = 0  # of the streak, how many were 5xx replies
        self._dropped: dict[Hashable, int] = {}  # work -> replies seen at its first drop
        self._streak_work: set[frozenset[Hashable]] = set()  # what this streak's requests
        self._suspects: set[Hashable] = set()  # were for; work a whole streak failed on

    def rearm(self) -> None:
        """At the start of a run: a streak that ended the last run at ``limit`` may go on
        (one more failure ends this run too; one reply clears it).  A daemon keeps one
        Reach over its ticks, so that a streak, and a request that fails alone, can span
        ticks that each make one request."""
        self.streak = min(self.streak, self.limit - 1)

    def replied(self, work: Iterable[Hashable] = ()) -> None:
        """A reply came (of any kind): the API is reachable.  ``work`` got its answer: its
        earlier failures are forgotten (a later outage starts it afresh)."""
        for key in work:
            self._dropped.pop(key, None)
            self._suspects.discard(key)
        if self.streak:  # an operator who saw the outage reported sees it end
            log.info("the API at %s answers again (after %d request(s) in a row got %s)",
                     self.base_url, self.streak, self.what_failed())
        self.streak = 0
        self.server_errors = 0
        self._streak_work.clear()
        self.replies += 1
        self.until = 0.0

    def failed(self, exc: Transient, work: Iterable[Hashable], now: float,
               alone: Callable[[], bool] = lambda: False) -> bool:
        """Count a request that got no reply, or a 5xx, and start backing off.

        ``work`` names what the request was for (task or account keys).  Returns True when
        the failure is that request's, not the service's: it was sent (its connection was
        dropped, it timed out or it got a 5xx) and either the API has answered other
        requests since that work's first such failure, or a whole streak of at least two
        sent failures was this one request's while ``alone()`` says nothing else at all is
        queued (the last list left, which the server always fails on, must not look like an
        outage run after run; from then on its failures are charged).  Such a failure uses
        up an attempt, and neither counts towards the streak nor backs the crawl off.
        """
        keys = list(work)
        sent = getattr(exc, "sent", True)
        charge = sent and any(self._dropped.get(k, self.replies) < self.replies
                              or k in self._suspects for k in keys)
        for key in keys:
            self._dropped.setdefault(key, self.replies)
        if charge:
            return True
        self._streak_work.add(frozenset(keys) if sent else frozenset({("unsent",)}))
        if (sent and self.streak + 1 >= max(2, self.limit) and len(self._streak_work) == 1
                and alone()):
            self._suspects.update(keys)  # the streak was all this request's, and no other
            return True
        self.streak += 1
        server = is_server_error(exc)
        self.server_errors += server
        self.reason = exc.reason
        after = (exc.retry_after or 0.0) if server else 0.0
        self.until = now + max(self.delay(self.streak), after)
        return False

    def delay(self, streak: int) -> float:
        """Seconds to wait after ``streak`` failures in a row: half the backoff ceiling,
        plus up to as much again at random (so several workers do not retry in step)."""
        ceiling = self.retry.ceiling(streak)
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)

    def hold(self, exc: Exception) -> float | None:
        """When work whose request failed so may be claimed again: at once (None) when the
        request never left; just after the backoff when it was sent (dropped, or a 5xx),
        so that other work goes first and shows whether the API answers at all."""
        return self.until + 1.0 if getattr(exc, "sent", True) else None

    def wait(self, now: float) -> float:
        """Seconds to wait before the next request (0 when the API last answered)."""
        return max(0.0, self.until - now)

    def check(self) -> None:
        """Raise :class:`ApiUnreachable` once ``limit`` requests in a row got no reply."""
        if self.streak >= self.limit:
            raise self.error()

    def check_end(self, ended: str) -> None:
        """At the end of a run: raise when requests were made and none got a reply.

        ``ended`` says what ended the run before ``limit`` failures were reached, such as
        ``the crawl's time (50 s) ran out``; the error says so rather than reading as if
        the crawl had given up after fewer failures than ``api.max_unreachable`` allows."""
        if self.streak and not self.replies:
            raise self.error(ended)

    def what_failed(self) -> str:
        """What the streak's requests got, in words."""
        if self.server_errors == self.streak:
            return "a server error"
        return "no reply" if self.server_errors == 0 else "no reply or a server error"

    def error(self, ended: str | None = None) -> ApiUnreachable:
        """The one-line error: the crawl gave up after ``limit`` failures in a row, or
        (``ended``) its run ended while every request it made had failed."""
        got = self.what_failed()
        if ended is None:
            tries = "1 request" if self.streak == 1 else f"{self.streak} requests in a row"
            what = (f"{tries} got {got} ({self.reason}), so the crawl gave up "
                    f"(api.max_unreachable: {self.limit})")
        elif self.server_errors == 0:
            tries = ("1 request, which got" if self.streak == 1
                     else f"{self.streak} requests, none got")
            what = f"{ended} while the API was unreachable: {tries} a reply ({self.reason})"
        else:
            tries = ("1 request, which got" if self.streak == 1
                     else f"{self.streak} requests, each got")
            what = f"{ended} while the API was failing: {tries} {got} ({self.reason})"
        if self.server_errors == self.streak:
            return ApiUnreachable(f"the API at {self.base_url} is failing: {what}; no task "
                                  "used up an attempt, so crawl again later")
        return ApiUnreachable(f"cannot reach the API at {self.base_url}: {what}; "
                              "check the network and api.base_url")


def is_server_error(exc: Exception) -> bool:
    """A 5xx reply, or a 408 (a sign of an outage while every request gets one)."""
    return isinstance(exc, Transient) and not isinstance(exc, Unreachable) and (
        exc.kind == "5xx" or getattr(exc, "status", None) == 408)


def is_outage_sign(exc: Exception) -> TypeGuard[Transient]:
    """No reply, no reply in time, or a 5xx: the service's failure while every request
    fails so, the request's own once others get replies."""
    return isinstance(exc, Unreachable) or is_server_error(exc) or (
        isinstance(exc, Transient) and exc.kind == "timeout")
