"""After a lookup: store profiles, score them, and let the policy queue their lists.

:func:`apply_profiles` runs inside the lookup's transaction: it writes the profiles and the
per-account states, stores the bot (and campaign) probabilities, counts each account's
links to known bots, and turns the policy's decisions into frontier rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, and_, func, or_, select, union_all, update

from botsweep.crawler.policy import Candidate, Policy
from botsweep.storage.db import Database
from botsweep.storage.pages import mark_accounts, write_profiles
from botsweep.storage.schema import follows, frontier, scores, seeds
from botsweep.storage.scores import iso_time, record_model, store_scores

__all__ = ["ProbabilityModel", "ScoringContext", "apply_profiles", "skip_unreadable"]


class ProbabilityModel(Protocol):
    """What the crawler needs of a scorer (BotScorer, a campaign model, or a test fake)."""

    version: str
    threshold: float

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray: ...


@dataclass
class ScoringContext:
    """The scorers and the policy a crawl decides with."""

    policy: Policy
    bot: ProbabilityModel
    threshold: float
    campaign: ProbabilityModel | None = None
    campaign_name: str | None = None
    target: str = "bot"

    def target_scorer(self) -> str:
        if self.target == "campaign" and self.campaign is not None:
            return f"campaign:{self.campaign_name}"
        return "bot"


def _bot_links(conn: Connection, ids: Sequence[int], scorer: str, threshold: float) -> dict:
    """For each account, how many of its neighbours are known bots (scored, or bot seeds)."""
    if not ids:
        return {}
    bots = union_all(
        select(scores.c.account_id.label("aid"))
        .where(scores.c.scorer == scorer, scores.c.probability >= threshold),
        select(seeds.c.account_id.label("aid"))
        .where(seeds.c.label == "bot", seeds.c.account_id.is_not(None)),
    ).subquery()
    out_links = (
        select(follows.c.follower_id.label("aid"), func.count().label("n"))
        .where(follows.c.follower_id.in_(ids), follows.c.followee_id.in_(select(bots.c.aid)))
        .group_by(follows.c.follower_id)
    )
    in_links = (
        select(follows.c.followee_id.label("aid"), func.count().label("n"))
        .where(follows.c.followee_id.in_(ids), follows.c.follower_id.in_(select(bots.c.aid)))
        .group_by(follows.c.followee_id)
    )
    links: dict[int, int] = {}
    for query in (out_links, in_links):
        for aid, n in conn.execute(query):
            links[aid] = links.get(aid, 0) + n
    return links


def _queue(conn: Connection, db: Database, decisions: Sequence[Any], smart: bool,
           now: float) -> None:
    rows = [
        {"kind": d.kind, "account_id": d.account_id, "priority": d.priority,
         "enqueued_at": now, "state": "skipped" if d.skip else "pending",
         "last_error": d.skip, "done_at": now if d.skip else None}
        for d in decisions
    ]
    if not rows:
        return
    conn.execute(db.insert_ignore(frontier, ["kind", "account_id"]), rows)
    # Tasks queued before the profile was known (seeds): skip what cannot succeed, and let
    # smart re-rank them.  A list already begun keeps its place.
    for d in decisions:
        condition = and_(
            frontier.c.kind == d.kind, frontier.c.account_id == d.account_id,
            frontier.c.state == "pending", frontier.c.pages == 0,
        )
        if d.skip:
            conn.execute(update(frontier).where(condition).values(
                state="skipped", last_error=d.skip, done_at=now))
        elif smart:
            conn.execute(update(frontier).where(condition).values(priority=d.priority))


def apply_profiles(
    conn: Connection,
    db: Database,
    ctx: ScoringContext,
    users: Sequence[Mapping[str, Any]],
    states: Mapping[int, str],
    fetched_at: float,
) -> dict[str, int]:
    """Store a lookup's results and queue the lists worth reading; return counts."""
    ids = write_profiles(conn, db, users, fetched_at)
    mark_accounts(conn, states, fetched_at)
    for state in ("suspended", "not_found"):
        gone = [aid for aid, s in states.items() if s == state]
        skip_unreadable(conn, gone, f"account {state}", fetched_at)
    if not ids:
        return {"profiled": 0, "likely": 0, "queued": 0}
    records = [dict(u, _fetched_at=iso_time(fetched_at)) for u in users]
    fetched = dict.fromkeys(ids, fetched_at)
    bot_p = dict(zip(ids, (float(p) for p in ctx.bot.predict_proba(records)), strict=True))
    store_scores(conn, db, "bot", ctx.bot.version, bot_p, fetched)
    target_p = bot_p
    if ctx.campaign is not None and ctx.campaign_name:
        camp_p = dict(zip(ids, (float(p) for p in ctx.campaign.predict_proba(records)),
                          strict=True))
        store_scores(conn, db, f"campaign:{ctx.campaign_name}", ctx.campaign.version,
                     camp_p, fetched)
        if ctx.target == "campaign":
            target_p = camp_p
    record_model(conn, db, ctx.bot.version, ctx.threshold)
    target_threshold = ctx.threshold if target_p is bot_p else 0.5
    seed_ids = set(conn.execute(
        select(seeds.c.account_id).where(seeds.c.account_id.in_(ids))
    ).scalars())
    links = _bot_links(conn, ids, ctx.target_scorer(), target_threshold)
    decisions = []
    for user, aid in zip(users, ids, strict=True):
        metrics = user.get("public_metrics") or {}
        candidate = Candidate(
            account_id=aid,
            followers_count=metrics.get("followers_count"),
            following_count=metrics.get("following_count"),
            target_probability=target_p[aid],
            is_seed=aid in seed_ids,
            bot_links=links.get(aid, 0),
            protected=bool(user.get("protected")),
        )
        decisions += ctx.policy.decide(candidate, target_threshold)
    _queue(conn, db, decisions, ctx.policy.name == "smart", fetched_at)
    likely = sum(1 for p in bot_p.values() if p >= ctx.threshold)
    return {"profiled": len(ids), "likely": likely, "queued": len(decisions)}


def skip_unreadable(conn: Connection, account_ids: Sequence[int], reason: str,
                    now: float) -> None:
    """Skip the pending lists of accounts whose state makes them unreadable."""
    if account_ids:
        conn.execute(
            update(frontier)
            .where(frontier.c.account_id.in_(list(account_ids)),
                   frontier.c.kind.in_(("followers", "following")),
                   or_(frontier.c.state == "pending", frontier.c.state == "leased"))
            .values(state="skipped", last_error=reason, done_at=now,
                    lease_owner=None, lease_until=None)
        )
