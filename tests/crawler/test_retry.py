"""Backoff rules and the injectable clocks."""

from __future__ import annotations

import random
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botsweep.config import ApiSettings
from botsweep.crawler.clock import Clock, FakeClock, SystemClock
from botsweep.crawler.retry import RetryPolicy, wait_for
from botsweep.errors import RateLimited


@given(attempt=st.integers(-3, 10_000), seed=st.integers(0, 2**32),
       base=st.floats(0, 100), cap=st.floats(0, 3600))
def test_delay_is_jittered_within_the_capped_exponential(attempt, seed, base, cap) -> None:
    policy = RetryPolicy(base_s=base, cap_s=cap)
    delay = policy.delay(attempt, random.Random(seed))
    assert 0.0 <= delay <= min(cap, base * 2 ** min(max(attempt - 1, 0), 60))


def test_ceiling_doubles_then_caps() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=10.0)
    assert [policy.ceiling(a) for a in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_full_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = [RetryPolicy(base_s=1, cap_s=60).delay(6, rng) for _ in range(2000)]
    assert max(delays) > 25 and min(delays) < 5  # spread over [0, 32], not bunched at 32
    assert 13 < sum(delays) / len(delays) < 19  # mean of uniform [0, 32] is 16


def test_should_retry_counts_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(a) for a in (1, 2, 3, 4)] == [True, True, False, False]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_from_settings() -> None:
    api = ApiSettings(max_retries=2, backoff_base_s=0.5, backoff_max_s=4)
    assert RetryPolicy.from_settings(api) == RetryPolicy(max_attempts=3, base_s=0.5, cap_s=4)


def test_wait_for_a_rate_limit_uses_its_reset() -> None:
    assert wait_for(RateLimited(until=1000.0), now=940.5) == 59.5
    assert wait_for(RateLimited(until=1000.0), now=1001.0) == 0.0


def test_fake_clock_sleeps_instantly() -> None:
    clock = FakeClock(100.0)
    assert isinstance(clock, Clock)
    clock.sleep(30)
    clock.sleep(-1)
    clock.advance(5)
    assert clock.now() == 135.0 and clock.sleeps == [30.0, -1.0] and clock.slept == 30.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_system_clock_wakes_on_interrupt() -> None:
    clock = SystemClock()
    assert isinstance(clock, Clock) and abs(clock.now() - time.time()) < 1
    threading.Timer(0.05, clock.interrupt).start()
    started = time.monotonic()
    clock.sleep(30)  # would hang the test for 30 s if interrupt did not wake it
    assert time.monotonic() - started < 5 and clock.interrupted
