"""The follow graph of a generated world, drawn from its plan with vectorised numpy.

Organic humans follow mostly in their community and by popularity, celebrities collect huge
human audiences, and each planted network follows in its style (flower hubs follow leaves,
farms follow customers and celebrities, mimics follow one community); a few humans follow
bots.  :func:`draw_follows` returns the unique (follower, followee) positions.
"""

from __future__ import annotations

import numpy as np

from botsweep.sim.follows import unique_follows
from botsweep.sim.world_plan import Network, Plan

__all__ = ["draw_follows"]


def _organic_follows(plan: Plan, rng: np.random.Generator) -> None:
    organic, starts, weights = plan.organic, plan.community_start, plan.popularity
    n = organic.shape[0]
    community = np.repeat(np.arange(starts.shape[0] - 1), np.diff(starts))
    cum = np.cumsum(weights)
    before = np.concatenate([[0.0], cum])[starts]
    span = before[1:] - before[:-1]
    # popularity-weighted picks by table: 16 buckets per account on the cumulative scale
    buckets = 16 * n
    table = np.searchsorted(cum, (np.arange(buckets) + 0.5) * (cum[-1] / buckets))
    table = np.minimum(table, n - 1)
    ends = np.cumsum(plan.degree)  # draw ~2M follows at a time: the temporaries stay small
    bounds = [0, *np.searchsorted(ends, np.arange(2_000_000, ends[-1], 2_000_000)).tolist(), n]
    for first, last in zip(bounds[:-1], bounds[1:], strict=True):
        src_pos = np.repeat(np.arange(first, last), plan.degree[first:last])
        u = rng.random(src_pos.shape[0])
        local = u < 0.6  # most follows stay in the community
        u = np.where(local, u / 0.6, (u - 0.6) / 0.4)
        c = community[src_pos]
        r = np.where(local, before[:-1][c] + u * span[c], u * cum[-1])
        r *= buckets / cum[-1]
        dst_pos = table[np.minimum(r.astype(np.int64), buckets - 1)]
        plan.keys.append(organic[src_pos] * plan.n + organic[dst_pos])
    # celebrities: huge, almost all-human audiences
    for rank, celeb in enumerate(plan.celebs):
        share = 0.5 if rank == 0 else rng.uniform(0.25, 0.45)
        plan.add(organic[rng.random(n) < share], celeb)
        popular = organic[np.argsort(-weights)[: max(50, n // 20)]]
        plan.add(celeb, rng.choice(popular, size=min(popular.shape[0], int(rng.integers(3, 30))),
                                   replace=False))
        plan.add(celeb, rng.choice(plan.celebs, size=int(rng.integers(0, 3))))


def _flower_follows(plan: Plan, net: Network, earlier: list[Network],
                    rng: np.random.Generator) -> None:
    hubs, members = net.hubs, net.members
    leaves = members[hubs.shape[0]:]
    k = max(1, int(round(members.shape[0] / 125)))
    hub_cluster = np.arange(hubs.shape[0]) % k
    leaf_cluster = rng.integers(0, k, size=leaves.shape[0])
    reach = np.cumsum(rng.lognormal(0.0, 1.2, leaves.shape[0]))
    for c in range(k):
        c_leaves, c_hubs = leaves[leaf_cluster == c], hubs[hub_cluster == c]
        if c_leaves.shape[0] == 0:
            continue
        appeal = rng.lognormal(0.0, 0.9, c_leaves.shape[0])
        appeal /= appeal.sum()
        for hub in c_hubs:
            want = rng.lognormal(np.log(0.7 * c_leaves.shape[0]), 0.3)
            d = int(np.clip(round(want), 1, c_leaves.shape[0]))
            plan.add(hub, rng.choice(c_leaves, size=d, replace=False, p=appeal))
            shared = int(rng.poisson(6))  # leaves shared with other flowers
            plan.add(hub, leaves[np.minimum(np.searchsorted(
                reach, rng.random(shared) * reach[-1], side="right"), leaves.shape[0] - 1)])
            plan.add(hub, rng.choice(c_hubs, size=int(rng.poisson(0.8))))
    talkers = leaves[rng.random(leaves.shape[0]) < 0.03]
    for leaf in talkers:
        plan.add(leaf, rng.choice(hubs, size=int(rng.integers(1, 4))))
    for other in earlier:
        for hub in hubs[rng.random(hubs.shape[0]) < 0.15]:
            plan.add(hub, rng.choice(other.members[other.hubs.shape[0]:],
                                     size=int(rng.integers(2, 9))))


def _farm_follows(plan: Plan, net: Network, rng: np.random.Generator) -> None:
    organic, members = plan.organic, net.members
    m = min(60, max(4, members.shape[0] // 12))
    hubs = np.concatenate([n.hubs for n in plan.networks if n.style == "flower"] + [[]])
    mimics = np.concatenate([n.members for n in plan.networks if n.style == "mimic"] + [[]])
    n_hubs = min(hubs.shape[0], int(round(0.3 * m)))
    n_mimic = min(mimics.shape[0], int(round(0.1 * m)))
    shy = organic[np.argsort(plan.popularity)[: max(m, organic.shape[0] // 2)]]
    customers = np.concatenate([
        rng.choice(shy, size=m - n_hubs - n_mimic, replace=False),
        rng.choice(hubs.astype(np.int64), size=n_hubs, replace=False),
        rng.choice(mimics.astype(np.int64), size=n_mimic, replace=False),
    ]).astype(np.int64)
    cum = np.cumsum(plan.popularity)
    farm_reach = min(250.0, 0.1 * organic.shape[0])  # fake followers follow ~300
    for bot in members:
        camouflage = rng.random()
        if camouflage < 0.7:  # a celebrity or two, so that the account looks ordinary
            plan.add(bot, rng.choice(plan.celebs, size=1 if camouflage < 0.6 else 2,
                                     replace=False))
        plan.add(bot, customers[rng.random(customers.shape[0]) < 0.5])
        k = int(min(organic.shape[0], max(1, rng.lognormal(np.log(farm_reach), 0.6))))
        picks = np.searchsorted(cum, rng.random(k) * cum[-1], side="right")
        plan.add(bot, organic[np.minimum(picks, organic.shape[0] - 1)])
        if rng.random() < 0.2:
            plan.add(bot, rng.choice(members, size=int(rng.integers(1, 4))))


def _mimic_follows(plan: Plan, net: Network, rng: np.random.Generator) -> None:
    starts = plan.community_start
    sizes = np.diff(starts)
    host = int(rng.choice(np.argsort(-sizes)[:3]))
    community = plan.organic[starts[host]: starts[host + 1]]
    weights = plan.popularity[starts[host]: starts[host + 1]]
    p = weights / weights.sum()
    members = net.members
    reach = max(10.0, min(plan.follow_median, 0.5 * community.shape[0]))
    for bot in members:
        k = int(np.clip(rng.lognormal(np.log(reach), 0.6), 5, community.shape[0]))
        plan.add(bot, rng.choice(community, size=k, replace=False, p=p))
        plan.add(bot, rng.choice(members, size=int(rng.poisson(2))))
        if rng.random() < 0.3:
            plan.add(bot, rng.choice(plan.celebs))
        back = int(np.clip(rng.lognormal(np.log(0.4 * k), 0.6), 1, community.shape[0]))
        plan.add(rng.choice(community, size=back, replace=False), bot)
    hubs = [n.hubs for n in plan.networks if n.style == "flower"]
    if hubs:
        for bot in rng.choice(members, size=2, replace=False):
            plan.add(bot, rng.choice(np.concatenate(hubs)))


def _humans_follow_bots(plan: Plan, rng: np.random.Generator) -> None:
    if not plan.networks:
        return
    bots = np.concatenate([n.members for n in plan.networks])
    fans = plan.organic[rng.random(plan.organic.shape[0]) < plan.fan_share]
    for fan in fans:
        plan.add(fan, rng.choice(bots, size=int(rng.integers(1, 4))))


def _edges(plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate(plan.keys)
    plan.keys.clear()
    keys = keys[keys % (plan.n + 1) != 0]  # i * n + i: nobody follows themself
    return unique_follows(keys, plan.n, int(rng.integers(0, 2**62)))


def draw_follows(plan: Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every follow of the world, as unique (follower, followee) account positions."""
    _organic_follows(plan, rng)
    flowers: list[Network] = []
    for net in plan.networks:
        if net.style == "flower":
            _flower_follows(plan, net, flowers, rng)
            flowers.append(net)
        elif net.style == "farm":
            _farm_follows(plan, net, rng)
        else:
            _mimic_follows(plan, net, rng)
    _humans_follow_bots(plan, rng)
    return _edges(plan, rng)
