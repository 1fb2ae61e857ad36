"""Generate a world that looks like the real problem: organic communities and planted bots.

Profiles are drawn like the real labelled data (:func:`profiles.draw_metrics`), so a model
trained on real accounts finds a world's bots, not perfectly.  The graph is vectorised
numpy; 100k accounts make about 26M follows:

* **Humans** live in communities of several hundred and follow a log-normal number of
  accounts (median about 180, at most 12% of a small world's humans); a log-normal
  popularity growing with it (follow-back) makes in-degrees heavy-tailed; follows stay
  mostly in the community.  2% are thin: new, quiet, usually no bio.
* **Celebrities** (a handful) are followed by 25-50% of all humans.  Their audiences are
  huge and almost all human, so expanding one is expensive and yields few bots.
* **flower-k** (Patel's pronbots): about 20% hubs, which follow most leaves of their
  cluster and a few leaves of other clusters (shared leaves join the flowers); leaves follow
  nobody.  Leaves end up with a median of about 19 followers.  98% carry a t.co link.
* **farm-k**: follower-farm accounts that follow one or two celebrities for camouflage,
  the farm's customers (some humans, some flower hubs, some mimic bots) and random humans.
* **mimic-k**: bots that imitate people: they follow humans of one community, are
  followed back by some, and share a few bios.
* Some humans follow bots; some are suspended, protected or deleted; most bots are 3-8 years old.

``world.seeds`` is a dozen active members of ``flower-1`` (hubs and leaves), as Patel had.
The same ``rng_seed`` gives the same world, byte for byte.  The sizes and roles are planned in
:mod:`botsweep.sim.world_plan`, the follows drawn in :mod:`botsweep.sim.follow_graph`; this
module draws the profiles and puts the world together.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import numpy as np

from botsweep.sim import vocab
from botsweep.sim.follow_graph import draw_follows
from botsweep.sim.profiles import ProfileMaker, draw_metrics, draw_states, make_ids
from botsweep.sim.tweets import draw_tweets
from botsweep.sim.world import World, format_time
from botsweep.sim.world_plan import STYLES, Network, Plan, check_sizes, make_plan

__all__ = ["generate_world", "DEFAULT_NOW", "STYLES"]

DEFAULT_NOW = datetime(2018, 6, 1, 12, 0, 0, tzinfo=UTC)
_YEAR = 365.25 * 86400
_EARLIEST = datetime(2006, 7, 15, tzinfo=UTC).timestamp()  # the platform opened


def _created(plan: Plan, now: float, rng: np.random.Generator,
             botlike: np.ndarray) -> np.ndarray:
    n = plan.n
    span = (now - _EARLIEST) / _YEAR
    age = rng.uniform(0.1, min(12.0, span), n)
    age[botlike] = rng.uniform(0.05, 3.0, int(botlike.sum()))
    age[plan.celebs] = rng.uniform(min(6.0, span - 0.5), min(12.0, span), plan.celebs.shape[0])
    for net in plan.networks:
        m = net.members.shape[0]
        old = rng.random(m) < (0.7 if net.style == "mimic" else 0.85)
        age[net.members] = np.where(old, rng.uniform(3.0, 8.0, m), rng.uniform(0.1, 3.0, m))
    return np.maximum(now - np.minimum(age, span) * _YEAR, _EARLIEST)


def generate_world(accounts: int = 2000, bot_networks: int = 3, rng_seed: int = 0,
                   now: datetime | None = None, tweets_per_account: int = 0,
                   bot_share: float | None = None) -> World:
    """Draw a world of ``accounts`` accounts with ``bot_networks`` planted campaigns.

    ``bot_share`` (e.g. 0.02) sets the planted bots' share of all accounts; the networks keep
    their style weights and minimum sizes, and as many humans per bot follow bots as in a
    default world.  Without it each network is about 6% x its style weight of the world, so
    bots are 10-23% of it (the worlds of earlier versions, byte for byte).
    """
    check_sizes(accounts, bot_networks, bot_share)
    moment = (now or DEFAULT_NOW).astimezone(UTC)
    rng = np.random.default_rng(rng_seed)
    prng = random.Random(rng_seed)
    plan = make_plan(accounts, bot_networks, rng, bot_share)
    src, dst = draw_follows(plan, rng)
    created = _created(plan, moment.timestamp(), rng, plan.botlike)
    ids = make_ids(created, rng)
    states = draw_states(plan.roles, rng)
    followers = np.bincount(dst, minlength=plan.n)
    following = np.bincount(src, minlength=plan.n)
    records = _profiles(plan, ids, created, followers, prng, moment)
    metrics = draw_metrics(plan.roles, followers, (moment.timestamp() - created) / 86400.0,
                           plan.botlike, rng)
    columns = {"followers_count": followers.tolist(), "following_count": following.tolist(),
               **{key: values.tolist() for key, values in metrics.items()}}
    for i, record in enumerate(records):
        record["public_metrics"] = {key: column[i] for key, column in columns.items()}
        if states[i] != "active":
            record["_state"] = states[i]
        if states[i] == "protected":
            record["protected"] = True
    tweets = (draw_tweets(records, tweets_per_account, moment, prng)
              if tweets_per_account else [])
    seeds = _seeds(plan, states, ids, rng)
    order = np.argsort(ids, kind="stable")
    names = ", ".join(n.name for n in plan.networks) or "none"
    bots = sum(n.members.shape[0] for n in plan.networks)
    share = ("" if bot_share is None else
             f", bot share {bot_share:g} asked, {bots} bots = {bots / accounts:.2%} drawn")
    return World(
        name=f"generated-{rng_seed}",
        now=moment,
        seeds=seeds,
        description=(f"Generated by botsweep: {accounts} accounts, {bot_networks} planted bot "
                     f"networks ({names}){share}, rng seed {rng_seed}."),
        accounts={int(ids[i]): records[i] for i in order.tolist()},
        follower=ids[src],
        followee=ids[dst],
        tweets=sorted(tweets, key=lambda t: int(t["id"])),
    )


def _profiles(plan: Plan, ids: np.ndarray, created: np.ndarray, followers: np.ndarray,
              prng: random.Random, now: datetime) -> list[dict[str, Any]]:
    maker = ProfileMaker(prng, now)
    campaign: dict[int, Network] = {}
    mimic_bios: dict[str, list[str]] = {}
    for net in plan.networks:
        for i in net.members.tolist():
            campaign[i] = net
        if net.style == "mimic":
            mimic_bios[net.name] = [
                prng.choice(vocab.HUMAN_BIOS).format(**maker._fill()) for _ in range(4)
            ]
    collected = format_time(now)
    records: list[dict[str, Any]] = []
    for i, role in enumerate(plan.roles):
        aid, when = int(ids[i]), float(created[i])
        net = campaign.get(i)
        if role == "celebrity":
            record = maker.celebrity(aid, when)
        elif role == "human":
            record = maker.human(aid, when, botlike=bool(plan.botlike[i]),
                                 followers=int(followers[i]))
        elif role in ("hub", "leaf"):
            record = maker.flower(aid, when, net.domains)  # type: ignore[union-attr]
        elif role == "farm":
            record = maker.farm(aid, when, net.domains)  # type: ignore[union-attr]
        else:
            record = maker.mimic(aid, when, net.domains, mimic_bios[net.name])  # type: ignore[union-attr]
        record["_label"] = "bot" if net is not None else "human"
        if net is not None:
            record["_campaign"] = net.name
        record["_role"] = role
        record["_collected_at"] = collected
        records.append(record)
    return records


def _seeds(plan: Plan, states: list[str], ids: np.ndarray,
           rng: np.random.Generator) -> list[int]:
    first = next((n for n in plan.networks if n.style == "flower"), None)
    if first is None:
        return []
    active = [i for i in first.members.tolist() if states[i] == "active"]
    hub_set = set(first.hubs.tolist())
    hubs = [i for i in active if i in hub_set]
    leaves = [i for i in active if i not in hub_set]
    n_hubs = min(len(hubs), 4)
    picked = list(rng.choice(hubs, size=n_hubs, replace=False)) if n_hubs else []
    n_leaves = min(len(leaves), 12 - n_hubs)
    picked += list(rng.choice(leaves, size=n_leaves, replace=False)) if n_leaves else []
    return [int(ids[i]) for i in picked]

