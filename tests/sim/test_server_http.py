"""The sim over raw HTTP: shapes, errors, pagination, rate limits, time, stats."""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from botsweep.errors import InputError
from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.sim.world import World, load_world
from tests.sim.worldkit import user, write_world

INVALID = "https://api.twitter.com/2/problems/invalid-request"


class FakeClock:
    """A wall clock that moves only when told."""

    def __init__(self, start: float = 1_700_000_000.25) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def tiny(tmp_path: Path) -> World:
    accounts = [user(1, "alice"), user(2, "bob"), user(3, "carol", _state="suspended"),
                user(4, "dave", _state="deleted"), user(5, "erin", _state="protected"),
                user(6, "frank", description="<b>hi</b>", _label="bot", _campaign="x")]
    follows = [(2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (1, 2), (1, 3), (1, 5)]
    return load_world(write_world(tmp_path / "w", accounts, follows))


def _session(token: str = "sim-token") -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture()
def served(tiny: World) -> Iterator[tuple[str, requests.Session]]:
    with SimServer(tiny) as base, _session() as session:
        yield base, session


def test_followers_newest_first_without_hidden_accounts(served: tuple) -> None:
    base, s = served
    reply = s.get(f"{base}/2/users/1/followers")
    assert reply.status_code == 200
    body = reply.json()
    # rows are 2,3,4,5,6 -> 1; newest (last row) first; suspended 3 and deleted 4 left out
    assert [u["id"] for u in body["data"]] == ["6", "5", "2"]
    assert body["meta"] == {"result_count": 3}
    assert set(body["data"][0]) == {"id", "name", "username"}
    following = s.get(f"{base}/2/users/1/following").json()
    assert [u["id"] for u in following["data"]] == ["5", "2"]


def test_user_fields_are_served_and_private_keys_never(served: tuple) -> None:
    base, s = served
    body = s.get(f"{base}/2/users", params={
        "ids": "6,5", "user.fields": "description,protected,public_metrics,created_at"}).json()
    frank, erin = body["data"]
    assert frank["description"] == "<b>hi</b>" and frank["protected"] is False
    assert erin["protected"] is True
    assert not any(k.startswith("_") for u in body["data"] for k in u)


def test_lookup_errors_have_the_real_shapes(served: tuple) -> None:
    base, s = served
    body = s.get(f"{base}/2/users", params={"ids": "1,3,4,777"}).json()
    assert [u["id"] for u in body["data"]] == ["1"]
    suspended, deleted, missing = body["errors"]
    assert suspended == {
        "value": "3", "detail": "User has been suspended: [3].", "title": "Forbidden",
        "resource_type": "user", "parameter": "ids", "resource_id": "3",
        "type": "https://api.twitter.com/2/problems/resource-not-found"}
    assert deleted["detail"] == "Could not find user with ids: [4]."
    assert missing["title"] == "Not Found Error" and missing["value"] == "777"
    by = s.get(f"{base}/2/users/by", params={"usernames": "BOB,carol,zed"}).json()
    assert [u["username"] for u in by["data"]] == ["bob"]
    assert [e["parameter"] for e in by["errors"]] == ["usernames", "usernames"]
    one = s.get(f"{base}/2/users/by/username/carol").json()
    assert one["errors"][0]["parameter"] == "username" and "data" not in one
    assert s.get(f"{base}/2/users/2").json()["data"]["username"] == "bob"


def test_lists_of_protected_suspended_and_missing_accounts(served: tuple) -> None:
    base, s = served
    protected = s.get(f"{base}/2/users/5/followers")
    assert protected.status_code == 200
    assert protected.json() == {"errors": [{
        "value": "5", "detail": "Sorry, you are not authorized to see the user with id: [5].",
        "title": "Authorization Error", "resource_type": "user", "parameter": "id",
        "resource_id": "5", "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}]}
    suspended = s.get(f"{base}/2/users/3/following").json()["errors"][0]
    assert suspended["title"] == "Forbidden" and suspended["parameter"] == "id"
    missing = s.get(f"{base}/2/users/9/followers").json()["errors"][0]
    assert missing["detail"] == "Could not find user with id: [9]."
    empty = s.get(f"{base}/2/users/6/followers").json()
    assert empty == {"meta": {"result_count": 0}}


@pytest.mark.parametrize(("path", "params", "parameter", "message"), [
    ("/2/users/1/followers", {"max_results": "5000"}, "max_results",
     "The `max_results` query parameter value [5000] is not between 1 and 1000"),
    ("/2/users/1/followers", {"max_results": "0"}, "max_results",
     "The `max_results` query parameter value [0] is not between 1 and 1000"),
    ("/2/users/1/followers", {"user.fields": "id,shoe_size"}, "user.fields",
     "The `user.fields` query parameter value [shoe_size] is not one of [affiliation,"),
    ("/2/users", {"ids": "1", "expansions": "author_id"}, "expansions",
     "The `expansions` query parameter value [author_id] is not one of"),
    ("/2/users", {"ids": "1", "colour": "red"}, "colour",
     "The query parameter [colour] is not one of [ids,user.fields,expansions,tweet.fields]"),
    ("/2/users", {"ids": "1,abc"}, "ids",
     "The `ids` query parameter value [abc] does not match ^[0-9]{1,19}$"),
    ("/2/users", {"ids": ",".join(str(i) for i in range(1, 102))}, "ids",
     "The number of values in the `ids` query parameter list [101] is not between 1 and 100"),
    ("/2/users", {}, "ids", "The `ids` query parameter can not be empty"),
    ("/2/users/by", {"usernames": "no spaces"}, "usernames",
     "The `usernames` query parameter value [no spaces] does not match"),
    ("/2/users/1/following", {"pagination_token": "bogus"}, "pagination_token",
     "The `pagination_token` query parameter value [bogus] is not valid"),
    ("/2/users/abc/followers", {}, "id", "The `id` query parameter value [abc] does not match"),
])
def test_bad_parameters_get_the_real_400(served: tuple, path: str, params: dict,
                                         parameter: str, message: str) -> None:
    base, s = served
    reply = s.get(base + path, params=params)
    assert reply.status_code == 400
    body = reply.json()
    assert body["title"] == "Invalid Request" and body["type"] == INVALID
    assert body["detail"] == "One or more parameters to your request was invalid."
    assert parameter in body["errors"][0]["parameters"]
    assert body["errors"][0]["message"].startswith(message)


# The values the real X API v2 accepts on the user endpoints (its OpenAPI enums), written
# out here rather than read from botsweep.sim.apispec, so that a value missing there fails.
REAL_USER_FIELDS = (
    "affiliation,confirmed_email,connection_status,created_at,description,entities,id,"
    "is_identity_verified,location,most_recent_tweet_id,name,parody,pinned_tweet_id,"
    "profile_banner_url,profile_image_url,protected,public_metrics,receives_your_dm,"
    "subscription,subscription_type,url,username,verified,verified_followers_count,"
    "verified_type,withheld")
REAL_TWEET_FIELDS = (
    "article,attachments,author_id,card_uri,community_id,context_annotations,conversation_id,"
    "created_at,display_text_range,edit_controls,edit_history_tweet_ids,entities,geo,id,"
    "in_reply_to_user_id,lang,media_metadata,non_public_metrics,note_tweet,organic_metrics,"
    "possibly_sensitive,promoted_metrics,public_metrics,referenced_tweets,reply_settings,"
    "scopes,source,suggested_source_links,text,withheld")
REAL_USER_EXPANSIONS = "affiliation.user_id,most_recent_tweet_id,pinned_tweet_id"


@pytest.mark.parametrize("path", ["/2/users/1/followers", "/2/users/1/following", "/2/users/1",
                                  "/2/users?ids=1,2", "/2/users/by?usernames=alice",
                                  "/2/users/by/username/alice"])
def test_every_real_field_and_expansion_is_accepted(served: tuple, path: str) -> None:
    base, s = served
    reply = s.get(base + path, params={"user.fields": REAL_USER_FIELDS,
                                       "tweet.fields": REAL_TWEET_FIELDS,
                                       "expansions": REAL_USER_EXPANSIONS})
    assert reply.status_code == 200, reply.text
    assert "data" in reply.json()


def test_missing_or_wrong_token_gets_401(tiny: World) -> None:
    with SimServer(tiny, tokens=("good",)) as base:
        for headers in ({}, {"Authorization": "Bearer bad"}, {"Authorization": "good"}):
            reply = requests.get(f"{base}/2/users/1/followers", headers=headers)
            assert reply.status_code == 401
            assert reply.json() == {"title": "Unauthorized", "type": "about:blank",
                                    "status": 401, "detail": "Unauthorized"}
        assert requests.get(f"{base}/2/users/1", headers={
            "Authorization": "Bearer good"}).status_code == 200


def test_pagination_reaches_the_end_without_repeats() -> None:
    world = generate_world(accounts=400, bot_networks=1, rng_seed=2)
    celeb = max(world.accounts, key=lambda i: world.accounts[i]["public_metrics"][
        "followers_count"])
    expected = world.follower[world.followee == celeb][::-1].tolist()
    hidden = {i for i in world.accounts if world.state(i) in ("suspended", "deleted")}
    expected = [i for i in expected if i not in hidden]
    got: list[int] = []
    with SimServer(world, rate_limits={"followers": 1000}) as base, _session() as s:
        token = None
        while True:
            params = {"max_results": 37, **({"pagination_token": token} if token else {})}
            body = s.get(f"{base}/2/users/{celeb}/followers", params=params).json()
            got += [int(u["id"]) for u in body.get("data", [])]
            assert body["meta"]["result_count"] == len(body.get("data", []))
            token = body["meta"].get("next_token")
            if token is None:
                break
        other = s.get(f"{base}/2/users/{expected[0]}/followers",
                      params={"pagination_token": body["meta"]["previous_token"]})
        assert other.status_code == 400  # a token only works for the list it came from
    assert got == expected and len(got) > 37


def test_rate_limit_headers_429_and_window_reset(tiny: World) -> None:
    clock = FakeClock()
    with SimServer(tiny, clock=clock, time_scale=1.0) as base, _session() as s:
        first = s.get(f"{base}/2/users/1/followers")
        reset = int(first.headers["x-rate-limit-reset"])
        assert first.headers["x-rate-limit-limit"] == "15"
        assert first.headers["x-rate-limit-remaining"] == "14"
        assert reset == 1_700_000_901  # 900 s after the first call, up to a whole second
        for _ in range(14):
            assert s.get(f"{base}/2/users/1/followers").status_code == 200
        blocked = s.get(f"{base}/2/users/1/followers")
        assert blocked.status_code == 429
        assert blocked.json() == {"title": "Too Many Requests", "detail": "Too Many Requests",
                                  "type": "about:blank", "status": 429}
        assert blocked.headers["x-rate-limit-remaining"] == "0"
        assert blocked.headers["x-rate-limit-reset"] == str(reset)
        # other endpoints have their own windows, with the real default of 300
        assert s.get(f"{base}/2/users", params={"ids": "1"}).headers[
            "x-rate-limit-limit"] == "300"
        clock.now = reset  # waiting until reset is always enough
        again = s.get(f"{base}/2/users/1/followers")
        assert again.status_code == 200 and again.headers["x-rate-limit-remaining"] == "14"
        stats = requests.get(f"{base}/_sim/stats").json()
    assert stats["rate_limited"] == 1
    assert stats["requests"]["followers"] == {"200": 16, "429": 1}
    assert stats["tokens"] == {"token-1": 18}


def test_limits_are_per_token_and_overridable(tiny: World) -> None:
    clock = FakeClock()
    with SimServer(tiny, clock=clock, tokens=("a", "b"), time_scale=60.0,
                   rate_limits={"following": 2}) as base:
        a, b = _session("a"), _session("b")
        replies = [a.get(f"{base}/2/users/1/following") for _ in range(3)]
        assert [r.status_code for r in replies] == [200, 200, 429]
        assert int(replies[0].headers["x-rate-limit-reset"]) == 1_700_000_016  # 900/60 s
        assert b.get(f"{base}/2/users/1/following").status_code == 200


def test_rate_limit_table_from_cli_strings() -> None:
    from botsweep.sim.limits import parse_rate_limits

    table = parse_rate_limits(["followers=30", "*=1000"])
    assert table["followers"] == 30 and table["users"] == 1000
    with pytest.raises(InputError, match="unknown endpoint 'follower'"):
        parse_rate_limits(["follower=3"])
    with pytest.raises(InputError, match="ENDPOINT=N"):
        parse_rate_limits(["followers"])


def test_date_header_is_world_time(tiny: World) -> None:
    clock = FakeClock()
    with SimServer(tiny, clock=clock, time_scale=600.0) as base, _session() as s:
        start = email.utils.parsedate_to_datetime(s.get(f"{base}/2/users/1").headers["Date"])
        assert start == tiny.now
        clock.now += 3.0  # 3 wall seconds at x600 = 30 world minutes
        later = email.utils.parsedate_to_datetime(s.get(f"{base}/2/users/1").headers["Date"])
        assert (later - start).total_seconds() == 1800
        reply = s.get(f"{base}/2/users/1/followers")
        assert int(reply.headers["x-rate-limit-reset"]) == int(clock.now) + 2  # ceil(now + 1.5)


def test_keep_alive_and_unknown_routes(served: tuple) -> None:
    base, s = served
    for _ in range(3):
        assert s.get(f"{base}/2/users/1").status_code == 200
    assert s.get(f"{base}/2/tweets/search/recent").status_code == 404
    assert s.post(f"{base}/2/users/1").status_code == 405
    stats = s.get(f"{base}/_sim/stats").json()
    assert stats["requests"]["user"]["200"] == 3
    assert json.dumps(stats)  # plain JSON


def test_head_and_big_bodies_leave_the_connection_usable(served: tuple) -> None:
    import http.client

    base, _ = served
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=5)
    auth = {"Authorization": "Bearer sim-token"}
    conn.request("HEAD", "/2/users/1", headers=auth)
    head = conn.getresponse()
    assert head.status == 405 and head.read() == b""
    assert int(head.headers["Content-Length"]) > 0  # the length a GET would have
    conn.request("GET", "/2/users/1", headers=auth)
    assert json.loads(conn.getresponse().read())["data"]["username"] == "alice"
    conn.request("POST", "/2/users/1", body=b"x" * (2 << 20), headers=auth)
    big = conn.getresponse()
    assert big.status == 405 and big.headers["Connection"] == "close"
    big.read()
    conn.close()


def test_server_stops_and_refuses_a_busy_port(tiny: World) -> None:
    server = SimServer(tiny)
    base = server.start()
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(InputError, match=f"--port {port}: cannot listen"):
        SimServer(tiny, port=port).start()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/2/users/1", timeout=2)
