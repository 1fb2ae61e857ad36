"""Active learning: which accounts should the analyst label next for a campaign?

A label teaches the model most where the model is unsure (campaign probability near 0.5)
and where the account matters (tied by follows to accounts of the campaign: a wrong call
there spreads to the crawl order and the report).  :func:`review_candidates` ranks the
unlabelled, profiled accounts by ``uncertainty × (1 + ln(1 + links))`` and gives, for
each, the reason in words and a ``botsweep label`` command to copy.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, union_all

from botsweep.campaign.features import describe_token
from botsweep.campaign.model import CampaignModel
from botsweep.campaign.store import load_campaign_model, scorer_name
from botsweep.campaign.training import judgements
from botsweep.errors import InputError
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, follows, labels, scores, seeds

__all__ = ["review_candidates", "label_command", "with_config"]

_CHUNK = 2000


def label_command(account_id: int, name: str, label: str = "bot") -> str:
    """The copyable command that labels ``account_id`` for campaign ``name``."""
    return f"botsweep label {account_id} --label {label} --campaign {shlex.quote(name)}"


def with_config(items: list[dict[str, Any]], config: Path | None) -> list[dict[str, Any]]:
    """``items`` (from :func:`review_candidates`) whose commands name the config file the
    crawl used, as an absolute path, so that a command copied elsewhere labels the same
    database; unchanged when no file was named (``./config.yaml`` or none)."""
    if config is None:
        return items
    flag = f"botsweep --config {shlex.quote(str(Path(config).resolve()))} "
    for item in items:
        for key in ("command", "human_command"):
            if isinstance(item.get(key), str) and item[key].startswith("botsweep "):
                item[key] = flag + item[key][len("botsweep "):]
    return items


def _known_members(name: str, threshold: float) -> Any:
    """SELECT account_id of the campaign as known: flagged, or labelled bot in it."""
    return union_all(
        select(scores.c.account_id.label("aid"))
        .where(scores.c.scorer == scorer_name(name), scores.c.probability >= threshold),
        select(seeds.c.account_id.label("aid"))
        .where(seeds.c.label == "bot", seeds.c.campaign == name,
               seeds.c.account_id.is_not(None)),
        select(labels.c.account_id.label("aid"))
        .where(labels.c.label == "bot", labels.c.campaign == name,
               labels.c.account_id.is_not(None)),
    ).subquery()


def _links(conn: Any, ids: Sequence[int], name: str, threshold: float) -> dict[int, int]:
    """For each id, its follows to and from the campaign's known members."""
    known = _known_members(name, threshold)
    out: dict[int, int] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        for mine, other in ((follows.c.follower_id, follows.c.followee_id),
                            (follows.c.followee_id, follows.c.follower_id)):
            query = (select(mine, func.count())
                     .where(mine.in_(chunk), other.in_(select(known.c.aid)))
                     .group_by(mine))
            for aid, n in conn.execute(query):
                out[aid] = out.get(aid, 0) + n
    return out


def _reason(p: float, bot_p: float | None, links: int,
            explained: dict[str, list[tuple[str, float]]]) -> str:
    parts = [f"{'uncertain: ' if 0.2 <= p <= 0.8 else ''}campaign probability {p:.2f}"]
    if bot_p is not None:
        parts[0] += f" (generic bot {bot_p:.2f})"
    if links:
        parts.append(f"follows or is followed by {links} account(s) of the campaign")
    if explained["for"]:
        parts.append("like the campaign: " + ", ".join(describe_token(t)
                                                        for t, _ in explained["for"]))
    if explained["against"]:
        parts.append("unlike it: " + ", ".join(describe_token(t)
                                               for t, _ in explained["against"]))
    return "; ".join(parts)


def review_candidates(db: Database, name: str, n: int = 20, *,
                      model: CampaignModel | None = None, pool: int = 500) -> list[dict[str, Any]]:
    """The ``n`` accounts whose label would teach campaign ``name``'s model most.

    Each item: ``id``, ``username``, ``probability`` (campaign), ``bot_probability``,
    ``links``, ``reason``, ``command`` (label it bot) and ``human_command``.
    """
    if n < 1:
        raise InputError(f"--n {n}: ask for at least 1 account")
    model = model or load_campaign_model(db, name)
    bot = scores.alias("bot")
    camp = scores.alias("camp")
    with db.connect() as conn:
        _, mentioned, _ = judgements(conn, name)
        rows = conn.execute(
            select(camp.c.account_id, camp.c.probability, bot.c.probability.label("bot_p"))
            .join(accounts, accounts.c.id == camp.c.account_id)
            .outerjoin(bot, (bot.c.account_id == camp.c.account_id) & (bot.c.scorer == "bot"))
            .where(camp.c.scorer == scorer_name(name), accounts.c.raw.is_not(None),
                   accounts.c.state.in_(("active", "protected")))
        ).all()
        if not rows:
            raise InputError(f"campaign {name!r}: no account has a campaign score yet; run "
                             f"`botsweep campaign fit --campaign {name}` after a crawl")
        pooled = sorted((r for r in rows if r.account_id not in mentioned),
                        key=lambda r: (abs(r.probability - 0.5), r.account_id))[:pool]
        links = _links(conn, [r.account_id for r in pooled], name, model.threshold)
        ranked = sorted(
            pooled,
            key=lambda r: (-(1.0 - abs(2.0 * r.probability - 1.0))
                           * (1.0 + math.log1p(links.get(r.account_id, 0))), r.account_id),
        )[:n]
        raws = dict(conn.execute(
            select(accounts.c.id, accounts.c.raw)
            .where(accounts.c.id.in_([r.account_id for r in ranked]))).all())
    out = []
    for r in ranked:
        record = json.loads(raws[r.account_id])
        explained = model.explain(record, bot_probability=r.bot_p)
        out.append({
            "id": str(r.account_id),
            "username": record.get("username") or "",
            "probability": round(float(r.probability), 4),
            "bot_probability": None if r.bot_p is None else round(float(r.bot_p), 4),
            "links": links.get(r.account_id, 0),
            "reason": _reason(float(r.probability), r.bot_p, links.get(r.account_id, 0),
                              explained),
            "command": label_command(r.account_id, name, "bot"),
            "human_command": label_command(r.account_id, name, "human"),
        })
    return out
