"""XSource against fake HTTP (``responses``) with the real tweepy Client underneath."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from botsweep.config import ApiSettings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.source import (
    USER_FIELDS,
    AccountError,
    RateSnapshot,
    XSource,
    check_account_id,
    check_username,
)
from botsweep.errors import (
    ConfigError,
    Fatal,
    InputError,
    NotFound,
    Protected,
    RateLimited,
    SourceError,
    Suspended,
    Transient,
    Unreachable,
)

TOKEN = "AAAAtest-bearer-token-do-not-leak-0123456789"
KEY = "X_BEARER_TOKEN"
BASE = "http://127.0.0.1:8765"
NOW = 1_700_000_000.0
RATE = {"x-rate-limit-limit": "15", "x-rate-limit-remaining": "11",
        "x-rate-limit-reset": "1700000900", "Date": "Wed, 01 Mar 2017 12:00:00 GMT"}


def _user(uid: str, name: str = "u") -> dict[str, object]:
    return {"id": uid, "username": f"{name}{uid}", "name": "N", "protected": False,
            "public_metrics": {"followers_count": 1, "following_count": 0, "tweet_count": 3,
                               "listed_count": 0}}


SUSPENDED = {"value": "7", "detail": "User has been suspended: [7].", "title": "Forbidden",
             "resource_type": "user", "parameter": "ids", "resource_id": "7",
             "type": "https://api.twitter.com/2/problems/resource-not-found"}
MISSING = {"value": "8", "detail": "Could not find user with ids: [8].",
           "title": "Not Found Error", "resource_type": "user", "parameter": "ids",
           "resource_id": "8", "type": "https://api.twitter.com/2/problems/resource-not-found"}
PROTECTED = {"value": "9", "detail": "Sorry, you are not authorized to see the user with id: [9].",
             "title": "Authorization Error", "resource_type": "user", "parameter": "id",
             "resource_id": "9",
             "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}


@pytest.fixture()
def rs():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture()
def src():
    source = XSource({KEY: TOKEN}, base_url=BASE, clock=FakeClock(NOW))
    yield source
    source.close()


def _query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_lookup_users_goes_to_base_url_and_reads_errors(rs, src) -> None:
    rs.get(f"{BASE}/2/users", headers=RATE,
           json={"data": [_user("5"), _user("6")], "errors": [SUSPENDED, MISSING]})
    page = src.lookup_users([5, 6, 7, 8], token_key=KEY)
    call = rs.calls[0]
    assert call.request.url.startswith(f"{BASE}/2/users?")
    assert _query(call)["ids"] == ["5,6,7,8"]
    assert _query(call)["user.fields"] == [",".join(USER_FIELDS)]
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.req_kwargs["timeout"] == 5.0
    assert [u["id"] for u in page.items] == ["5", "6"]
    # suspended and not-found share `type`; title/detail tell them apart
    assert page.errors == [
        AccountError("7", "suspended", "User has been suspended: [7]."),
        AccountError("8", "not_found", "Could not find user with ids: [8]."),
    ]
    assert page.rate == RateSnapshot(limit=15, remaining=11, reset=1_700_000_900.0)
    assert page.fetched_at == datetime(2017, 3, 1, 12, 0, tzinfo=UTC)
    assert page.endpoint == "/2/users" and page.token_key == KEY and page.next_cursor is None


def test_lookup_usernames_uses_users_by(rs, src) -> None:
    rs.get(f"{BASE}/2/users/by", json={"data": [_user("5", "jane")]})
    page = src.lookup_usernames(["@jane", "Bob_2", "bob_2"], token_key=KEY)
    assert _query(rs.calls[0])["usernames"] == ["jane,Bob_2"]
    assert page.endpoint == "/2/users/by" and page.items[0]["id"] == "5"
    assert page.rate is None  # no headers: no snapshot, and no crash
    assert page.fetched_at == datetime.fromtimestamp(NOW, tz=UTC)  # no Date: the clock


@pytest.mark.parametrize("which", ["followers", "following"])
def test_list_pages_pass_cursor_and_return_next(rs, src, which: str) -> None:
    rs.get(f"{BASE}/2/users/12/{which}", headers=RATE,
           json={"data": [_user("1"), _user("2")], "meta": {"result_count": 2,
                                                            "next_token": "7140dibdnow9c7"}})
    page = getattr(src, which)(12, "PREV123", token_key=KEY, max_results=2)
    q = _query(rs.calls[0])
    assert q["pagination_token"] == ["PREV123"] and q["max_results"] == ["2"]
    assert page.endpoint == f"/2/users/:id/{which}"
    assert page.next_cursor == "7140dibdnow9c7"
    assert [u["id"] for u in page.items] == ["1", "2"]


def test_empty_list_has_no_data_key(rs, src) -> None:
    rs.get(f"{BASE}/2/users/12/following", json={"meta": {"result_count": 0}})
    page = src.following(12, None, token_key=KEY)
    assert page.items == [] and page.next_cursor is None


@pytest.mark.parametrize(
    ("entry", "error"),
    [({**SUSPENDED, "parameter": "id"}, Suspended),
     ({**MISSING, "parameter": "id"}, NotFound),
     (PROTECTED, Protected)],
)
def test_list_of_unreadable_account(rs, src, entry, error) -> None:
    rs.get(f"{BASE}/2/users/9/followers", headers=RATE, json={"errors": [entry]})
    with pytest.raises(error, match="account 9") as info:
        src.followers(9, None, token_key=KEY)
    assert info.value.rate == RateSnapshot(15, 11, 1_700_000_900.0)


def test_429_carries_reset_and_snapshot(rs, src) -> None:
    rs.get(f"{BASE}/2/users/1/followers", status=429,
           headers={**RATE, "x-rate-limit-remaining": "0"},
           json={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429})
    with pytest.raises(RateLimited) as info:
        src.followers(1, None, token_key=KEY)
    assert info.value.until == 1_700_000_900.0
    assert info.value.rate == RateSnapshot(15, 0, 1_700_000_900.0)
    assert info.value.token_key == KEY and info.value.endpoint == "/2/users/:id/followers"


def test_429_without_headers_waits_a_window(rs, src) -> None:
    rs.get(f"{BASE}/2/users", status=429, body="")
    with pytest.raises(RateLimited) as info:
        src.lookup_users([1], token_key=KEY)
    assert info.value.until == NOW + 900


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [({"status": 503, "json": {"title": "Service Unavailable"}}, "5xx"),
     ({"body": requests.exceptions.ReadTimeout("read timed out")}, "timeout"),
     ({"body": requests.exceptions.ConnectTimeout("connect timed out")}, "unreachable"),
     ({"body": requests.exceptions.ConnectionError("Connection reset by peer")}, "reset"),
     ({"body": requests.exceptions.ChunkedEncodingError("broken")}, "reset"),
     ({"body": b"{\"data\": [", "content_type": "application/json"}, "malformed"),
     ({"body": b"<html>gateway</html>"}, "malformed"),
     ({"json": [_user("1")]}, "malformed"),
     ({"json": {"data": [{"id": 5}]}}, "malformed"),
     ({"json": {"meta": {}}}, "malformed"),
     ({"json": {"data": [_user(str(i)) for i in range(1, 4)]}}, "malformed")],  # 3 > 2
)
def test_transient_kinds(rs, src, kwargs, kind: str) -> None:
    rs.get(f"{BASE}/2/users/4/followers", **kwargs)
    with pytest.raises(Transient) as info:
        src.followers(4, None, token_key=KEY, max_results=2)
    assert info.value.kind == kind
    # no reply at all (no connection, or dropped before a reply): the network, not the task
    no_reply = isinstance(kwargs.get("body"), requests.exceptions.ConnectionError)
    assert isinstance(info.value, Unreachable) is no_reply


def test_401_is_fatal_and_names_status_not_token(rs, src) -> None:
    rs.get(f"{BASE}/2/users", status=401,
           json={"title": "Unauthorized", "type": "about:blank", "status": 401,
                 "detail": "Unauthorized"})
    with pytest.raises(Fatal, match="401 Unauthorized") as info:
        src.lookup_users([1], token_key=KEY)
    assert KEY in str(info.value) and TOKEN not in str(info.value)


def test_400_names_the_api_message(rs, src) -> None:
    rs.get(f"{BASE}/2/users/1/followers", status=400, json={
        "errors": [{"parameters": {"max_results": ["5000"]},
                    "message": "The `max_results` query parameter value [5000] is not between 1 "
                               "and 1000"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid."})
    with pytest.raises(Fatal, match=r"400 Invalid Request.*max_results"):
        src.followers(1, None, token_key=KEY)


@pytest.mark.parametrize("body", [b"[1, 2]", b"{\"errors\": 5}", b"{\"errors\": [7]}"])
def test_odd_error_bodies_that_tweepy_chokes_on(rs, src, body: bytes) -> None:
    rs.get(f"{BASE}/2/users", status=403, body=body)
    with pytest.raises(Fatal, match="403"):
        src.lookup_users([1], token_key=KEY)


@pytest.mark.parametrize(
    ("call", "match"),
    [(lambda s: s.lookup_users(["12a"], token_key=KEY), "12a"),
     (lambda s: s.lookup_users(list(range(1, 102)), token_key=KEY), "101 given"),
     (lambda s: s.lookup_users([], token_key=KEY), "0 given"),
     (lambda s: s.lookup_users([2**63], token_key=KEY), "out of range"),
     (lambda s: s.lookup_usernames("jane", token_key=KEY), "single string"),
     (lambda s: s.lookup_usernames(["no spaces"], token_key=KEY), "no spaces"),
     (lambda s: s.followers(-1, None, token_key=KEY), "-1"),
     (lambda s: s.followers(1, "a b", token_key=KEY), "cursor"),
     (lambda s: s.followers(1, None, token_key=KEY, max_results=5000), "5000"),
     (lambda s: s.followers(1, None, token_key="OTHER"), "OTHER")],
)
def test_bad_input_is_refused_before_any_request(rs, src, call, match: str) -> None:
    with pytest.raises(InputError, match=match):
        call(src)
    assert len(rs.calls) == 0


def test_token_never_in_errors_logs_or_repr(rs, src, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tweepy.client")
    rs.get(f"{BASE}/2/users", status=401, json={"title": "Unauthorized", "detail": TOKEN})
    rs.get(f"{BASE}/2/users/1/followers", body=requests.exceptions.ConnectionError(TOKEN))
    rs.get(f"{BASE}/2/users/2/followers", status=500, body=f"echo Bearer {TOKEN}")
    raised: list[SourceError] = []
    for call in (lambda: src.lookup_users([1], token_key=KEY),
                 lambda: src.followers(1, None, token_key=KEY),
                 lambda: src.followers(2, None, token_key=KEY)):
        with pytest.raises(SourceError) as info:
            call()
        raised.append(info.value)
    assert len(raised) == 3
    for exc in raised:
        assert TOKEN not in str(exc) and TOKEN not in repr(exc)
    assert TOKEN not in repr(src)
    # tweepy's own DEBUG lines (which print the headers) were captured, and scrubbed
    assert any(r.name == "tweepy.client" and "Authorization" in r.getMessage()
               for r in caplog.records)
    assert TOKEN not in caplog.text


def test_default_host_is_not_rewritten(rs) -> None:
    source = XSource({KEY: TOKEN}, clock=FakeClock(NOW), timeout_s=2.5)
    rs.get("https://api.twitter.com/2/users", json={"data": [_user("1")]})
    source.lookup_users([1], token_key=KEY)
    assert rs.calls[0].request.url.startswith("https://api.twitter.com/2/users?")
    assert rs.calls[0].request.req_kwargs["timeout"] == 2.5


def test_from_settings_reads_named_env_vars(rs) -> None:
    api = ApiSettings(base_url=BASE + "/", bearer_token_env=["TOK_A", "TOK_B"], timeout_s=3)
    source = XSource.from_settings(api, {"TOK_B": TOKEN}, clock=FakeClock(NOW))
    assert list(source.token_keys) == ["TOK_B"] and source.base_url == BASE
    rs.get(f"{BASE}/2/users", json={"data": [_user("1")]})
    assert source.lookup_users([1], token_key="TOK_B").items[0]["id"] == "1"
    with pytest.raises(ConfigError, match="TOK_A"):
        XSource.from_settings(api, {})


@pytest.mark.parametrize("bad", [TOKEN + "\r", TOKEN + "\n", " " + TOKEN, TOKEN[:9] + "\t"
                                 + TOKEN[9:], TOKEN + "\x00", TOKEN + "\u00e9"])
def test_a_token_with_whitespace_or_controls_is_a_config_error_before_any_request(
    rs, bad: str,
) -> None:
    """A stray CR from a Windows file once showed up as a network fault (requests'
    InvalidHeader) and burnt every task's attempts; now nothing is sent at all."""
    api = ApiSettings(base_url=BASE, bearer_token_env=["TOK_A"])
    for build in (lambda: XSource.from_settings(api, {"TOK_A": bad}),
                  lambda: XSource({"TOK_A": bad}, base_url=BASE)):
        with pytest.raises(ConfigError) as info:
            build()
        message = str(info.value)
        assert "TOK_A" in message and "\n" not in message
        assert TOKEN not in message and TOKEN[:12] not in message
    assert len(rs.calls) == 0


def test_one_client_per_token(rs) -> None:
    source = XSource({"TOK_A": TOKEN, "TOK_B": TOKEN[::-1]}, base_url=BASE)
    rs.get(f"{BASE}/2/users", json={"data": [_user("1")]})
    source.lookup_users([1], token_key="TOK_A")
    source.lookup_users([1], token_key="TOK_B")
    assert [c.request.headers["Authorization"] for c in rs.calls] == [
        f"Bearer {TOKEN}", f"Bearer {TOKEN[::-1]}"]


def test_seed_validators_match_what_the_source_sends() -> None:
    assert check_username("@Jane_Doe") == "Jane_Doe"
    assert check_account_id(" 12".strip()) == "12" and check_account_id(9) == "9"
    for bad in ("sixteen_chars_xx", "", "@", "a-b", 12):
        with pytest.raises(InputError):
            check_username(bad)
    for bad in (True, "0", "1e5", "١٢", None):
        with pytest.raises(InputError):
            check_account_id(bad)
