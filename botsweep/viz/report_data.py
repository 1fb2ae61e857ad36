"""The report's data: which accounts to show, their clusters, positions and figures.

:func:`build_payload` turns the crawled graph into one JSON-ready dict that the page's
script reads.  Accounts are stored column-wise (one list per field, the same index in
each) because that is about half the size of a list of objects and parses faster.  Edges
are a flat list of account indices ``[from0, to0, from1, to1, ...]`` (follower →
followee).  Ids are strings: JavaScript numbers cannot hold 19-digit X ids.

Nothing here escapes for HTML: the page builds its DOM with ``textContent`` only, and
:mod:`botsweep.viz.report_page` escapes the JSON for its ``<script>`` element.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import networkx as nx

from botsweep.viz.communities import (
    detect_communities,
    group_members,
    parse_time,
    summarize_cluster,
)
from botsweep.viz.layout import layout_clusters

__all__ = ["Selection", "select_accounts", "build_payload", "SCORE_BINS"]

SCORE_BINS = 20
_METRICS = ("followers_count", "following_count", "tweet_count", "listed_count", "like_count")
_TEXT = ("username", "name", "description", "location", "url", "created_at", "state", "label",
         "campaign")


@dataclass
class Selection:
    """The accounts kept for the page and how many were left out, and why."""

    graph: nx.DiGraph
    below_min_score: int
    over_max_nodes: int


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def select_accounts(graph: nx.DiGraph, *, min_score: float, max_nodes: int) -> Selection:
    """Keep accounts scored at least ``min_score`` (unscored ones and seeds always stay),
    then, over ``max_nodes``, the seeds and highest-scoring, best-connected accounts."""
    keep = [
        node for node, data in graph.nodes(data=True)
        if data.get("is_seed") or (score := _score(data.get("bot_probability"))) is None
        or score >= min_score
    ]
    below = graph.number_of_nodes() - len(keep)
    over = 0
    if len(keep) > max_nodes:
        nodes = graph.nodes

        def rank(node: Hashable) -> tuple[bool, float, int]:
            data = nodes[node]
            score = _score(data.get("bot_probability"))
            return (bool(data.get("is_seed")), -1.0 if score is None else score,
                    graph.degree(node))

        keep.sort(key=rank, reverse=True)
        over = len(keep) - max_nodes
        keep = keep[:max_nodes]
    if below == 0 and over == 0:
        return Selection(graph, 0, 0)
    return Selection(graph.subgraph(keep), below, over)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rounded(value: Any) -> float | None:
    score = _score(value)
    return None if score is None else round(score, 4)


def _columns(graph: nx.DiGraph, order: list[Hashable]) -> dict[str, list[Any]]:
    data = [graph.nodes[node] for node in order]
    fan_in, fan_out = dict(graph.in_degree()), dict(graph.out_degree())
    cols: dict[str, list[Any]] = {"id": [str(node) for node in order]}
    for key, name in zip(("u", "n", "d", "l", "w", "c", "st", "lb", "cg"), _TEXT, strict=True):
        cols[key] = [_text(d.get(name)) for d in data]
    cols["m"] = [[_count(d.get(name)) for name in _METRICS] for d in data]
    cols["s"] = [_rounded(d.get("bot_probability")) for d in data]
    cols["cp"] = [_rounded(d.get("campaign_probability")) for d in data]
    cols["f"] = [int(bool(d.get("is_seed"))) | 2 * int(bool(d.get("expanded"))) for d in data]
    cols["dm"] = [[x for x in (d.get("domains") or ()) if isinstance(x, str)] or None
                  for d in data]
    cols["fi"] = [fan_in[node] for node in order]
    cols["fo"] = [fan_out[node] for node in order]
    return cols


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity (which JSON cannot carry) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _histogram(scores: list[float]) -> list[int]:
    bins = [0] * SCORE_BINS
    for score in scores:
        bins[min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))] += 1
    return bins


def build_payload(
    graph: nx.DiGraph, *, min_score: float, max_nodes: int, title: str, seed: int = 0,
    expand_up_to: int = 2000,
) -> dict[str, Any]:
    """Everything the page shows, as one JSON-ready dict.

    ``expand_up_to``: a graph with at most this many accounts opens expanded; a larger one
    opens as an overview with one dot per cluster (expand a cluster by clicking it).
    """
    selection = select_accounts(graph, min_score=min_score, max_nodes=max_nodes)
    shown = selection.graph
    community = detect_communities(shown, seed=seed)
    groups = group_members(community)
    # Accounts with no follow in view are gathered in one "unconnected" cluster.
    connected = [g for g in groups if len(g) > 1 or shown.degree(g[0]) > 0]
    lonely = [g[0] for g in groups if len(g) == 1 and shown.degree(g[0]) == 0]
    nodes = shown.nodes
    lonely.sort(key=lambda n: -(_score(nodes[n].get("bot_probability")) or -1.0))
    clusters = connected + ([lonely] if lonely else [])
    kinds = ["network"] * len(connected) + (["unconnected"] if lonely else [])

    adjacency: dict[Hashable, list[Hashable]] = {n: [] for n in shown.nodes}
    for a, b in shown.edges():
        if a != b:
            adjacency[a].append(b)
            adjacency[b].append(a)
    placed = layout_clusters(clusters, adjacency, sunflower=[k == "unconnected" for k in kinds])

    order = [node for members in clusters for node in members]
    index = {node: i for i, node in enumerate(order)}
    cols = _columns(shown, order)
    cols["k"] = [k for k, members in enumerate(clusters) for _ in members]
    cols["x"] = [round(placed.positions[n][0], 1) for n in order]
    cols["y"] = [round(placed.positions[n][1], 1) for n in order]
    edges: list[int] = []
    for a, b in shown.edges():
        edges.extend((index[a], index[b]))

    now = parse_time(shown.graph.get("now")) or datetime.now(UTC)
    threshold = _score(shown.graph.get("threshold"))
    threshold = 0.5 if threshold is None else threshold
    summaries = []
    for k, members in enumerate(clusters):
        summary = summarize_cluster((nodes[n] for n in members), now=now, threshold=threshold)
        x, y, r = placed.discs[k]
        summaries.append({
            "name": "Unconnected" if kinds[k] == "unconnected" else f"C{k + 1}",
            "kind": kinds[k], "size": summary.size, "scored": summary.scored,
            "bots": summary.bots, "seeds": summary.seeds,
            "mean": None if summary.mean_score is None else round(summary.mean_score, 4),
            "max": summary.max_score, "age": summary.median_age_years,
            "domains": summary.domains, "examples": summary.examples,
            "years": [[year, count] for year, count in summary.years.items()],
            "x": round(x, 1), "y": round(y, 1), "r": round(r, 1),
        })

    scores = [s for s in cols["s"] if s is not None]
    years = Counter(t.year for t in map(parse_time, cols["c"]) if t is not None)
    states = Counter(s or "not profiled" for s in cols["st"])
    meta = {
        "title": title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "threshold": threshold,
        "model_version": shown.graph.get("model_version"),
        "min_score": min_score,
        "max_nodes": max_nodes,
        "left_out": {"below_min_score": selection.below_min_score,
                     "over_max_nodes": selection.over_max_nodes},
        "totals": {"accounts": len(order), "follows": len(edges) // 2,
                   "clusters": len(clusters), "scored": len(scores),
                   "bots": sum(1 for s in scores if s >= threshold),
                   "seeds": sum(f & 1 for f in cols["f"]), "states": dict(states)},
        "score_bins": _histogram(scores),
        "unscored": len(order) - len(scores),
        "years": sorted(years.items()),
        "coverage": _finite(shown.graph.get("coverage")),
        "review": _finite(shown.graph.get("review")),
        "campaign": _finite(shown.graph.get("campaign")),
        "campaign_name": shown.graph.get("campaign_name"),
        "expand": "all" if len(order) <= expand_up_to else "none",
    }
    return {"meta": meta, "nodes": cols, "edges": edges, "clusters": summaries}
