"""Rate use: share of the allowed follows calls used by a rate-limited crawl against the sim.

The sim keeps its real limits (15 followers + 15 following calls per window) and runs at
``--time-scale`` (15 or less gives windows of 60 s or more).  The crawl runs for
``--windows`` windows; the baseline is the limit itself: ``15 × windows`` per endpoint,
counted over the time the crawl really took.  429s are the sim's own count.

    python benchmarks/bench_rate.py [--time-scale 15] [--windows 4] [--accounts 20000]
"""

from __future__ import annotations

import argparse
import time

from botsweep.bench.rate_bench import run_rate_bench
from botsweep.sim.generate import generate_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--time-scale", type=float, default=15.0)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--bot-networks", type=int, default=6)
    parser.add_argument("--rng-seed", type=int, default=2)
    parser.add_argument("--policy", default="bfs", choices=("smart", "bfs"),
                        help="bfs (default) queues both lists of every bot, so neither "
                        "endpoint runs out of work and the ledger alone is measured")
    args = parser.parse_args()
    if args.time_scale > 15:
        parser.error("--time-scale must be 15 or less (windows of at least 60 s)")
    world = generate_world(accounts=args.accounts, bot_networks=args.bot_networks,
                           rng_seed=args.rng_seed)
    began = time.monotonic()
    result = run_rate_bench(world, windows=args.windows, time_scale=args.time_scale,
                            policy=args.policy)
    print(f"world {world.name}: {args.accounts} accounts; policy {args.policy}; "
          f"time scale {args.time_scale:g} (windows of {result.window_s:.0f} s); "
          f"crawl outcome {result.outcome}, {result.lookups} lookups, {result.edges} edges; "
          f"{time.monotonic() - began:.0f} s in all")
    for line in result.table_lines():
        print(line)
    print(result.ratio_line())


if __name__ == "__main__":
    main()
