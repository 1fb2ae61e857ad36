"""The global options from DESIGN.md (``-v``, ``-vv``, ``--log-json``, before the command),
the installed ``botsweep`` script's exit codes, and one clear line when the configured
database cannot be opened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from botsweep.cli import main

MIGRATING = "migrating database schema"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_quiet_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "seed", "12")
    assert rc == 0 and "1 new seed(s)" in out
    assert err == ""


def test_v_logs_botsweep_info_without_library_chatter(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "-v", "seed", "12")
    assert rc == 0
    lines = err.strip().splitlines()
    assert any(" INFO botsweep.storage: " + MIGRATING in line for line in lines), err
    assert "alembic" not in err  # its INFO lines about plugins would drown ours
    assert not any(" DEBUG " in line for line in lines)


def test_vv_turns_on_debug(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    assert _run(capsys, "-vv", "seed", "12")[0] == 0
    assert logging.getLogger("botsweep.crawler").isEnabledFor(logging.DEBUG)
    assert _run(capsys, "seed", "13")[0] == 0
    assert not logging.getLogger("botsweep.crawler").isEnabledFor(logging.INFO)


def test_log_json_writes_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "-v", "--log-json", "seed", "12")
    assert rc == 0 and "1 new seed(s)" in out  # the command's own output stays plain
    records = [json.loads(line) for line in err.strip().splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "botsweep.storage" and MIGRATING in r["message"]
               and r["level"] == "INFO" for r in records)


def test_global_options_go_before_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "seed", "12", "-v")
    assert rc == 2 and "go before the command: botsweep -v seed 12" in err
    assert not Path("botsweep.db").exists()


# --- the database named in the config cannot be opened ---------------------------------------


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("botsweep: error: "), err
    return lines[0]


def test_a_sqlite_path_that_is_a_folder_is_bad_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", f"sqlite:///{tmp_path / 'data'}")
    rc, _, err = _run(capsys, "status")
    assert rc == 2
    line = _one_line(err)
    assert "database.url" in line and "cannot open or create" in line


def test_a_sqlite_folder_that_cannot_be_made_is_bad_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain-file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", f"sqlite:///{tmp_path / 'plain-file' / 'x.db'}")
    rc, _, err = _run(capsys, "seed", "12")
    assert rc == 2
    assert "cannot create the folder" in _one_line(err)


@pytest.mark.parametrize("argv", [["status"], ["report", "--out", "r.html"],
                                  ["export", "--format", "csv", "--out", "e"], ["score"],
                                  ["crawl", "--max-requests", "1"], ["campaign", "show"]])
def test_reading_a_database_that_does_not_exist_is_bad_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    # a mistyped path, or the wrong directory: an empty new database would look as if the
    # crawl's data were gone
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo" / "crawl.db"
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", f"sqlite:///{missing}")
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    rc, out, err = _run(capsys, *argv)
    assert rc == 2, out + err
    assert f"database {missing} does not exist" in _one_line(err)
    assert not (tmp_path / "typo").exists()
    assert not any(tmp_path.iterdir())
    rc, out, _ = _run(capsys, "seed", "12")  # seeding starts one
    assert rc == 0 and missing.exists()


def test_an_unreachable_postgres_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 1 on loopback refuses at once; the password must never be printed.
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL",
                       "postgresql+psycopg://bot:hunter2pw@127.0.0.1:1/botsweep")
    monkeypatch.setenv("BOTSWEEP_DATABASE__BUSY_TIMEOUT_S", "2")
    rc, _, err = _run(capsys, "status")
    assert rc == 1
    line = _one_line(err)
    assert "cannot open the database" in line and "127.0.0.1:1" in line
    assert "hunter2pw" not in err


# --- the installed console script -------------------------------------------------------------


def _script() -> Path:
    script = Path(sys.executable).parent / "botsweep"
    if not script.exists():
        pytest.skip(f"no botsweep console script beside {sys.executable} (pip install -e .)")
    return script


@pytest.mark.slow
def test_the_console_script_exits_0_1_and_2(tmp_path: Path) -> None:
    script = str(_script())
    bad = tmp_path / "bad.yaml"
    bad.write_text("crawler:\n  policy: dfs\n", encoding="utf-8")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script, *argv], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})

    done = run("seed", "12")
    assert done.returncode == 0, done.stderr
    bad_config = run("--config", str(bad), "seed", "13")
    assert bad_config.returncode == 2
    line = _one_line(bad_config.stderr)
    assert "crawler.policy = 'dfs'" in line and "'smart' or 'bfs'" in line
    failed = run("status", "--check")  # healthy only once a crawl tick has run
    assert failed.returncode == 1 and "Traceback" not in failed.stderr


@pytest.mark.parametrize(("argv", "fixed"), [
    (["status", "--config", "x.yaml"], "botsweep --config x.yaml status"),
    (["daemon", "-v", "--worker-id", "a"], "botsweep -v daemon --worker-id a"),
    (["-v", "seed", "@x", "--config=c.yaml", "--label", "bot"],
     "botsweep -v --config=c.yaml seed @x --label bot"),
    (["crawl", "--log-json", "-vv"], "botsweep --log-json -vv crawl"),
])
def test_a_global_option_after_the_command_is_refused_with_the_right_order(
    capsys: pytest.CaptureFixture[str], argv: list[str], fixed: str,
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(f"go before the command: {fixed}"), err
