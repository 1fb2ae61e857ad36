"""tweepy's own Client, pointed at the sim, reads every endpoint: the shapes are real."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import tweepy
from requests.adapters import HTTPAdapter

from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.sim.world import World

USER_FIELDS = ["created_at", "description", "entities", "location", "pinned_tweet_id",
               "profile_image_url", "protected", "public_metrics", "url", "verified"]


class _ToSim(HTTPAdapter):
    """Sends tweepy's https://api.twitter.com requests to the sim instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = request.url.replace("https://api.twitter.com", self.base_url, 1)
        kwargs["timeout"] = kwargs.get("timeout") or 5
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=600, bot_networks=3, rng_seed=4, tweets_per_account=12)


def _client(base_url: str, token: str = "sim-token", **kwargs: Any) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token, wait_on_rate_limit=False, **kwargs)
    client.session.mount("https://api.twitter.com/", _ToSim(base_url))
    return client


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with SimServer(world, rate_limits={"*": 10_000}) as base:
        yield base


def _visible(world: World, ids: list[int]) -> list[int]:
    return [i for i in ids if world.state(i) not in ("suspended", "deleted")]


def test_followers_and_following_with_paginator(world: World, base_url: str) -> None:
    client = _client(base_url, return_type=dict)
    celeb = max(world.accounts, key=lambda i: world.accounts[i]["public_metrics"][
        "followers_count"])
    pages = list(tweepy.Paginator(client.get_users_followers, celeb, max_results=100,
                                  user_fields=USER_FIELDS))
    got = [int(u["id"]) for page in pages for u in page["data"]]
    assert len(pages) > 1
    assert got == _visible(world, world.follower[world.followee == celeb][::-1].tolist())
    assert {"public_metrics", "created_at", "protected"} <= set(pages[0]["data"][0])
    hub = world.seeds[0]
    following = client.get_users_following(hub, max_results=1000)
    assert [int(u["id"]) for u in following["data"]] == _visible(
        world, world.followee[world.follower == hub][::-1].tolist())


def test_lookups_return_users_and_errors(world: World, base_url: str) -> None:
    client = _client(base_url)  # tweepy's own Response objects
    suspended = next(i for i in world.accounts if world.state(i) == "suspended")
    ids = world.seeds[:5] + [suspended]
    reply = client.get_users(ids=ids, user_fields=USER_FIELDS)
    assert [u.id for u in reply.data] == world.seeds[:5]
    assert isinstance(reply.data[0], tweepy.User)
    assert reply.data[0].public_metrics["followers_count"] >= 0
    assert reply.errors[0]["detail"] == f"User has been suspended: [{suspended}]."
    names = [world.accounts[i]["username"] for i in world.seeds[:3]]
    by = client.get_users(usernames=names, user_fields=["description"])
    assert [u.username for u in by.data] == names
    one = client.get_user(username=names[0], user_fields=["created_at"])
    assert one.data.id == world.seeds[0] and one.data.created_at is not None
    assert client.get_user(id=world.seeds[1]).data.username == names[1]


def test_user_tweets_and_pinned_expansion(world: World, base_url: str) -> None:
    client = _client(base_url)
    author = next(i for i, r in world.accounts.items()
                  if r.get("pinned_tweet_id") and world.state(i) == "active")
    reply = client.get_users_tweets(author, max_results=5, expansions=["author_id"],
                                    tweet_fields=["created_at", "public_metrics"])
    assert 0 < len(reply.data) <= 5
    assert all(isinstance(t, tweepy.Tweet) and t.created_at is not None for t in reply.data)
    assert reply.includes["users"][0].id == author
    assert reply.meta["newest_id"] == str(reply.data[0].id)
    ids = [t.id for t in reply.data]
    assert ids == sorted(ids, reverse=True)
    pinned = client.get_user(id=author, expansions=["pinned_tweet_id"],
                             tweet_fields=["created_at"])
    assert str(pinned.includes["tweets"][0].id) == world.accounts[author]["pinned_tweet_id"]


def test_tweepy_raises_its_own_errors(world: World) -> None:
    with SimServer(world, rate_limits={"followers": 1}) as base:
        with pytest.raises(tweepy.Unauthorized):
            _client(base, token="wrong").get_users_followers(world.seeds[0])
        client = _client(base)
        with pytest.raises(tweepy.BadRequest) as bad:
            client.get_users_followers(world.seeds[0], max_results=5000)
        assert "not between 1 and 1000" in str(bad.value)
        client.get_users_followers(world.seeds[0])
        with pytest.raises(tweepy.TooManyRequests) as limited:
            client.get_users_followers(world.seeds[0])
        assert limited.value.response.headers["x-rate-limit-remaining"] == "0"
