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
The same ``rng_seed`` gives the same world, byte for byte.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.sim import vocab
from botsweep.sim.follows import unique_follows
from botsweep.sim.profiles import ProfileMaker, draw_metrics, draw_states, make_ids
from botsweep.sim.tweets import draw_tweets
from botsweep.sim.world import World, format_time

__all__ = ["generate_world", "DEFAULT_NOW", "STYLES"]

DEFAULT_NOW = datetime(2018, 6, 1, 12, 0, 0, tzinfo=UTC)
STYLES = ("flower", "farm", "mimic")
_YEAR = 365.25 * 86400
_EARLIEST = datetime(2006, 7, 15, tzinfo=UTC).timestamp()  # the platform opened
_SIZE_WEIGHT = {"flower": 1.0, "farm": 0.7, "mimic": 0.25}
_MIN_SIZE = {"flower": 20, "farm": 15, "mimic": 6}
_FOLLOWING_MEDIAN = 220.0  # real humans follow a few hundred accounts
_FOLLOWING_SHARE = 0.12  # ... but not more than this share of a small world's humans
_BOTLIKE_SHARE = 0.02
@dataclass
class _Network:
    name: str
    style: str
    members: np.ndarray
    hubs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    domains: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    n: int
    celebs: np.ndarray
    organic: np.ndarray  # non-celebrity humans, ordered by community
    community_start: np.ndarray  # offsets into organic, len = communities + 1
    popularity: np.ndarray  # per organic human
    degree: np.ndarray  # follows each organic human makes in its community and beyond
    networks: list[_Network]
    roles: list[str]
    botlike: np.ndarray  # thin humans: new, quiet, few follows (bool per account)
    follow_median: float  # a typical human's following count
    keys: list[np.ndarray] = field(default_factory=list)  # follower * n + followee

    def add(self, src: np.ndarray | int, dst: np.ndarray | int) -> None:
        s, d = np.broadcast_arrays(np.asarray(src, np.int64), np.asarray(dst, np.int64))
        self.keys.append((s * self.n + d).ravel())


def _check(accounts: int, bot_networks: int) -> None:
    if accounts < 200:
        raise InputError(f"--accounts {accounts} is too small; use at least 200")
    if not 0 <= bot_networks <= 60:
        raise InputError(f"--bot-networks {bot_networks} must be between 0 and 60")
    bots = sum(_SIZE_WEIGHT[STYLES[i % 3]] for i in range(bot_networks)) * accounts * 0.06
    if bots > accounts * 0.45:
        need = int(bots / 0.45) + 1
        raise InputError(
            f"--bot-networks {bot_networks} would make more than 45% of {accounts} accounts "
            f"bots; use --accounts {need} or more, or fewer networks"
        )


def _plan(accounts: int, bot_networks: int, rng: np.random.Generator) -> _Plan:
    sizes: list[tuple[str, str, int]] = []
    for i in range(bot_networks):
        style = STYLES[i % 3]
        size = int(round(accounts * 0.06 * _SIZE_WEIGHT[style] * rng.uniform(0.8, 1.2)))
        sizes.append((f"{style}-{i + 1}", style, max(_MIN_SIZE[style], size)))
    n_humans = accounts - sum(s for _, _, s in sizes)
    n_celebs = max(3, int(round(np.sqrt(n_humans) / 8)))
    roles = ["celebrity"] * n_celebs + ["human"] * (n_humans - n_celebs)
    organic = np.arange(n_celebs, n_humans, dtype=np.int64)
    follow_median = min(_FOLLOWING_MEDIAN, _FOLLOWING_SHARE * organic.shape[0])
    cuts = [0]
    while cuts[-1] < organic.shape[0]:
        size = rng.lognormal(np.log(max(150.0, 3.0 * follow_median)), 0.5)
        cuts.append(cuts[-1] + max(20, int(size)))
    cuts[-1] = organic.shape[0]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] < 20:
        cuts.pop(-2)
    botlike = np.zeros(accounts, dtype=bool)
    botlike[organic[rng.random(organic.shape[0]) < _BOTLIKE_SHARE]] = True
    thin = botlike[organic]
    median = np.where(thin, max(2.0, follow_median / 10), follow_median)
    degree = np.round(median * rng.lognormal(0.0, 0.95, organic.shape[0]))
    degree = np.clip(degree, 0, min(organic.shape[0] - 1, 5000)).astype(np.int64)
    degree[rng.random(organic.shape[0]) < 0.01] = 0
    # who follows many is followed by many (follow-back), with a wide spread of its own
    popularity = rng.lognormal(0.0, 0.5, organic.shape[0]) * (
        (degree + 1.0) / follow_median) ** 0.9
    popularity[thin] *= 0.05
    networks: list[_Network] = []
    start = n_humans
    for name, style, size in sizes:
        members = np.arange(start, start + size, dtype=np.int64)
        start += size
        net = _Network(name, style, members)
        if style == "flower":
            net.hubs = members[: max(2, int(round(0.2 * size)))]
            roles += ["hub"] * net.hubs.shape[0] + ["leaf"] * (size - net.hubs.shape[0])
        else:
            roles += [style] * size
        words = rng.choice(len(vocab.CAMPAIGN_WORDS), size=3, replace=False)
        net.domains = [f"{vocab.CAMPAIGN_WORDS[w]}{int(rng.integers(2, 99))}.example"
                       for w in words]
        networks.append(net)
    return _Plan(accounts, np.arange(n_celebs, dtype=np.int64), organic,
                 np.array(cuts, dtype=np.int64), popularity, degree, networks, roles, botlike,
                 follow_median)


