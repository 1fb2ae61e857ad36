"""Crawl efficiency: bots found per follows request, ``smart`` against ``bfs``.

Both policies crawl the same world, served by the sim on loopback, from the same seeds, each
on its own fresh SQLite database, with the same bot model.  The budget counts follows
requests (followers and following pages), the scarce ones; lookups are reported beside
them.  Budgets are checkpoints of one crawl per policy: the crawl stops at the first
budget, looks up every account it has discovered so far (lookups are 20 times as plentiful
as follows requests, so a crawl under the real limits keeps up with them too), is
measured, then goes on to the next budget.

A bot is *found* when the crawl has profiled it (looked it up) and the world labels it bot
(``_label``).  Recall of a planted network (``_campaign``) is the share of its members
found.  The seeds count as found for both policies alike.

Beside the two policies, :func:`~botsweep.bench.oracle.greedy_oracle` gives what a crawler
that chose every request knowing the world's labels would find at each budget, a bound that
a real policy can be measured against (the ceiling, every planted bot, is one no crawler
can reach).

A crawl benchmark needs a bot model, because both policies decide what to expand from bot
probabilities.  It uses, in order: the model file it is given, the shipped default model,
or, when neither exists, a quick model trained on the world's own labelled profiles (the
benchmark says which).  Both policies always score with the same model, so the comparison
is fair whichever it is.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.sim.world import World, format_time

__all__ = ["CrawlPoint", "CrawlBench", "run_crawl_bench", "POLICIES", "BenchModel",
           "bench_model", "pick_seeds", "world_training_data"]

log = logging.getLogger("botsweep.bench")
POLICIES = ("smart", "bfs")
BENCH_TOKEN = "bench-token"
BENCH_TOKEN_ENV = "BOTSWEEP_BENCH_TOKEN"
RAISED_LIMITS = {"*": 10_000_000}


class BenchModel:
    """A scorer and a one-line note on where it came from."""

    def __init__(self, scorer: Any, note: str) -> None:
        self.scorer = scorer
        self.note = note


def pick_seeds(world: World, n: int, rng_seed: int = 0) -> list[int]:
    """``n`` active planted bots chosen with a fixed rng (the same for every policy)."""
    if n < 1:
        raise InputError(f"--seeds {n}: give at least 1 seed")
    planted = sorted(
        aid for aid, record in world.accounts.items()
        if record.get("_label") == "bot" and world.state(aid) == "active"
    )
    if len(planted) < n:
        raise InputError(
            f"--seeds {n}: the world {world.name!r} has only {len(planted)} active accounts "
            "labelled bot (\"_label\": \"bot\"); ask for fewer seeds")
    return sorted(random.Random(rng_seed).sample(planted, n))


def world_training_data(world: World) -> Any:
    """The world's labelled profiles as training data (observed at the world's ``now``)."""
    from botsweep.models.dataset import LabelledData

    collected = format_time(world.now)
    records: list[dict[str, Any]] = []
    labels: list[int] = []
    for record in world.accounts.values():
        label = record.get("_label")
        if label not in ("bot", "human"):
            continue
        public = {k: v for k, v in record.items() if not k.startswith("_")}
        public["_collected_at"] = record.get("_collected_at") or collected
        records.append(public)
        labels.append(1 if label == "bot" else 0)
    if len(set(labels)) < 2:
        raise InputError(
            f"the world {world.name!r} needs accounts labelled both bot and human to train a "
            "bench model; pass --model FILE instead")
    name = f"world:{world.name}"
    summary = {"accounts": len(records), "bots": int(sum(labels)),
               "humans": len(labels) - int(sum(labels)), "datasets": {name: len(records)}}
    return LabelledData(records, np.array(labels, dtype=np.int8),
                        np.array([name] * len(records), dtype=object), summary)


def bench_model(world: World, model: Path | None = None) -> BenchModel:
    """The model file given, else the shipped default, else one trained on ``world``."""
    from botsweep.models.scorer import DEFAULT_MODEL_PATH, BotScorer

    if model is not None:
        return BenchModel(BotScorer.load(model), f"model {model}")
    if DEFAULT_MODEL_PATH.exists():
        return BenchModel(BotScorer.load(None), "the shipped default model")
    from botsweep.models.train import train_model

    data = world_training_data(world)
    scorer, _ = train_model(data, folds=3, max_rounds=300, early_stopping=30, seed=0)
    return BenchModel(
        scorer, f"no default model shipped: a quick model trained on this world's own "
                f"{len(data)} labelled profiles (threshold {scorer.threshold:.2f})")


@dataclass
class CrawlPoint:
    """What one policy's crawl had found when it reached one budget."""

    policy: str
    budget: int
    follows_requests: int
    lookup_requests: int
    profiled: int
    bots_found: int
    new_bots: int
    recall: dict[str, float]
    rate_limited: int
    outcome: str
    seconds: float

    @property
    def bots_per_request(self) -> float:
        return self.bots_found / self.follows_requests if self.follows_requests else 0.0


