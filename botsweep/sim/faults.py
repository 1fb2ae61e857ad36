"""Fault injection for the sim: 5xx replies, timeouts, reset connections, malformed bodies.

``FaultSpec.parse("5xx=0.03,timeout=0.01,reset=0.01,malformed=0.01")`` gives each kind
its rate.  The draw is deterministic for a given ``rng_seed``: the *n*-th request for a
given URL (path and query) always meets the same fate, whatever order threads run in, so
a retry of a failed request gets a fresh draw, and a rerun of the same crawl sees the same
faults.

Budget rule: a faulted request never spends rate-limit budget.  Faults are drawn after
the token and the parameters are checked (a 401 or 400 is never replaced by a fault) and
before the rate limit is charged.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from botsweep.errors import InputError

__all__ = ["FAULT_KINDS", "FaultSpec", "FaultInjector"]

FAULT_KINDS = ("5xx", "timeout", "reset", "malformed")


@dataclass(frozen=True)
class FaultSpec:
    """Rates in [0, 1] for each fault kind; they add up to at most 1."""

    rates: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse ``"5xx=0.03,timeout=0.01"``; empty or ``none`` means no faults."""
        if text is None or text.strip().lower() in ("", "none", "off"):
            return cls({})
        rates: dict[str, float] = {}
        for item in text.split(","):
            kind, sep, value = item.strip().partition("=")
            kind = kind.strip().lower()
            if not sep:
                raise InputError(f"--faults {text!r}: write KIND=RATE pairs such as 5xx=0.03")
            if kind not in FAULT_KINDS:
                raise InputError(f"--faults: unknown fault kind {kind!r}; use "
                                 f"{', '.join(FAULT_KINDS)}")
            try:
                rate = float(value)
            except ValueError:
                rate = -1.0
            if not 0.0 <= rate <= 1.0:
                raise InputError(f"--faults: {kind}={value} must be a rate between 0 and 1")
            rates[kind] = rate
        if sum(rates.values()) > 1.0 + 1e-9:
            raise InputError(f"--faults {text!r}: the rates add up to more than 1")
        return cls(rates)

    def __bool__(self) -> bool:
        return any(rate > 0 for rate in self.rates.values())

    def __str__(self) -> str:
        return ",".join(f"{k}={self.rates[k]:g}" for k in FAULT_KINDS if k in self.rates) or "none"


class FaultInjector:
    """Decides, per request, whether to inject a fault and which."""

    def __init__(self, spec: FaultSpec, rng_seed: int = 0) -> None:
        self.spec = spec
        self._active = bool(spec)
        self._salt = str(rng_seed).encode()
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def draw(self, target: str) -> tuple[str | None, int]:
        """``(kind or None, a deterministic integer for variants)`` for this request."""
        if not self._active:
            return None, 0
        with self._lock:
            n = self._seen.get(target, 0)
            self._seen[target] = n + 1
        digest = hashlib.blake2b(f"{n}|{target}".encode(), key=self._salt,
                                 digest_size=16).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        extra = int.from_bytes(digest[8:], "big")
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += self.spec.rates.get(kind, 0.0)
            if u < edge:
                return kind, extra
        return None, extra
