"""A SQLite database takes one crawling process at a time.

Each crawler on SQLite keeps its rate budget in memory, so a second ``botsweep crawl`` (or
``daemon``) on the same file would spend every token's budget a second time and collect
429s.  It is refused in one line naming the first one's process id (exit 2), and goes
ahead once the first has ended, however it ended.  Every crawl here is a real process
against the sim on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.crawl_lock import lock_path
from tests.reliability.kit import cli_command, cli_env, run_cli, write_config

pytestmark = pytest.mark.slow


def _wait_for_holder(lock: Path, timeout_s: float = 60.0) -> str:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if lock.exists() and (text := lock.read_text().strip()):
            return text
        time.sleep(0.1)
    raise AssertionError(f"{lock} never named a crawling process")


@pytest.mark.parametrize("first_ends", ["sigterm", "sigkill"])
def test_a_second_crawler_on_one_sqlite_file_is_refused_until_the_first_ends(
    world: World, tmp_path: Path, first_ends: str,
) -> None:
    # One followers and one following call per window of 15 s (15 minutes at time scale
    # 60): the first crawl soon waits for a reset, and keeps running.
    limits = {"*": 1_000_000, "followers": 1, "following": 1}
    with SimServer(world, tokens=("sim-token",), rate_limits=limits, time_scale=60) as url:
        db_path = tmp_path / "crawl.db"
        cfg = write_config(tmp_path / "crawl.yaml", db=db_path, base_url=url)
        seeded = run_cli(cfg, "seed", *map(str, list(world.seeds)[:3]), "--label", "bot")
        assert seeded.returncode == 0, seeded.stderr
        first = subprocess.Popen(cli_command(cfg, "crawl", "--no-progress"),
                                 env=cli_env("sim-token"), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            holder = _wait_for_holder(lock_path(db_path))
            assert holder == f"pid {first.pid}, botsweep crawl"
            second = run_cli(cfg, "crawl", "--no-progress", "--max-requests", "1")
            assert second.returncode == 2
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr
            assert f"another botsweep process is crawling this SQLite database (pid {first.pid}"\
                in lines[0]
            assert "PostgreSQL" in lines[0]
            daemon = run_cli(cfg, "daemon")
            assert daemon.returncode == 2 and f"pid {first.pid}" in daemon.stderr
        finally:
            first.send_signal(signal.SIGTERM if first_ends == "sigterm" else signal.SIGKILL)
            first.communicate(timeout=60)
        assert first.returncode == (0 if first_ends == "sigterm" else -signal.SIGKILL)
        # Once the first has ended, a crawl goes ahead (after at most one window's wait).
        again = run_cli(cfg, "crawl", "--no-progress", "--max-requests", "1")
        assert again.returncode == 0, again.stderr
        assert "budget: 1 follows request," in again.stdout
    assert lock_path(db_path).read_text() == ""
    assert os.path.exists(db_path)