@dataclass
class CrawlBench:
    """One world's results: a point per (policy, budget)."""

    world: str
    accounts: int
    seeds: list[int]
    model_note: str
    limits: str
    planted: int = 0
    points: list[CrawlPoint] = field(default_factory=list)
    oracle: dict[int, tuple[int, int]] = field(default_factory=dict)  # budget: (bots, requests)

    def point(self, policy: str, budget: int) -> CrawlPoint | None:
        return next((p for p in self.points if p.policy == policy and p.budget == budget), None)

    def budgets(self) -> list[int]:
        return sorted({p.budget for p in self.points})

    def ratio(self, budget: int) -> float | None:
        """smart/bfs bots per follows request at ``budget`` (None if bfs found none)."""
        smart, bfs = self.point("smart", budget), self.point("bfs", budget)
        if smart is None or bfs is None or bfs.bots_per_request == 0:
            return None
        return smart.bots_per_request / bfs.bots_per_request

    def oracle_per_request(self, budget: int) -> float | None:
        """The oracle's bots per follows request at ``budget`` (:mod:`botsweep.bench.oracle`),
        None when it was not run.  Its bots are divided by the budget even when it stopped
        short (no list left with a bot one request away): a crawler that does not know so
        spends it."""
        if budget not in self.oracle:
            return None
        bots, spent = self.oracle[budget]
        return bots / max(budget, spent)

    def oracle_ratio(self, budget: int) -> float | None:
        """The oracle's bots per follows request against bfs's at ``budget``: what a crawler
        that chose every request knowing the world's labels would reach; None when the
        oracle was not run or bfs found none."""
        bfs, per = self.point("bfs", budget), self.oracle_per_request(budget)
        if bfs is None or per is None or bfs.bots_per_request == 0:
            return None
        return per / bfs.bots_per_request

    def ceiling(self, budget: int) -> float | None:
        """The highest smart/bfs ratio possible at ``budget``: every planted bot found with
        the follows requests smart made (the budget, unless it ran out of work), against
        what bfs found.  Below 2, the goal is out of reach there whatever the policy: the
        world is too small for the budget."""
        smart, bfs = self.point("smart", budget), self.point("bfs", budget)
        if bfs is None or bfs.bots_per_request == 0 or not self.planted:
            return None
        requests = smart.follows_requests if smart is not None else budget
        return self.planted / max(1, requests) / bfs.bots_per_request

    def table_lines(self) -> list[str]:
        campaigns = sorted({name for p in self.points for name in p.recall})
        head = (f"{'budget':>6} {'policy':<6} {'follows':>7} {'lookups':>7} {'profiled':>8} "
                f"{'bots':>6} {'new':>6} {'bots/req':>8} {'429s':>4}  recall by network")
        lines = [head]
        for budget in self.budgets():
            for policy in POLICIES:
                p = self.point(policy, budget)
                if p is None:
                    continue
                recall = ", ".join(f"{c} {p.recall.get(c, 0.0):.0%}" for c in campaigns)
                idle = " (no work left)" if p.outcome == "idle" else ""
                lines.append(
                    f"{budget:>6} {policy:<6} {p.follows_requests:>7} {p.lookup_requests:>7} "
                    f"{p.profiled:>8} {p.bots_found:>6} {p.new_bots:>6} "
                    f"{p.bots_per_request:>8.2f} {p.rate_limited:>4}  {recall}{idle}")
            if (per := self.oracle_per_request(budget)) is not None:
                bots, spent = self.oracle[budget]
                lines.append(f"{budget:>6} {'oracle':<6} {spent:>7} {'-':>7} {'-':>8} "
                             f"{bots:>6} {bots - len(self.seeds):>6} {per:>8.2f} {'-':>4}  "
                             "greedy, knowing the labels")
            ratio, ceiling = self.ratio(budget), self.ceiling(budget)
            oracle = self.oracle_ratio(budget)
            bounds = [f"oracle {oracle:.2f}x"] if oracle is not None else []
            if ceiling is not None:
                bounds.append(f"ceiling {ceiling:.2f}x: all {self.planted} planted bots")
            lines.append(f"{budget:>6} {'ratio':<6} smart/bfs bots per follows request: "
                         + (f"{ratio:.2f}x" if ratio is not None else "n/a (bfs found none)")
                         + (f" ({'; '.join(bounds)})" if bounds else ""))
        return lines

    def ratio_line(self) -> str:
        ratios = [(b, self.ratio(b)) for b in self.budgets()]
        known = [r for _, r in ratios if r is not None]
        per = ", ".join(f"{b}: {r:.2f}x" if r is not None else f"{b}: n/a" for b, r in ratios)
        if not known:
            return f"ratio smart/bfs bots per follows request: n/a ({per}); goal >= 2x"
        return (f"ratio smart/bfs bots per follows request: min {min(known):.2f}x over "
                f"budgets ({per}); goal >= 2x")


def _drain_lookups(engine: Any) -> None:
    """Look up every account discovered so far (no follows request is made)."""
    from botsweep.crawler.replies import ENDPOINTS

    while not engine.stop.is_set():
        engine.lookups.absorb()
        now = engine.clock.now()
        if engine.lookups.lookup(now):
            continue
        if not engine.lookups.pending(now):
            return
        wake = engine.ledger.wait_until(ENDPOINTS["users"], now)
        engine.clock.sleep(max(0.05, min(wake - now, 30.0)))


