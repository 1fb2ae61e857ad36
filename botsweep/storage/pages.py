"""The write paths of a crawl: one transaction per page, so re-applying a page changes nothing.

* :func:`write_follow_page`: a followers or following page — its edges, the stub accounts
  it discovered and the frontier cursor — in one transaction.  Edges are sorted so that a
  followers page lands as one run of adjacent keys in ``follows``.
* :func:`write_profiles`: profiles from a lookup (users and per-account errors).
* :func:`log_call`: one row of the API call log.

Everything goes through ``INSERT ... ON CONFLICT`` with executemany; there are no ORM
objects on these paths.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, or_, select, update

from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, api_calls, follows, frontier

__all__ = [
    "write_follow_page",
    "write_profiles",
    "mark_accounts",
    "log_call",
    "profile_row",
    "PROFILE_COLUMNS",
]

PROFILE_COLUMNS = (
    "username", "name", "description", "location", "url", "profile_image_url", "created_at",
    "protected", "verified", "followers_count", "following_count", "tweet_count",
    "listed_count", "like_count", "raw", "state", "fetched_at",
)
_METRICS = ("followers_count", "following_count", "tweet_count", "listed_count", "like_count")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def profile_row(user: Mapping[str, Any], fetched_at: float) -> dict[str, Any]:
    """A row of ``accounts`` from a v2 user object (the raw object is kept as JSON)."""
    metrics = user.get("public_metrics") if isinstance(user.get("public_metrics"), dict) else {}
    protected = bool(user.get("protected"))
    row: dict[str, Any] = {
        "id": int(user["id"]),
        "username": _text(user.get("username")),
        "name": _text(user.get("name")),
        "description": _text(user.get("description")),
        "location": _text(user.get("location")),
        "url": _text(user.get("url")),
        "profile_image_url": _text(user.get("profile_image_url")),
        "created_at": _text(user.get("created_at")),
        "protected": protected,
        "verified": bool(user.get("verified")),
        "raw": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "state": "protected" if protected else "active",
        "fetched_at": fetched_at,
        "first_seen": fetched_at,
        "lookup_owner": None,
        "lookup_until": None,
    }
    for name in _METRICS:
        row[name] = _count(metrics.get(name))
    return row


def write_follow_page(
    conn: Connection,
    db: Database,
    *,
    task_id: int,
    account_id: int,
    direction: str,
    items: Sequence[Mapping[str, Any]],
    next_cursor: str | None,
    fetched_at: float,
    max_list_size: int,
    lease_owner: str | None = None,
) -> dict[str, Any]:
    """Store one page of ``account_id``'s followers/following and advance its cursor.

    Returns ``{"ids": [...], "done": bool, "truncated": bool}``.  The task goes back to
    ``pending`` (or ``done``) and its lease is released.  When ``lease_owner`` is given,
    the cursor only moves if this worker still holds the lease; the edges and stubs are
    kept either way (they are facts, and idempotent).
    """
    ids = sorted({int(item["id"]) for item in items})
    if ids:
        conn.execute(
            db.insert_ignore(accounts, ["id"]), [{"id": i, "first_seen": fetched_at} for i in ids]
        )
        if direction == "followers":
            edges = [{"followee_id": account_id, "follower_id": i, "first_seen": fetched_at}
                     for i in ids]
        else:
            edges = [{"followee_id": i, "follower_id": account_id, "first_seen": fetched_at}
                     for i in ids]
        conn.execute(db.insert_ignore(follows, ["followee_id", "follower_id"]), edges)
    row = conn.execute(
        select(frontier.c["items"]).where(frontier.c.id == task_id)
    ).one_or_none()
    seen = (row.items if row else 0) + len(ids)
    truncated = next_cursor is not None and seen >= max_list_size
    done = next_cursor is None or truncated
    condition = frontier.c.id == task_id
    if lease_owner is not None:
        condition = and_(condition, frontier.c.lease_owner == lease_owner)
    conn.execute(
        update(frontier).where(condition).values(
            cursor=None if done else next_cursor,
            pages=frontier.c.pages + 1,
            items=seen,
            truncated=truncated,
            state="done" if done else "pending",
            lease_owner=None,
            lease_until=None,
            done_at=fetched_at if done else None,
            attempts=0,
            last_error=None,
            not_before=None,
        )
    )
    return {"ids": ids, "done": done, "truncated": truncated}


def write_profiles(
    conn: Connection, db: Database, users: Sequence[Mapping[str, Any]], fetched_at: float
) -> list[int]:
    """Insert or refresh profiles from a lookup; return their ids."""
    rows = [profile_row(user, fetched_at) for user in users]
    if not rows:
        return []
    stmt = db.upsert(accounts, ["id"], [c for c in PROFILE_COLUMNS] + ["lookup_owner",
                                                                       "lookup_until"])
    conn.execute(stmt, rows)
    return [row["id"] for row in rows]


def mark_accounts(
    conn: Connection, states: Mapping[int, str], fetched_at: float
) -> None:
    """Record suspended / not_found for accounts; not_found on one seen active is ``deleted``."""
    if not states:
        return
    stmt = (
        update(accounts)
        .where(accounts.c.id == bindparam("aid"))
        .values(
            state=case(
                (
                    and_(
                        bindparam("new_state") == "not_found",
                        or_(accounts.c.state == "active", accounts.c.state == "deleted",
                            accounts.c.state == "protected"),
                    ),
                    "deleted",
                ),
                else_=bindparam("new_state"),
            ),
            fetched_at=fetched_at,
            lookup_owner=None,
            lookup_until=None,
        )
    )
    conn.execute(stmt, [{"aid": aid, "new_state": state} for aid, state in states.items()])


def log_call(
    conn: Connection,
    *,
    run_id: int | None,
    at: float,
    endpoint: str,
    token_key: str,
    status: int | None,
    outcome: str,
    items: int = 0,
    seconds: float | None = None,
) -> None:
    """One row of the API call log (endpoint is the route template; token by its env name)."""
    conn.execute(
        api_calls.insert().values(
            run_id=run_id, at=at, endpoint=endpoint, token_key=token_key, status=status,
            outcome=outcome, items=items, seconds=seconds,
        )
    )
