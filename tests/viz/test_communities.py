"""Louvain communities and the cluster table's figures."""

from __future__ import annotations

from datetime import UTC, datetime

import networkx as nx
import pytest

from botsweep.viz.communities import (
    detect_communities,
    group_members,
    parse_time,
    summarize_cluster,
)
from botsweep.viz.synthetic import flower_graph


def _two_flowers_and_a_loner() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_edges_from((1, leaf) for leaf in range(100, 140))  # hub 1 follows 40 leaves
    graph.add_edges_from((2, leaf) for leaf in range(200, 220))  # hub 2 follows 20 leaves
    graph.add_edge(130, 205)  # one stray follow between the flowers
    graph.add_node(999)
    return graph


def test_each_flower_is_one_community_numbered_largest_first() -> None:
    community = detect_communities(_two_flowers_and_a_loner(), seed=0)
    groups = group_members(community)
    # 130 and 205 (the stray follow's ends) may land on either side; the rest may not
    assert {1, *range(100, 140)} - {130} <= set(groups[0])
    assert {2, *range(200, 220)} - {205} <= set(groups[1])
    assert len(groups[0]) >= len(groups[1])
    assert groups[-1] == [999]
    assert set(community) == set(_two_flowers_and_a_loner().nodes)


def test_same_graph_same_numbering() -> None:
    graph = flower_graph(1500, 1400, seed=3)
    assert detect_communities(graph, seed=7) == detect_communities(graph, seed=7)


def test_folding_leaves_keeps_louvains_modularity() -> None:
    # detect_communities folds leaves into their neighbours before Louvain; the partition
    # must be as good as plain Louvain's on the whole graph.
    graph = flower_graph(3000, 2800, seed=5)
    undirected = nx.Graph(graph.to_undirected())
    ours = group_members(detect_communities(graph, seed=0))
    plain = nx.community.louvain_communities(undirected, seed=0)
    ours_q = nx.community.modularity(undirected, [set(g) for g in ours])
    plain_q = nx.community.modularity(undirected, plain)
    assert ours_q == pytest.approx(plain_q, abs=0.01)
    assert ours_q > 0.9


def test_summarize_cluster_counts_bots_ages_domains_and_examples() -> None:
    now = datetime(2018, 6, 1, tzinfo=UTC)
    nodes = [
        {"username": "a", "bot_probability": 0.9, "created_at": "2012-06-01T00:00:00Z",
         "domains": ["spam.example", "spam.example"], "is_seed": True},
        {"username": "b", "bot_probability": 0.7, "created_at": "2013-06-01T00:00:00.000Z",
         "domains": ["spam.example", "other.example"]},
        {"username": "c", "bot_probability": 0.1, "created_at": "2016-06-01T00:00:00Z",
         "domains": []},
        {"username": None, "bot_probability": None, "created_at": None, "domains": None},
    ]
    summary = summarize_cluster(nodes, now=now, threshold=0.5, n_examples=2)
    assert (summary.size, summary.scored, summary.bots, summary.seeds) == (4, 3, 2, 1)
    assert summary.bot_share == pytest.approx(2 / 3)
    assert summary.median_age_years == pytest.approx(5.0, abs=0.05)
    assert summary.domains[0] == ("spam.example", 2)  # counted once per account
    assert summary.examples == ["a", "b"]  # highest scores first
    assert summary.years == {2012: 1, 2013: 1, 2016: 1}
    assert summary.max_score == 0.9


def test_summarize_an_unscored_cluster() -> None:
    summary = summarize_cluster([{"username": None}], now=datetime.now(UTC), threshold=0.5)
    assert summary.bot_share is None and summary.mean_score is None
    assert summary.median_age_years is None


@pytest.mark.parametrize("text", ["2014-03-01T12:00:00.000Z", "2014-03-01T13:00:00+01:00"])
def test_parse_time_reads_rfc3339_in_utc(text: str) -> None:
    assert parse_time(text) == datetime(2014, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("text", [None, "", "yesterday", 12])
def test_parse_time_refuses_garbage(text: object) -> None:
    assert parse_time(text) is None
