"""Radial cluster layouts and disc packing: nothing overlaps, everything is placed."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest

from botsweep.viz.layout import layout_clusters, pack_discs, radial_layout, sunflower_layout


def _adjacency(graph: nx.Graph) -> dict[int, list[int]]:
    return {n: list(graph.neighbors(n)) for n in graph}


def _closest_pair(points: list[tuple[float, float]]) -> float:
    best = math.inf
    ordered = sorted(points)
    for i, (x, y) in enumerate(ordered):  # sweep: good enough for a few thousand points
        for x2, y2 in ordered[i + 1:]:
            if x2 - x >= best:
                break
            best = min(best, math.hypot(x2 - x, y2 - y))
    return best


@pytest.mark.parametrize("leaves", [3, 40, 700])
def test_a_flower_is_a_compact_disc_with_no_overlap(leaves: int) -> None:
    star = nx.star_graph(leaves)  # node 0 is the hub
    positions, radius = radial_layout(list(star.nodes), _adjacency(star), spacing=10.0)
    assert positions[0] == (0.0, 0.0)  # the best-connected account sits in the middle
    assert _closest_pair(list(positions.values())) >= 10.0 * 0.85
    assert all(math.hypot(x, y) <= radius for x, y in positions.values())
    # a 700-petal ring would need radius ~1100; the sub-rings keep it far smaller
    assert radius <= 10.0 * (3 + 1.5 * math.sqrt(leaves))


def test_a_tree_places_children_beyond_their_parents() -> None:
    tree = nx.balanced_tree(3, 4)
    positions, _ = radial_layout(list(tree.nodes), _adjacency(tree), spacing=10.0)
    centre = next(n for n, p in positions.items() if p == (0.0, 0.0))
    assert tree.degree(centre) == 4  # a best-connected node, not the degree-3 root
    depth = nx.single_source_shortest_path_length(tree, centre)
    for node, d in depth.items():
        if d:
            parent = next(p for p in tree.neighbors(node) if depth[p] == d - 1)
            assert math.hypot(*positions[node]) > math.hypot(*positions[parent])
    assert _closest_pair(list(positions.values())) >= 10.0 * 0.85


def test_members_the_tree_does_not_reach_are_still_placed() -> None:
    graph = nx.Graph([(1, 2), (1, 3), (7, 8)])
    positions, _ = radial_layout([1, 2, 3, 7, 8, 9], _adjacency(graph), spacing=10.0)
    assert set(positions) == {1, 2, 3, 7, 8, 9}
    assert len(set(positions.values())) == 6


def test_sunflower_has_no_overlap() -> None:
    positions, radius = sunflower_layout(list(range(500)), spacing=10.0)
    assert _closest_pair(list(positions.values())) >= 10.0 * 0.5
    assert all(math.hypot(x, y) <= radius for x, y in positions.values())


def test_packed_discs_do_not_overlap() -> None:
    rng = random.Random(1)
    radii = sorted((rng.uniform(5, 300) for _ in range(300)), reverse=True)
    centres = pack_discs(radii, gap=4.0)
    for i in range(len(radii)):
        for j in range(i + 1, len(radii)):
            distance = math.dist(centres[i], centres[j])
            assert distance >= radii[i] + radii[j], (i, j)


def test_layout_clusters_keeps_members_inside_their_discs() -> None:
    graph = nx.disjoint_union_all([nx.star_graph(30), nx.path_graph(6), nx.empty_graph(1)])
    groups = [list(c) for c in nx.connected_components(graph)]
    placed = layout_clusters(groups, _adjacency(graph), spacing=10.0)
    assert set(placed.positions) == set(graph.nodes)
    for members, (cx, cy, r) in zip(groups, placed.discs, strict=True):
        assert all(math.dist(placed.positions[m], (cx, cy)) <= r + 1e-6 for m in members)
