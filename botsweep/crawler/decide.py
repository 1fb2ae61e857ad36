"""After a lookup: store profiles, score them, and let the policy queue their lists.

:func:`apply_profiles` runs inside the lookup's transaction: it writes the profiles and the
per-account states, stores the bot (and campaign) probabilities, counts each account's
links to known bots, and turns the policy's decisions into frontier rows.

:func:`update_novelty` keeps the smart policy's diminishing-returns estimate: for each list
direction and page size class, the recent share of ids on such pages that were new,
weighted so that each page read counts ``NOVELTY_WEIGHT`` against the past; it is stored in
``meta`` so that every worker sees the same value.  When a class's value moves by more than
10% from the one its queued lists were ranked with, their priorities are scaled to match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, and_, bindparam, case, or_, select, update

from botsweep.crawler.bot_yield import (
    YIELD_PREFIX,
    rank_queued,
    rerank_pending,
    update_bot_yield,
)
from botsweep.crawler.found_on import list_counts
from botsweep.crawler.list_mates import mate_yields, mates_of
from botsweep.crawler.policy import Candidate, Policy, SmartPolicy
from botsweep.storage.db import Database
from botsweep.storage.pages import mark_accounts, read_novelty, write_profiles
from botsweep.storage.schema import accounts, frontier, meta, scores, seeds
from botsweep.storage.scores import iso_time, record_model, store_scores

__all__ = [
    "ProbabilityModel", "ScoringContext", "apply_profiles", "reconsider", "rerank_mates",
    "skip_unreadable", "update_novelty", "NOVELTY_WEIGHT",
]

NOVELTY_WEIGHT = 0.4  # weight of each newly read page in the running share of new ids
_NOVELTY_FLOOR = 0.02  # a class never drops to 0, so that it can come back
_RERANK_BY = 0.10  # rescale queued lists when their class moves by more than this


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
    ranked_with: dict[str, float] = field(default_factory=dict)  # bot yields the queue used
    rerank_due: bool = False  # the queue is to be ranked again once this transaction ends
    campaign_wanted: str | None = None  # crawler.campaign, taken up once it is fitted
    checked_at: float | None = None  # when the campaign model was last looked for

    def hunts_campaign(self) -> bool:
        return self.target == "campaign" and self.campaign is not None

    def target_scorer(self) -> str:
        return f"campaign:{self.campaign_name}" if self.hunts_campaign() else "bot"

    def target_threshold(self) -> float:
        if self.hunts_campaign():
            assert self.campaign is not None
            return float(self.campaign.threshold)
        return self.threshold

    def yield_prefix(self) -> str:
        """The ``meta`` prefix of the smart policy's bot yields: each target counts its own
        hunted share (a campaign's share is not the share of bots)."""
        if not self.hunts_campaign():
            return YIELD_PREFIX
        digest = hashlib.sha1(str(self.campaign_name).encode("utf-8")).hexdigest()[:8]
        return f"bot-yield@{digest}:"

    def refresh(self, db: Database, now: float, *, force: bool = False,
                worker: str | None = None) -> bool:
        """Take up a refitted campaign model, and rank the queue for the current target
        when it was ranked for another, unless another live worker hunts that other
        target (see :mod:`botsweep.crawler.retarget`)."""
        from botsweep.crawler.retarget import refresh

        return refresh(db, self, now, force=force, worker=worker)


def _candidates(
    conn: Connection, ids: Sequence[int], target_p: Mapping[int, float],
    ctx: ScoringContext | None = None, *, mates: bool = True,
) -> list[Candidate]:
    """Candidates for accounts already stored: metrics, seed flag and bot links from the DB,
    and (given ``ctx``, for the smart policy) the counts of the list that first brought each
    (:mod:`botsweep.crawler.found_on`) and, unless ``mates`` is False, what their list-mates'
    lists brought (:mod:`botsweep.crawler.list_mates`; only deciding on lists needs it)."""
    seed_ids = set(conn.execute(
        select(seeds.c.account_id).where(seeds.c.account_id.in_(list(ids)))
    ).scalars())
    rows = conn.execute(
        select(accounts.c.id, accounts.c.followers_count, accounts.c.following_count,
               accounts.c.protected, accounts.c.bot_links, accounts.c.found_via,
               accounts.c.found_direction).where(accounts.c.id.in_(list(ids)))
    ).all()
    found: dict[int, tuple[int, int]] = {}
    rates: dict[int, dict[str, tuple[float, float]]] = {}
    if ctx is not None and isinstance(ctx.policy, SmartPolicy):
        sources = {row.id: (int(row.found_via), str(row.found_direction)) for row in rows
                   if row.found_via is not None and row.found_direction is not None}
        found = list_counts(conn, sources, ctx.target_scorer(), ctx.target_threshold(),
                            target_p)
        if mates:
            rates = mate_yields(conn, sources, ctx.target_scorer(), ctx.target_threshold())
    return [
        Candidate(
            account_id=row.id,
            followers_count=row.followers_count,
            following_count=row.following_count,
            target_probability=target_p.get(row.id, 0.0),
            is_seed=row.id in seed_ids,
            bot_links=row.bot_links or 0,
            protected=bool(row.protected),
            found_on=found.get(row.id),
            mates=tuple((kind, bots, read)
                        for kind, (bots, read) in sorted(rates.get(row.id, {}).items())),
        )
        for row in rows
    ]


def _class_bounds(size_class: int, page_size: int) -> tuple[int, int]:
    low = 0 if size_class == 0 else 4 ** size_class
    high = page_size if size_class >= 5 else 4 ** (size_class + 1) - 1
    return low, high


def _rerank(conn: Connection, key: str, factor: float, page_size: int) -> None:
    """Scale the priorities of queued lists of ``key``'s direction and size class."""
    _, direction, size_class = key.split(":")
    if direction not in ("followers", "following"):
        return
    count = accounts.c.followers_count if direction == "followers" else accounts.c.following_count
    per_request = case((count.is_(None), page_size), (count > page_size, page_size),
                       (count < 1, 1), else_=count)
    low, high = _class_bounds(int(size_class), page_size)
    conn.execute(
        update(frontier)
        .where(frontier.c.kind == direction, frontier.c.state == "pending",
               frontier.c.account_id.in_(
                   select(accounts.c.id).where(per_request >= low, per_request <= high)))
        .values(priority=frontier.c.priority * factor)
    )


def _novelty_state(conn: Connection, db: Database) -> dict[str, list[float]]:
    query = select(meta.c.key, meta.c.value).where(meta.c.key.like("novelty-ema:%"))
    if not db.is_sqlite:
        query = query.with_for_update()
    state = {}
    for key, value in conn.execute(query):
        parts = str(value).split()
        if len(parts) == 6:
            state["novelty:" + str(key).split(":", 1)[1]] = [float(x) for x in parts]
    return state


def update_novelty(conn: Connection, db: Database, ctx: ScoringContext) -> None:
    """Fold newly read pages into the smart policy's novelty; rescale queued lists.

    Novelty of a (direction, size class) is the recent share of new ids on such pages:
    sums of new ids and of ids that decay by ``1 - NOVELTY_WEIGHT`` per page read.  Queued
    lists are rescaled when their class moves by more than ``_RERANK_BY``.
    """
    policy = ctx.policy
    if not isinstance(policy, SmartPolicy):
        return
    state = _novelty_state(conn, db)
    rows = []
    for key, (new, total, pages) in read_novelty(conn).items():
        fresh, ids, seen_new, seen_total, seen_pages, applied = state.get(
            key, [0.0, 0.0, 0, 0, 0, 1.0])
        d_pages = pages - int(seen_pages)
        if d_pages > 0:
            keep = (1.0 - NOVELTY_WEIGHT) ** d_pages
            fresh = fresh * keep + (new - int(seen_new))
            ids = ids * keep + (total - int(seen_total))
        value = 1.0 if ids <= 0 else max(_NOVELTY_FLOOR, min(1.0, fresh / ids))
        policy.novelty[key] = value
        if d_pages <= 0:
            continue
        if abs(value / applied - 1.0) > _RERANK_BY:
            _rerank(conn, key, value / applied, policy.page_size)
            applied = value
        rows.append({"key": "novelty-ema:" + key.split(":", 1)[1],
                     "value": f"{fresh:.4f} {ids:.4f} {new} {total} {pages} {applied:.6f}"})
    if rows:
        conn.execute(db.upsert(meta, ["key"], ["value"]), rows)


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
    # smart re-rank them.  A list already begun keeps its place.  One executemany each.
    condition = and_(
        frontier.c.kind == bindparam("k"), frontier.c.account_id == bindparam("a"),
        frontier.c.state == "pending", frontier.c.pages == 0,
    )
    skipped = [{"k": d.kind, "a": d.account_id, "why": d.skip} for d in decisions if d.skip]
    if skipped:
        conn.execute(update(frontier).where(condition).values(
            state="skipped", last_error=bindparam("why"), done_at=now), skipped)
    if smart:
        ranked = [{"k": d.kind, "a": d.account_id, "p": d.priority}
                  for d in decisions if not d.skip]
        if ranked:
            conn.execute(update(frontier).where(condition).values(priority=bindparam("p")),
                         ranked)


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
    update_novelty(conn, db, ctx)
    # Read once: the list counts serve both the bot yield and the decisions.
    candidates = _candidates(conn, ids, target_p, ctx)
    owners = update_bot_yield(conn, db, ctx, target_p,
                              {c.account_id: c.found_on for c in candidates})
    if not rerank_pending(conn, ctx, ctx.ranked_with):
        rerank_mates(conn, ctx, owners)
    target_threshold = ctx.target_threshold()
    decisions = [d for c in candidates for d in ctx.policy.decide(c, target_threshold)]
    _queue(conn, db, decisions, ctx.policy.name == "smart", fetched_at)
    likely = sum(1 for p in bot_p.values() if p >= ctx.threshold)
    return {"profiled": len(ids), "likely": likely, "queued": len(decisions)}


def rerank_mates(conn: Connection, ctx: ScoringContext, owners: Sequence[int]) -> int:
    """Rank again the queued, not begun lists of the accounts found on the same list as
    ``owners``, whose lists have just been read or their ids scored (smart policy only)."""
    if not owners or not isinstance(ctx.policy, SmartPolicy):
        return 0
    return rank_queued(conn, ctx, sink_unwanted=False, unprofiled_seeds=False,
                       only=mates_of(conn, owners), lower_only=True)


def reconsider(
    conn: Connection, db: Database, ctx: ScoringContext, ids: Sequence[int], now: float
) -> int:
    """Let the policy look again at profiled accounts found on more expanded lists.

    Only accounts with no list queued yet are considered; returns how many lists were queued.
    """
    if not ids:
        return 0
    update_novelty(conn, db, ctx)
    queued = select(frontier.c.account_id).where(
        frontier.c.kind.in_(("followers", "following")),
        frontier.c.account_id.in_(list(ids)))
    open_ids = list(conn.execute(
        select(accounts.c.id).where(
            accounts.c.id.in_(list(ids)), accounts.c.fetched_at.is_not(None),
            accounts.c.state.in_(("active", "protected")), accounts.c.id.not_in(queued))
    ).scalars())
    if not open_ids:
        return 0
    scorer = ctx.target_scorer()
    target_p = dict(conn.execute(
        select(scores.c.account_id, scores.c.probability)
        .where(scores.c.scorer == scorer, scores.c.account_id.in_(open_ids))
    ).all())
    decisions = [
        d for c in _candidates(conn, open_ids, target_p, ctx)
        for d in ctx.policy.decide(c, ctx.target_threshold())
    ]
    _queue(conn, db, decisions, ctx.policy.name == "smart", now)
    return sum(1 for d in decisions if d.skip is None)


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
