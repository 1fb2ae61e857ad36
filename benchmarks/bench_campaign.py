"""Benchmark the campaign model against the generic bot model, on a generated world.

Run by hand:  python benchmarks/bench_campaign.py [--accounts 20000] [--networks 4]
              [--world-seed 3] [--budgets 200,500,1000] [--bootstrap 100]

1. Generates a world with planted bot networks and takes 12 seeds from ONE of them (the
   target, the network of the world's first seed).  ``_campaign`` is the ground truth.
2. The generic bot model: the shipped default when there is one, else a BotScorer trained
   here on a sample of the world's own profiles (the output says which).  That is generous
   to the generic model: it has seen bots of every network.
3. Run A: ``smart`` with ``crawler.target: bot`` against the sim (rate limits raised so
   the run is fast; the budget counts followers/following requests).  At each budget the
   campaign model is fitted from the 12 seeds and the background, and both models'
   flags are compared with the truth: precision and recall on the target network, seeds
   left out of both (recall is over the whole network in the world, not only the crawled
   part, so it also measures how much of the network the crawl reached).
4. Run B: the same seeds in a fresh database; ``target: bot`` for the first ``--bootstrap``
   requests (the campaign model needs a background), then the campaign model is fitted and
   the crawl goes on with ``target: campaign``, refitting at each budget.  Each time the
   crawl takes up a new campaign model, the lists already queued are ranked again for it
   (:mod:`botsweep.crawler.retarget`).  Both runs report the cost per target-network
   account found: follows requests / profiled target accounts (seeds left out), and the
   share of the list pages read that were the target network's own lists.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from botsweep.campaign.store import fit_campaign
from botsweep.config import load_settings
from botsweep.crawler.run import open_crawl
from botsweep.crawler.source import XSource
from botsweep.errors import ModelError
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, meta, scores

TOKEN_ENV = "BOTSWEEP_BENCH_CAMPAIGN_TOKEN"
TOKEN = "bench-token"
N_SEEDS = 12


def bot_scorer(world: World, sample: int, seed: int) -> tuple[Any, str]:
    """The default model if shipped, else one trained on a sample of the world's profiles."""
    try:
        from botsweep.models.scorer import BotScorer

        return BotScorer.load(), "the shipped default bot model"
    except ModelError as exc:
        reason = str(exc).splitlines()[0][:100]
    from botsweep.models.dataset import LabelledData
    from botsweep.models.train import train_model

    ids = sorted(world.accounts)
    chosen = random.Random(seed).sample(ids, min(sample, len(ids)))
    collected = world.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    records = [dict(world.accounts[i], _collected_at=collected) for i in chosen]
    labels = np.array([int(r.get("_label") == "bot") for r in records])
    data = LabelledData(records, labels, np.array(["world"] * len(records)),
                        {"datasets": {"world": len(records)}})
    started = time.perf_counter()
    scorer, _ = train_model(data, folds=3, weighting="none", seed=seed, max_rounds=300)
    return scorer, (f"a BotScorer trained here in {time.perf_counter() - started:.0f} s on "
                    f"{len(records)} of the world's own profiles (no default model: {reason})")


def write_config(out: Path, base_url: str, target: str, campaign: str | None) -> Path:
    path = out / f"config-{target}.yaml"
    lines = [f"database:\n  url: sqlite:///{out / 'bench.db'}",
             f"api:\n  base_url: {base_url}\n  bearer_token_env: [{TOKEN_ENV}]",
             f"crawler:\n  policy: smart\n  target: {target}"]
    if campaign:
        lines[-1] += f"\n  campaign: {campaign}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def crawl(out: Path, db: Database, base_url: str, scorer: Any, target: str,
          campaign: str | None, requests: int) -> int:
    """Crawl ``requests`` more follows requests; return how many were made."""
    settings = load_settings(write_config(out, base_url, target, campaign))
    source = XSource({TOKEN_ENV: TOKEN}, base_url=base_url, timeout_s=10.0)
    with open_crawl(settings, db, source=source, bot_model=scorer) as engine:
        stats = engine.run(max_requests=requests, max_seconds=900.0)
    source.close()
    return int(stats.follows_requests)


def flags(db: Database, scorer_name: str, threshold: float) -> set[int]:
    with db.connect() as conn:
        return set(conn.execute(select(scores.c.account_id).where(
            scores.c.scorer == scorer_name, scores.c.probability >= threshold)).scalars())


def profiled(db: Database) -> set[int]:
    with db.connect() as conn:
        return set(conn.execute(select(accounts.c.id).where(accounts.c.raw.is_not(None)))
                   .scalars())


def pages_read(db: Database, network: set[int]) -> tuple[int, int]:
    """List pages read (follows requests that returned) on the network's lists, and all."""
    with db.connect() as conn:
        rows = conn.execute(select(frontier.c.account_id, frontier.c.pages).where(
            frontier.c.kind.in_(("followers", "following")), frontier.c.pages > 0)).all()
    return sum(p for a, p in rows if a in network), sum(p for _, p in rows)


