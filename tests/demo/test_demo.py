"""``botsweep demo`` end to end on a small world: crawl, score, report, summary, config."""

from __future__ import annotations

from pathlib import Path

import pytest

from botsweep.cli import main
from botsweep.demo import run_demo

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
