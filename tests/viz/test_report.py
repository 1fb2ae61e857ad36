"""build_report: one self-contained, escaped page, and what it says about the graph."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import networkx as nx
import pytest

from botsweep.errors import InputError
from botsweep.viz.report import build_report, render_report
from botsweep.viz.report_page import json_for_script
from botsweep.viz.synthetic import XSS_PAYLOADS, XSS_USERNAMES, flower_graph

_DATA = re.compile(
    r'<script id="botsweep-data" type="application/json">(.*?)</script>', re.S)


def _payload(page: str) -> dict:
    match = _DATA.search(page)
    assert match, "the data element is missing"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def xss_page() -> tuple[str, dict]:
    return render_report(flower_graph(1500, 1350, seed=2, xss=True))


def test_writes_one_page_that_needs_no_network(tmp_path: Path) -> None:
    summary = build_report(flower_graph(800, 700, seed=1), tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (summary.nodes, summary.edges, summary.path) == (800, 700, tmp_path / "r.html")
    assert summary.clusters == len(_payload(page)["clusters"]) and summary.seconds > 0
    assert "vis.Network" in page and "@version 9.1.2" in page  # vis-network is inline
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=|<link[^>]*href=|@import", page)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src 'none'" in csp.group(1)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp file left behind


def test_every_inline_script_is_allowed_by_hash_and_nothing_else_is(xss_page) -> None:
    page, _ = xss_page
    csp = re.search(r"script-src ([^;\"]+)", page).group(1).split()
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2 and "'unsafe-inline'" not in csp
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_crawled_strings_cannot_leave_the_data_element(xss_page) -> None:
    page, payload = xss_page
    raw = _DATA.search(page).group(1)
    assert "<" not in raw and ">" not in raw and "&" not in raw
    assert page.count("</script>") == 3  # data, vis-network, ours
    assert XSS_PAYLOADS["name"] not in page  # only its escaped form is in the page
    # ...and the JSON still carries the exact strings for textContent to show
    names = _payload(page)["nodes"]["n"]
    assert XSS_PAYLOADS["name"] in names
    assert payload["nodes"]["u"].count(XSS_USERNAMES[0]) == 1


def test_json_for_script_escapes_line_separators_and_stays_json() -> None:
    text = json_for_script({"a": "x\u2028y\u2029</script><!--&"})
    assert "\u2028" not in text and "\u2029" not in text and "<" not in text
    assert json.loads(text) == {"a": "x\u2028y\u2029</script><!--&"}


def test_title_is_escaped(tmp_path: Path) -> None:
    page, _ = render_report(flower_graph(50, 40), title='<script>alert(1)</script>"')
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;&quot;</title>" in page
    assert "<h1>&lt;script&gt;" in page


def test_19_digit_ids_travel_as_exact_strings() -> None:
    graph = nx.DiGraph()
    graph.add_edge(1234567890123456789, 9007199254740993)  # 2**53 + 1 is not a JS number
    _, payload = render_report(graph)
    assert sorted(payload["nodes"]["id"]) == ["1234567890123456789", "9007199254740993"]


def test_max_nodes_keeps_seeds_and_top_scores_and_says_how_many_were_left_out() -> None:
    graph = flower_graph(2000, 1800, seed=3)
    seeds = {n for n, d in graph.nodes(data=True) if d["is_seed"]}
    _, payload = render_report(graph, max_nodes=500)
    kept = set(payload["nodes"]["id"])
    assert len(kept) == 500 and payload["meta"]["left_out"]["over_max_nodes"] == 1500
    assert {str(s) for s in seeds} <= kept
    kept_scores = [s for s, f in zip(payload["nodes"]["s"], payload["nodes"]["f"], strict=True)
                   if s is not None and not f & 1]
    dropped = [d["bot_probability"] for n, d in graph.nodes(data=True)
               if str(n) not in kept and d["bot_probability"] is not None]
    assert min(kept_scores, default=1) >= max(dropped, default=0)


def test_min_score_drops_low_scores_but_keeps_unscored_and_seeds() -> None:
    graph = flower_graph(1000, 900, seed=4)
    _, payload = render_report(graph, min_score=0.6)
    nodes = payload["nodes"]
    for score, flags in zip(nodes["s"], nodes["f"], strict=True):
        assert score is None or score >= 0.6 or flags & 1
    low = sum(1 for _, d in graph.nodes(data=True)
              if d["bot_probability"] is not None and d["bot_probability"] < 0.6
              and not d["is_seed"])
    assert payload["meta"]["left_out"]["below_min_score"] == low > 0


def test_big_graphs_open_as_an_overview_small_ones_expanded() -> None:
    graph = flower_graph(600, 550, seed=1)
    assert render_report(graph)[1]["meta"]["expand"] == "all"
    assert render_report(graph, expand_up_to=100)[1]["meta"]["expand"] == "none"


def test_cluster_table_figures(xss_page) -> None:
    _, payload = xss_page
    clusters = payload["clusters"]
    sizes = [c["size"] for c in clusters if c["kind"] == "network"]
    assert sizes == sorted(sizes, reverse=True) and sum(c["size"] for c in clusters) == 1500
    top = clusters[0]
    assert top["name"] == "C1" and top["bots"] / top["scored"] > 0.8  # a bot flower
    assert top["domains"][0][0].endswith(".example") and len(top["examples"]) == 3
    assert 3 <= top["age"] <= 8.5  # Patel: most bots 3–8 years old at crawl time
    lonely = [c for c in clusters if c["kind"] == "unconnected"]
    assert len(lonely) == 1 and lonely[0]["name"] == "Unconnected"
    meta = payload["meta"]
    assert sum(meta["score_bins"]) + meta["unscored"] == 1500
    assert meta["coverage"]["discovered"] == 1500 and meta["review"]


def test_node_positions_are_inside_their_cluster_discs(xss_page) -> None:
    _, payload = xss_page
    nodes, clusters = payload["nodes"], payload["clusters"]
    for x, y, k in zip(nodes["x"], nodes["y"], nodes["k"], strict=True):
        c = clusters[k]
        assert (x - c["x"]) ** 2 + (y - c["y"]) ** 2 <= (c["r"] + 1) ** 2


def test_an_empty_graph_still_makes_a_page(tmp_path: Path) -> None:
    summary = build_report(nx.DiGraph(), tmp_path / "empty.html")
    assert (summary.nodes, summary.edges, summary.clusters) == (0, 0, 0)
    assert "No accounts to show yet" in (tmp_path / "empty.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"min_score": 1.5}, "--min-score 1.5"), ({"max_nodes": 0}, "--max-nodes 0")],
)
def test_bad_options_are_input_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        build_report(flower_graph(20, 10), tmp_path / "r.html", **kwargs)


def test_bad_output_paths_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        build_report(flower_graph(20, 10), tmp_path / "missing" / "r.html")
    with pytest.raises(InputError, match="is a directory"):
        build_report(flower_graph(20, 10), tmp_path)


def test_graph_extras_with_nan_or_odd_types_do_not_break_the_page() -> None:
    graph = flower_graph(60, 50)
    graph.graph["coverage"]["ratio"] = float("nan")
    graph.graph["campaign"]["precision"] = float("inf")
    graph.graph["review"] = [{"id": 1, "username": "x", "reason": "r", "command": ("a", "b")}]
    page, payload = render_report(graph)
    assert payload["meta"]["coverage"]["ratio"] is None
    assert _payload(page)["meta"]["campaign"]["precision"] is None
    assert _payload(page)["meta"]["review"][0]["command"] == ["a", "b"]


def test_the_summary_line_counts_in_words(tmp_path: Path) -> None:
    graph = nx.DiGraph()
    graph.add_node(1, username="solo", is_seed=True)
    summary = build_report(graph, tmp_path / "one.html")
    line = summary.describe()
    assert line.startswith("1 account, 0 follows, 1 cluster, 0 likely bots; built in "), line
