"""The rate-limit ledger: headers in, "may I call, and with which token, or wait until when?" out.

Pure: no I/O, no sleeping, no clock.  Every method takes ``now`` (epoch seconds, wall
clock, the same clock as ``x-rate-limit-reset``).  The engine asks :meth:`RateLedger.acquire`
before every call and reports each reservation with exactly one of
:meth:`~RateLedger.observe` (any reply, including a 429 or an error, with its headers or
None; also a failure after the request may have been sent) or :meth:`~RateLedger.release`
(the request was never sent).  A 429 is, in addition, reported with
:meth:`~RateLedger.on_rate_limited`, which counts it and blocks the token until the reset.
A reservation that is never reported stays counted, which is the safe side.

State is kept per (route template, token key).  A token key is the *name* of the
environment variable that holds the token, never the token: keys that do not look like
variable names are refused.

Arithmetic, per (endpoint, token):

* ``remaining`` is what the server last said (or the documented default before any header
  was seen, or a local count when replies carry no headers); ``pending`` counts calls handed
  out whose reply has not been reported; ``issued`` counts calls handed out in this window.
  A call may be handed out while both ``remaining - pending`` and ``limit - issued`` are
  positive.  The second bound matters because replies are reported in any order: a header
  can predate a call that was already reported without one.
* Replies from the same window (same ``reset``) can only lower ``remaining``: replies that
  arrive out of order never give back calls.  A reply with a different future ``reset`` is a
  new window as the server sees it, and the server wins.
* Once ``now >= reset + margin_s`` a fresh window is assumed: ``remaining = limit`` and
  ``issued = 0``.  The
  reset of a window not yet described by a header is estimated as first use + window length,
  where first use is the earliest reservation not given back with ``release``: the server's
  window starts at the first call it receives, so a reservation that was never sent must
  not start ours.  ``release(..., reserved_at=)`` names the reservation by the ``now`` it
  was acquired with, and exactly that one is dropped.  Without it, the latest reservation
  is dropped: a caller that finds it cannot send gives back the call it has just taken.
  (Dropping the earliest instead was wrong whenever the earliest call had been sent and its
  reply lost: the estimate then ended after the server's window, and a call made in between
  shared the server's next window with a fresh one of ours, a 429.)
* Pending calls stay counted across a window change (they may land in the new window), and
  are released when reported.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_LIMITS", "RateSnapshot", "RateLedger"]

# route template -> (calls per window, window seconds), app-auth limits per X API v2 docs
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "/2/users/:id/followers": (15, 900),
    "/2/users/:id/following": (15, 900),
    "/2/users": (300, 900),
    "/2/users/by": (300, 900),
}

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class RateSnapshot:
    """One reply's ``x-rate-limit-limit``, ``-remaining`` and ``-reset`` (epoch seconds)."""

    limit: int
    remaining: int
    reset: float


@dataclass
class _Window:
    limit: int
    window_s: float
    remaining: int
    reset: float | None = None  # None: fresh window, not used yet
    known: bool = False  # reset came from a header (else estimated)
    pending: int = 0
    issued: int = 0
    # While the reset is an estimate: when each reservation not given back was made.
    starts: list[float] = field(default_factory=list)
    skew_hold: float = 0.0  # the last hold after a 429 whose reset had passed (learn_skew())

    @property
    def available(self) -> int:
        return min(self.remaining - self.pending, self.limit - self.issued)


def learn_skew(previous: float, until: float, now: float, window_s: float,
               margin: float) -> tuple[float, float]:
    """After a 429 whose reset ``until`` our clock has already passed: (how long to hold the
    token this time, the ledger's new margin past every reset).

    The API is still in that window, so its clock is behind ours by more than ``now - until``
    (by how much more, it does not say).  Holding 1, 2, 4 ... s (``previous`` doubled), up to
    the window, finds the skew within a few 429s; the ledger then waits that long past every
    reset, so no later window starts before the API's does.  (Holding a fixed second found
    it a second at a time: a 30 s skew cost about 30 429s per window.)"""
    hold = min(max(1.0, 2.0 * previous), window_s)
    return hold, max(margin, min(now + hold - until, window_s))


