"""The in-memory rate ledger, saved to the database so that the next process starts from it.

:class:`SavedRateLedger` is :class:`~botsweep.crawler.ratelimit.RateLedger` (same
arithmetic, same interface) plus the ``rate_limits`` table: what one crawl process learnt
about each (token key, endpoint) window is there for the next one.  Without it every new
``botsweep crawl``, and every daemon restart, started with full windows, and its first
calls went into a window the last process had used up: a 429, and against the real X API a
call lost to a 15-minute window.  It is what :func:`~botsweep.crawler.shared_ledger.make_ledger`
hands out on SQLite; PostgreSQL has the :class:`~botsweep.crawler.shared_ledger.SharedRateLedger`,
which keeps the whole budget in that table and so also serves several workers at once.

The rows are the shared ledger's: ``(token_key, endpoint, limit, remaining, reset,
updated_at)``, keyed by the token's *environment variable name* (never the token) and the
route template.  ``remaining`` is the calls still free in the window that ends at
``reset`` (wall-clock epoch seconds, the clock of ``x-rate-limit-reset``).

* **Start-up** (the constructor, one read): every saved window becomes the ledger's
  window, as if its reply had just been seen: ``limit``, ``remaining``, ``reset``, and the
  calls the window has already had.  A saved window whose reset has passed (by the next
  call's ``now``) is over like any other: the ledger's usual roll-over makes it fresh, so
  only the learnt limit is kept from it.  A ``reset`` of 0 (the shared ledger's "not
  started") is skipped.
* **Saving** (at most one small write per reply): after :meth:`observe` and
  :meth:`on_rate_limited`, the window is written if it has started and what it says
  changed since the last write.  What is saved is the number of calls the ledger would
  still hand out, so calls this process has in flight are saved as spent.  A window known
  only from our estimate (replies without headers: first use + the documented length) is
  saved with that estimate, which is what this process would have waited for too; the
  first reply with headers in the next process replaces it, as the server wins in
  :meth:`RateLedger.observe`.  :meth:`release` writes nothing: a call given back is not
  saved as free, which errs on the safe side.

Limits of this: the table is read once, at start-up.  Two processes crawling one SQLite
file at the same time each spend the whole budget (use PostgreSQL for several workers);
one process after another is what this serves.  A process killed (SIGKILL) while a
request is out never reports it, so the next one may make that one call too many.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from sqlalchemy import select

from botsweep.crawler.ratelimit import DEFAULT_LIMITS, RateLedger, RateSnapshot
from botsweep.storage.db import Database
from botsweep.storage.schema import rate_limits

__all__ = ["SavedRateLedger"]

_COLUMNS = ["limit", "remaining", "reset", "updated_at"]


class SavedRateLedger(RateLedger):
    """A :class:`RateLedger` that starts from, and writes back to, the ``rate_limits`` table."""

    def __init__(
        self,
        db: Database,
        token_keys: Sequence[str],
        defaults: Mapping[str, tuple[int, int]] = DEFAULT_LIMITS,
        *,
        margin_s: float = 0.0,
    ) -> None:
        super().__init__(token_keys, defaults, margin_s=margin_s)
        self.db = db
        self._upsert = db.upsert(rate_limits, ["token_key", "endpoint"], _COLUMNS)
        # (token_key, endpoint) -> (limit, remaining, reset) as last read or written
        self._saved: dict[tuple[str, str], tuple[int, int, float]] = {}
        # Writes in the order their states were taken (the ledger's own lock is not held
        # over I/O, so that acquire never waits for the database).
        self._save_lock = threading.Lock()
        self._restore()

    # -- start-up ------------------------------------------------------------------
    def _restore(self) -> None:
        with self.db.connect() as conn:
            rows = conn.execute(
                select(rate_limits).where(rate_limits.c.token_key.in_(self.token_keys),
                                          rate_limits.c.endpoint.in_(list(self._defaults)))
            ).all()
        with self._lock:
            for row in rows:
                limit, reset = int(row.limit), float(row.reset)
                if limit <= 0 or reset <= 0:
                    continue  # never started (the shared ledger's reset 0), or no limit
                left = max(0, min(int(row.remaining), limit))
                w = self._window(row.token_key, row.endpoint)
                w.limit = limit
                w.remaining = left
                w.issued = limit - left
                w.reset = reset
                w.known = True
                self._saved[(row.token_key, row.endpoint)] = (limit, left, reset)

    # -- saving ----------------------------------------------------------------------
    def _save(self, token_key: str, endpoint: str, now: float) -> None:
        with self._save_lock:
            with self._lock:
                w = self._window(token_key, endpoint)
                if w.reset is None:
                    return  # not started (a call given back): the saved row stays as it was
                state = (w.limit, max(0, w.available), float(w.reset))
                if self._saved.get((token_key, endpoint)) == state:
                    return
            limit, remaining, reset = state
            with self.db.begin() as conn:
                conn.execute(self._upsert, {"token_key": token_key, "endpoint": endpoint,
                                            "limit": limit, "remaining": remaining,
                                            "reset": reset, "updated_at": now})
            with self._lock:
                self._saved[(token_key, endpoint)] = state

    def observe(
        self, token_key: str, endpoint: str, snap: RateSnapshot | None, now: float
    ) -> None:
        """As :meth:`RateLedger.observe`, then save the window if it changed."""
        super().observe(token_key, endpoint, snap, now)
        self._save(token_key, endpoint, now)

    def on_rate_limited(self, token_key: str, endpoint: str, until: float, now: float) -> None:
        """As :meth:`RateLedger.on_rate_limited`, then save the spent window."""
        super().on_rate_limited(token_key, endpoint, until, now)
        self._save(token_key, endpoint, now)

    def __repr__(self) -> str:
        return (f"SavedRateLedger(token_keys={self.token_keys}, db={self.db!r}, "
                f"rate_limited={self.rate_limited_count})")

