"""What ``botsweep status`` shows: seeds, accounts by state, edges, frontier, requests, jobs.

``collect_status(db)`` returns a plain dict (the ``--json`` output); ``coverage`` is
expanded ÷ discovered, where an account is *expanded* when every list queued for it is
done (read to its end or its cap, or skipped because its count was 0; a list the policy
chose not to read leaves the account unexpanded) and its lists could be read at all:
protected, suspended, deleted and not-found accounts are never expanded, and only accounts
that returned a profile count as *profiled*.  Each seed shows what became of it
(``active``, ``not_found`` ..., or ``pending`` until looked up).
``daemons`` are the daemons running now (heard from lately, between ticks too: see
:func:`~botsweep.daemon_jobs.live_daemons`), each with its next crawl tick; each row of
``jobs`` says whether its worker's daemon is running (``daemon_running``), since a daemon
that died without its clean-up leaves its last schedule behind.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from botsweep.storage.db import Database
from botsweep.storage.pages import pending_discovered_ids
from botsweep.storage.schema import (
    GONE_STATES,
    accounts,
    api_calls,
    follows,
    frontier,
    jobs,
    labels,
    meta,
    scores,
    seeds,
)
from botsweep.storage.scores import stored_threshold

__all__ = ["collect_status", "expanded_accounts_query", "coverage", "check_health"]


# States whose lists cannot be read: the gone ones, and protected accounts.
UNREADABLE = ("protected", *GONE_STATES)


def expanded_accounts_query() -> Any:
    """SELECT account_id of every account whose queued lists are all read: done, or skipped
    because the list was empty.  A list the policy chose not to read (a likely human's list
    too long to read) leaves its account unexpanded, so coverage is not overstated."""
    lists = frontier.c.kind.in_(("followers", "following"))
    empty = or_(and_(frontier.c.kind == "followers", accounts.c.followers_count == 0),
                and_(frontier.c.kind == "following", accounts.c.following_count == 0))
    read = or_(frontier.c.state == "done", and_(frontier.c.state == "skipped", empty))
    unread = func.sum(case((read, 0), else_=1))
    return (
        select(frontier.c.account_id)
        .select_from(frontier.join(accounts, accounts.c.id == frontier.c.account_id))
        .where(lists, or_(accounts.c.state.is_(None), accounts.c.state.not_in(UNREADABLE)))
        .group_by(frontier.c.account_id)
        .having(unread == 0)
    )


def coverage(conn: Connection) -> dict[str, Any]:
    """Discovered, profiled and expanded accounts, and expanded ÷ discovered."""
    discovered = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    waiting = pending_discovered_ids(conn)  # found on a page, not yet a stub account
    if waiting:
        ordered = sorted(waiting)
        known = 0
        for start in range(0, len(ordered), 5000):
            chunk = ordered[start:start + 5000]
            known += conn.execute(select(func.count()).select_from(accounts)
                                  .where(accounts.c.id.in_(chunk))).scalar_one()
        discovered += len(waiting) - known
    profiled = conn.execute(
        select(func.count()).select_from(accounts).where(
            accounts.c.fetched_at.is_not(None),
            or_(accounts.c.state.is_(None), accounts.c.state.not_in(GONE_STATES)))
    ).scalar_one()
    expanded = conn.execute(
        select(func.count()).select_from(expanded_accounts_query().subquery())
    ).scalar_one()
    pending = conn.execute(
        select(func.count()).select_from(frontier)
        .where(frontier.c.state.in_(("pending", "leased")))
    ).scalar_one()
    return {
        "discovered": discovered,
        "profiled": profiled,
        "expanded": expanded,
        "frontier_pending": pending,
        "ratio": round(expanded / discovered, 4) if discovered else 0.0,
    }


def _grouped(conn: Connection, *columns: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(select(*columns, func.count()).group_by(*columns))]


def _later_labels(conn: Connection) -> dict[tuple[str, str], str]:
    """The label each account has now, by (account key or id, campaign), from ``label``."""
    out: dict[tuple[str, str], str] = {}
    for key, aid, campaign, label in conn.execute(
            select(labels.c.account_key, labels.c.account_id, labels.c.campaign, labels.c.label)
            .order_by(labels.c.added_at)):
        for name in (key, None if aid is None else str(aid)):
            if name is not None:
                out[(str(name), campaign or "")] = str(label)
    return out


def _seed_items(rows: Any, unresolved: dict[str, str | None],
                relabelled: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """One item per seeded account: an account seeded as an id and as an @handle (in one
    command, before the handle was resolved) is one seed, its other keys under ``also``;
    ``label_now`` is a later `botsweep label` of it that differs from the seed's label."""
    items: list[dict[str, Any]] = []
    by_id: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r.account_id is not None and r.account_id in by_id:
            by_id[r.account_id]["also"].append(r.account_key)
            continue
        now = (relabelled.get((str(r.account_key), r.campaign or ""))
               or relabelled.get((str(r.account_id), r.campaign or "")))
        item = {"account": r.account_key, "account_id": r.account_id, "label": r.label,
                "label_now": now if now and now != r.label else None,
                "campaign": r.campaign or None, "source": r.source,
                "state": _seed_state(r, unresolved), "also": []}
        items.append(item)
        if r.account_id is not None:
            by_id[r.account_id] = item
    return items


