"""``botsweep export``: the three formats open in networkx and pandas and say the same thing."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from sqlalchemy import select

from botsweep.campaign.store import fit_campaign
from botsweep.cli import main
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.schema import scores
from botsweep.viz.export import ACCOUNT_COLUMNS
from tests.campaign.synth import FakeBotScorer, build_db, population
from tests.pg import pg_url_or_skip
from tests.storage.crawled import (
    BIG,
    EDGES,
    GONE,
    HUB,
    LEAVES,
    NAMES,
    PROBABILITY,
    STUB,
    build_crawl,
)

ALL_IDS = {HUB, BIG, STUB, *LEAVES}


@pytest.fixture
def crawled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "crawl.db"
    db = Database(f"sqlite:///{path}")
    build_crawl(db)
    db.dispose()
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", f"sqlite:///{path}")
    yield path


def _export(capsys: pytest.CaptureFixture[str], fmt: str, out: str) -> None:
    assert main(["export", "--format", fmt, "--out", out]) == 0, capsys.readouterr().err
    assert f"wrote {out}" in capsys.readouterr().out


def test_csv_opens_in_pandas_with_the_documented_columns(
    crawled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _export(capsys, "csv", "out")
    accounts = pd.read_csv("out/accounts.csv", dtype={"id": str}, keep_default_na=False)
    edges = pd.read_csv("out/edges.csv", dtype=str)
    assert tuple(accounts.columns) == ACCOUNT_COLUMNS
    assert list(edges.columns) == ["follower_id", "followee_id"]
    rows = {int(r["id"]): r for r in accounts.to_dict("records")}
    assert set(rows) == ALL_IDS
    assert rows[BIG]["id"] == str(BIG)  # all 19 digits, not rounded
    for account_id, name in NAMES.items():
        if name.startswith("="):  # a spreadsheet would run it: written as text
            assert rows[account_id]["name"] == "'" + name
        else:
            assert rows[account_id]["name"] == name  # crawled text comes back unchanged
    assert any(name.startswith("=") for name in NAMES.values())
    assert rows[STUB]["username"] == "" and rows[STUB]["bot_probability"] == ""
    assert rows[HUB]["username"] == "user1001"
    assert float(rows[HUB]["bot_probability"]) == PROBABILITY[HUB]
    assert rows[GONE]["state"] == "suspended" and rows[HUB]["state"] == "active"
    assert {i for i, r in rows.items() if r["is_seed"] == 1} == {HUB, BIG}
    # HUB's two lists are read to the end; BIG's followers have a page still to read.
    assert rows[HUB]["expanded"] == 1 and rows[BIG]["expanded"] == 0
    assert all(r["community"] != "" for r in rows.values())
    assert rows[HUB]["community"] == rows[LEAVES[1]]["community"]
    assert {(int(a), int(b)) for a, b in edges.itertuples(index=False)} == EDGES


@pytest.mark.parametrize(("fmt", "reader"), [("gexf", nx.read_gexf), ("graphml", nx.read_graphml)])
def test_graph_formats_open_in_networkx(
    crawled: Path, capsys: pytest.CaptureFixture[str], fmt: str, reader: object
) -> None:
    out = f"graph/crawl.{fmt}"
    _export(capsys, fmt, out)
    graph = reader(out)  # type: ignore[operator]
    assert graph.is_directed()
    assert set(graph.nodes) == {str(i) for i in ALL_IDS}
    assert {(int(a), int(b)) for a, b in graph.edges} == EDGES
    hub, big, stub = graph.nodes[str(HUB)], graph.nodes[str(BIG)], graph.nodes[str(STUB)]
    assert hub["name"] == NAMES[HUB] and big["name"] == NAMES[BIG]
    assert float(hub["bot_probability"]) == PROBABILITY[HUB]
    assert int(hub["is_seed"]) == 1 and int(hub["expanded"]) == 1 and int(big["expanded"]) == 0
    assert "bot_probability" not in stub and "username" not in stub  # not computed yet
    assert int(hub["community"]) == int(graph.nodes[str(LEAVES[1])]["community"])
    assert graph.nodes[str(GONE)]["state"] == "suspended"
    # A control character in a crawled name cannot be carried by XML; it is replaced, and
    # the file still opens.
    assert graph.nodes["2002"]["name"] == "ctrl\ufffdchar"


def test_empty_database_exports_headers_and_empty_graphs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Database(url).dispose()  # a database with nothing in it yet
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", url)
    _export(capsys, "csv", "out")
    assert tuple(pd.read_csv("out/accounts.csv").columns) == ACCOUNT_COLUMNS
    assert len(pd.read_csv("out/edges.csv")) == 0
    _export(capsys, "graphml", "g.graphml")
    assert nx.read_graphml("g.graphml").number_of_nodes() == 0


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--format", "xml", "--out", "x"], "--format 'xml'"),
        (["--format", "gexf", "--out", "."], "this is a directory"),
        (["--format", "csv", "--out", "file.txt"], "this is a file"),
        (["--format", "gexf", "--out", "file.txt/g.gexf"], "cannot make the directory"),
    ],
)
def test_bad_export_arguments_are_one_line(
    crawled: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    Path("file.txt").write_text("keep me", encoding="utf-8")
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("botsweep: error:") and fragment in err[0]
    assert Path("file.txt").read_text(encoding="utf-8") == "keep me"


def test_a_failed_export_leaves_the_last_one_whole(
    crawled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (or a kill) part-way through used to leave a cut-off accounts.csv beside
    the last export's edges.csv, or half an XML file, after a traceback."""
    _export(capsys, "csv", "out")
    _export(capsys, "graphml", "g.graphml")
    Path("link.gexf").symlink_to("target.gexf")
    _export(capsys, "gexf", "link.gexf")  # the link is replaced, not written through
    assert Path("link.gexf").is_file() and not Path("link.gexf").is_symlink()
    assert not Path("target.gexf").exists()
    before = {name: Path(name).read_bytes()
              for name in ("out/accounts.csv", "out/edges.csv", "g.graphml")}
    calls = 0

    def disk_full(value: object) -> object:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return value

    def half_written(_graph: object, path: Path) -> None:
        Path(path).write_text("<?xml version=", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("botsweep.viz.export._cell_safe", disk_full)
    monkeypatch.setattr(nx, "write_graphml", half_written)
    for fmt, out, written in (("csv", "out", "out/accounts.csv"), ("graphml", "g.graphml",
                                                                  "g.graphml")):
        calls = 0
        assert main(["export", "--format", fmt, "--out", out]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"botsweep: error: cannot write {written}: No space left on device"]
    assert {name: Path(name).read_bytes() for name in before} == before
    assert not [p.name for p in Path().rglob("*.tmp")]


def test_without_out_each_format_has_a_sensible_default(
    crawled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt, expected in (("csv", "export/accounts.csv"), ("gexf", "botsweep.gexf"),
                          ("graphml", "botsweep.graphml")):
        assert main(["export", "--format", fmt]) == 0, capsys.readouterr().err
        assert f"wrote {expected}" in capsys.readouterr().out
    assert nx.read_gexf("botsweep.gexf").number_of_nodes() == len(ALL_IDS)
    assert nx.read_graphml("botsweep.graphml").number_of_nodes() == len(ALL_IDS)


@pytest.mark.postgres
def test_export_reads_the_same_crawl_from_postgres(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pg_url_or_skip() as url:
        db = Database(url)
        build_crawl(db)
        db.dispose()
        monkeypatch.setenv("BOTSWEEP_DATABASE__URL", url)
        _export(capsys, "csv", "out")
    accounts = pd.read_csv("out/accounts.csv", dtype={"id": str}, keep_default_na=False)
    rows = {int(r["id"]): r for r in accounts.to_dict("records")}
    assert set(rows) == ALL_IDS and rows[BIG]["name"] == NAMES[BIG]
    assert {i for i, r in rows.items() if r["is_seed"] == 1} == {HUB, BIG}
    edges = pd.read_csv("out/edges.csv", dtype=str)
    assert {(int(a), int(b)) for a, b in edges.itertuples(index=False)} == EDGES


def _campaign_column(path: str) -> dict[int, float]:
    accounts = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    return {int(r["id"]): float(r["campaign_probability"]) for r in accounts.to_dict("records")
            if r["campaign_probability"] != ""}


def test_campaign_probability_is_filled_when_several_campaigns_are_fitted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two fitted campaigns and no crawler.campaign: the column holds the latest fitted
    campaign's probabilities, and stderr says which campaign that is and how to choose."""
    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    farm = [aid for aid, (kind, _) in people.items() if kind == "farm"]
    db = build_db(tmp_path, people, seeds=pron[:10])  # the CLI's default database path
    add_seeds(db, [AccountRef(id=aid) for aid in farm[:10]], label="bot", campaign="farm")
    fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    fit_campaign(db, "farm", bot_scorer=FakeBotScorer())  # fitted last
    with db.connect() as conn:
        stored = {name: dict(conn.execute(select(scores.c.account_id, scores.c.probability)
                                          .where(scores.c.scorer == f"campaign:{name}")).all())
                  for name in ("pron", "farm")}
    db.dispose()
    assert main(["export", "--out", "out"]) == 0
    column = _campaign_column("out/accounts.csv")
    assert set(column) == set(people)
    assert column == pytest.approx(stored["farm"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "for campaign farm, the latest fitted of farm, pron" in err[0]
    assert "--campaign NAME" in err[0]
    assert main(["export", "--campaign", "pron", "--out", "pron"]) == 0
    assert capsys.readouterr().err == ""  # chosen, not guessed: nothing to say
    assert _campaign_column("pron/accounts.csv") == pytest.approx(stored["pron"])
    assert main(["export", "--campaign", "flowers", "--out", "flowers"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no fitted campaign model" in err[0] and "farm, pron" in err[0]


def test_a_configured_campaign_with_no_model_says_its_column_is_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    db = build_db(tmp_path, people, seeds=pron[:10])
    fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    db.dispose()
    monkeypatch.setenv("BOTSWEEP_CRAWLER__CAMPAIGN", "zzz")
    assert main(["export", "--out", "out"]) == 0
    assert _campaign_column("out/accounts.csv") == {}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "crawler.campaign 'zzz' has no fitted campaign model" in err[0]


def test_the_only_campaign_named_but_not_fitted_says_its_column_is_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    build_db(tmp_path, people, seeds=pron[:10]).dispose()  # seeded for pron, never fitted
    assert main(["export", "--out", "out"]) == 0
    assert _campaign_column("out/accounts.csv") == {}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "campaign 'pron' (the only one seeds and labels name)" in err[0]
    assert "botsweep campaign fit --campaign pron" in err[0]


def test_several_campaigns_named_and_none_fitted_say_the_column_is_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from botsweep.seeding import AccountRef, add_seeds

    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    db = build_db(tmp_path, people, seeds=pron[:5])  # seeded for pron and for farm
    add_seeds(db, [AccountRef(id=a) for a in pron[5:10]], label="bot", campaign="farm")
    db.dispose()
    assert main(["export", "--out", "out"]) == 0
    assert _campaign_column("out/accounts.csv") == {}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "campaigns farm, pron have no fitted campaign model" in err[0]
    assert "botsweep campaign fit --campaign NAME" in err[0]
