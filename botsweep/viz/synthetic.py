"""A synthetic follow graph shaped like Patel's pronbot "flowers", for tests and benchmarks.

:func:`flower_graph` returns a ``networkx.DiGraph`` with exactly ``n_nodes`` accounts and
``n_edges`` follows, carrying the node and graph attributes that
:func:`botsweep.viz.graph.load_graph` produces.  Its shape follows what DESIGN.md records
about real bot networks: a few dozen flowers, each with one to three hub bots that follow
many leaf bots (leaves follow nobody), created 2010–2014, with a link in the description;
around them many small human trees and isolated accounts that were discovered but not yet
profiled.  Ids are 19-digit integers, as on X.

With ``xss=True`` a few accounts carry script-injection payloads in their name,
description, location, url and domains; their usernames are in :data:`XSS_USERNAMES`.
"""

from __future__ import annotations

import math
import random
from typing import Any

import networkx as nx

__all__ = ["flower_graph", "XSS_USERNAMES", "XSS_PAYLOADS"]

XSS_USERNAMES = ("xss_probe", "xss_lonely")
XSS_PAYLOADS = {
    "name": '<img src=x onerror="window.__xss=1">',
    "description": '<script>window.__xss=2</script> "><img src=x onerror=window.__xss=3> href',
    "location": '"><svg onload=window.__xss=4>',
    "url": "javascript:window.__xss=5",
    "domain": "<b>evil</b>.example",
}

_NOW = "2018-06-01T00:00:00.000Z"
_BOT_DOMAINS = ("meetlocal.example", "flirtzone.example", "hotdates.example", "lovecam.example",
                "singles4u.example", "chatnow.example", "datehub.example", "kissme.example")
_HUMAN_DOMAINS = ("github.com", "medium.com", "linkedin.com", "instagram.com", "example.org")
_WORDS = ("coffee", "music", "dad", "runner", "news", "photos", "travel", "code", "books",
          "football", "art", "science", "teacher", "cats", "food", "film")


def _split(total: int, parts: int, rng: random.Random, sigma: float) -> list[int]:
    """Split ``total`` into ``parts`` positive integers with log-normal weights."""
    if parts <= 0:
        return []
    weights = [rng.lognormvariate(0.0, sigma) for _ in range(parts)]
    scale = (total - parts) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):
        sizes[i % parts] += 1
    return sizes


def _time(rng: random.Random, first_year: int, last_year: int) -> str:
    year = rng.randint(first_year, last_year)
    month, day, hour = rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23)
    return f"{year}-{month:02d}-{day:02d}T{hour:02d}:00:00.000Z"


def _bot(rng: random.Random, flower: int, domain: str, hub: bool) -> dict[str, Any]:
    stem = rng.choice(("kitty", "honey", "angel", "sweet", "lady"))
    handle = f"{stem}_{rng.randrange(10**6):06d}"
    return {
        "username": handle,
        "name": rng.choice(("Ashley", "Jessica", "Amber", "Tiffany", "Brittany")) + " ♥",
        "description": f"Want to chat? 18+ https://{domain}/{rng.randrange(10**4)}",
        "location": rng.choice(("", "USA", "Las Vegas", "Miami")),
        "url": "",
        "created_at": _time(rng, 2010, 2014) if rng.random() < 0.85 else _time(rng, 2015, 2017),
        "followers_count": int(rng.lognormvariate(3.0, 0.8)),
        "following_count": 0,
        "tweet_count": int(rng.lognormvariate(3.8, 0.7)),
        "listed_count": 0,
        "like_count": int(rng.lognormvariate(1.0, 1.0)),
        "state": "active",
        "bot_probability": round(min(0.999, max(0.05, rng.betavariate(8, 1.6))), 4),
        "campaign_probability": round(rng.betavariate(9, 1.5), 4),
        "is_seed": False,
        "label": None,
        "campaign": f"flower-{flower}",
        "expanded": hub,
        "domains": [domain],
        "fetched_at": _NOW,
    }


def _human(rng: random.Random) -> dict[str, Any]:
    domain = rng.choice(_HUMAN_DOMAINS) if rng.random() < 0.3 else None
    words = " ".join(rng.sample(_WORDS, 3))
    return {
        "username": f"{rng.choice(_WORDS)}{rng.choice(_WORDS)}{rng.randrange(10**4)}",
        "name": f"{rng.choice(('Sam', 'Alex', 'Maria', 'Wei', 'Priya', 'Tom'))} "
                f"{rng.choice(('Lee', 'Garcia', 'Smith', 'Khan', 'Müller', 'Ó Briain'))}",
        "description": words + (f" https://{domain}/me" if domain else ""),
        "location": rng.choice(("", "London", "São Paulo", "Berlin", "Lagos", "東京")),
        "url": f"https://{domain}/me" if domain else "",
        "created_at": _time(rng, 2007, 2018),
        "followers_count": int(rng.lognormvariate(5.0, 1.5)),
        "following_count": int(rng.lognormvariate(5.0, 1.0)),
        "tweet_count": int(rng.lognormvariate(7.0, 1.5)),
        "listed_count": int(rng.lognormvariate(1.0, 1.0)),
        "like_count": int(rng.lognormvariate(6.0, 1.5)),
        "state": rng.choices(("active", "protected", "suspended"), (0.93, 0.05, 0.02))[0],
        "bot_probability": round(min(0.99, rng.betavariate(1.3, 9)), 4),
        "campaign_probability": round(rng.betavariate(1, 20), 4),
        "is_seed": False,
        "label": None,
        "campaign": None,
        "expanded": False,
        "domains": [domain] if domain else [],
        "fetched_at": _NOW,
    }


