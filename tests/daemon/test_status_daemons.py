"""``botsweep status`` shows a running daemon between its crawl ticks (pid, host, since when,
next crawl tick), and stops showing it once it has stopped, or died without its clean-up.

The daemons here run in this process with the real scheduler and a fake Source; the one
killed with SIGKILL is a real ``botsweep daemon`` process in
tests/reliability/test_daemon_killed.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from botsweep.cli import main
from botsweep.cli.cmd_status import render_status
from botsweep.daemon import Daemon
from botsweep.daemon_jobs import DAEMON_LIVE_S, _beat_key, record_beat, record_job
from botsweep.status import collect_status
from botsweep.storage.db import Database
from botsweep.storage.schema import meta
from tests.daemon.test_daemon import make_daemon
from tests.pg import pg_url_or_skip


def _status(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc = main(["status", *argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def _between_ticks(daemon: Daemon, db: Database, timeout_s: float = 30.0) -> None:
    """Start ``daemon`` and wait until its first crawl tick has ended (the next is an hour
    away): the daemon sleeps, and no crawl of it claims anything."""
    daemon.start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        crawl = [j for j in collect_status(db, campaigns=False)["jobs"]
                 if j["worker_id"] == daemon.worker_id and j["job"] == "crawl"]
        if crawl and crawl[0]["last_run_at"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"the first crawl tick of {daemon.worker_id} did not end")


@pytest.fixture
def sleeping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Daemon, Database]]:
    daemon, _source, _clock, db = make_daemon(tmp_path, crawl_every_s=3600,
                                              crawl_max_requests=2)
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", db.url)
    try:
        _between_ticks(daemon, db)
        yield daemon, db
    finally:
        daemon.shutdown()


def test_status_shows_a_daemon_sleeping_between_ticks(
    sleeping: tuple[Daemon, Database], capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, _db = sleeping
    out = _status(capsys)
    line = next((x for x in out.splitlines() if x.startswith("daemon w-test")), None)
    assert line is not None, out
    assert line.startswith(f"daemon w-test running: pid {os.getpid()} on "
                           f"{socket.gethostname()}, since ")
    next_tick = line.rsplit("; next crawl tick in ", 1)[1]
    assert 3500 <= int(next_tick.removesuffix(" s")) <= 3600, line
    assert "no daemon running" not in out
    data = json.loads(_status(capsys, "--json"))
    [shown] = data["daemons"]
    assert (shown["worker_id"], shown["pid"], shown["host"]) == (
        "w-test", os.getpid(), socket.gethostname())
    assert shown["started_at"] <= time.time() and shown["next_crawl_at"] > time.time() + 3500
    assert all(j["daemon_running"] for j in data["jobs"])


def test_a_stopped_daemon_is_no_longer_shown_as_running(
    sleeping: tuple[Daemon, Database], capsys: pytest.CaptureFixture[str],
) -> None:
    daemon, _db = sleeping
    assert daemon.shutdown()
    out = _status(capsys)
    assert "no daemon running" in out and "daemon w-test running" not in out
    assert json.loads(_status(capsys, "--json"))["daemons"] == []


def test_a_daemon_that_died_drops_out_once_its_heartbeat_lapses(
    sleeping: tuple[Daemon, Database], capsys: pytest.CaptureFixture[str],
) -> None:
    """A daemon killed without its clean-up leaves its heartbeat and its schedule behind:
    once it has not been heard from for DAEMON_LIVE_S it is not running any more, and its
    jobs have no next run (not 'due now' for ever)."""
    _daemon, db = sleeping
    later = time.time() + DAEMON_LIVE_S + 1  # the beat thread no longer counts either
    data = collect_status(db, now=later)
    assert data["daemons"] == []
    assert data["jobs"] and not any(j["daemon_running"] for j in data["jobs"])
    render_status(data)
    out = capsys.readouterr().out
    assert "no daemon running" in out
    rows = [[c.strip() for c in line.split("│")] for line in out.splitlines()
            if line.strip().startswith("w-test")]
    assert rows and all(row[4] == "-" for row in rows), out


def _beat_of(db: Database, worker_id: str, host: str, pid: int, pid_ns: str) -> None:
    value = json.dumps({"worker_id": worker_id, "host": host, "pid": pid, "pid_ns": pid_ns,
                        "started_at": time.time() - 60, "heard_at": time.time()})
    with db.begin() as conn:
        conn.execute(db.upsert(meta, ["key"], ["value"]),
                     [{"key": _beat_key(worker_id), "value": value}])


def test_a_daemon_whose_process_is_gone_from_this_machine_drops_out_at_once(
    sleeping: tuple[Daemon, Database],
) -> None:
    """Heard from a second ago, but its pid is no process here any more (SIGKILL): not
    running.  A daemon on another machine, or in another container on this host's network
    (the same hostname, another PID namespace), cannot be checked so, and is shown while
    its beats are fresh."""
    _daemon, db = sleeping
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    gone, here = int(finished.stdout), os.readlink("/proc/self/ns/pid")
    _beat_of(db, "w-gone", socket.gethostname(), gone, here)
    _beat_of(db, "w-elsewhere", "another-machine.invalid", gone, here)
    _beat_of(db, "w-container", socket.gethostname(), gone, "pid:[1]")
    shown = [d["worker_id"] for d in collect_status(db, campaigns=False)["daemons"]]
    assert shown == ["w-container", "w-elsewhere", "w-test"]


def test_a_killed_daemon_not_yet_reaped_by_its_shell_is_not_running(
    sleeping: tuple[Daemon, Database],
) -> None:
    """A daemon killed from a shell stays a zombie (state Z) until the shell collects it;
    kill(pid, 0) still finds it, but it runs no more."""
    _daemon, db = sleeping
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while "Z" not in Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2][:3]:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.05)
        _beat_of(db, "w-zombie", socket.gethostname(), child.pid,
                 os.readlink("/proc/self/ns/pid"))
        shown = [d["worker_id"] for d in collect_status(db, campaigns=False)["daemons"]]
        assert shown == ["w-test"]
    finally:
        child.wait()


def test_worker_id_narrows_the_daemons_shown(
    sleeping: tuple[Daemon, Database], capsys: pytest.CaptureFixture[str],
) -> None:
    _daemon, db = sleeping
    record_beat(db, "w-other", started_at=time.time())
    data = json.loads(_status(capsys, "--json"))
    assert [d["worker_id"] for d in data["daemons"]] == ["w-other", "w-test"]
    narrowed = json.loads(_status(capsys, "--json", "--worker-id", "w-test"))
    assert [d["worker_id"] for d in narrowed["daemons"]] == ["w-test"]


@pytest.mark.postgres
def test_daemons_sharing_a_postgresql_database_each_show_until_they_stop_or_die(
    tmp_path: Path,
) -> None:
    """Two daemons on one PostgreSQL database (as on two machines), and a third whose
    machine was lost an hour ago: status shows the two running between their ticks, and
    each one only until it stops."""
    with pg_url_or_skip() as url:
        first, _s, _c, db = make_daemon(tmp_path / "a", url=url, crawl_every_s=3600,
                                        crawl_max_requests=2)
        second = Daemon(first.settings, db, worker_id="w-second", source=first._source,
                        bot_model=first._bot_model, clock=first.clock)
        record_beat(db, "w-lost", started_at=time.time() - 7200, now=time.time() - 3600)
        record_job(db, "w-lost", "crawl", next_run_at=time.time() - 3600)
        try:
            _between_ticks(first, db)
            _between_ticks(second, db)
            data = collect_status(db, campaigns=False)
            assert [d["worker_id"] for d in data["daemons"]] == ["w-second", "w-test"]
            assert all(d["next_crawl_at"] > time.time() + 3500 for d in data["daemons"])
            running = {j["worker_id"]: j["daemon_running"] for j in data["jobs"]}
            assert running == {"w-lost": False, "w-second": True, "w-test": True}
            assert second.shutdown()
            data = collect_status(db, campaigns=False)
            assert [d["worker_id"] for d in data["daemons"]] == ["w-test"]
        finally:
            first.shutdown()
            second.shutdown()
            db.dispose()
