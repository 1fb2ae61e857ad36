"""kill -9 a `botsweep crawl` subprocess at 20 random points; resuming gives the clean graph.

Every page is written in one transaction with its cursor, and re-applying a page changes
nothing, so a crawl killed at any instant and run again must end with exactly the edges
and account states of a crawl that was never interrupted.  The kill points are drawn
with a fixed seed: after a random number (1-9) of API requests served in that run, plus
a random 0-40 ms, so that they land in fetches, page writes, lookups and scoring alike.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.server import SimServer
from botsweep.sim.world import World, visible_edges
from botsweep.storage.db import Database
from tests.reliability.kit import (
    cli_command,
    cli_env,
    frontier_rows,
    graph,
    run_cli,
    write_config,
)

pytestmark = pytest.mark.slow

KILLS = 20


def _seeded_db(path: Path, world: World) -> Path:
    db = Database(f"sqlite:///{path}")
    add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
    db.dispose()
    return path


def _served(server: SimServer) -> int:
    return int(server.stats()["requests_total"])


def test_kill_nine_at_twenty_points_then_resume_equals_a_clean_crawl(
    world: World, tmp_path: Path
) -> None:
    server_ref = SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000})
    url = server_ref.start()
    try:
        clean_db = _seeded_db(tmp_path / "clean.db", world)
        clean_cfg = write_config(tmp_path / "clean.yaml", db=clean_db, base_url=url)
        done = run_cli(clean_cfg, "crawl", "--no-progress")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("idle"), done.stdout
        clean_requests = _served(server_ref)

        crash_db = _seeded_db(tmp_path / "crash.db", world)
        crash_cfg = write_config(tmp_path / "crash.yaml", db=crash_db, base_url=url)
        rng = random.Random(20261129)
        killed = 0
        for _ in range(KILLS):
            before = _served(server_ref)
            after = rng.randint(1, 9)
            extra_s = rng.uniform(0.0, 0.04)
            proc = subprocess.Popen(cli_command(crash_cfg, "crawl", "--no-progress"),
                                    env=cli_env("sim-token"), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 60
            while proc.poll() is None and _served(server_ref) - before < after:
                assert time.monotonic() < deadline, "the crawl made no requests in 60 s"
                time.sleep(0.002)
            time.sleep(extra_s)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            _, err = proc.communicate(timeout=30)
            assert proc.returncode in (0, -signal.SIGKILL), err
        assert killed >= KILLS // 2, f"only {killed} runs were still going when killed"

        resumed = run_cli(crash_cfg, "crawl", "--no-progress")
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.startswith("idle"), resumed.stdout
    finally:
        server_ref.stop()

    clean_edges, clean_states = graph(clean_db)
    crash_edges, crash_states = graph(crash_db)
    assert len(clean_edges) > 300 and clean_requests > 50
    assert clean_edges <= visible_edges(world)
    assert crash_edges == clean_edges
    assert crash_states == clean_states
    # No task left half-done: the same lists were read, every one of them to its end.
    assert frontier_rows(crash_db) == frontier_rows(clean_db)
    assert all(state in ("done", "skipped") for _, _, state in frontier_rows(crash_db))