class RateLedger:
    """Per (endpoint, token key) call budget, fed by reply headers."""

    def __init__(
        self,
        token_keys: Sequence[str],
        defaults: Mapping[str, tuple[int, int]] = DEFAULT_LIMITS,
        *,
        margin_s: float = 0.0,
    ) -> None:
        keys = list(token_keys)
        if not keys:
            raise ValueError("RateLedger needs at least one token key (an env var name)")
        for key in keys:
            if not isinstance(key, str) or not _KEY.match(key):
                raise ValueError(
                    "RateLedger token keys are environment variable names such as "
                    "X_BEARER_TOKEN, never the token itself; got a value that is not a name"
                )
        if len(set(keys)) != len(keys):
            raise ValueError(f"RateLedger token keys repeat: {keys}")
        if margin_s < 0:
            raise ValueError(f"RateLedger margin_s={margin_s}: must not be negative")
        self._keys = keys
        self._defaults = {str(k): (int(v[0]), int(v[1])) for k, v in defaults.items()}
        self._margin = float(margin_s)
        self._state: dict[str, dict[str, _Window]] = {}
        self._lock = threading.Lock()
        self.rate_limited_count = 0

    @property
    def token_keys(self) -> list[str]:
        return list(self._keys)

    # -- internals -----------------------------------------------------------------
    def _windows(self, endpoint: str) -> dict[str, _Window]:
        windows = self._state.get(endpoint)
        if windows is None:
            if endpoint not in self._defaults:
                known = ", ".join(sorted(self._defaults))
                raise ValueError(f"unknown endpoint {endpoint!r}; the ledger knows {known}")
            limit, window_s = self._defaults[endpoint]
            windows = {k: _Window(limit, float(window_s), limit) for k in self._keys}
            self._state[endpoint] = windows
        return windows

    def _window(self, token_key: str, endpoint: str) -> _Window:
        windows = self._windows(endpoint)
        if token_key not in windows:
            raise ValueError(f"unknown token key {token_key!r}; the ledger knows {self._keys}")
        return windows[token_key]

    def _roll(self, w: _Window, now: float) -> None:
        if w.reset is not None and now >= w.reset + self._margin:
            w.remaining = w.limit
            w.reset = None
            w.known = False
            w.issued = 0
            w.starts.clear()

    @staticmethod
    def _sort_key(item: tuple[int, str, _Window], now: float) -> tuple[float, int, int]:
        index, _, w = item
        reset = w.reset if w.reset is not None else now + w.window_s
        return (reset, -w.available, index)

    # -- public API ------------------------------------------------------------------
    def acquire(self, endpoint: str, now: float) -> str | None:
        """Reserve one call; return the token key to use, or None if all are spent.

        Among tokens with calls left, the one whose window ends first is used first (its
        calls are lost otherwise), then the one with most calls left.
        """
        with self._lock:
            windows = self._windows(endpoint)
            ready = []
            for index, (key, w) in enumerate(windows.items()):
                self._roll(w, now)
                if w.available > 0:
                    ready.append((index, key, w))
            if not ready:
                return None
            _, key, w = min(ready, key=lambda item: self._sort_key(item, now))
            if w.reset is None:
                w.reset = now + w.window_s
                w.known = False
            if not w.known:
                w.starts.append(now)
            w.pending += 1
            w.issued += 1
            return key

    def wait_until(self, endpoint: str, now: float) -> float:
        """The earliest epoch at which :meth:`acquire` can succeed (``now`` if it can now).

        When every call is held by a pending request, the answer is the window end, which
        is an upper bound: a reply reported earlier may free a call sooner.
        """
        with self._lock:
            best: float | None = None
            for w in self._windows(endpoint).values():
                self._roll(w, now)
                if w.available > 0:
                    return now
                if w.reset is not None:
                    at = w.reset + self._margin
                    best = at if best is None else min(best, at)
            # Only pending calls hold the budget and no window has started: a report frees it.
            return best if best is not None else now

    def observe(
        self, token_key: str, endpoint: str, snap: RateSnapshot | None, now: float
    ) -> None:
        """Report a reply (with its headers, or None when it had none / never came)."""
        with self._lock:
            w = self._window(token_key, endpoint)
            self._roll(w, now)
            w.pending = max(0, w.pending - 1)
            if snap is None:
                w.remaining = max(0, w.remaining - 1)
                return
            if snap.limit > 0:
                w.limit = int(snap.limit)
            if snap.reset + self._margin <= now:
                return  # a reply from a window that is already over says nothing now
            remaining = max(0, int(snap.remaining))
            if w.known and w.reset == snap.reset:
                w.remaining = min(w.remaining, remaining)
                return
            if w.known:
                # The server started a new window under us: count its calls as ours.
                w.issued = max(0, w.limit - remaining)
            w.remaining = remaining
            w.reset = float(snap.reset)
            w.known = True
            w.starts.clear()

    def on_rate_limited(self, token_key: str, endpoint: str, until: float, now: float) -> None:
        """Count a 429 and block the token for this endpoint until ``until``.

        The reservation itself is reported with :meth:`observe` (before or after this).
        """
        with self._lock:
            self.rate_limited_count += 1
            w = self._window(token_key, endpoint)
            w.remaining = 0
            if until <= now:  # the API's clock is behind ours: learn by how much
                w.skew_hold, self._margin = learn_skew(w.skew_hold, until, now, w.window_s,
                                                       self._margin)
            w.reset = float(until)
            w.known = True
            w.starts.clear()

    def release(self, token_key: str, endpoint: str, reserved_at: float | None = None) -> None:
        """Give back a reservation whose request was never sent.

        ``reserved_at`` is the ``now`` it was acquired with; without it, the latest
        reservation is taken to be the one given back.
        """
        with self._lock:
            w = self._window(token_key, endpoint)
            w.pending = max(0, w.pending - 1)
            w.issued = max(0, w.issued - 1)
            if not w.known and w.starts:
                # The estimate must rest on calls that may have been sent; with none left,
                # the window has not started at all.
                if reserved_at is not None and reserved_at in w.starts:
                    w.starts.remove(reserved_at)
                else:
                    w.starts.pop()
                w.reset = w.starts[0] + w.window_s if w.starts else None

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """For status display: ``{"endpoints": {endpoint: {token_key: {limit, remaining,
        pending, issued, reset, known}}}, "rate_limited_count": n}``.

        With ``now``, windows that have ended show as fresh.
        """
        with self._lock:
            endpoints: dict[str, dict[str, dict[str, Any]]] = {}
            for endpoint in self._defaults:
                per: dict[str, dict[str, Any]] = {}
                for key, w in self._windows(endpoint).items():
                    if now is not None:
                        self._roll(w, now)
                    per[key] = {
                        "limit": w.limit,
                        "remaining": w.remaining,
                        "pending": w.pending,
                        "issued": w.issued,
                        "reset": w.reset,
                        "known": w.known,
                    }
                endpoints[endpoint] = per
            return {"endpoints": endpoints, "rate_limited_count": self.rate_limited_count}

    def __repr__(self) -> str:
        return f"RateLedger(token_keys={self._keys}, rate_limited={self.rate_limited_count})"
