"""``botsweep sim generate|check|serve`` as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from botsweep.cli import main
from botsweep.sim.world import load_world


def test_generate_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["sim", "generate", "--out", str(tmp_path / "w"), "--accounts", "400",
               "--bot-networks", "2", "--rng-seed", "9", "--tweets", "2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "400 accounts" in out and "flower-1" in out and "farm-2" in out
    world = load_world(tmp_path / "w")
    assert len(world.accounts) == 400 and len(world.seeds) == 12 and world.tweets
    assert main(["sim", "check", "--world", str(tmp_path / "w")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["campaigns"] == {k: len(v) for k, v in sorted(world.campaigns().items())}


def test_generate_will_not_replace_a_world_unless_forced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sim", "generate", "--out", str(tmp_path / "w"), "--accounts", "200"]
    assert main(args + ["--rng-seed", "1"]) == 0
    before = (tmp_path / "w" / "accounts.jsonl").read_bytes()
    capsys.readouterr()
    assert main(args + ["--rng-seed", "2"]) == 2
    assert "--force replaces it" in capsys.readouterr().err
    assert (tmp_path / "w" / "accounts.jsonl").read_bytes() == before
    assert main(args + ["--rng-seed", "2", "--force"]) == 0
    assert (tmp_path / "w" / "accounts.jsonl").read_bytes() != before
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("mine", encoding="utf-8")
    assert main(["sim", "generate", "--out", str(tmp_path / "notes"), "--force"]) == 2
    assert "holds other files" in capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "w").mkdir()
    assert main(["sim", "check", "--world", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("botsweep: error: ") and "world.json: not found" in err
    assert "\n" not in err
    assert main(["sim", "generate", "--out", str(tmp_path / "x"), "--now", "yesterday"]) == 2
    assert "--now 'yesterday'" in capsys.readouterr().err


def test_serve_prints_the_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    assert main(["sim", "generate", "--out", str(tmp_path / "w"), "--accounts", "300"]) == 0
    code = "import sys; from botsweep.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "sim", "serve", "--world", str(tmp_path / "w"),
         "--token", "a", "--token", "b", "--rate-limit", "followers=2", "--time-scale", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        seed = load_world(tmp_path / "w").seeds[0]
        statuses = [requests.get(f"{base}/2/users/{seed}/followers", timeout=5,
                                 headers={"Authorization": "Bearer b"}).status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert json.loads(err.strip().splitlines()[-1])["rate_limited"] == 1


def test_serve_refuses_bad_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "generate", "--out", str(tmp_path / "w"), "--accounts", "200",
                 "--bot-networks", "1"]) == 0
    capsys.readouterr()
    rc = main(["sim", "serve", "--world", str(tmp_path / "w"), "--faults", "lag=0.1"])
    assert rc == 2
    assert "unknown fault kind 'lag'" in capsys.readouterr().err
