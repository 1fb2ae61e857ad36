"""Backoff rules for failures worth retrying (:class:`~botsweep.errors.Transient`).

Exponential backoff with *full jitter*: before retry ``n`` wait a uniform random time in
``[0, min(cap_s, base_s * 2**(n-1))]``.  Jitter spreads the retries of several workers
so that they do not hit a recovering server in step.  The random generator is passed in,
so tests are deterministic, and nothing here sleeps.

Rate limits are not retried with backoff: a :class:`~botsweep.errors.RateLimited` says
exactly when to come back (:func:`wait_for`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botsweep.errors import RateLimited

if TYPE_CHECKING:
    from botsweep.config import ApiSettings

__all__ = ["RetryPolicy", "wait_for"]

_MAX_EXPONENT = 60  # 2**60 s is far past any cap; keeps the arithmetic finite


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how long apart, to retry a transient failure.

    ``attempt`` counts the attempts already made (1 after the first failure).
    """

    max_attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts={self.max_attempts}: must be >= 1")
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError(
                f"RetryPolicy base_s={self.base_s}, cap_s={self.cap_s}: must not be negative"
            )

    @classmethod
    def from_settings(cls, api: ApiSettings) -> RetryPolicy:
        """Build from :class:`~botsweep.config.ApiSettings` (max_retries retries after the
        first attempt, backoff_base_s, backoff_max_s)."""
        return cls(
            max_attempts=api.max_retries + 1,
            base_s=api.backoff_base_s,
            cap_s=api.backoff_max_s,
        )

    def ceiling(self, attempt: int) -> float:
        """The longest wait before the retry that follows attempt ``attempt``."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.cap_s, self.base_s * (2.0**exponent))

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after attempt ``attempt`` failed: uniform in [0, ceiling]."""
        return rng.uniform(0.0, self.ceiling(attempt))

    def should_retry(self, attempt: int) -> bool:
        """True while fewer than ``max_attempts`` attempts have been made."""
        return attempt < self.max_attempts


def wait_for(error: RateLimited, now: float) -> float:
    """Seconds until a rate-limited endpoint may be called again (never negative)."""
    return max(0.0, error.until - now)
