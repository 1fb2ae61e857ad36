"""Crawl efficiency over several generated worlds: bots per follows request, smart vs bfs.

Generates each world (accounts, planted networks, rng seed), then runs
``botsweep.bench.crawl_bench.run_crawl_bench`` on it: both policies from the same seeds
(planted bots, fixed rng), each on a fresh DB, measured at every budget.  Prints each
world's table, then one line with the smart/bfs ratio over every world and budget.

A world spec is ``accounts:networks:seed`` (bots then 10-23% of the world) or
``accounts:networks:seed:bot_share`` (e.g. ``50000:6:5:0.01``: bots 1% of it).

    python benchmarks/bench_crawl.py [--worlds 3000:3:1,20000:6:2,50000:6:3:0.02]
        [--budgets 10,30,100,300] [--seeds 12]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from botsweep.bench.crawl_bench import run_crawl_bench
from botsweep.sim.generate import generate_world


def _worlds(text: str) -> list[tuple[int, int, int, float | None]]:
    """``accounts:networks:seed`` or ``accounts:networks:seed:bot_share``, comma-separated."""
    out = []
    for part in text.split(","):
        fields = part.split(":")
        if len(fields) not in (3, 4):
            sys.exit(f"--worlds {part!r}: write accounts:networks:seed[:bot_share], "
                     "e.g. 50000:6:5:0.01")
        share = float(fields[3]) if len(fields) == 4 else None
        out.append((int(fields[0]), int(fields[1]), int(fields[2]), share))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worlds", default="3000:3:1,20000:6:2,50000:6:3",
                        help="accounts:bot_networks:rng_seed[:bot_share], comma-separated; "
                             "without a share, bots are 10-23%% of a world")
    parser.add_argument("--budgets", default="10,30,100,300")
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--real-limits", action="store_true")
    parser.add_argument("--time-scale", type=float, default=900.0)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    ratios: list[tuple[str, int, float]] = []
    oracle: list[float] = []  # the greedy oracle's ratios (botsweep.bench.oracle)
    capped: list[str] = []  # points where even every planted bot would be under 2x
    began = time.monotonic()
    for accounts, networks, seed, share in _worlds(args.worlds):
        world = generate_world(accounts=accounts, bot_networks=networks, rng_seed=seed,
                               bot_share=share)
        result = run_crawl_bench(world, seeds=args.seeds, budgets=budgets,
                                 time_scale=args.time_scale, real_limits=args.real_limits,
                                 progress=lambda line: print(line, file=sys.stderr))
        print(f"\n## {world.name}: {accounts} accounts, {world.n_follows} follows, "
              f"{len(world.bots())} planted bots ({len(world.bots()) / accounts:.1%} of "
              f"accounts{'' if share is None else f', bot share {share:g}'}) in {networks} "
              f"networks; {args.seeds} seeds")
        print(f"model: {result.model_note}")
        print(f"limits: {result.limits}")
        for line in result.table_lines():
            print(line)
        for budget in result.budgets():
            ratio = result.ratio(budget)
            if ratio is not None:
                ratios.append((world.name, budget, ratio))
            if (known := result.oracle_ratio(budget)) is not None:
                oracle.append(known)
            ceiling = result.ceiling(budget)
            if ceiling is not None and ceiling < 2.0:
                capped.append(f"{world.name} at {budget}")
    if not ratios:
        print("ratio smart/bfs bots per follows request: n/a")
        return
    print(f"\npoints where 2x is out of reach (all planted bots < 2x bfs): {len(capped)} of "
          f"{len(ratios)}" + (f" ({', '.join(capped)})" if capped else ""))
    if oracle:
        best = math.exp(sum(math.log(r) for r in oracle) / len(oracle))
        under = sum(1 for r in oracle if r < 2.0)
        print(f"oracle/bfs (greedy, knowing the labels): geometric mean {best:.2f}x over "
              f"{len(oracle)} pairs; under 2x at {under} of them")
    geo = math.exp(sum(math.log(r) for _, _, r in ratios) / len(ratios))
    worst = min(ratios, key=lambda item: item[2])
    print(f"ratio smart/bfs bots per follows request: geometric mean {geo:.2f}x over "
          f"{len(ratios)} (world, budget) pairs, min {worst[2]:.2f}x ({worst[0]} at budget "
          f"{worst[1]}); goal >= 2x; {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
