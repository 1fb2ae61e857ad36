"""The rate-limit ledger: examples, and properties against a simulated X API server."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from botsweep.crawler.ratelimit import DEFAULT_LIMITS, RateLedger, RateSnapshot
from tests.crawler.rate_server import (
    FakeRateServer,
    check_unsent_call_does_not_start_window,
    ledger_ops,
    play,
)

FOL = "/2/users/:id/followers"
T0 = 1_700_000_000.0


def test_defaults_before_any_header() -> None:
    ledger = RateLedger(["TOK"])
    keys = [ledger.acquire(FOL, T0 + i) for i in range(16)]
    assert keys[:15] == ["TOK"] * 15 and keys[15] is None
    for _ in range(15):
        ledger.observe("TOK", FOL, None, T0 + 16)  # replies that carried no headers
    assert ledger.wait_until(FOL, T0 + 20) == T0 + 900  # first use + the documented window
    assert ledger.acquire(FOL, T0 + 900) == "TOK"  # fresh window


def test_a_reservation_never_sent_does_not_start_the_window() -> None:
    check_unsent_call_does_not_start_window(RateLedger(["TOK"], {FOL: (1, 9)}), FOL, T0)


@pytest.mark.parametrize(("given_back", "window_end"), [(0, 12), (3, 9)])
def test_the_reservation_given_back_is_the_one_named(given_back: float,
                                                     window_end: float) -> None:
    """Two reservations, one given back: the estimated window starts at the other one."""
    ledger = RateLedger(["TOK"], {FOL: (2, 9)})
    assert ledger.acquire(FOL, T0) == "TOK"
    assert ledger.acquire(FOL, T0 + 3) == "TOK"
    ledger.release("TOK", FOL, reserved_at=T0 + given_back)
    ledger.observe("TOK", FOL, None, T0 + 4)
    assert ledger.acquire(FOL, T0 + 5) == "TOK"
    ledger.observe("TOK", FOL, None, T0 + 5)
    assert ledger.wait_until(FOL, T0 + 6) == T0 + window_end


def test_a_call_given_back_after_a_sent_one_does_not_move_the_window() -> None:
    """Limit 2 per 9 s, no headers: the first call was sent (its reply lost), the second
    given back.  The server's window runs from the first call; an estimate moved to the
    second let a call at +9.5 start a server window that our fresh one then overfilled."""
    server = FakeRateServer(2, 9.0, aligned=False)
    ops = [("call", 1), ("drop", 0), ("wait", 1.0), ("unsent", 0), ("wait", 8.5),
           ("call", 1), ("drop", 0), ("sleep", 0), ("call", 2)]
    play(RateLedger(["TOK"], {FOL: (2, 9)}), server, FOL, ops, T0)
    assert server.too_many == 0


def test_server_headers_win() -> None:
    ledger = RateLedger(["TOK"])
    assert ledger.acquire(FOL, T0) == "TOK"
    ledger.observe("TOK", FOL, RateSnapshot(limit=15, remaining=1, reset=T0 + 40), T0)
    assert ledger.acquire(FOL, T0 + 1) == "TOK"
    assert ledger.acquire(FOL, T0 + 2) is None  # the one in flight holds the last call
    assert ledger.wait_until(FOL, T0 + 2) == T0 + 40
    ledger.observe("TOK", FOL, RateSnapshot(15, 0, T0 + 40), T0 + 3)
    assert ledger.acquire(FOL, T0 + 39.9) is None
    assert ledger.acquire(FOL, T0 + 40) == "TOK"


def test_out_of_order_replies_never_give_calls_back() -> None:
    ledger = RateLedger(["TOK"])
    for _ in range(3):
        ledger.acquire(FOL, T0)
    ledger.observe("TOK", FOL, RateSnapshot(15, 12, T0 + 900), T0 + 1)  # the third reply
    ledger.observe("TOK", FOL, RateSnapshot(15, 14, T0 + 900), T0 + 2)  # the first, late
    ledger.observe("TOK", FOL, RateSnapshot(15, 13, T0 + 900), T0 + 3)
    assert ledger.snapshot()["endpoints"][FOL]["TOK"]["remaining"] == 12


def test_replies_without_headers_count_locally() -> None:
    ledger = RateLedger(["TOK"], {FOL: (3, 60)})
    for i in range(3):
        assert ledger.acquire(FOL, T0 + i) == "TOK"
        ledger.observe("TOK", FOL, None, T0 + i)
    assert ledger.acquire(FOL, T0 + 5) is None
    assert ledger.wait_until(FOL, T0 + 5) == T0 + 60


def test_token_with_earliest_reset_is_used_first_then_the_other() -> None:
    ledger = RateLedger(["A", "B"])
    ledger.observe("A", FOL, RateSnapshot(15, 2, T0 + 800), T0)
    ledger.observe("B", FOL, RateSnapshot(15, 2, T0 + 100), T0)
    # B's calls are lost at T0+100 if unused, so B goes first; then A.
    assert [ledger.acquire(FOL, T0 + 1) for _ in range(5)] == ["B", "B", "A", "A", None]
    assert ledger.wait_until(FOL, T0 + 1) == T0 + 100


def test_429_is_counted_and_blocks_until_reset() -> None:
    ledger = RateLedger(["TOK"])
    ledger.acquire(FOL, T0)
    ledger.observe("TOK", FOL, None, T0)  # the 429 reply had no headers
    ledger.on_rate_limited("TOK", FOL, until=T0 + 300, now=T0)
    assert ledger.rate_limited_count == 1
    assert ledger.snapshot()["endpoints"][FOL]["TOK"]["pending"] == 0
    assert ledger.acquire(FOL, T0 + 299) is None
    assert ledger.wait_until(FOL, T0 + 10) == T0 + 300
    assert ledger.acquire(FOL, T0 + 300) == "TOK"
    ledger.on_rate_limited("TOK", FOL, until=T0 - 5, now=T0 + 301)  # skewed: reset in the past
    assert ledger.acquire(FOL, T0 + 301.5) is None  # held at least a second, no 429 storm


def test_unreported_calls_stay_counted_across_windows() -> None:
    ledger = RateLedger(["TOK"], {FOL: (2, 60)})
    assert ledger.acquire(FOL, T0) == "TOK"
    assert ledger.acquire(FOL, T0) == "TOK"
    # the window ends with both replies outstanding: they may land in the next one
    assert ledger.acquire(FOL, T0 + 60) is None
    ledger.observe("TOK", FOL, RateSnapshot(2, 0, T0 + 60), T0 + 61)  # stale headers
    assert ledger.acquire(FOL, T0 + 61) == "TOK"


def test_release_gives_the_call_back() -> None:
    ledger = RateLedger(["TOK"], {FOL: (1, 900)})
    assert ledger.acquire(FOL, T0) == "TOK"
    assert ledger.acquire(FOL, T0) is None
    ledger.release("TOK", FOL)
    assert ledger.acquire(FOL, T0) == "TOK"


def test_keys_are_names_never_token_values() -> None:
    with pytest.raises(ValueError, match="never the token"):
        RateLedger(["AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E"])
    with pytest.raises(ValueError, match="unknown endpoint"):
        RateLedger(["TOK"]).acquire("/2/users/12/followers", T0)  # a URL, not a template
    ledger = RateLedger(["X_BEARER_TOKEN", "X_BEARER_TOKEN_2"])
    ledger.acquire(FOL, T0)
    snap = ledger.snapshot(T0)
    assert set(snap["endpoints"]) == set(DEFAULT_LIMITS)
    assert all(set(per) == {"X_BEARER_TOKEN", "X_BEARER_TOKEN_2"}
               for per in snap["endpoints"].values())


# -- properties against a simulated server ---------------------------------------------
@settings(max_examples=300, deadline=None)
@given(ops=ledger_ops, limit=st.integers(1, 20), window=st.sampled_from([9.0, 60.0, 900.0]),
       aligned=st.booleans(), tokens=st.integers(1, 3), margin=st.sampled_from([0.0, 0.5]))
# Found by this test in CI: a reservation given back had started the estimated window.
@example(ops=[("unsent", 0), ("wait", 1.0), ("call", 1), ("drop", 0), ("sleep", 0),
              ("call", 1)], limit=1, window=9.0, aligned=False, tokens=1, margin=0.0)
def test_never_more_calls_than_the_server_allows(ops, limit, window, aligned, tokens,
                                                 margin) -> None:
    keys = [f"TOK_{i}" for i in range(tokens)]
    ledger = RateLedger(keys, {FOL: (limit, int(window))}, margin_s=margin)
    server = play(ledger, FakeRateServer(limit, window, aligned), FOL, ops, T0)
    assert server.too_many == 0
    assert ledger.rate_limited_count == 0


@settings(max_examples=100, deadline=None)
@given(limit=st.integers(1, 40), default=st.integers(1, 40), tokens=st.integers(1, 3),
       aligned=st.booleans())
def test_sequential_crawler_uses_every_call_and_never_429s(limit, default, tokens,
                                                           aligned) -> None:
    """One request at a time, sleeping when told: all the allowed rate is used."""
    window = 9.0
    keys = [f"TOK_{i}" for i in range(tokens)]
    ledger = RateLedger(keys, {FOL: (default, 900)})
    server = FakeRateServer(limit, window, aligned)
    now, calls = T0, 0
    while now < T0 + 10 * window:
        key = ledger.acquire(FOL, now)
        if key is None:
            now = ledger.wait_until(FOL, now)
            continue
        ledger.observe(key, FOL, server.receive(key, now), now)
        calls += 1
        now += 0.001
    assert server.too_many == 0
    # every window after the first is used to the full (the first may start mid-window)
    assert calls >= tokens * limit * 9
