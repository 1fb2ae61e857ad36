"""A simulated X rate limiter, and random ledger traffic played against it.

* :class:`FakeRateServer` counts calls per token the way X does and says when one is over
  the limit.
* :data:`ledger_ops` draws a crawl's traffic: calls, replies that come back with headers
  or are lost, reservations given back unsent, waits and sleeps until ``wait_until``.
* :func:`play` runs such traffic through a ledger (in memory or shared) and returns the
  server, so a property test can check that the ledger never let it see too many calls;
  it can also restart the process between ops (a new ledger on the same database).
* :func:`check_unsent_call_does_not_start_window`: the case a property test found, played
  the same way against either ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import strategies as st

from botsweep.crawler.ratelimit import RateSnapshot

__all__ = ["FakeRateServer", "Ledger", "ledger_ops", "play",
           "check_unsent_call_does_not_start_window"]


@dataclass
class FakeRateServer:
    """Counts calls per token the way X does: a window starts at the first call after reset
    (``aligned=False``), or windows end on fixed boundaries as in the sim (``aligned=True``)."""

    limit: int
    window: float
    aligned: bool
    reset: dict[str, float] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    too_many: int = 0

    def receive(self, key: str, now: float) -> RateSnapshot | None:
        if now >= self.reset.get(key, -1.0):
            end = (now // self.window + 1) * self.window if self.aligned else now + self.window
            self.reset[key], self.used[key] = end, 0
        if self.used[key] >= self.limit:
            self.too_many += 1
            return None
        self.used[key] += 1
        return RateSnapshot(self.limit, self.limit - self.used[key], self.reset[key])


class Ledger(Protocol):
    """What :func:`play` needs of RateLedger and SharedRateLedger."""

    def acquire(self, endpoint: str, now: float) -> str | None: ...
    def wait_until(self, endpoint: str, now: float) -> float: ...
    def observe(self, token_key: str, endpoint: str, snap: RateSnapshot | None,
                now: float) -> None: ...
    def release(self, token_key: str, endpoint: str,
                reserved_at: float | None = None) -> None: ...


ledger_ops = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.integers(1, 4)),  # acquire and send n requests
        st.tuples(st.just("reply"), st.integers(0, 50)),  # one in-flight reply comes back
        st.tuples(st.just("drop"), st.integers(0, 50)),  # the reply never comes: no headers
        st.tuples(st.just("unsent"), st.just(0)),  # acquired, then not sent
        st.tuples(st.just("wait"), st.floats(0.0, 30.0)),
        st.tuples(st.just("sleep"), st.just(0)),  # sleep until wait_until
    ),
    max_size=80,
)


def play(ledger: Ledger, server: FakeRateServer, endpoint: str, ops: list[tuple[str, Any]],
         now: float, restart: Callable[[], Ledger] | None = None) -> FakeRateServer:
    """Run ``ops`` (drawn from :data:`ledger_ops`) through ``ledger`` against ``server``.

    With ``restart``, an op ``("restart", 0)`` ends the process as a crawl ends: every
    reply in flight comes back, then ``restart()`` is the next process's ledger.
    """
    in_flight: list[tuple[str, RateSnapshot | None]] = []
    for op, arg in ops:
        if op == "restart" and restart is not None:
            for key, snap in in_flight:
                ledger.observe(key, endpoint, snap, now)
            in_flight.clear()
            ledger = restart()
        if op == "call":
            for _ in range(arg):
                key = ledger.acquire(endpoint, now)
                if key is None:
                    assert ledger.wait_until(endpoint, now) >= now
                    break
                in_flight.append((key, server.receive(key, now)))
        elif op in ("reply", "drop") and in_flight:
            key, snap = in_flight.pop(arg % len(in_flight))
            ledger.observe(key, endpoint, snap if op == "reply" else None, now)
        elif op == "unsent":
            key = ledger.acquire(endpoint, now)
            if key is not None:
                ledger.release(key, endpoint, reserved_at=now)
        elif op == "wait":
            now += arg
        elif op == "sleep":
            now = max(now, ledger.wait_until(endpoint, now))
    return server


def check_unsent_call_does_not_start_window(ledger: Any, endpoint: str, t0: float) -> None:
    """With a limit of 1 call per 9 s and no headers, the window is estimated from the first
    call the server got: a reservation given back with release must not count as that
    first call.  ``ledger`` must have been made with ``{endpoint: (1, 9)}`` and token TOK."""
    assert ledger.acquire(endpoint, t0) == "TOK"
    ledger.release("TOK", endpoint)  # not sent: the server's window has not started
    assert ledger.acquire(endpoint, t0 + 1) == "TOK"  # sent: the server's window ends at +10
    ledger.observe("TOK", endpoint, None, t0 + 1)  # its reply never came
    assert ledger.wait_until(endpoint, t0 + 2) == t0 + 10
    assert ledger.acquire(endpoint, t0 + 9) is None