def _measure(db: Any, world: World, seeds: set[int]) -> tuple[int, int, int, dict[str, float]]:
    from sqlalchemy import select

    from botsweep.storage.schema import accounts

    with db.connect() as conn:
        profiled = set(conn.execute(
            select(accounts.c.id).where(accounts.c.fetched_at.is_not(None),
                                        accounts.c.username.is_not(None))).scalars())
    bots = world.bots() & profiled
    recall = {name: len(profiled & set(members)) / len(members)
              for name, members in world.campaigns().items() if members}
    return len(profiled), len(bots), len(bots - seeds), recall


def crawl_policy(
    world: World, policy: str, seeds: Sequence[int], budgets: Sequence[int], model: Any,
    workdir: Path, *, time_scale: float = 900.0, real_limits: bool = False,
    max_seconds: float = 900.0, progress: Callable[[str], None] | None = None,
) -> list[CrawlPoint]:
    """Crawl ``world`` with ``policy`` on a fresh DB, measuring at each budget."""
    from botsweep.config import Settings
    from botsweep.crawler.run import open_crawl
    from botsweep.crawler.source import XSource
    from botsweep.seeding import AccountRef, add_seeds
    from botsweep.sim.server import SimServer
    from botsweep.storage.db import Database

    path = workdir / f"{policy}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    add_seeds(db, [AccountRef(id=i) for i in seeds], label="bot", source="bench")
    seed_set = set(seeds)
    points: list[CrawlPoint] = []
    limits = None if real_limits else RAISED_LIMITS
    try:
        with SimServer(world, time_scale=time_scale, tokens=(BENCH_TOKEN,),
                       rate_limits=limits) as url:
            source = XSource({BENCH_TOKEN_ENV: BENCH_TOKEN}, base_url=url, timeout_s=10.0)
            with open_crawl(Settings(), db, policy=policy, source=source,
                            bot_model=model) as engine:
                began = time.monotonic()
                for budget in sorted(budgets):
                    stats = engine.run(max_requests=budget, max_seconds=max_seconds,
                                       command=f"bench crawl {policy}")
                    _drain_lookups(engine)
                    profiled, bots, new, recall = _measure(db, world, seed_set)
                    point = CrawlPoint(
                        policy=policy, budget=budget,
                        follows_requests=stats.follows_requests,
                        lookup_requests=stats.lookup_requests, profiled=profiled,
                        bots_found=bots, new_bots=new, recall=recall,
                        rate_limited=stats.rate_limited, outcome=stats.outcome,
                        seconds=time.monotonic() - began)
                    points.append(point)
                    if progress is not None:
                        progress(f"{world.name} {policy} budget {budget}: "
                                 f"{point.follows_requests} follows requests, "
                                 f"{point.bots_found} bots ({point.seconds:.1f} s)")
            source.close()
    finally:
        db.dispose()
    return points


def run_crawl_bench(
    world: World, *, seeds: int, budgets: Sequence[int], policies: Sequence[str] = POLICIES,
    model: Path | None = None, time_scale: float = 900.0, real_limits: bool = False,
    rng_seed: int = 0, workdir: Path | None = None,
    progress: Callable[[str], None] | None = None, oracle: bool = True,
) -> CrawlBench:
    """Crawl ``world`` with each policy from the same seeds; one point per budget, and
    the greedy oracle's at each budget (:mod:`botsweep.bench.oracle`; ``oracle=False``
    skips it)."""
    chosen = sorted(set(budgets))
    if not chosen or chosen[0] < 1:
        raise InputError(f"--budget {budgets}: give one or more budgets of at least 1 "
                         "follows request")
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise InputError(f"--policy {','.join(policies)}: expected smart, bfs or smart,bfs")
    if time_scale <= 0:
        raise InputError(f"--time-scale {time_scale}: must be greater than 0")
    seed_ids = pick_seeds(world, seeds, rng_seed)
    scorer = bench_model(world, model)
    limits = (f"the sim's real rate limits at time scale {time_scale:g}" if real_limits
              else "sim rate limits raised (results do not depend on timing)")
    result = CrawlBench(world=world.name, accounts=len(world.accounts), seeds=seed_ids,
                        model_note=scorer.note, limits=limits, planted=len(world.bots()))
    with tempfile.TemporaryDirectory(prefix="botsweep-bench-") as tmp:
        base = workdir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for policy in policies:
            result.points += crawl_policy(
                world, policy, seed_ids, chosen, scorer.scorer, base,
                time_scale=time_scale, real_limits=real_limits, progress=progress)
    if oracle:
        from botsweep.bench.oracle import greedy_oracle
        from botsweep.config import Settings

        crawler = Settings().crawler
        result.oracle = greedy_oracle(world, seed_ids, chosen, page_size=crawler.page_size,
                                      max_list_size=crawler.max_list_size)
    return result
