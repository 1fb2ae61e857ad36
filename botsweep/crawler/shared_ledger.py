"""A rate-limit ledger kept in the database, shared by every worker that uses one token pool.

:class:`SharedRateLedger` has the interface of :class:`~botsweep.crawler.ratelimit.RateLedger`
(``acquire``, ``wait_until``, ``observe``, ``on_rate_limited``, ``release``, ``snapshot``),
but its state lives in the ``rate_limits`` table (token_key, endpoint, limit, remaining,
reset, updated_at), so that N daemons on one PostgreSQL database together stay under each
token's limits.  It is what :func:`make_ledger` hands out when the database is PostgreSQL;
on SQLite (one crawler at a time) it hands out the in-memory ledger saved to the same table
(:class:`~botsweep.crawler.saved_ledger.SavedRateLedger`), so that the next process
starts from the windows the last one used.

Rows are keyed by the token's *environment variable name* and the route template, never by
the token.  Arithmetic, per row:

* ``remaining`` counts the calls still free in the window ending at ``reset``; a call is
  taken at :meth:`~SharedRateLedger.acquire` with one atomic
  ``UPDATE ... SET remaining = remaining - 1 WHERE remaining > 0`` (the row lock makes
  concurrent workers queue for it, and PostgreSQL re-checks the condition after the wait).
* ``reset`` of 0 means "no window started yet".  Once ``now >= reset + margin_s`` the same
  UPDATE starts a fresh window (``remaining = limit - 1``, ``reset`` estimated as now + the
  window length) until a reply's headers say otherwise.
* A reply from the current window can only lower ``remaining``: the server has not yet
  counted the calls other workers have in flight, so its number may be too high, never too
  low.  A reply naming another future ``reset`` replaces our estimate of the window (the
  server's reset and limit win), and the calls we handed out in the window we were
  counting stay spent: ``remaining = limit - max(handed out, counted by the server)``.
* A 429 sets ``remaining = 0`` until the reply's reset; :meth:`~SharedRateLedger.release`
  gives a call back (``remaining + 1``) only if its window has not changed meanwhile (same
  ``reset``).
* The estimated window must start with a call the server got, not with one given back.
  When a release leaves no call of the window handed out (``remaining = limit``), none of
  them was sent and the server's window has not started: the same UPDATE sets ``reset``
  back to 0, and the next acquire starts the window afresh.  Only an estimated window gets
  there: a server that described the window counted the call whose reply described it,
  so ``remaining`` stays below ``limit``, and calls taken before that reply carry our
  estimate as their reset and give nothing back.  While other calls of the window are
  still out, a release leaves the estimate as it is, on the first acquire even if that one
  was given back: the row keeps no acquire times, and moving the estimate later is not
  safe either (a call made after the server's window ended but counted in our longer one,
  lost without headers, shares the server's next window with a fresh window of ours).

Time is always the ``now`` argument (wall-clock epoch seconds, the clock of
``x-rate-limit-reset``); the ledger never reads a clock and never sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, case, or_, select, update

from botsweep.crawler.ratelimit import DEFAULT_LIMITS, RateLedger, RateSnapshot, learn_skew
from botsweep.crawler.saved_ledger import SavedRateLedger
from botsweep.storage.db import Database
from botsweep.storage.schema import rate_limits

__all__ = ["SharedRateLedger", "make_ledger"]

_NOT_STARTED = 0.0
# Reservations this process has not reported yet, per (token, endpoint).  A crawl has one
# call in flight at a time; a reservation never reported (a bug, a crash between acquire
# and observe) must not pile up over weeks, so only the newest ones are remembered.
_MAX_PENDING = 64


class SharedRateLedger:
    """Per (endpoint, token key) call budget in the ``rate_limits`` table."""

    def __init__(
        self,
        db: Database,
        token_keys: Sequence[str],
        defaults: Mapping[str, tuple[int, int]] = DEFAULT_LIMITS,
        *,
        margin_s: float = 0.0,
    ) -> None:
        # The in-memory ledger validates keys (env var names, never tokens) and defaults.
        RateLedger(token_keys, defaults, margin_s=margin_s)
        self.db = db
        self._keys = list(token_keys)
        self._defaults = {str(k): (int(v[0]), int(v[1])) for k, v in defaults.items()}
        self._margin = float(margin_s)
        self._lock = threading.Lock()
        # (token_key, endpoint) -> resets of this process's unreported reservations
        self._pending: dict[tuple[str, str], list[float]] = {}
        self._skew_holds: dict[tuple[str, str], float] = {}  # see ratelimit.learn_skew
        self.rate_limited_count = 0
        self._ensure_rows()

    @property
    def token_keys(self) -> list[str]:
        return list(self._keys)

    # -- internals -----------------------------------------------------------------
    def _ensure_rows(self) -> None:
        rows = [
            {"token_key": key, "endpoint": endpoint, "limit": limit, "remaining": limit,
             "reset": _NOT_STARTED, "updated_at": 0.0}
            for endpoint, (limit, _window) in self._defaults.items()
            for key in self._keys
        ]
        with self.db.begin() as conn:
            conn.execute(self.db.insert_ignore(rate_limits, ["token_key", "endpoint"]), rows)

    def _check(self, token_key: str, endpoint: str) -> None:
        if endpoint not in self._defaults:
            known = ", ".join(sorted(self._defaults))
            raise ValueError(f"unknown endpoint {endpoint!r}; the ledger knows {known}")
        if token_key not in self._keys:
            raise ValueError(f"unknown token key {token_key!r}; the ledger knows {self._keys}")

    def _row(self, token_key: str, endpoint: str) -> Any:
        return and_(rate_limits.c.token_key == token_key, rate_limits.c.endpoint == endpoint)

    def _rows(self, endpoint: str) -> list[Any]:
        with self.db.connect() as conn:
            found = conn.execute(
                select(rate_limits).where(rate_limits.c.endpoint == endpoint,
                                          rate_limits.c.token_key.in_(self._keys))
            ).all()
        by_key = {row.token_key: row for row in found}
        return [by_key[k] for k in self._keys if k in by_key]

    def _over(self, reset: float, now: float) -> bool:
        return reset + self._margin <= now

    # -- public API ------------------------------------------------------------------
    def acquire(self, endpoint: str, now: float) -> str | None:
        """Reserve one call; return the token key to use, or None if all are spent.

        As in :class:`RateLedger`, the token whose window ends first is tried first, then
        the one with most calls left; each try is one atomic conditional UPDATE.
        """
        if endpoint not in self._defaults:
            self._check(self._keys[0], endpoint)
        window_s = self._defaults[endpoint][1]
        candidates = []
        for index, row in enumerate(self._rows(endpoint)):
            over = self._over(row.reset, now)
            left = row.limit if over else row.remaining
            if left > 0:
                reset = now + window_s if over else row.reset
                candidates.append((reset, -left, index, row.token_key))
        over_expr = rate_limits.c.reset + self._margin <= now
        for _reset, _left, _index, key in sorted(candidates):
            stmt = (
                update(rate_limits)
                .where(self._row(key, endpoint),
                       or_(rate_limits.c.remaining > 0,
                           and_(over_expr, rate_limits.c.limit > 0)))
                .values(
                    remaining=case((over_expr, rate_limits.c.limit - 1),
                                   else_=rate_limits.c.remaining - 1),
                    reset=case((over_expr, now + window_s), else_=rate_limits.c.reset),
                    updated_at=now,
                )
                .returning(rate_limits.c.reset)
            )
            with self.db.begin() as conn:
                taken = conn.execute(stmt).scalar()
            if taken is not None:
                with self._lock:
                    resets = self._pending.setdefault((key, endpoint), [])
                    resets.append(float(taken))
                    del resets[:-_MAX_PENDING]
                return key
        return None

    def wait_until(self, endpoint: str, now: float) -> float:
        """The earliest epoch at which :meth:`acquire` can succeed (``now`` if it can now)."""
        if endpoint not in self._defaults:
            self._check(self._keys[0], endpoint)
        best: float | None = None
        for row in self._rows(endpoint):
            if self._over(row.reset, now) or row.remaining > 0:
                return now
            at = row.reset + self._margin
            best = at if best is None else min(best, at)
        return best if best is not None else now

    def _forget(self, token_key: str, endpoint: str) -> float | None:
        with self._lock:
            resets = self._pending.get((token_key, endpoint))
            if not resets:
                return None
            reset = resets.pop(0)
            if not resets:
                del self._pending[(token_key, endpoint)]
            return reset

    def observe(
        self, token_key: str, endpoint: str, snap: RateSnapshot | None, now: float
    ) -> None:
        """Report a reply (with its headers, or None when it had none / never came)."""
        self._check(token_key, endpoint)
        self._forget(token_key, endpoint)
        if snap is None or snap.reset + self._margin <= now:
            return  # the call was counted at acquire; an old window says nothing now
        with self.db.begin() as conn:
            row = conn.execute(
                select(rate_limits).where(self._row(token_key, endpoint)).with_for_update()
            ).one_or_none()
            if row is None:
                return
            limit = int(snap.limit) if snap.limit > 0 else int(row.limit)
            told = max(0, int(snap.remaining))
            if row.reset == float(snap.reset):
                remaining = min(int(row.remaining), told)
            else:
                # The server's window is not the one we counted in.  Calls we handed out
                # in a running window that the server has not counted yet are in flight:
                # keep them counted (max), so a new header never frees calls already spent.
                running = row.reset != _NOT_STARTED and not self._over(row.reset, now)
                handed_out = max(0, int(row.limit) - int(row.remaining)) if running else 0
                received = max(0, limit - told)
                remaining = max(0, limit - max(handed_out, received))
            conn.execute(update(rate_limits).where(self._row(token_key, endpoint)).values(
                limit=limit, remaining=remaining, reset=float(snap.reset), updated_at=now,
            ))

    def on_rate_limited(self, token_key: str, endpoint: str, until: float, now: float) -> None:
        """Count a 429 and block the token for this endpoint until ``until``."""
        self._check(token_key, endpoint)
        self.rate_limited_count += 1
        if until <= now:  # the API's clock is behind ours: learn by how much (learn_skew)
            key = (token_key, endpoint)
            self._skew_holds[key], self._margin = learn_skew(
                self._skew_holds.get(key, 0.0), until, now,
                float(self._defaults[endpoint][1]), self._margin)
        with self.db.begin() as conn:
            conn.execute(update(rate_limits).where(self._row(token_key, endpoint)).values(
                remaining=0, reset=float(until), updated_at=now,
            ))

    def release(self, token_key: str, endpoint: str, reserved_at: float | None = None) -> None:
        """Give back a reservation whose request was never sent (if its window is unchanged).

        ``reserved_at`` is accepted for the interface of :class:`RateLedger`; the row keeps
        no acquire times, so it is not needed here (see the module docstring).
        """
        self._check(token_key, endpoint)
        reset = self._forget(token_key, endpoint)
        if reset is None:
            return
        # One statement: the row lock orders it with the other workers' acquires and
        # releases, and SET reads the row as it is once the lock is granted.  Giving back
        # the last call handed out in the window means the window has not started (see the
        # module docstring): reset 0, and the next acquire starts it.
        none_left = rate_limits.c.remaining + 1 >= rate_limits.c.limit
        with self.db.begin() as conn:
            conn.execute(
                update(rate_limits)
                .where(self._row(token_key, endpoint), rate_limits.c.reset == reset,
                       rate_limits.c.remaining < rate_limits.c.limit)
                .values(remaining=rate_limits.c.remaining + 1,
                        reset=case((none_left, _NOT_STARTED), else_=rate_limits.c.reset))
            )

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """For status display, in the shape of :meth:`RateLedger.snapshot`.

        ``pending`` is this process's unreported calls; ``issued`` is not tracked (None).
        """
        endpoints: dict[str, dict[str, dict[str, Any]]] = {}
        with self._lock:
            pending = {k: len(v) for k, v in self._pending.items()}
        for endpoint in self._defaults:
            per: dict[str, dict[str, Any]] = {}
            for row in self._rows(endpoint):
                fresh = row.reset == _NOT_STARTED or (
                    now is not None and self._over(row.reset, now))
                per[row.token_key] = {
                    "limit": row.limit,
                    "remaining": row.limit if fresh else row.remaining,
                    "pending": pending.get((row.token_key, endpoint), 0),
                    "issued": None,
                    "reset": None if fresh else row.reset,
                    "known": not fresh,
                }
            endpoints[endpoint] = per
        return {"endpoints": endpoints, "rate_limited_count": self.rate_limited_count}

    def __repr__(self) -> str:
        return (f"SharedRateLedger(token_keys={self._keys}, db={self.db!r}, "
                f"rate_limited={self.rate_limited_count})")


def make_ledger(db: Database, token_keys: Sequence[str]) -> RateLedger | SharedRateLedger:
    """The shared ledger on PostgreSQL (several workers); on SQLite the in-memory one,
    started from and saved to the ``rate_limits`` table (one process after another)."""
    if db.is_sqlite:
        return SavedRateLedger(db, list(token_keys))
    return SharedRateLedger(db, list(token_keys))
