"""The plan of a generated world: who is a celebrity, a human or a bot, before any follow.

:func:`make_plan` sizes the planted networks (flower, farm, mimic in turn), splits the humans
into communities, and draws each human's follow degree and popularity.  The follow graph is
drawn from the plan by :mod:`botsweep.sim.follow_graph`, the profiles by
:mod:`botsweep.sim.generate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from botsweep.errors import InputError
from botsweep.sim import vocab

__all__ = ["STYLES", "Network", "Plan", "check_sizes", "make_plan"]

STYLES = ("flower", "farm", "mimic")
_SIZE_WEIGHT = {"flower": 1.0, "farm": 0.7, "mimic": 0.25}
_MIN_SIZE = {"flower": 20, "farm": 15, "mimic": 6}
_FOLLOWING_MEDIAN = 220.0  # real humans follow a few hundred accounts
_FOLLOWING_SHARE = 0.12  # ... but not more than this share of a small world's humans
_BOTLIKE_SHARE = 0.02
_FAN_SHARE = 0.02  # humans who follow a few bots
_DEFAULT_SHARE = 0.06  # without a bot share, a network is this x its style weight of the world
_MAX_SHARE = 0.45


@dataclass
class Network:
    name: str
    style: str
    members: np.ndarray
    hubs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    domains: list[str] = field(default_factory=list)


@dataclass
class Plan:
    n: int
    celebs: np.ndarray
    organic: np.ndarray  # non-celebrity humans, ordered by community
    community_start: np.ndarray  # offsets into organic, len = communities + 1
    popularity: np.ndarray  # per organic human
    degree: np.ndarray  # follows each organic human makes in its community and beyond
    networks: list[Network]
    roles: list[str]
    botlike: np.ndarray  # thin humans: new, quiet, few follows (bool per account)
    follow_median: float  # a typical human's following count
    fan_share: float = _FAN_SHARE  # share of humans who follow a few bots
    keys: list[np.ndarray] = field(default_factory=list)  # follower * n + followee

    def add(self, src: np.ndarray | int, dst: np.ndarray | int) -> None:
        s, d = np.broadcast_arrays(np.asarray(src, np.int64), np.asarray(dst, np.int64))
        self.keys.append((s * self.n + d).ravel())


def check_sizes(accounts: int, bot_networks: int, bot_share: float | None = None) -> None:
    """Refuse, in one line naming the fix, a world that cannot be drawn as asked."""
    if accounts < 200:
        raise InputError(f"--accounts {accounts} is too small; use at least 200")
    if not 0 <= bot_networks <= 60:
        raise InputError(f"--bot-networks {bot_networks} must be between 0 and 60")
    weights = [_SIZE_WEIGHT[STYLES[i % 3]] for i in range(bot_networks)]
    if bot_share is not None:
        _check_share(accounts, bot_networks, bot_share, weights)
        return
    bots = sum(weights) * accounts * _DEFAULT_SHARE
    if bots > accounts * _MAX_SHARE:
        need = int(bots / _MAX_SHARE) + 1
        raise InputError(
            f"--bot-networks {bot_networks} would make more than 45% of {accounts} accounts "
            f"bots; use --accounts {need} or more, or fewer networks"
        )


def _check_share(accounts: int, bot_networks: int, share: float, weights: list[float]) -> None:
    if not math.isfinite(share) or not 0 < share <= _MAX_SHARE:
        raise InputError(f"--bot-share {share:g} must be above 0 and at most {_MAX_SHARE} "
                         "(the planted bots' share of all accounts, e.g. 0.02)")
    if bot_networks == 0:
        raise InputError(f"--bot-share {share:g} needs --bot-networks 1 or more")
    total = sum(weights)
    # the first network of each style; the one that needs the largest share names the fix
    need, i = max((_MIN_SIZE[STYLES[i]] * total / (accounts * w), i)
                  for i, w in enumerate(weights[:3]))
    if share < need:
        style = STYLES[i]
        nominal = share * accounts * weights[i] / total
        raise InputError(
            f"--bot-share {share:g} would give {style}-{i + 1} about {nominal:.0f} of {accounts} "
            f"accounts, below the {style} minimum of {_MIN_SIZE[style]}; use --bot-share "
            f"{math.ceil(need * 10_000) / 10_000:g} or more, more --accounts, or fewer networks")


def _network_sizes(accounts: int, bot_networks: int, bot_share: float | None,
                   rng: np.random.Generator) -> list[tuple[str, str, int]]:
    """Each network's (name, style, size): by style weight with a +-20% spread, and at least
    the style's minimum.  Without ``bot_share`` a network is 6% x weight of the world (bots
    are then 10-23% of it); with it, the sizes share ``bot_share`` x accounts by weight."""
    styles = [STYLES[i % 3] for i in range(bot_networks)]
    spread = [rng.uniform(0.8, 1.2) for _ in styles]
    if bot_share is None:  # the float operations in this order keep the old worlds exact
        raw = [accounts * _DEFAULT_SHARE * _SIZE_WEIGHT[style] * factor
               for style, factor in zip(styles, spread, strict=True)]
    else:
        drawn = [_SIZE_WEIGHT[style] * factor for style, factor in zip(styles, spread, strict=True)]
        raw = [accounts * bot_share * weight / sum(drawn) for weight in drawn]
    return [(f"{style}-{i + 1}", style, max(_MIN_SIZE[style], int(round(size))))
            for i, (style, size) in enumerate(zip(styles, raw, strict=True))]


def _fan_share(bot_share: float | None) -> float:
    """The share of humans who follow a few bots.  With a bot share, it scales with it, so
    that a bot has as many human fans as in a default three-network world (bots about 12%)."""
    if bot_share is None:
        return _FAN_SHARE
    return _FAN_SHARE * min(1.0, bot_share / 0.12)


def make_plan(accounts: int, bot_networks: int, rng: np.random.Generator,
              bot_share: float | None = None) -> Plan:
    """Sizes, roles, communities, degrees and popularity of a world; no follows yet."""
    sizes = _network_sizes(accounts, bot_networks, bot_share, rng)
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
    networks: list[Network] = []
    start = n_humans
    for name, style, size in sizes:
        members = np.arange(start, start + size, dtype=np.int64)
        start += size
        net = Network(name, style, members)
        if style == "flower":
            net.hubs = members[: max(2, int(round(0.2 * size)))]
            roles += ["hub"] * net.hubs.shape[0] + ["leaf"] * (size - net.hubs.shape[0])
        else:
            roles += [style] * size
        words = rng.choice(len(vocab.CAMPAIGN_WORDS), size=3, replace=False)
        net.domains = [f"{vocab.CAMPAIGN_WORDS[w]}{int(rng.integers(2, 99))}.example"
                       for w in words]
        networks.append(net)
    return Plan(accounts, np.arange(n_celebs, dtype=np.int64), organic,
                 np.array(cuts, dtype=np.int64), popularity, degree, networks, roles, botlike,
                 follow_median, _fan_share(bot_share))
