"""Injectable clocks: the only way the crawler reads the time or waits.

:class:`SystemClock` is the real one (``time.time``; ``sleep`` waits on a
:class:`threading.Event`, so :meth:`SystemClock.interrupt` wakes a sleeping crawler at
once when the daemon stops).  :class:`FakeClock` is for tests: ``sleep`` advances the
time instantly and records what was asked, so no unit test ever sleeps for real.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "FakeClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time in epoch seconds, and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock; ``sleep`` returns early once :meth:`interrupt` has been called."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self._stop = stop if stop is not None else threading.Event()

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def interrupt(self) -> None:
        """Wake every current and future ``sleep`` at once (used on shutdown)."""
        self._stop.set()

    @property
    def interrupted(self) -> bool:
        """True once :meth:`interrupt` has been called."""
        return self._stop.is_set()

    def __repr__(self) -> str:
        return f"SystemClock(interrupted={self.interrupted})"


class FakeClock:
    """A clock for tests: time moves only when told to, and ``sleep`` is instant."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(float(seconds))
        if seconds > 0:
            self._now += float(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (negative values are refused)."""
        if seconds < 0:
            raise ValueError(f"FakeClock.advance({seconds}): time cannot go backwards")
        self._now += float(seconds)

    @property
    def slept(self) -> float:
        """Total seconds slept so far."""
        return sum(s for s in self.sleeps if s > 0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now})"