# ----------------------------------------------------------------------------- graph


def _organic_follows(plan: _Plan, rng: np.random.Generator) -> None:
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


def _flower_follows(plan: _Plan, net: _Network, earlier: list[_Network],
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


def _farm_follows(plan: _Plan, net: _Network, rng: np.random.Generator) -> None:
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


def _mimic_follows(plan: _Plan, net: _Network, rng: np.random.Generator) -> None:
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


def _humans_follow_bots(plan: _Plan, rng: np.random.Generator) -> None:
    if not plan.networks:
        return
    bots = np.concatenate([n.members for n in plan.networks])
    fans = plan.organic[rng.random(plan.organic.shape[0]) < 0.02]
    for fan in fans:
        plan.add(fan, rng.choice(bots, size=int(rng.integers(1, 4))))


def _edges(plan: _Plan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate(plan.keys)
    plan.keys.clear()
    keys = keys[keys % (plan.n + 1) != 0]  # i * n + i: nobody follows themself
    return unique_follows(keys, plan.n, int(rng.integers(0, 2**62)))


# ----------------------------------------------------------------------------- profiles


def _created(plan: _Plan, now: float, rng: np.random.Generator,
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
                   now: datetime | None = None, tweets_per_account: int = 0) -> World:
    """Draw a world of ``accounts`` accounts with ``bot_networks`` planted campaigns."""
    _check(accounts, bot_networks)
    moment = (now or DEFAULT_NOW).astimezone(UTC)
    rng = np.random.default_rng(rng_seed)
    prng = random.Random(rng_seed)
    plan = _plan(accounts, bot_networks, rng)
    _organic_follows(plan, rng)
    flowers: list[_Network] = []
    for net in plan.networks:
        if net.style == "flower":
            _flower_follows(plan, net, flowers, rng)
            flowers.append(net)
        elif net.style == "farm":
            _farm_follows(plan, net, rng)
        else:
            _mimic_follows(plan, net, rng)
    _humans_follow_bots(plan, rng)
    src, dst = _edges(plan, rng)
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
    return World(
        name=f"generated-{rng_seed}",
        now=moment,
        seeds=seeds,
        description=(f"Generated by botsweep: {accounts} accounts, {bot_networks} planted bot "
                     f"networks ({names}), rng seed {rng_seed}."),
        accounts={int(ids[i]): records[i] for i in order.tolist()},
        follower=ids[src],
        followee=ids[dst],
        tweets=sorted(tweets, key=lambda t: int(t["id"])),
    )


def _profiles(plan: _Plan, ids: np.ndarray, created: np.ndarray, followers: np.ndarray,
              prng: random.Random, now: datetime) -> list[dict[str, Any]]:
    maker = ProfileMaker(prng, now)
    campaign: dict[int, _Network] = {}
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


def _seeds(plan: _Plan, states: list[str], ids: np.ndarray,
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

