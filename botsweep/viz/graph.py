"""From the database to a networkx graph: every account, every edge, every score.

``load_graph(db)`` returns a ``DiGraph`` whose edges run follower → followee and whose
nodes (int account ids) carry the attributes the report, the exports and the campaign
model read: profile fields, state, ``bot_probability``, ``campaign_probability``,
``is_seed``, ``label``, ``campaign``, ``expanded`` and the description ``domains``.
Graph attributes give ``coverage``, ``threshold``, ``model_version`` and ``now``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
from sqlalchemy import select

from botsweep.status import coverage, expanded_accounts_query
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, follows, labels, meta, scores, seeds

__all__ = ["load_graph", "NODE_FIELDS", "campaign_scorer_name", "only_campaign"]

NODE_FIELDS = (
    "username", "name", "description", "location", "url", "created_at",
    "followers_count", "following_count", "tweet_count", "listed_count", "like_count",
    "state",
)


def campaign_scorer_name(campaign: str) -> str:
    """The ``scores.scorer`` value under which a campaign model's probabilities are kept."""
    return f"campaign:{campaign}"


def only_campaign(db: Database) -> str | None:
    """The campaign named by seeds or labels when there is exactly one, else None."""
    with db.connect() as conn:
        names = set(conn.execute(select(seeds.c.campaign).distinct()).scalars())
        names |= set(conn.execute(select(labels.c.campaign).distinct()).scalars())
    names.discard("")
    return names.pop() if len(names) == 1 else None


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _domains(raw: str | None) -> list[str]:
    if not raw:
        return []
    from botsweep.models.links import description_domains

    try:
        return description_domains(json.loads(raw))
    except (ValueError, TypeError, AttributeError):
        return []


def load_graph(
    db: Database, *, min_score: float = 0.0, campaign: str | None = None
) -> nx.DiGraph:
    """The crawled graph with node attributes; nodes scored below ``min_score`` are left out
    (unscored nodes and seeds are always kept)."""
    campaign = campaign or only_campaign(db)
    graph = nx.DiGraph()
    with db.connect() as conn:
        bot = dict(conn.execute(
            select(scores.c.account_id, scores.c.probability).where(scores.c.scorer == "bot")
        ).all())
        camp: dict[int, float] = {}
        if campaign:
            camp = dict(conn.execute(
                select(scores.c.account_id, scores.c.probability)
                .where(scores.c.scorer == campaign_scorer_name(campaign))
            ).all())
        seed_info = {
            r.account_id: (r.label, r.campaign)
            for r in conn.execute(select(seeds.c.account_id, seeds.c.label, seeds.c.campaign))
            if r.account_id is not None
        }
        label_info = {
            r.account_id: (r.label, r.campaign)
            for r in conn.execute(select(labels.c.account_id, labels.c.label, labels.c.campaign))
            if r.account_id is not None
        }
        expanded = set(conn.execute(expanded_accounts_query()).scalars())
        columns = [accounts.c.id, accounts.c.raw, accounts.c.fetched_at] + [
            accounts.c[name] for name in NODE_FIELDS
        ]
        newest = 0.0
        excluded: set[int] = set()
        for row in conn.execute(select(*columns)):
            newest = max(newest, row.fetched_at or 0.0)
            probability = bot.get(row.id)
            is_seed = row.id in seed_info
            if probability is not None and probability < min_score and not is_seed:
                excluded.add(row.id)
                continue
            label, camp_name = label_info.get(row.id) or seed_info.get(row.id) or (None, "")
            attrs: dict[str, Any] = {name: getattr(row, name) for name in NODE_FIELDS}
            attrs.update(
                bot_probability=probability,
                campaign_probability=camp.get(row.id),
                is_seed=is_seed,
                label=label,
                campaign=camp_name or None,
                expanded=row.id in expanded,
                domains=_domains(row.raw),
                fetched_at=_iso(row.fetched_at),
            )
            graph.add_node(row.id, **attrs)
        # Accounts found on a page but not yet profiled (or not yet stubs) are bare nodes.
        bare = dict.fromkeys(NODE_FIELDS)
        bare.update(bot_probability=None, campaign_probability=None, is_seed=False,
                    label=None, campaign=None, expanded=False, domains=[], fetched_at=None)
        nodes = graph.nodes
        for b, a in conn.execute(select(follows.c.followee_id, follows.c.follower_id)):
            if a in excluded or b in excluded:
                continue
            for end in (a, b):
                if end not in nodes:
                    graph.add_node(end, **bare)
            graph.add_edge(a, b)
        settings = dict(conn.execute(select(meta.c.key, meta.c.value)).all())
        graph.graph["coverage"] = coverage(conn)
    graph.graph["threshold"] = float(settings.get("bot_threshold", 0.5))
    graph.graph["model_version"] = settings.get("bot_model_version")
    # Ages are measured to the API's clock (the newest fetch), which is world time in a sim.
    graph.graph["now"] = _iso(newest) if newest else _iso(datetime.now(UTC).timestamp())
    graph.graph["campaign_name"] = campaign
    return graph


def load_report_graph(db: Database, campaign: str | None = None,
                      config: Path | None = None) -> nx.DiGraph:
    """``load_graph`` plus what the report's campaign panel and review list show, when the
    campaign has a fitted model (``botsweep campaign fit``); the review's label commands
    name ``config``, the config file the crawl used, when there is one."""
    from botsweep.campaign.report import report_panel
    from botsweep.campaign.review import with_config

    graph = load_graph(db, campaign=campaign)
    graph.graph.update(report_panel(db, graph.graph.get("campaign_name")))
    if graph.graph.get("review"):
        with_config(graph.graph["review"], config)
    return graph
