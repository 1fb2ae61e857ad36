"""Benchmark: bot scoring throughput, features plus predict, against predict alone.

Scores N profiles (default 100,000) with a model file (default: the shipped model) and
times, in the same run and on the same records:

- features:           ``feature_matrix`` (records -> numeric matrix);
- predict alone:      LightGBM predict + calibration on the ready matrix (the baseline);
- features + predict: ``BotScorer.predict_proba(records)``, what ``botsweep score`` does
  (pipelined: chunks of ``--chunk`` records, one predicted on a second thread while the
  next one's features are computed);
- features + predict, one pass: the same with ``chunk_size = 0`` (features of all the
  records, then one predict), the path before pipelining.

Records come from ``--data`` (labelled .jsonl[.gz] files or directories, repeated until
there are N; default ../shared/data/profiles when it exists) or, without data, from a
generated sim world.  Each figure is the best of ``--runs`` runs, as wall time and as
CPU time of this process (the CPU figure stays meaningful on a machine that other jobs
keep busy), and the load average is printed at the start and the end.  LightGBM
predicts with ``--threads`` threads (default 0: OpenMP's choice, all cores).  For the
pipelined path it also prints the CPU time of the calling thread and of the others: on
two free cores its wall time cannot be below the larger of the two.

Usage:  python benchmarks/bench_scorer.py [--n 100000] [--runs 3] [--model FILE]
                                          [--data PATH ...] [--threads 0] [--chunk 8192]
Ends with one line: (features + predict) time / (predict alone) time, same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botsweep.models.io import profile_files, read_profiles
from botsweep.models.scorer import BotScorer

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "profiles"


def _records(paths: list[Path], n: int) -> tuple[list[dict[str, Any]], str]:
    if not paths and _SHARED.is_dir():
        paths = [_SHARED]
    if paths:
        base: list[dict[str, Any]] = []
        for path in profile_files(paths):
            base.extend(read_profiles(path))
        origin = f"{len(base)} profiles from {', '.join(str(p) for p in paths)}"
    else:
        from botsweep.sim.generate import generate_world

        world = generate_world(accounts=min(n, 20_000), bot_networks=4, rng_seed=1)
        base = list(world.accounts.values())
        origin = f"{len(base)} profiles from a generated world"
    out = [base[i % len(base)] for i in range(n)]
    return out, origin


def _best(runs: int, work: Callable[[], object]) -> tuple[float, float, float]:
    """Best wall time and best CPU time (this process, all threads) over ``runs`` runs,
    and the calling thread's own CPU time in the run of the best CPU time."""
    wall = cpu = mine = float("inf")
    for _ in range(runs):
        start, start_cpu, start_mine = time.perf_counter(), time.process_time(), time.thread_time()
        work()
        end, end_cpu, end_mine = time.perf_counter(), time.process_time(), time.thread_time()
        wall = min(wall, end - start)
        if end_cpu - start_cpu < cpu:
            cpu, mine = end_cpu - start_cpu, end_mine - start_mine
    return wall, cpu, mine


def _load() -> str:
    """The 1-minute load average: other jobs on the machine inflate the wall times."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--data", type=Path, action="append", default=[])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=None,
                        help="pipeline chunk size (default: the scorer's own)")
    args = parser.parse_args()

    scorer = BotScorer.load(args.model)
    scorer.predict_threads = args.threads
    chunk = scorer.chunk_size if args.chunk is None else args.chunk
    records, origin = _records(args.data, args.n)
    n = len(records)
    print(f"model {scorer.version}, {len(scorer.feature_names)} features; {n} records "
          f"({origin}); {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"predict threads {args.threads or 'all'}, chunk {chunk}; load average {_load()}")

    def scored(size: int) -> Callable[[], object]:
        def run() -> object:
            scorer.chunk_size = size
            return scorer.predict_proba(records)
        return run

    matrix = scorer.features(records)
    features_s = _best(args.runs, lambda: scorer.features(records))
    predict_s = _best(args.runs, lambda: scorer.predict_matrix(matrix))
    one_pass_s = _best(args.runs, scored(0))
    total_s = _best(args.runs, scored(chunk))
    print(f"{'':32s} {'wall s':>8s} {'profiles/s':>12s} {'CPU s':>8s} {'per CPU-s':>12s}")
    for name, (wall, cpu, _) in (("features", features_s),
                                 ("predict alone (ready matrix)", predict_s),
                                 ("features + predict, one pass", one_pass_s),
                                 ("features + predict", total_s)):
        print(f"{name:32s} {wall:8.3f} {n / wall:12,.0f} {cpu:8.3f} {n / cpu:12,.0f}")
    # On a busy machine the wall times say little.  The pipelined path's two threads
    # each do their share; on two free cores it cannot take less than the larger share.
    mine, others = total_s[2], total_s[1] - total_s[2]
    print(f"features + predict, CPU s of the calling thread {mine:.3f}, of the others "
          f"{others:.3f}: on two free cores at best {max(mine, others):.3f} s wall "
          f"({n / max(mine, others):,.0f} profiles/s)")
    print(f"load average at the end: {_load()}")
    print(f"ratio (features + predict) / (predict alone), wall: {total_s[0] / predict_s[0]:.2f}x"
          f"; CPU: {total_s[1] / predict_s[1]:.2f}x")


if __name__ == "__main__":
    main()
