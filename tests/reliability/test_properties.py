"""Property tests (hypothesis) for the page parser and the rate-limit ledger.

tests/crawler already checks that any reply gives a Page or our error, and that the ledger
never exceeds a server's limit.  These add what a weeks-long crawl needs on top:

* parser: a user object with one field of the wrong type, or a page larger than asked for,
  is refused as ``Transient(kind="malformed")`` (never stored, retried with a bound); valid
  objects with any text come back unchanged; error text copied from a reply is one short
  line with no control characters and no registered secret.
* ledger: whatever it was told (garbled headers, 429s with resets in the past or far
  ahead, replies out of order, lost replies), once every call is reported it never wedges:
  sleeping until ``wait_until`` always leads to a granted call within one window.  The
  endpoints are independent: spending one never blocks another.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botsweep.crawler.ratelimit import DEFAULT_LIMITS, RateLedger, RateSnapshot
from botsweep.crawler.replies import ENDPOINTS, parse_reply
from botsweep.errors import SourceError, Transient
from botsweep.logs import register_secret

NOW = 1_700_000_000.0
FOL = ENDPOINTS["followers"]
USERS = ENDPOINTS["users"]
SECRET = "PROPERTY-SECRET-7f3a9c1e55b2"
register_secret(SECRET)

_text = st.text(max_size=40)
_user = st.fixed_dictionaries(
    {"id": st.integers(1, 2**63 - 1).map(str), "username": _text},
    optional={"name": _text, "description": _text, "location": _text, "url": _text,
              "created_at": _text, "protected": st.booleans(), "verified": st.booleans(),
              "public_metrics": st.dictionaries(
                  st.sampled_from(["followers_count", "following_count", "tweet_count"]),
                  st.integers(0, 2**40))},
)
_wrong = st.sampled_from([
    ("id", 123), ("id", "12a"), ("id", str(2**63)), ("id", None), ("username", 5),
    ("name", ["x"]), ("description", {"a": 1}), ("protected", "yes"), ("verified", 1),
    ("public_metrics", {"followers_count": -1}), ("public_metrics", {"tweet_count": "9"}),
    ("public_metrics", []), ("entities", "x"), ("created_at", 2014),
])


def _body(users: list[dict[str, Any]], **meta: Any) -> bytes:
    return json.dumps({"data": users, "meta": {"result_count": len(users), **meta}}).encode()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(users=st.lists(_user, min_size=1, max_size=8), data=st.data())
def test_valid_users_come_back_unchanged(users: list[dict[str, Any]], data: Any) -> None:
    page = parse_reply(200, {}, _body(users), endpoint=FOL, token_key="K", now=NOW,
                       max_items=len(users), account_id=1)
    assert page.items == users


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(users=st.lists(_user, min_size=1, max_size=6), wrong=_wrong, at=st.integers(0, 5),
       endpoint=st.sampled_from([FOL, USERS]))
def test_one_field_of_the_wrong_type_refuses_the_page(
    users: list[dict[str, Any]], wrong: tuple[str, Any], at: int, endpoint: str
) -> None:
    bad = dict(users[at % len(users)])
    bad[wrong[0]] = wrong[1]
    users[at % len(users)] = bad
    try:
        parse_reply(200, {}, _body(users), endpoint=endpoint, token_key="K", now=NOW,
                    max_items=len(users), account_id=1)
    except Transient as exc:
        assert exc.kind == "malformed"
    else:
        raise AssertionError(f"accepted a user with {wrong[0]}={wrong[1]!r}")


@settings(max_examples=100)
@given(asked=st.integers(1, 50), extra=st.integers(1, 50))
def test_an_oversized_page_is_malformed(asked: int, extra: int) -> None:
    users = [{"id": str(i + 1), "username": f"u{i}"} for i in range(asked + extra)]
    try:
        parse_reply(200, {}, _body(users), endpoint=FOL, token_key="K", now=NOW,
                    max_items=asked, account_id=1)
    except Transient as exc:
        assert exc.kind == "malformed" and f"at most {asked}" in str(exc)
    else:
        raise AssertionError("an oversized page was accepted")


_hostile = st.text(max_size=300).map(lambda t: t + SECRET + "\n\x1b[31m\r\x00" + t)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from([200, 400, 401, 403, 500, 503]), text=_hostile,
       where=st.sampled_from(["title", "detail", "message", "raw", "value"]))
def test_error_text_from_a_reply_is_short_clean_and_secret_free(status: int, text: str,
                                                                 where: str) -> None:
    if where == "raw":
        body = text.encode("utf-8", "replace")
    elif where == "message":
        body = json.dumps({"errors": [{"message": text}], "title": "Invalid"}).encode()
    elif where == "value":
        body = json.dumps({"errors": [{"value": text, "detail": "Could not find user " + text,
                                       "title": "Not Found Error"}], "data": [5]}).encode()
    else:
        body = json.dumps({where: text}).encode()
    try:
        parse_reply(status, {}, body, endpoint=FOL, token_key="K", now=NOW, max_items=10,
                    account_id=1)
    except SourceError as exc:
        message = str(exc)
        assert SECRET not in message
        assert not any(ord(c) < 32 or ord(c) == 127 for c in message), repr(message)
        assert len(message) < 800


# -- the ledger never wedges --------------------------------------------------------
_snap = st.builds(
    RateSnapshot, limit=st.integers(-5, 40), remaining=st.integers(-5, 60),
    reset=st.floats(NOW - 2000, NOW + 3000, allow_nan=False),
)
_ops = st.lists(st.one_of(
    st.tuples(st.just("call"), st.sampled_from([FOL, USERS]), st.none()),
    st.tuples(st.just("reply"), st.integers(0, 40), st.none() | _snap),
    st.tuples(st.just("429"), st.integers(0, 40), st.floats(-500, 2000, allow_nan=False)),
    st.tuples(st.just("unsent"), st.integers(0, 40), st.none()),
    st.tuples(st.just("wait"), st.floats(0, 1000, allow_nan=False), st.none()),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ops=_ops, tokens=st.integers(1, 3))
def test_the_ledger_never_wedges(ops: list[tuple[Any, ...]], tokens: int) -> None:
    keys = [f"TOK_{i}" for i in range(tokens)]
    ledger = RateLedger(keys)
    now, in_flight = NOW, []
    for op, arg, extra in ops:
        if op == "call":
            key = ledger.acquire(arg, now)
            if key is not None:
                assert key in keys
                in_flight.append((key, arg, now))
            else:
                assert ledger.wait_until(arg, now) >= now
        elif op in ("reply", "429", "unsent") and in_flight:
            key, endpoint, reserved_at = in_flight.pop(arg % len(in_flight))
            if op == "unsent":
                ledger.release(key, endpoint, reserved_at=reserved_at)
                continue
            ledger.observe(key, endpoint, extra if op == "reply" else None, now)
            if op == "429":
                ledger.on_rate_limited(key, endpoint, now + extra, now)
        elif op == "wait":
            now += arg
    for key, endpoint, _ in in_flight:  # every outstanding call comes back, without headers
        ledger.observe(key, endpoint, None, now)
    for endpoint in (FOL, USERS):
        window = DEFAULT_LIMITS[endpoint][1]
        start = now
        for _ in range(5):
            if ledger.acquire(endpoint, now) is not None:
                break
            later = ledger.wait_until(endpoint, now)
            assert later > now, "refused a call but says one may be made now"
            now = later
        else:
            raise AssertionError(f"{endpoint}: no call granted after five waits")
        assert now - start <= window + 2000 + 1, f"{endpoint}: waited {now - start:.0f} s"


@settings(max_examples=100, deadline=None)
@given(spent=st.integers(0, 40), tokens=st.integers(1, 3))
def test_spending_one_endpoint_never_blocks_another(spent: int, tokens: int) -> None:
    ledger = RateLedger([f"TOK_{i}" for i in range(tokens)])
    for _ in range(spent):
        key = ledger.acquire(FOL, NOW)
        if key is None:
            break
        ledger.observe(key, FOL, RateSnapshot(15, 0, NOW + 900), NOW)
    assert ledger.acquire(USERS, NOW) is not None
    assert ledger.wait_until(ENDPOINTS["users_by"], NOW) == NOW
