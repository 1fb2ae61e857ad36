"""Followers/following pages: the fast path gives the same bytes and the same 400s.

The list endpoints check their parameters once per distinct query (without its
``pagination_token``) and build a page in one copy.  These tests hold that path to what a
client sees: pages, tokens, errors and bodies exactly as a request that nobody has sent
before gets them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from botsweep.sim.api import SimApp
from botsweep.sim.generate import generate_world
from botsweep.sim.index import dumps
from botsweep.sim.world import World

AUTH = "Bearer sim-token"
FIELDS = "created_at,description,entities,location,profile_image_url,protected," \
         "public_metrics,url,verified"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=600, bot_networks=2, rng_seed=5)


def _app(world: World) -> SimApp:
    return SimApp(world, rate_limits={"*": 10**6}, clock=time.time)


def _celeb(world: World) -> int:
    return max(world.accounts, key=lambda i: world.accounts[i]["public_metrics"][
        "followers_count"])


def _get(app: SimApp, target: str) -> tuple[int, dict[str, Any]]:
    reply = app.handle("GET", target, AUTH)
    return reply.status, json.loads(reply.body)


def test_pages_are_the_user_objects_in_list_order(world: World) -> None:
    app = _app(world)
    celeb = _celeb(world)
    hidden = {i for i in world.accounts if world.state(i) in ("suspended", "deleted")}
    expected = [i for i in world.follower[world.followee == celeb][::-1].tolist()
                if i not in hidden]
    fields = tuple(sorted(FIELDS.split(",")))
    got: list[int] = []
    token = ""
    while True:
        status, body = _get(app, f"/2/users/{celeb}/followers?max_results=50&user.fields="
                                 f"{FIELDS}{token}")
        assert status == 200
        for item in body.get("data", []):
            index = app.index.find(int(item["id"]))
            assert item == app.index.user_object(index, fields)  # every field, in order
        got += [int(u["id"]) for u in body.get("data", [])]
        if "next_token" not in body["meta"]:
            break
        token = f"&pagination_token={body['meta']['next_token']}"
    assert got == expected and len(got) > 50


def test_page_bytes_are_compact_json_with_data_first_and_meta_last(world: World) -> None:
    app = _app(world)
    celeb = _celeb(world)
    reply = app.handle("GET", f"/2/users/{celeb}/followers?max_results=3", AUTH)
    body = json.loads(reply.body)
    assert reply.body == dumps(body)  # no spaces, keys in the order the API sends them
    assert list(body) == ["data", "meta"]
    assert list(body["meta"]) == ["result_count", "next_token"]


@pytest.mark.parametrize("query", [
    "max_results=10&pagination_token=",
    "max_results=10&pagination_token=abc&pagination_token=def",
    "max_results=10&pagination_token=bogus",
    "max_results=10&pagination_token=00000000000000000000000z",
    "max_results=10&colour=red&pagination_token=bogus",
    "max_results=0&pagination_token=bogus",
    "max_results=10&user.fields=shoe_size",
])
def test_bad_queries_get_the_same_400_after_good_ones(world: World, query: str) -> None:
    celeb = _celeb(world)
    fresh = _get(_app(world), f"/2/users/{celeb}/followers?{query}")
    assert fresh[0] == 400
    primed = _app(world)
    assert _get(primed, f"/2/users/{celeb}/followers?max_results=10")[0] == 200
    assert _get(primed, f"/2/users/{celeb}/followers?max_results=10&user.fields=shoe_size"
                )[0] == 400
    assert _get(primed, f"/2/users/{celeb}/followers?{query}") == fresh


def test_bad_id_and_other_lists_token_after_good_pages(world: World) -> None:
    app = _app(world)
    celeb = _celeb(world)
    status, body = _get(app, f"/2/users/{celeb}/followers?max_results=10")
    token = body["meta"]["next_token"]
    status, body = _get(app, f"/2/users/12x/followers?max_results=10&pagination_token={token}")
    assert status == 400 and body["errors"][0]["parameters"] == {"id": ["12x"]}
    status, body = _get(app, f"/2/users/{celeb}/following?max_results=10&pagination_token="
                             f"{token}")
    assert status == 400 and "pagination_token" in body["errors"][0]["parameters"]


def test_escaped_and_reordered_queries_read_the_same_page(world: World) -> None:
    app = _app(world)
    celeb = _celeb(world)
    first = app.handle("GET", f"/2/users/{celeb}/followers?max_results=20", AUTH)
    token = json.loads(first.body)["meta"]["next_token"]
    plain = app.handle("GET", f"/2/users/{celeb}/followers?max_results=20&pagination_token="
                              f"{token}", AUTH).body
    escaped = "".join(f"%{ord(c):02x}" for c in token)
    for target in (f"/2/users/{celeb}/followers?pagination_token={escaped}&max_results=20",
                   f"/2/users/{celeb}/followers?pagination_token={token}&max_results=20",
                   f"/2/users/{celeb}/followers?max_results=20&pagination%5Ftoken={token}"):
        assert app.handle("GET", target, AUTH).body == plain


def test_many_distinct_queries_are_all_answered(world: World) -> None:
    """Past the memo's size the answers stay right (it is emptied, not trusted stale)."""
    app = _app(world)
    celeb = _celeb(world)
    hidden = {i for i in world.accounts if world.state(i) in ("suspended", "deleted")}
    total = sum(1 for i in world.follower[world.followee == celeb].tolist() if i not in hidden)
    for size in list(range(1, 1001)) + list(range(1, 60)):
        reply = app.handle("GET", f"/2/users/{celeb}/following?max_results={size}&x{size % 3}=",
                           AUTH)
        assert reply.status == 400  # x0/x1/x2 are not parameters
        status, body = _get(app, f"/2/users/{celeb}/followers?max_results={size}")
        assert status == 200 and body["meta"]["result_count"] == min(size, total)
