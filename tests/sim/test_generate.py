"""The world generator: the planted networks look like the real ones, reproducibly."""

from __future__ import annotations

import json
import statistics
from collections import deque
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from botsweep.errors import InputError
from botsweep.sim.generate import generate_world
from botsweep.sim.world import World, load_world, save_world, visible_edges


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=2000, bot_networks=3, rng_seed=11)


def _role(world: World, role: str) -> list[dict]:
    return [r for r in world.accounts.values() if r["_role"] == role]


def test_same_seed_same_world_and_files(tmp_path: Path) -> None:
    a = generate_world(accounts=400, bot_networks=2, rng_seed=5)
    b = generate_world(accounts=400, bot_networks=2, rng_seed=5)
    save_world(a, tmp_path / "a")
    save_world(b, tmp_path / "b")
    for name in ("world.json", "accounts.jsonl", "follows.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = generate_world(accounts=400, bot_networks=2, rng_seed=6)
    assert set(c.accounts) != set(a.accounts)


def test_campaign_names_and_seeds(world: World) -> None:
    assert set(world.campaigns()) == {"flower-1", "farm-2", "mimic-3"}
    assert len(world.seeds) == 12
    seeds = [world.accounts[s] for s in world.seeds]
    assert {r["_campaign"] for r in seeds} == {"flower-1"}
    assert {r["_role"] for r in seeds} == {"hub", "leaf"}
    assert all(world.state(s) == "active" for s in world.seeds)


def test_metrics_agree_with_follows(world: World) -> None:
    ids = np.array(list(world.accounts), dtype=np.int64)
    for key, column in (("followers_count", world.followee), ("following_count", world.follower)):
        values, counts = np.unique(column, return_counts=True)
        counted = dict(zip(values.tolist(), counts.tolist(), strict=True))
        for account_id in ids.tolist():
            assert world.accounts[account_id]["public_metrics"][key] == counted.get(account_id, 0)


def test_flowers_look_like_pronbots(world: World) -> None:
    members = [r for r in world.accounts.values() if r.get("_campaign") == "flower-1"]
    hubs, leaves = _role(world, "hub"), _role(world, "leaf")
    assert 0.15 <= len(hubs) / len(members) <= 0.25
    following = [r["public_metrics"]["following_count"] for r in members]
    followers = [r["public_metrics"]["followers_count"] for r in members]
    assert statistics.median(following) == 0
    assert sum(f == 0 for f in following) / len(members) >= 0.7  # leaves follow nobody
    assert 12 <= statistics.median(followers) <= 30  # pronbots: median 19
    assert sum(f < 50 for f in followers) / len(members) >= 0.75
    assert statistics.median(h["public_metrics"]["following_count"] for h in hubs) > 30
    assert all(r["public_metrics"]["following_count"] <= 3 for r in leaves)


def test_bot_links_hide_the_real_domain(world: World) -> None:
    flowers = _role(world, "hub") + _role(world, "leaf")
    linked = [r for r in flowers if r.get("entities", {}).get("description", {}).get("urls")]
    assert len(linked) / len(flowers) >= 0.93
    for record in linked:
        url = record["entities"]["description"]["urls"][0]
        assert record["description"][url["start"]:url["end"]] == url["url"]
        assert url["url"].startswith("https://t.co/")
        domain = url["expanded_url"].split("/")[2]
        outside = {k: v for k, v in record.items() if k != "entities"}
        assert domain not in json.dumps(outside)  # only the entities name the real site
    bots = [r for r in world.accounts.values() if r["_label"] == "bot"]
    for record in bots:  # every campaign: a link in a bio is always a t.co link
        for url in record.get("entities", {}).get("description", {}).get("urls", []):
            assert url["url"].startswith("https://t.co/")
            assert url["expanded_url"].split("/")[2] not in record["description"]


def test_most_bots_are_three_to_eight_years_old(world: World) -> None:
    bots = [r for r in world.accounts.values() if r["_label"] == "bot"]
    years = [(world.now - datetime.fromisoformat(r["created_at"].replace("Z", "+00:00"))).days
             / 365.25 for r in bots]
    assert sum(3 <= y <= 8 for y in years) / len(years) >= 0.7


def test_human_degrees_are_realistic_and_heavy_tailed(world: World) -> None:
    humans = [r["public_metrics"] for r in world.accounts.values() if r["_role"] == "human"]
    followers = np.array([m["followers_count"] for m in humans])
    following = np.array([m["following_count"] for m in humans])
    # real people follow, and are followed by, a few hundred accounts (cresci-2017's
    # genuine accounts: medians 319 and 341); a model trained on them calls tiny counts bots
    assert 100 <= np.median(following) <= 400
    assert 100 <= np.median(followers) <= 400
    # a Poisson graph of the same mean has p90 about 1.2x its p10 and p99 about 1.3x its median
    for counts in (followers, following):
        assert np.percentile(counts, 90) >= 5 * np.percentile(counts, 10)
        assert np.percentile(counts, 99) >= 3.5 * np.median(counts)
    # who follows many is followed by many: the ratio stays near 1 for most people
    ratio = followers / np.maximum(following, 1)
    assert 0.25 <= np.percentile(ratio, 10) and np.percentile(ratio, 90) <= 4


def test_celebrity_audiences_are_large_and_human(world: World) -> None:
    bots = world.bots()
    celebs = [int(r["id"]) for r in _role(world, "celebrity")]
    humans = _role(world, "human")
    followers = [r["public_metrics"]["followers_count"] for r in humans]
    for celeb in celebs:
        audience = world.follower[world.followee == celeb].tolist()
        assert len(audience) >= 0.2 * len(humans)  # every fifth person or more
        assert len(audience) > 2 * statistics.median(followers)
        assert len(audience) > max(followers) / 3
        assert sum(a in bots for a in audience) / len(audience) < 0.05


def test_some_humans_follow_bots_and_states_are_sprinkled(world: World) -> None:
    bots = world.bots()
    fans = {f for f, e in zip(world.follower.tolist(), world.followee.tolist(), strict=True)
            if e in bots and f not in bots}
    assert len(fans) >= 10
    states = world.summary()["states"]
    assert {"suspended", "protected", "deleted"} <= set(states)
    assert states["active"] > 0.9 * len(world.accounts)


def test_every_campaign_is_reachable_from_the_seeds(world: World) -> None:
    neighbours: dict[int, list[int]] = {}
    for a, b in visible_edges(world):
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    seen, queue = set(world.seeds), deque(world.seeds)
    while queue:
        for nxt in neighbours.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    reached = {world.accounts[i].get("_campaign") for i in seen}
    assert {"flower-1", "farm-2", "mimic-3"} <= reached


def test_profiles_overlap_so_no_scorer_is_perfect(world: World) -> None:
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    rows, labels = [], []
    for r in world.accounts.values():
        m = r["public_metrics"]
        rows.append([m["followers_count"], m["following_count"], m["tweet_count"],
                     m["listed_count"], m["like_count"], len(r["description"]),
                     "default_profile" in r["profile_image_url"],
                     bool(r.get("entities", {}).get("description")),
                     sum(c.isdigit() for c in r["username"]), r["created_at"] < "2014"])
        labels.append(r["_label"] == "bot")
    score = cross_val_score(DecisionTreeClassifier(max_depth=6, random_state=0),
                            np.array(rows, dtype=float), np.array(labels), cv=5).mean()
    assert 0.85 < score < 0.99


def test_usernames_and_ids_are_valid_and_unique(world: World, tmp_path: Path) -> None:
    names = [r["username"].lower() for r in world.accounts.values()]
    assert len(set(names)) == len(names)
    assert any(int(r["id"]) > 2**53 for r in world.accounts.values())  # snowflakes
    assert any(len(r["id"]) <= 10 for r in world.accounts.values())  # pre-2014 ids
    load_world(save_world(world, tmp_path / "w"))  # passes the loader's checks


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(InputError, match="--accounts 50 is too small"):
        generate_world(accounts=50)
    with pytest.raises(InputError, match="use --accounts"):
        generate_world(accounts=300, bot_networks=30)


def test_no_bot_networks_means_no_seeds() -> None:
    world = generate_world(accounts=300, bot_networks=0, rng_seed=1)
    assert world.seeds == [] and not world.bots()

