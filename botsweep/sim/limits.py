"""The sim's rate limits: fixed 15-minute windows per token and per endpoint.

A window opens with the first request after the previous one ended, and lasts
``900 / time_scale`` wall seconds rounded *up* to a whole second, so that
``x-rate-limit-reset`` (wall-clock epoch seconds, as the real API sends) is an exact
moment: a client that waits until ``reset`` always finds a fresh window.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import NamedTuple

from botsweep.errors import InputError

__all__ = ["DEFAULT_LIMITS", "WINDOW_S", "Verdict", "RateLimiter", "parse_rate_limits"]

WINDOW_S = 900.0
DEFAULT_LIMITS: dict[str, int] = {
    "followers": 15,  # GET /2/users/:id/followers, app auth
    "following": 15,  # GET /2/users/:id/following
    "users": 300,  # GET /2/users?ids=
    "users_by": 300,  # GET /2/users/by?usernames=
    "user_by_username": 300,  # GET /2/users/by/username/:username
    "user": 300,  # GET /2/users/:id
    "tweets": 1500,  # GET /2/users/:id/tweets
}


class Verdict(NamedTuple):
    """The outcome of one request against its window, and the header values to send."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> list[tuple[str, str]]:
        return [("x-rate-limit-limit", str(self.limit)),
                ("x-rate-limit-remaining", str(self.remaining)),
                ("x-rate-limit-reset", str(self.reset))]


def parse_rate_limits(items: list[str] | dict[str, int] | None) -> dict[str, int]:
    """``["followers=30", "*=1000"]`` -> the full table; ``*`` sets every endpoint first."""
    limits = dict(DEFAULT_LIMITS)
    if not items:
        return limits
    pairs: list[tuple[str, str | int]]
    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            key, sep, value = item.partition("=")
            if not sep:
                raise InputError(f"--rate-limit {item!r}: write ENDPOINT=N, e.g. followers=30")
            pairs.append((key.strip(), value.strip()))
    pairs.sort(key=lambda kv: kv[0] != "*")
    for key, value in pairs:
        if key != "*" and key not in DEFAULT_LIMITS:
            raise InputError(f"--rate-limit {key}={value}: unknown endpoint {key!r}; use one of "
                             f"{', '.join(DEFAULT_LIMITS)} or *")
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number < 0:
            raise InputError(f"--rate-limit {key}={value}: the limit must be a whole number >= 0")
        for name in (DEFAULT_LIMITS if key == "*" else [key]):
            limits[name] = number
    return limits


class RateLimiter:
    """Counts requests per (token, endpoint) in fixed windows on an injectable wall clock."""

    def __init__(self, limits: dict[str, int], time_scale: float,
                 clock: Callable[[], float]) -> None:
        if time_scale <= 0:
            raise InputError(f"--time-scale {time_scale}: must be greater than 0")
        self.limits = limits
        self.window = WINDOW_S / time_scale
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], list[int]] = {}  # key -> [reset, used]

    def _current(self, key: tuple[str, str], now: float) -> list[int]:
        state = self._windows.get(key)
        if state is None or now >= state[0]:
            state = [math.ceil(now + self.window), 0]
            self._windows[key] = state
        return state

    def take(self, token: str, endpoint: str) -> Verdict:
        """Spend one request if the window has room; say so, with the header values."""
        limit = self.limits[endpoint]
        with self._lock:
            now = self.clock()
            state = self._windows.get((token, endpoint))
            if state is None or now >= state[0]:
                state = self._current((token, endpoint), now)
            if state[1] >= limit:
                return Verdict(False, limit, 0, state[0])
            state[1] += 1
            return Verdict(True, limit, limit - state[1], state[0])

    def peek(self, token: str, endpoint: str) -> Verdict:
        """The window as it stands, spending nothing."""
        limit = self.limits[endpoint]
        with self._lock:
            state = self._current((token, endpoint), self.clock())
            return Verdict(state[1] < limit, limit, max(0, limit - state[1]), state[0])