def collect_status(db: Database, *, campaigns: bool = True,
                   now: float | None = None) -> dict[str, Any]:
    """Everything ``botsweep status`` prints, as JSON-ready data (``campaigns=False``
    leaves out the fitted campaign models, which the health check does not need)."""
    from botsweep.daemon_jobs import live_daemons

    now = time.time() if now is None else now
    with db.connect() as conn:
        seed_rows = conn.execute(
            select(seeds.c.account_key, seeds.c.account_id, seeds.c.label, seeds.c.campaign,
                   seeds.c.source, accounts.c.state, accounts.c.fetched_at)
            .select_from(seeds.outerjoin(accounts, accounts.c.id == seeds.c.account_id))
            .order_by(seeds.c.id)
        ).all()
        relabelled = _later_labels(conn)
        unresolved = dict(conn.execute(
            select(frontier.c.handle, frontier.c.last_error)
            .where(frontier.c.kind == "resolve",
                   frontier.c.state.in_(("failed", "skipped")))).all())
        states: dict[str, int] = {}
        for state, fetched, count in conn.execute(
            select(accounts.c.state, accounts.c.fetched_at.is_not(None), func.count())
            .group_by(accounts.c.state, accounts.c.fetched_at.is_not(None))
        ):
            key = state or ("unprofiled" if not fetched else "unknown")
            states[key] = states.get(key, 0) + count
        frontier_by: dict[str, dict[str, int]] = {}
        for state, kind, count in _grouped(conn, frontier.c.state, frontier.c.kind):
            frontier_by.setdefault(state, {})[kind] = count
        requests: dict[str, dict[str, int]] = {}
        for endpoint, outcome, count in _grouped(conn, api_calls.c.endpoint, api_calls.c.outcome):
            requests.setdefault(endpoint, {})[outcome] = count
        rate_limited = sum(
            by.get("rate_limited", 0) for by in requests.values()
        )
        edges = conn.execute(select(func.count()).select_from(follows)).scalar_one()
        scored = {
            scorer: count for scorer, count in _grouped(conn, scores.c.scorer)
        }
        # "Likely bots" as the crawl and the report count them: at or above the stored
        # model's own threshold (one half before any model has scored).
        threshold = stored_threshold(conn)
        threshold = 0.5 if threshold is None else threshold
        likely_bots = conn.execute(
            select(func.count()).select_from(scores)
            .where(and_(scores.c.scorer == "bot", scores.c.probability >= threshold))
        ).scalar_one()
        job_rows = [
            {"worker_id": r.worker_id, "job": r.job_id, "last_run_at": r.last_run_at,
             "last_outcome": r.last_outcome, "last_detail": r.last_detail,
             "next_run_at": r.next_run_at}
            for r in conn.execute(select(jobs).order_by(jobs.c.worker_id, jobs.c.job_id))
        ]
        daemons = live_daemons(conn, now)
        running = {d["worker_id"] for d in daemons}
        for row in job_rows:
            row["daemon_running"] = row["worker_id"] in running
        for daemon in daemons:
            daemon["next_crawl_at"] = next(
                (j["next_run_at"] for j in job_rows
                 if j["worker_id"] == daemon["worker_id"] and j["job"] == "crawl"), None)
        cov = coverage(conn)
        from botsweep.crawler.retarget import hunting

        hunted = hunting(conn)
        fitted = campaigns and conn.execute(
            select(func.count()).select_from(meta)
            .where(meta.c.key.like("campaign_model:%"))).scalar_one() > 0
    campaign_entries: list[dict[str, Any]] = []
    if fitted:
        from botsweep.campaign.report import campaign_status

        campaign_entries = campaign_status(db)["campaigns"]
    seed_items = _seed_items(seed_rows, unresolved, relabelled)
    return {
        "seeds": {"total": len(seed_items), "items": seed_items},
        "accounts": {"total": cov["discovered"], "by_state": states},
        "edges": edges,
        "frontier": frontier_by,
        "requests": requests,
        "rate_limited_429": rate_limited,
        "scores": {"by_scorer": scored, "likely_bots": likely_bots, "bot_threshold": threshold},
        "coverage": cov,
        "hunting": hunted,
        "daemons": daemons,
        "jobs": job_rows,
        "campaigns": campaign_entries,
    }


def _seed_state(row: Any, unresolved: dict[str, str | None]) -> str:
    """What became of a seed: its account's state, ``pending`` until it is looked up, or
    (a handle that did not resolve) ``not_found`` / the resolve task's error."""
    if row.account_id is None:
        handle = str(row.account_key).lstrip("@").lower()
        if handle in unresolved:
            return (unresolved[handle] or "unresolved").removeprefix("handle ")
        return "pending"
    if row.state:
        return str(row.state)
    return "active" if row.fetched_at is not None else "pending"


def check_health(status: dict[str, Any], stale_after_s: float, now: float | None = None,
                 worker_id: str | None = None) -> str:
    """'' when the last crawl tick is recent, did not fail, and its daemon still runs (or
    stopped cleanly), else a one-line reason (for ``status --check``).

    With ``worker_id`` only that worker's ticks count, so that one container's health
    check fails when its own worker stalls while others in the same database go on."""
    now = time.time() if now is None else now
    ticks = [j for j in status["jobs"] if j["job"] == "crawl" and j["last_run_at"]
             and (worker_id is None or j["worker_id"] == worker_id)]
    if not ticks:
        who = f"worker {worker_id!r}" if worker_id is not None else "any worker"
        return f"no crawl tick of {who} has run yet"
    newest = max(ticks, key=lambda j: j["last_run_at"])
    age = now - newest["last_run_at"]
    if age > stale_after_s:
        return f"the last crawl tick ran {age:.0f} s ago (more than {stale_after_s:.0f} s)"
    if newest["last_outcome"] == "error":
        return f"the last crawl tick failed: {newest['last_detail'] or 'no detail'}"
    if newest.get("next_run_at") and not newest.get("daemon_running", True):
        # a clean stop clears the next run; this daemon was killed, or its machine lost
        return (f"no daemon running: worker {newest['worker_id']} did not stop cleanly and "
                f"is gone (its last crawl tick ran {age:.0f} s ago)")
    return ""