def _stub() -> dict[str, Any]:
    attrs: dict[str, Any] = dict.fromkeys(
        ("username", "name", "description", "location", "url", "created_at", "followers_count",
         "following_count", "tweet_count", "listed_count", "like_count", "state",
         "bot_probability", "campaign_probability", "label", "campaign", "fetched_at"))
    attrs.update(is_seed=False, expanded=False, domains=[])
    return attrs


def flower_graph(
    n_nodes: int = 22_000, n_edges: int = 20_000, seed: int = 0, *, xss: bool = False
) -> nx.DiGraph:
    """A reproducible flower-shaped follow graph (edges follower → followee)."""
    if n_nodes < 1 or n_edges < 0 or n_edges > n_nodes * (n_nodes - 1):
        raise ValueError(f"cannot make {n_edges} edges on {n_nodes} nodes")
    rng = random.Random(seed)
    ids = rng.sample(range(10**18, 9 * 10**18), n_nodes)
    components = n_nodes - n_edges if n_edges < n_nodes else max(1, n_nodes // 50)
    flowers = max(1, min(components, round(components * 0.02)))
    flower_nodes = max(flowers, min(n_nodes - (components - flowers), int(n_nodes * 0.65)))
    sizes = _split(flower_nodes, flowers, rng, 1.0)
    sizes += _split(n_nodes - flower_nodes, components - flowers, rng, 1.6)

    graph = nx.DiGraph()
    edges: list[tuple[int, int]] = []
    cursor = 0
    for index, size in enumerate(sizes):
        members = ids[cursor:cursor + size]
        cursor += size
        if index < flowers:
            domain = _BOT_DOMAINS[index % len(_BOT_DOMAINS)]
            n_hubs = 1 if size < 40 else min(3, 1 + size // 300)
            for j, node in enumerate(members):
                graph.add_node(node, **_bot(rng, index, domain, hub=j < n_hubs))
            graph.nodes[members[0]].update(is_seed=index % 4 == 0, label="bot")
            for j, hub in enumerate(members[1:n_hubs], start=1):
                edges.append((hub, members[0]) if j % 2 else (members[0], hub))
            for j, leaf in enumerate(members[n_hubs:]):
                edges.append((members[j % n_hubs], leaf))
                graph.nodes[members[j % n_hubs]]["following_count"] += 1
            for node in members:
                if rng.random() < 0.05:
                    graph.nodes[node].update(_stub())
                elif rng.random() < 0.03:
                    graph.nodes[node]["state"] = "suspended"
        else:
            for j, node in enumerate(members):
                graph.add_node(node, **(_human(rng) if size > 1 or rng.random() < 0.3 else _stub()))
                if j:
                    parent = members[rng.randrange(j)]
                    edges.append((node, parent) if rng.random() < 0.7 else (parent, node))
            if size > 5 and rng.random() < 0.3:
                graph.nodes[members[0]].update(is_seed=True, label="human", expanded=True)
    graph.add_edges_from(edges)
    guard = 0
    while graph.number_of_edges() < n_edges and guard < 50 * n_edges + 100:
        guard += 1
        a, b = rng.choice(ids), rng.choice(ids)
        if a != b and not graph.has_edge(b, a):
            graph.add_edge(a, b)
    if xss:
        _plant_xss(graph, ids[0], ids[-1])
    _graph_attributes(graph, rng, flowers)
    return graph


def _plant_xss(graph: nx.DiGraph, in_flower: int, lonely: int) -> None:
    for node, username in zip((in_flower, lonely), XSS_USERNAMES, strict=True):
        graph.nodes[node].update(
            username=username, name=XSS_PAYLOADS["name"],
            description=XSS_PAYLOADS["description"], location=XSS_PAYLOADS["location"],
            url=XSS_PAYLOADS["url"], domains=[XSS_PAYLOADS["domain"]],
            created_at="2012-05-05T00:00:00.000Z", state="active", bot_probability=0.97,
        )


def _graph_attributes(graph: nx.DiGraph, rng: random.Random, flowers: int) -> None:
    profiled = sum(1 for _, d in graph.nodes(data=True) if d.get("username"))
    expanded = sum(1 for _, d in graph.nodes(data=True) if d.get("expanded"))
    discovered = graph.number_of_nodes()
    pending = max(0, discovered // 10 - expanded)
    graph.graph.update(
        coverage={"discovered": discovered, "profiled": profiled, "expanded": expanded,
                  "frontier_pending": pending,
                  "ratio": round(expanded / max(1, expanded + pending), 4)},
        threshold=0.5,
        model_version="synthetic-0",
        now=_NOW,
    )
    hubs = sorted(
        (n for n, d in graph.nodes(data=True) if d.get("expanded") and d.get("campaign")
         and not d.get("is_seed") and d.get("username")),
        key=lambda n: -graph.out_degree(n),
    )[:5]
    graph.graph["review"] = [
        {"id": str(n), "username": graph.nodes[n]["username"],
         "reason": f"hub following {graph.out_degree(n)} likely bots",
         "command": f"echo '@{graph.nodes[n]['username']},bot' >> labels.csv && "
                    "botsweep label --file labels.csv"}
        for n in hubs
    ]
    shares = [(d, round(rng.uniform(0.05, 0.3), 3), round(rng.uniform(0, 0.01), 4))
              for d in _BOT_DOMAINS[:min(flowers, 3)]]
    graph.graph["campaign"] = {
        "name": "flower-0", "flagged": sum(1 for _, d in graph.nodes(data=True)
                                           if (d.get("campaign_probability") or 0) >= 0.5),
        "precision": 0.93, "top_domains": shares, "top_phrases": ["want to chat", "18+"],
        "years": {str(y): int(1000 * math.exp(-abs(y - 2012) / 2)) for y in range(2009, 2018)},
    }
