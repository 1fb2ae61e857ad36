"""Ingest: edges/s through botsweep's page write against raw sqlite3 executemany.

Both sides write the same followers pages of 1,000 edges (one followee, 1,000 followers,
ids below 2^63 in random order within the world) into the same ``follows`` table, one
transaction per page.  botsweep's side is the real page write
(``botsweep.storage.pages.write_follow_page``): edges, stub accounts and the frontier cursor
in one transaction, fed the users as the Source hands them to the engine (each page a JSON
body parsed by ``botsweep.crawler.replies.parse_reply`` before the clock starts, which
checks and converts the ids once).  The baseline writes the edges alone with
``INSERT OR IGNORE`` and executemany.  Both run on the same machine in the same run, on
fresh files, WAL mode, synchronous=NORMAL.  The two alternate, round by round (which goes
first alternates too), so that a change in the machine's load hits both; the ratio line
gives the median of the per-round ratios, and the best run of each.

    python benchmarks/bench_ingest.py [--pages 300] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from botsweep.crawler.replies import ENDPOINTS, parse_reply
from botsweep.storage.db import Database
from botsweep.storage.pages import write_follow_page
from botsweep.storage.schema import frontier


def make_pages(n_pages: int, page_size: int, seed: int) -> list[tuple[int, list[int]]]:
    rng = random.Random(seed)
    pages = []
    for _ in range(n_pages):
        followee = rng.randrange(10**9, 2**62)
        pages.append((followee, [rng.randrange(10**9, 2**62) for _ in range(page_size)]))
    return pages


def _parsed(followee: int, followers: list[int]) -> Sequence[Mapping[str, Any]]:
    """The page's users as the Source hands them to the engine (``Page.items``)."""
    body = json.dumps({"data": [{"id": str(f)} for f in followers],
                       "meta": {"result_count": len(followers), "next_token": "next"}})
    return parse_reply(200, {}, body.encode(), endpoint=ENDPOINTS["followers"],
                       token_key="BENCH", now=1.7e9, max_items=len(followers),
                       account_id=followee).items


def run_botsweep(path: Path, pages: list[tuple[int, list[int]]]) -> float:
    db = Database(f"sqlite:///{path}")
    with db.begin() as conn:
        conn.execute(insert(frontier), [
            {"id": i + 1, "kind": "followers", "account_id": followee, "enqueued_at": 0.0}
            for i, (followee, _) in enumerate(pages)])
    replies = [_parsed(followee, followers) for followee, followers in pages]
    began = time.perf_counter()
    for i, ((followee, _), items) in enumerate(zip(pages, replies, strict=True)):
        with db.begin() as conn:
            write_follow_page(conn, db, task_id=i + 1, account_id=followee,
                              direction="followers", items=items, next_cursor="next",
                              fetched_at=1.7e9, max_list_size=10**9)
    seconds = time.perf_counter() - began
    db.dispose()
    return seconds


def run_raw(path: Path, pages: list[tuple[int, list[int]]]) -> float:
    db = Database(f"sqlite:///{path}")  # the same schema, created by the same migration
    db.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = "INSERT OR IGNORE INTO follows (followee_id, follower_id, first_seen) VALUES (?, ?, ?)"
    began = time.perf_counter()
    for followee, followers in pages:
        conn.execute("BEGIN")
        conn.executemany(sql, [(followee, f, 1.7e9) for f in followers])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - began
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    pages = make_pages(args.pages, args.page_size, seed=1)
    edges = args.pages * args.page_size
    ours, raw = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            first_ours = r % 2 == 0
            if first_ours:
                ours.append(edges / run_botsweep(Path(tmp) / f"ours{r}.db", pages))
            raw.append(edges / run_raw(Path(tmp) / f"raw{r}.db", pages))
            if not first_ours:
                ours.append(edges / run_botsweep(Path(tmp) / f"ours{r}.db", pages))
            for stale in Path(tmp).glob("*"):
                stale.unlink()
    ratios = [o / w for o, w in zip(ours, raw, strict=True)]
    print(f"{'writer':<42} {'median':>9} {'best':>9}  edges/s per round")
    for name, runs in (("botsweep page write (edges+stubs+cursor)", ours),
                       ("raw sqlite3 executemany (edges only)", raw)):
        print(f"{name:<42} {statistics.median(runs):>9,.0f} {max(runs):>9,.0f}  "
              f"{', '.join(f'{x:,.0f}' for x in runs)}")
    print(f"ratio botsweep/raw: {statistics.median(ratios):.2f}x median of {len(ratios)} "
          f"paired rounds ({min(ratios):.2f}-{max(ratios):.2f}), best/best "
          f"{max(ours) / max(raw):.2f}x; {edges:,} edges in pages of {args.page_size}; "
          "goal >= 0.8x and >= 300k edges/s")


if __name__ == "__main__":
    main()
