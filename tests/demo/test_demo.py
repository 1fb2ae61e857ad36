"""``botsweep demo`` end to end on a small world: crawl, score, report, summary, config."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from botsweep.cli import main
from botsweep.config import load_settings
from botsweep.demo import run_demo
from botsweep.storage.crawl_lock import hold_crawl_lock, lock_path

try:  # the shipped model is a package file; a checkout without it cannot run the demo
    from botsweep.models.scorer import BotScorer

    BotScorer.load()
    HAVE_MODEL = True
except Exception:  # noqa: BLE001
    HAVE_MODEL = False

pytestmark = pytest.mark.skipif(not HAVE_MODEL, reason="the shipped default model is missing")


def test_the_demo_crawls_scores_and_reports(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", accounts=400, time_scale=20_000, max_seconds=60)
    assert result.rate_limited == 0
    assert result.follows_requests > 20 and result.lookup_requests > 0
    assert result.profiled > 100 and result.expanded > 12
    # seeded from one planted network, the crawl reaches most of its bots
    assert result.bots_found >= 0.5 * result.bots_in_world
    assert max(result.campaign_recall.values()) >= 0.8
    assert result.report is not None
    html = result.report.read_text(encoding="utf-8")
    assert "</html>" in html and "botsweep demo" in html
    # the campaign model learned from the seeds flags accounts of the seeds' network
    assert result.campaign is not None and result.campaign["flagged"] > 0
    assert result.campaign["precision"] >= 0.5
    text = "\n".join(result.lines())
    assert "0 rate-limited" in text and str(result.report) in text
    # the written config opens the demo's database for the other commands
    config = tmp_path / "demo" / "config.yaml"
    assert main(["--config", str(config), "status", "--json"]) == 0


def test_running_the_demo_again_replaces_the_old_one(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--accounts", "200", "--time-scale", "20000",
            "--no-progress"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    second = capsys.readouterr().out
    line = next(x for x in first.splitlines() if x.startswith("accounts:"))
    assert line in second.splitlines(), "the same world and seeds give the same crawl"


def test_the_demo_will_not_overwrite_files_it_did_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["demo", "--accounts", "200", "--time-scale", "20000", "--no-progress", "--out"]
    mine = tmp_path / "mine"
    (mine / "world").mkdir(parents=True)
    (mine / "world" / "notes.txt").write_text("precious", encoding="utf-8")
    (mine / "config.yaml").write_text("database:\n  url: sqlite:///mine.db\n", encoding="utf-8")
    assert main(args + [str(mine)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "earlier demo" in err
    assert (mine / "world" / "notes.txt").read_text(encoding="utf-8") == "precious"
    assert (mine / "config.yaml").read_text(encoding="utf-8").startswith("database:")
    assert not (mine / "demo.db").exists()
    (mine / "config.yaml").unlink()  # a stray file next to the demo's own is refused too
    (tmp_path / "mine" / "world" / "notes.txt").unlink()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(args + [str(mine)]) == 2
    assert "notes.txt" in capsys.readouterr().err


@pytest.mark.parametrize("foreign", ["a directory of notes", "a file"])
def test_a_refused_out_directory_is_the_only_thing_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], foreign: str) -> None:
    """No banner announcing a crawl that will not happen: one line on stderr, exit 2."""
    out = tmp_path / "mine"
    if foreign == "a file":
        out.write_text("mine", encoding="utf-8")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["demo", "--accounts", "200", "--no-progress", "--out", str(out)]) == 2
    printed, err = capsys.readouterr()
    assert printed == ""
    assert len(err.strip().splitlines()) == 1 and f"--out {out}" in err


def test_the_written_config_says_how_to_crawl_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from botsweep.sim.server import SimServer

    # A '#' or ': ' in the folder's name made the YAML read another database (the rest
    # of the line was a comment), and a space broke the steps when pasted into a shell.
    out = tmp_path / "my demo #1: x?%20y"
    result = run_demo(out, accounts=600, time_scale=600, max_seconds=4)
    config = (out / "config.yaml").read_text(encoding="utf-8")
    steps = [line[1:].strip() for line in config.splitlines() if line.startswith("#   ")]
    serve, export, crawl = steps
    port = int(serve.split("--port ")[1].split()[0])
    assert shlex.split(serve)[:5] == ["botsweep", "sim", "serve", "--world",
                                      str(result.world_dir)]
    name, token = export.removeprefix("export ").split("=")
    assert shlex.split(crawl) == ["botsweep", "--config", str(out / "config.yaml"), "crawl"]
    settings = load_settings(out / "config.yaml")
    assert make_url(settings.database.url).database == str(out / "demo.db")
    assert settings.report.out == out / "report.html"
    # following the steps crawls on from where the demo stopped
    monkeypatch.setenv(name, token)
    capsys.readouterr()
    with SimServer(result.world_dir, port=port, tokens=(token,), time_scale=20_000):
        assert main(shlex.split(crawl)[1:] + ["--max-requests", "2", "--no-progress"]) == 0
    summary = capsys.readouterr().out
    assert "; 2 pages," in summary and "faults 0" in summary, summary
    # The crawl left its lock file beside the database: the folder is still the demo's own.
    assert lock_path(out / "demo.db").exists()
    assert run_demo(out, accounts=600, time_scale=20_000, max_seconds=1).report


def test_the_demo_will_not_clear_a_database_that_a_crawl_is_using(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    run_demo(out, accounts=200, time_scale=20_000, max_seconds=2)
    before = (out / "demo.db").stat().st_size
    with hold_crawl_lock(out / "demo.db", "crawl"):  # the restart steps' crawl, running
        assert main(["demo", "--accounts", "200", "--no-progress", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "another botsweep process is crawling this SQLite database" in err
    assert (out / "demo.db").stat().st_size == before