def bot_threshold(db: Database) -> float:
    with db.connect() as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == "bot_threshold")).scalar()
    return float(value)


def pr(flagged: set[int], truth: set[int]) -> tuple[float, float, int]:
    hit = len(flagged & truth)
    return (hit / len(flagged) if flagged else float("nan"), hit / len(truth), len(flagged))


def _cost(budget: int, n: int) -> str:
    return f"{budget / n:.3f}" if n else "-"


def run(args: argparse.Namespace) -> None:
    world = generate_world(accounts=args.accounts, bot_networks=args.networks,
                           rng_seed=args.world_seed)
    target = str(world.accounts[world.seeds[0]]["_campaign"])
    members = world.campaigns()[target]
    seeds = [i for i in world.seeds if world.accounts[i].get("_campaign") == target]
    seeds = (seeds + [m for m in members if m not in seeds])[:N_SEEDS]
    truth = set(members) - set(seeds)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in sorted(world.campaigns().items()))
    print(f"world: {len(world.accounts)} accounts, networks: {sizes}; target {target}, "
          f"{len(seeds)} seeds, {len(truth)} other members to find")
    scorer, how = bot_scorer(world, args.train_sample, args.world_seed)
    print(f"generic model: {how}")
    os.environ[TOKEN_ENV] = TOKEN
    budgets = sorted(int(b) for b in args.budgets.split(","))
    rows_a: list[tuple[Any, ...]] = []
    found: dict[str, dict[int, int]] = {"bot": {}, "campaign": {}}
    on_target: dict[str, dict[int, tuple[int, int]]] = {"bot": {}, "campaign": {}}
    with SimServer(world, tokens=(TOKEN,), rate_limits={"*": 1_000_000}) as base_url:
        for mode in ("bot", "campaign"):
            out = Path(tempfile.mkdtemp(prefix=f"bench-campaign-{mode}-"))
            db = Database(f"sqlite:///{out / 'bench.db'}")
            add_seeds(db, [AccountRef(id=s) for s in seeds], label="bot", campaign=target,
                      source="bench")
            done, started = 0, time.perf_counter()
            if mode == "campaign":
                done += crawl(out, db, base_url, scorer, "bot", None, args.bootstrap)
                fit_campaign(db, target, bot_scorer=scorer)
            for budget in budgets:
                done += crawl(out, db, base_url, scorer, mode, target if mode == "campaign"
                              else None, budget - done)
                fit = fit_campaign(db, target, bot_scorer=scorer)
                seen = profiled(db)
                found[mode][budget] = len(seen & truth)
                on_target[mode][budget] = pages_read(db, set(members))
                if mode == "bot":
                    generic = flags(db, "bot", bot_threshold(db)) - set(seeds)
                    camp = flags(db, f"campaign:{target}", fit.model.threshold) - set(seeds)
                    estimate = (fit.model.meta.get("metrics") or {}).get("precision")
                    rows_a.append((budget, done, len(seen), len(seen & truth),
                                   *pr(generic, truth), *pr(camp, truth), estimate))
                print(f"  [{mode}] {done} follows requests, {len(seen)} profiled, "
                      f"{len(seen & truth)} target accounts, "
                      f"{on_target[mode][budget][0]} of {on_target[mode][budget][1]} pages "
                      "read were the target network's lists, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
            db.dispose()

    print("\nRun A (smart, target: bot). Precision / recall on the target network "
          f"({len(truth)} accounts, seeds left out); flagged = accounts at or over the "
          "model's threshold.")
    print("| follows requests | profiled | target profiled | generic: flagged | precision "
          "| recall | campaign: flagged | precision | recall | campaign CV precision |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (budget, done, n_seen, n_found, gp, gr, gn, cp, cr, cn, estimate) in rows_a:
        est = "-" if estimate is None else f"{estimate:.0%}"
        print(f"| {budget} ({done}) | {n_seen} | {n_found} | {gn} | {gp:.1%} | {gr:.1%} "
              f"| {cn} | {cp:.1%} | {cr:.1%} | {est} |")
    print("\nCost per target-network account found (follows requests / target accounts "
          f"profiled, seeds left out); target: campaign bootstraps {args.bootstrap} requests "
          "with target: bot.  'on target' = share of the list pages read that were lists of "
          "the target network's accounts (seeds included).")
    print("| follows requests | target: bot found | cost | on target | target: campaign found "
          "| cost | on target |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for budget in budgets:
        fb, fc = found["bot"][budget], found["campaign"][budget]
        (tb, nb), (tc, nc) = on_target["bot"][budget], on_target["campaign"][budget]
        print(f"| {budget} | {fb} | {_cost(budget, fb)} | {tb / max(nb, 1):.0%} | {fc} "
              f"| {_cost(budget, fc)} | {tc / max(nc, 1):.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--networks", type=int, default=4)
    parser.add_argument("--world-seed", type=int, default=3)
    parser.add_argument("--budgets", default="200,500,1000")
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--train-sample", type=int, default=6000)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
