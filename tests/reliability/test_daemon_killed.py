"""``botsweep status`` beside a real ``botsweep daemon`` process: the daemon is shown as
running while it sleeps between crawl ticks, and after a SIGKILL (no clean-up at all) it
is shown no longer: at once, since its process is gone from this machine, and not for
ever in any case (its heartbeat lapses)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from botsweep.daemon_jobs import DAEMON_LIVE_S
from botsweep.sim.world import World
from botsweep.status import collect_status
from botsweep.storage.db import Database
from tests.reliability.kit import cli_command, cli_env, run_cli, write_config

pytestmark = pytest.mark.slow


def _asleep(db: Database, proc: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Wait until the daemon beats and its first crawl tick has ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        data = collect_status(db, campaigns=False)
        if data["daemons"] and any(j["job"] == "crawl" and j["last_run_at"]
                                   for j in data["jobs"]):
            return
        time.sleep(0.2)
    raise AssertionError("the daemon's first crawl tick did not end")


def test_a_sigkilled_daemon_is_not_shown_as_running_for_ever(
    world: World, sim_url: str, tmp_path: Path,
) -> None:
    db_path = tmp_path / "crawl.db"
    cfg = write_config(tmp_path / "crawl.yaml", db=db_path, base_url=sim_url, extra={
        "schedule": {"crawl_every_s": 3600, "crawl_max_requests": 2, "score_every_s": 3600,
                     "report_at_start": False}})
    seeded = run_cli(cfg, "seed", *map(str, list(world.seeds)[:2]), "--label", "bot")
    assert seeded.returncode == 0, seeded.stderr
    proc = subprocess.Popen(cli_command(cfg, "daemon"), env=cli_env("sim-token"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = Database(f"sqlite:///{db_path}")
    try:
        _asleep(db, proc)
        shown = run_cli(cfg, "status")
        assert shown.returncode == 0, shown.stderr
        line = next((x for x in shown.stdout.splitlines() if x.startswith("daemon ")), "")
        assert f" running: pid {proc.pid} on " in line, shown.stdout
        assert "; next crawl tick in " in line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    try:
        assert proc.returncode == -signal.SIGKILL
        # Its last beat is fresh, but its process is gone from this machine: not running,
        # at once.  (On another machine it would drop out once the beats lapse.)
        shown = run_cli(cfg, "status")
        assert shown.returncode == 0, shown.stderr
        assert "no daemon running" in shown.stdout, shown.stdout
        for now in (time.time(), time.time() + DAEMON_LIVE_S + 1):
            data = collect_status(db, campaigns=False, now=now)
            assert data["daemons"] == []
            assert data["jobs"] and not any(j["daemon_running"] for j in data["jobs"])
    finally:
        db.dispose()
