"""`botsweep report`: options, defaults from the config, and errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import pytest

from botsweep.cli import main
from botsweep.storage.db import Database
from botsweep.viz.synthetic import flower_graph


@pytest.fixture(autouse=True)
def _database() -> None:
    """The default ./botsweep.db exists, as after `botsweep seed` (report refuses a missing one)."""
    Database("sqlite:///botsweep.db").dispose()


@pytest.fixture
def fake_graph(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []

    def load_graph(db: object, **kwargs: object) -> nx.DiGraph:
        calls.append(kwargs)
        return flower_graph(900, 800, seed=6)

    monkeypatch.setattr("botsweep.viz.graph.load_graph", load_graph)
    return calls


def _payload(path: Path) -> dict:
    page = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))


def test_report_writes_the_file_and_prints_a_summary(
    fake_graph: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["report", "--out", "net.html", "--min-score", "0.5", "--max-nodes", "300"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "wrote net.html" in out and "300 accounts" in out and "left out" in out
    meta = _payload(Path("net.html"))["meta"]
    assert meta["min_score"] == 0.5 and meta["max_nodes"] == 300
    assert meta["left_out"]["over_max_nodes"] + meta["left_out"]["below_min_score"] == 600


def test_a_configured_report_in_a_missing_folder_names_report_out(
    fake_graph: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    Path("config.yaml").write_text("report:\n  out: nodir/r.html\n", encoding="utf-8")
    assert main(["report"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("botsweep: error: report.out ") and "--out" not in err, err


def test_defaults_come_from_the_config(fake_graph: list[dict]) -> None:
    Path("config.yaml").write_text(
        "report:\n  out: from-config.html\n  max_nodes: 100\n", encoding="utf-8")
    assert main(["report"]) == 0
    assert _payload(Path("from-config.html"))["meta"]["totals"]["accounts"] == 100


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--min-score", "1.2"], "--min-score 1.2"), (["--max-nodes", "0"], "--max-nodes 0"),
     (["--out", "no/such/dir/r.html"], "does not exist"),
     (["--out", "not-made-yet/"], "directory not-made-yet does not exist")],
)
def test_bad_options_exit_2_with_one_line(
    fake_graph: list[dict], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["report", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("botsweep: error:") and message in err and "\n" not in err


@pytest.mark.parametrize("given", ["reports", "reports/"])
def test_an_out_directory_gets_the_report_inside_it(
    fake_graph: list[dict], capsys: pytest.CaptureFixture[str], given: str
) -> None:
    Path("reports").mkdir()
    assert main(["report", "--out", given, "--max-nodes", "50"]) == 0
    written = Path("reports") / "botsweep-report.html"  # report.out's name
    assert f"wrote {written}" in capsys.readouterr().out
    assert _payload(written)["meta"]["totals"]["accounts"] == 50


def test_report_on_a_fresh_database_says_there_is_nothing_yet(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--out", "empty.html"]) == 0
    assert "0 accounts" in capsys.readouterr().out
    assert _payload(Path("empty.html"))["meta"]["totals"]["accounts"] == 0


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--help"]) == 0
    assert "botsweep report --out report.html" in capsys.readouterr().out
