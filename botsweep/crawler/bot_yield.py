"""The smart policy's bot yield: how many of the new ids each kind of list brought were bots.

``absorb_discovered`` remembers, for every id it sees for the first time, the list that
brought it (``accounts.found_via`` and ``found_direction``), and marks it
``yield_pending``.  When a lookup scores such ids,
:func:`update_bot_yield` looks up the owners, classes their lists with
:meth:`SmartPolicy.yield_key` (direction, size class, owner band), and adds the ids scored
as the hunted kind and the ids scored to that class's running counts (``bot-yield:<class>``
in ``meta``, shared by every worker).  An id counts as hunted by the policy's posterior
(:meth:`SmartPolicy.hunted`: the model's odds times those of its list's share), so that the
few humans a model flags on a list of humans do not make such lists look bot-rich.  The
ids' ``yield_pending`` marks are then cleared, so that no id is counted twice.

:func:`rerank_pending` notes, inside the transaction that scored the ids, when the
estimates the queued, not yet begun lists were ranked with have moved; once it has
committed, :func:`finish_rerank` recomputes their priorities (with :func:`rank_queued`,
which :mod:`botsweep.crawler.retarget` also uses when the target changes), a chunk of
owners per transaction.  Ranking a queue of 38,000 lists takes about 5 s: inside the
page's transaction it held the database's write lock that long, so that heartbeats,
``seed`` and the other workers waited.  Only what a real
crawl sees is used: profiles, scores and the lists read; never the world's labels.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, bindparam, case, select, update

from botsweep.crawler.found_on import list_counts
from botsweep.crawler.policy import DIRECTIONS, Candidate, SmartPolicy
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, meta, scores

if TYPE_CHECKING:
    from botsweep.crawler.decide import ScoringContext

__all__ = ["update_bot_yield", "read_bot_yield", "rerank_pending", "finish_rerank",
           "rank_queued", "YIELD_PREFIX"]

YIELD_PREFIX = "bot-yield:"
_CHUNK = 500
_RERANK_BY = 0.10  # rerank queued lists when an estimate moved by more than this
_RANK_OWNERS = 2_000  # owners ranked per transaction by finish_rerank (~0.3 s)


def _chunks(items: Sequence[int]) -> list[list[int]]:
    return [list(items[i:i + _CHUNK]) for i in range(0, len(items), _CHUNK)]


def read_bot_yield(conn: Connection,
                   prefix: str = YIELD_PREFIX) -> dict[str, tuple[float, float]]:
    """``{yield key: (hunted ids, ids scored)}`` counted since the crawl began (``prefix``:
    the target's, from ``ScoringContext.yield_prefix``)."""
    out: dict[str, tuple[float, float]] = {}
    for key, value in conn.execute(
            select(meta.c.key, meta.c.value).where(meta.c.key.like(prefix + "%"))):
        parts = str(value).split()
        if len(parts) == 2:
            out[str(key)[len(prefix):]] = (float(parts[0]), float(parts[1]))
    return out


def _target_probabilities(conn: Connection, scorer: str,
                          ids: Sequence[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for chunk in _chunks(ids):
        out.update(conn.execute(
            select(scores.c.account_id, scores.c.probability)
            .where(scores.c.scorer == scorer, scores.c.account_id.in_(chunk))).all())
    return out


def update_bot_yield(conn: Connection, db: Database, ctx: ScoringContext,
                     target_p: Mapping[int, float],
                     found: Mapping[int, tuple[int, int] | None] | None = None) -> list[int]:
    """Count the newly scored ids against the kind of list that brought them.

    ``found``: the ids' :attr:`Candidate.found_on` counts when the caller has them already
    (else they are read with :func:`~botsweep.crawler.found_on.list_counts`).  Returns the
    owners of the lists whose ids were counted (for the smart policy)."""
    from botsweep.crawler.decide import _candidates

    policy = ctx.policy
    if not target_p:
        return []
    ids = sorted(target_p)
    sources: dict[int, tuple[int, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        # Clearing the marks and reading them is one statement: of two workers scoring the
        # same ids, only one gets them back (the other's UPDATE finds them cleared).
        claimed = conn.execute(
            update(accounts)
            .where(accounts.c.id.in_(ids[start:start + _CHUNK]), accounts.c.yield_pending)
            .values(yield_pending=False)
            .returning(accounts.c.id, accounts.c.found_via, accounts.c.found_direction))
        for aid, via, direction in claimed:
            if via is not None and direction is not None:
                sources[int(aid)] = (int(via), str(direction))
    if not sources or not isinstance(policy, SmartPolicy):
        return []
    if not policy.bot_yield:  # a resumed crawl, or another worker's counts
        policy.bot_yield.update(read_bot_yield(conn, ctx.yield_prefix()))
    owners = sorted({via for via, _ in sources.values()})
    owner_p = _target_probabilities(conn, ctx.target_scorer(), owners)
    threshold = ctx.target_threshold()
    # A kind of list (yield_key) depends on the owner's band and shape, not on its mates.
    by_owner = {c.account_id: c for c in _candidates(conn, owners, owner_p, ctx, mates=False)}
    counts: dict[str, list[float]] = {}
    # An id counts as hunted by the policy's posterior, not the model alone: the few humans
    # the model flags on a list of humans would otherwise make such lists look 3-5% bots.
    if found is None:
        found = list_counts(conn, sources, ctx.target_scorer(), threshold, target_p)
    hunted = {aid: policy.hunted(Candidate(aid, None, None, target_p[aid],
                                           found_on=found.get(aid)))
              for aid in sources}
    for aid, (via, direction) in sources.items():
        owner = by_owner.get(via)
        if owner is None:
            continue
        key = policy.yield_key(owner, direction, threshold)
        tally = counts.setdefault(key, [0.0, 0.0])
        tally[0] += 1.0 if hunted[aid] >= threshold else 0.0
        tally[1] += 1.0
    if not counts:
        return owners
    old = read_bot_yield(conn, ctx.yield_prefix())
    rows = []
    for key, (bots, scored) in counts.items():
        was = old.get(key, (0.0, 0.0))
        total = (was[0] + bots, was[1] + scored)
        policy.bot_yield[key] = total
        rows.append({"key": ctx.yield_prefix() + key, "value": f"{total[0]:.0f} {total[1]:.0f}"})
    conn.execute(db.upsert(meta, ["key"], ["value"]), rows)
    return owners


def _estimates(policy: SmartPolicy) -> dict[str, float]:
    return {k: (b + 1.0) / (n + 2.0) for k, (b, n) in policy.bot_yield.items()}


def rerank_pending(conn: Connection, ctx: ScoringContext, applied: dict[str, float]) -> bool:
    """Note that the queued lists' priorities are due again (``ctx.rerank_due``; see
    :func:`finish_rerank`) if a bot yield moved since ``applied``.

    (Novelty moves are applied by scaling, in :func:`~botsweep.crawler.decide.update_novelty`.)

    ``applied`` holds the estimates the queue was last ranked with; it is updated in place.
    Returns whether the queue is to be reranked.
    """
    policy = ctx.policy
    if not isinstance(policy, SmartPolicy):
        return False
    now = _estimates(policy)
    moved = any(abs(value / applied.get(key, 1.0) - 1.0) > _RERANK_BY
                for key, value in now.items())
    if not moved:
        return False
    applied.clear()
    applied.update(now)
    ctx.rerank_due = True
    return True


def finish_rerank(db: Database, ctx: ScoringContext, stop: threading.Event) -> int:
    """Rank every queued, not begun list again if :func:`rerank_pending` found it due, by
    the estimates as they are now; ``_RANK_OWNERS`` owners per transaction, so that no
    transaction holds the write lock for long.  Returns how many lists were given a
    priority.  Stopped part-way, the next scored page ranks the whole queue again."""
    if not ctx.rerank_due:
        return 0
    ctx.rerank_due = False
    given, finished = 0, False
    try:
        with db.connect() as conn:
            owners = _queued_owners(conn)
        for start in range(0, len(owners), _RANK_OWNERS):
            if stop.is_set():
                return given
            with db.begin() as conn:
                given += rank_queued(conn, ctx, sink_unwanted=False, unprofiled_seeds=True,
                                     only=owners[start:start + _RANK_OWNERS])
        finished = True
    finally:
        if not finished:  # stopped or failed part-way
            ctx.ranked_with.clear()  # the next scored page finds every estimate moved
    return given


def _queued_owners(conn: Connection) -> list[int]:
    """The owners of the pending, not begun followers/following lists."""
    return list(conn.execute(
        select(frontier.c.account_id).distinct()
        .where(frontier.c.kind.in_(DIRECTIONS),
               frontier.c.state == "pending", frontier.c.pages == 0,
               frontier.c.account_id.is_not(None))).scalars())


def rank_queued(conn: Connection, ctx: ScoringContext, *, sink_unwanted: bool,
                unprofiled_seeds: bool, only: Sequence[int] | None = None,
                lower_only: bool = False) -> int:
    """Give every pending, not begun followers/following list the priority the policy
    gives it now, from its owner's hunted probability; return how many rows were given.

    ``sink_unwanted``: a list the policy no longer wants goes to priority 0 (else it keeps
    its priority).  ``unprofiled_seeds``: seeds not scored yet are ranked too (else they keep
    the place they were queued with).  Accounts that are neither profiled nor seeds keep it.
    ``only``: rank these accounts' lists alone.  ``lower_only``: a list only moves down.
    """
    from botsweep.crawler.decide import _candidates

    policy = ctx.policy
    if only is not None and not only:
        return 0
    ids = list(only) if only is not None else _queued_owners(conn)
    target_p = _target_probabilities(conn, ctx.target_scorer(), ids)
    threshold = ctx.target_threshold()
    ranked = []
    for chunk in _chunks(ids):
        for candidate in _candidates(conn, chunk, target_p, ctx):
            if candidate.account_id not in target_p and not (
                    unprofiled_seeds and candidate.is_seed):
                continue  # not profiled yet: keeps the place it was queued with
            wanted = {d.kind: d.priority for d in policy.decide(candidate, threshold)
                      if d.skip is None}
            kinds = DIRECTIONS if sink_unwanted else tuple(wanted)
            ranked += [{"k": kind, "a": candidate.account_id, "p": wanted.get(kind, 0.0)}
                       for kind in kinds]
    if ranked:
        given = bindparam("p")
        if lower_only:
            given = case((frontier.c.priority > bindparam("p"), bindparam("p")),
                         else_=frontier.c.priority)
        conn.execute(update(frontier).where(and_(
            frontier.c.kind == bindparam("k"), frontier.c.account_id == bindparam("a"),
            frontier.c.state == "pending", frontier.c.pages == 0,
        )).values(priority=given), ranked)
    return len(ranked)
