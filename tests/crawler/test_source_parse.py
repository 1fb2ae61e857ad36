"""The pure reply parser: properties over arbitrary replies, and the classification rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botsweep.crawler.replies import ENDPOINTS, Page, classify, parse_date, parse_rate, parse_reply
from botsweep.errors import RateLimited, SourceError, Transient

NOW = 1_700_000_000.0
FOLLOWERS = ENDPOINTS["followers"]

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(["data", "errors", "meta", "id", "username", "next_token",
                         "result_count", "title", "detail", "parameter", "value",
                         "public_metrics", "protected"])
# bodies shaped like replies, so that the parser's deeper branches are reached
_shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2**64) | st.text(max_size=6)
    | st.sampled_from(["123", "0", "id", "User has been suspended", "Not Found Error"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)
_headers = st.dictionaries(
    st.sampled_from(["x-rate-limit-limit", "X-Rate-Limit-Remaining", "x-rate-limit-reset",
                     "Date", "content-type"]),
    st.text(max_size=30) | st.integers(0, 2**40).map(str), max_size=5)
_status = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 408, 429, 500, 503]) | st.integers(
    -1, 999)


def _check(page_or_error: Page) -> None:
    assert isinstance(page_or_error.items, list)
    assert all(isinstance(u, dict) and u["id"].isdigit() for u in page_or_error.items)
    assert page_or_error.fetched_at.tzinfo is not None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(status=_status, headers=_headers, doc=_json | _shaped,
       endpoint=st.sampled_from(sorted(ENDPOINTS.values())), max_items=st.integers(1, 1000))
def test_any_json_gives_a_page_or_our_error(status, headers, doc, endpoint, max_items) -> None:
    body = json.dumps(doc).encode()
    try:
        page = parse_reply(status, headers, body, endpoint=endpoint, token_key="K", now=NOW,
                           max_items=max_items, account_id=5)
    except SourceError as exc:
        assert exc.endpoint == endpoint and exc.token_key == "K"  # type: ignore[attr-defined]
        return
    assert status == 200
    _check(page)
    assert len(page.items) <= max_items


@settings(max_examples=200)
@given(status=_status, body=st.binary(max_size=200))
def test_any_bytes_give_a_page_or_our_error(status, body) -> None:
    try:
        _check(parse_reply(status, {}, body, endpoint=FOLLOWERS, token_key="K", now=NOW,
                           max_items=10))
    except SourceError:
        pass


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    with pytest.raises(Transient) as info:
        parse_reply(200, {}, b"[" * 100_000, endpoint=FOLLOWERS, token_key="K", now=NOW,
                    max_items=10)
    assert info.value.kind == "malformed"


@given(uids=st.lists(st.integers(1, 2**63 - 1), max_size=20),
       token=st.none() | st.text("abcdefghij0123456789", min_size=1, max_size=40))
def test_valid_pages_round_trip(uids, token) -> None:
    meta = {"result_count": len(uids)} | ({"next_token": token} if token else {})
    doc = {"data": [{"id": str(u), "username": f"u{u}"} for u in uids], "meta": meta}
    if not uids:
        doc.pop("data")
    page = parse_reply(200, {}, json.dumps(doc).encode(), endpoint=FOLLOWERS, token_key="K",
                       now=NOW, max_items=20)
    assert [int(u["id"]) for u in page.items] == uids
    assert page.next_cursor == token  # an empty page may still have a next one


def test_rate_headers_need_all_three_numbers() -> None:
    full = {"X-Rate-Limit-Limit": "15", "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": "1700000900"}
    assert parse_rate(full).remaining == 0  # type: ignore[union-attr]
    assert parse_rate({**full, "x-rate-limit-remaining": "-1"}) is None
    assert parse_rate({k: v for k, v in full.items() if k != "x-rate-limit-reset"}) is None


def test_date_header_in_world_time_and_fallback() -> None:
    assert parse_date({"date": "Sat, 01 Jun 2013 08:30:00 GMT"}, NOW) == datetime(
        2013, 6, 1, 8, 30, tzinfo=UTC)
    assert parse_date({"Date": "yesterday"}, NOW) == datetime.fromtimestamp(NOW, tz=UTC)


def test_429_reset_header_alone_is_enough() -> None:
    with pytest.raises(RateLimited) as info:
        parse_reply(429, {"x-rate-limit-reset": "1700000123"}, b"", endpoint=FOLLOWERS,
                    token_key="K", now=NOW, max_items=10)
    assert info.value.until == 1_700_000_123 and info.value.rate is None  # type: ignore


@pytest.mark.parametrize(
    ("entry", "state"),
    [({"title": "Forbidden", "detail": "User has been suspended: [1].",
       "type": "https://api.twitter.com/2/problems/resource-not-found"}, "suspended"),
     ({"title": "Not Found Error", "detail": "Could not find user with ids: [1].",
       "type": "https://api.twitter.com/2/problems/resource-not-found"}, "not_found"),
     ({"title": "Authorization Error", "detail": "Sorry, you are not authorized to see it",
       "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}, "protected"),
     ({"title": "Forbidden", "type": "https://api.twitter.com/2/problems/resource-not-found"},
      "suspended"),
     ({"title": "Field Authorization Error", "detail": "no access to this field",
       "type": "https://api.twitter.com/2/problems/not-authorized-for-field"}, None)],
)
def test_classify_by_title_and_detail(entry, state) -> None:
    assert classify(entry) == state


def test_errors_about_tweets_are_ignored_in_lookups() -> None:
    body = {"data": [{"id": "1"}], "errors": [
        {"value": "55", "detail": "Could not find tweet with pinned_tweet_id: [55].",
         "title": "Not Found Error", "resource_type": "tweet", "parameter": "pinned_tweet_id"}]}
    page = parse_reply(200, {}, json.dumps(body).encode(), endpoint="/2/users", token_key="K",
                       now=NOW, max_items=1)
    assert page.errors == [] and page.items == [{"id": "1"}]


def test_user_field_types_are_checked() -> None:
    for bad in ({"id": "1", "public_metrics": {"followers_count": "many"}},
                {"id": "1", "protected": "no"}, {"id": "1", "username": 5},
                {"id": "99999999999999999999"}):
        with pytest.raises(Transient, match="malformed"):
            parse_reply(200, {}, json.dumps({"data": [bad]}).encode(), endpoint="/2/users",
                        token_key="K", now=NOW, max_items=1)


def test_a_5xx_says_when_to_come_back_if_the_api_does() -> None:
    from botsweep.errors import Transient

    for headers, after in (({"Retry-After": "120"}, 120.0), ({}, None),
                           ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None)):
        with pytest.raises(Transient) as caught:
            parse_reply(503, headers, b"", endpoint=FOLLOWERS, token_key="K", now=NOW,
                        max_items=20)
        assert caught.value.retry_after == after


def test_a_5xx_is_named_once_by_its_status_and_title() -> None:
    body = json.dumps({"title": "Service Unavailable", "detail": "Service Unavailable"})
    with pytest.raises(Transient) as caught:
        parse_reply(503, {}, body.encode(), endpoint=FOLLOWERS, token_key="K", now=NOW,
                    max_items=20)
    assert caught.value.kind == "5xx"
    assert caught.value.reason == "server error 503: Service Unavailable"
    assert str(caught.value) == f"{FOLLOWERS}: server error 503: Service Unavailable"


def test_a_handle_not_found_is_not_read_as_suspended_from_its_own_letters() -> None:
    entry = {"title": "Not Found Error", "value": "notsuspended",
             "detail": "Could not find user with usernames: [notsuspended].",
             "type": "https://api.twitter.com/2/problems/resource-not-found"}
    assert classify(entry) == "not_found"


CREDITS = {"title": "CreditsDepleted", "type": "https://api.twitter.com/2/problems/credits",
           "detail": "Your enrolled account [1] does not have any credits to fulfill this "
                     "request."}
CAPPED = {"title": "UsageCapExceeded", "period": "Monthly", "scope": "Product",
          "detail": "Usage cap exceeded: Monthly product cap",
          "type": "https://api.twitter.com/2/problems/usage-capped"}


def test_no_credits_and_a_spent_usage_cap_are_fatal_not_a_wait() -> None:
    from botsweep.errors import Fatal, RateLimited

    rate = {"x-rate-limit-limit": "40000", "x-rate-limit-remaining": "39999",
            "x-rate-limit-reset": str(int(NOW) + 900)}
    with pytest.raises(Fatal) as info:
        parse_reply(402, {}, json.dumps(CREDITS).encode(), endpoint=FOLLOWERS,
                    token_key="K", now=NOW, max_items=20)
    assert "HTTP 402 CreditsDepleted" in str(info.value) and "no credits left" in str(info.value)
    with pytest.raises(Fatal) as info:
        parse_reply(429, rate, json.dumps(CAPPED).encode(), endpoint=FOLLOWERS,
                    token_key="K", now=NOW, max_items=20)
    assert not isinstance(info.value, RateLimited)
    assert "Usage cap exceeded: Monthly product cap" in str(info.value)
    assert "usage cap is spent" in str(info.value)
    with pytest.raises(RateLimited):  # an ordinary 429 still waits for the window
        parse_reply(429, rate, json.dumps({"title": "Too Many Requests"}).encode(),
                    endpoint=FOLLOWERS, token_key="K", now=NOW, max_items=20)


def test_a_list_refused_for_a_reason_not_known_fails_at_once_with_the_apis_words() -> None:
    """An error about the list's owner that names no known state (here the spec's
    ResourceUnavailableProblem) is not a garbled reply worth five retries: the task fails
    at once, saying why, and `frontier retry` can queue it again."""
    from botsweep.errors import Fatal

    body = {"errors": [{"parameter": "id", "resource_type": "user", "value": "42",
                        "title": "Forbidden", "detail": "User is not available.",
                        "type": "https://api.twitter.com/2/problems/resource-unavailable"}]}
    with pytest.raises(Fatal) as info:
        parse_reply(200, {}, json.dumps(body).encode(), endpoint=FOLLOWERS, token_key="K",
                    now=NOW, max_items=20, account_id=42)
    assert not isinstance(info.value, Transient)
    assert str(info.value) == (
        "account 42: the API gives no followers list (Forbidden: User is not available.: "
        "https://api.twitter.com/2/problems/resource-unavailable)")
