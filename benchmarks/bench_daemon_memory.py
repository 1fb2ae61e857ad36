"""Memory of a long crawl: the RSS of a ``botsweep daemon`` process over ~1M edges.

The benchmark builds a world made for volume: ``--hubs`` seed accounts, each followed by
1,000 of ``--accounts`` accounts, so that every followers page carries 1,000 ids.  It
serves the world with ``botsweep sim serve`` (limits raised so that nothing waits), in a
process of its own.  Then ``botsweep daemon`` crawls it as a user would run it: crawl
ticks on the schedule, with the bfs policy expanding the seeds only (``bot_threshold``
1.0), and every discovered account looked up.  The daemon's resident set size is read
from /proc every ``--every`` seconds, with the number of edges read so far.  When the
crawl reaches ``--edges`` edges, the benchmark sends SIGTERM and prints:

* the samples (seconds, edges, RSS in MB);
* the *early* RSS (the first sample past 10% of the edges, once start-up is done), the
  final and the peak RSS, and the ratio of final to early RSS;
* how long the daemon took to exit after SIGTERM, and its exit status.

The goal is a flat line (a ratio near 1.0) under 300 MB.

    python benchmarks/bench_daemon_memory.py [--edges 1000000] [--database-url URL]

The shipped model scores the profiles unless ``--model`` names another file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import func, select

from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.world import World, save_world
from botsweep.storage.db import Database
from botsweep.storage.schema import frontier

TOKEN_ENV = "BENCH_SIM_TOKEN"
PAGE = 1000
ID_BASE = 1_500_000_000_000_000_000  # ids of today's size, below 2^63


def build_world(hubs: int, accounts: int, seed: int) -> World:
    """``hubs`` seeds, each followed by ``PAGE`` distinct accounts out of ``accounts``."""
    rng = np.random.default_rng(seed)
    ids = ID_BASE + np.arange(accounts, dtype=np.int64) * 7919
    hub_ids = ids[:hubs]
    follower = np.concatenate([rng.choice(ids[hubs:], PAGE, replace=False)
                               for _ in range(hubs)])
    followee = np.repeat(hub_ids, PAGE)
    following = np.bincount(np.searchsorted(ids, follower), minlength=accounts)
    records: dict[int, dict[str, Any]] = {}
    for index, account_id in enumerate(ids.tolist()):
        hub = index < hubs
        records[account_id] = {
            "id": str(account_id), "username": f"acct{index}", "name": f"Account {index}",
            "description": "follow back https://t.co/abc" if hub else "just here",
            "created_at": "2013-05-01T00:00:00.000Z", "protected": False,
            "verified": False, "profile_image_url": "https://example.com/a.png",
            "public_metrics": {"followers_count": PAGE if hub else 0,
                               "following_count": int(following[index]),
                               "tweet_count": 40, "listed_count": 0, "like_count": 3},
        }
    return World(name="memory-bench", now=datetime(2018, 6, 1, tzinfo=UTC),
                 seeds=hub_ids.tolist(), description="hubs with full followers pages",
                 accounts=records, follower=follower, followee=followee)


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def edges_read(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(frontier.c["items"]), 0)))
                   .scalar_one())


def start_sim(world_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "botsweep", "sim", "serve", "--world", str(world_dir),
         "--token", "bench-token", "--rate-limit", "*=100000000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the sim did not start: {base_url!r}")
    return proc, base_url


def write_config(root: Path, database_url: str, base_url: str, model: str | None) -> Path:
    config: dict[str, Any] = {
        "database": {"url": database_url},
        "api": {"base_url": base_url, "bearer_token_env": [TOKEN_ENV]},
        "crawler": {"policy": "bfs", "bot_threshold": 1.0},
        "report": {"out": str(root / "report.html")},
        "schedule": {"crawl_every_s": 1, "crawl_max_requests": 200, "crawl_max_seconds": 30,
                     "score_every_s": 86400, "report_cron": "0 0 1 1 *"},
    }
    if model:
        config["scorer"] = {"model": model}
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000, help="edges to crawl")
    parser.add_argument("--accounts", type=int, default=50_000, help="accounts in the world")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after (s)")
    args = parser.parse_args()
    hubs = -(-args.edges // PAGE)
    if args.accounts <= hubs + PAGE:
        parser.error(f"--accounts must exceed {hubs + PAGE} for {args.edges} edges")

    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        world = build_world(hubs, args.accounts, seed=1)
        save_world(world, root / "world")
        print(f"world: {len(world.accounts)} accounts, {world.n_follows} follows, "
              f"{hubs} seeds ({time.perf_counter() - began:.1f} s)", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOTSWEEP_")}
        env[TOKEN_ENV] = "bench-token"
        sim, base_url = start_sim(root / "world", env)
        url = args.database_url or f"sqlite:///{root / 'crawl.db'}"
        db = Database(url)
        add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
        del world
        config = write_config(root, url, base_url, args.model)
        log = (root / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "botsweep", "--config", str(config), "--log-json", "daemon",
             "--worker-id", "bench"], stdout=subprocess.DEVNULL, stderr=log, env=env)
        samples: list[tuple[float, int, float]] = []
        started = time.perf_counter()
        try:
            print(f"{'s':>7} {'edges':>9} {'RSS MB':>7}", flush=True)
            while daemon.poll() is None:
                edges = edges_read(db)
                sample = (time.perf_counter() - started, edges, rss_mb(daemon.pid))
                samples.append(sample)
                print(f"{sample[0]:7.0f} {sample[1]:9d} {sample[2]:7.1f}", flush=True)
                if edges >= args.edges or sample[0] > args.timeout:
                    break
                time.sleep(args.every)
            stop_began = time.perf_counter()
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(30)
            stop_s = time.perf_counter() - stop_began
        finally:
            if daemon.poll() is None:
                daemon.kill()
            sim.send_signal(signal.SIGTERM)
            sim.wait(30)
            log.close()
        db.dispose()
        if not samples or daemon.returncode is None:
            print((root / "daemon.log").read_text()[-3000:])
            return 1
        errors = [line for line in (root / "daemon.log").read_text().splitlines()
                  if '"level": "ERROR"' in line or '"outcome": "error"' in line]
        early = next((s for s in samples if s[1] >= args.edges * 0.1), samples[0])
        final = samples[-1]
        peak = max(s[2] for s in samples)
        summary = {
            "edges": final[1], "seconds": round(final[0], 1),
            "edges_per_s": round(final[1] / max(final[0], 1e-9)),
            "early_rss_mb": round(early[2], 1), "early_at_edges": early[1],
            "final_rss_mb": round(final[2], 1), "peak_rss_mb": round(peak, 1),
            "final_over_early": round(final[2] / early[2], 3),
            "sigterm_exit_s": round(stop_s, 2), "exit_status": code,
            "error_lines": len(errors),
        }
        print(json.dumps(summary))
        for line in errors[:5]:
            print(line[:300])
        return 0 if code == 0 and final[1] >= args.edges else 1


if __name__ == "__main__":
    sys.exit(main())
