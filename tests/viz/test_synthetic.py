"""The synthetic flower graph used by the report's tests and benchmark."""

from __future__ import annotations

import networkx as nx
import pytest

from botsweep.viz.synthetic import XSS_PAYLOADS, XSS_USERNAMES, flower_graph


def test_exact_size_and_reproducible() -> None:
    a = flower_graph(2000, 1800, seed=4)
    b = flower_graph(2000, 1800, seed=4)
    assert (a.number_of_nodes(), a.number_of_edges()) == (2000, 1800)
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges) == list(b.edges)
    assert list(flower_graph(2000, 1800, seed=5).nodes) != list(a.nodes)


def test_denser_than_a_forest() -> None:
    graph = flower_graph(300, 600, seed=1)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (300, 600)


def test_ids_are_19_digit_and_attributes_follow_the_contract() -> None:
    graph = flower_graph(1000, 900, seed=0)
    assert all(isinstance(n, int) and len(str(n)) == 19 and n < 2**63 for n in graph)
    for key in ("coverage", "threshold", "model_version", "now"):
        assert key in graph.graph
    profiled = [d for _, d in graph.nodes(data=True) if d["username"]]
    stubs = [d for _, d in graph.nodes(data=True) if not d["username"]]
    assert profiled and stubs
    assert all(d["bot_probability"] is None and d["state"] is None for d in stubs)
    assert all(isinstance(d["domains"], list) for _, d in graph.nodes(data=True))


def test_flowers_are_old_bots_whose_hubs_follow_their_leaves() -> None:
    graph = flower_graph(3000, 2800, seed=2)
    bots = [d for _, d in graph.nodes(data=True) if d["campaign"] and d["username"]]
    old = sum(1 for d in bots if "2010" <= d["created_at"][:4] <= "2014")
    assert old / len(bots) > 0.75
    scores = [d["bot_probability"] for d in bots]
    assert sum(scores) / len(scores) > 0.7
    hub = max(graph, key=graph.out_degree)
    assert graph.nodes[hub]["campaign"] and graph.out_degree(hub) > 20
    leaves = list(graph.successors(hub))
    assert sum(1 for leaf in leaves if graph.out_degree(leaf) == 0) / len(leaves) > 0.9


def test_xss_payloads_are_planted_when_asked() -> None:
    graph = flower_graph(500, 450, seed=0, xss=True)
    planted = [d for _, d in graph.nodes(data=True) if d["username"] in XSS_USERNAMES]
    assert len(planted) == 2
    assert all(d["name"] == XSS_PAYLOADS["name"] and d["url"].startswith("javascript:")
               for d in planted)
    assert not any(d["username"] in XSS_USERNAMES
                   for _, d in flower_graph(500, 450, seed=0).nodes(data=True))


def test_impossible_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        flower_graph(3, 10)
    assert isinstance(flower_graph(1, 0), nx.DiGraph)
