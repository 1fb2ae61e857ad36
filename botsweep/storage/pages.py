"""The write paths of a crawl: one transaction per page, so re-applying a page changes nothing.

* :func:`write_follow_page`: a followers or following page — its edges, the record of the
  accounts it discovered (one ``discovered`` row with the ids packed) and the frontier
  cursor — in one transaction.  Edges are sorted so that a followers page lands as one run
  of adjacent keys in ``follows``.
* :func:`absorb_discovered`: turns ``discovered`` rows into stub accounts (many pages in one
  transaction, so random-order inserts share their B-tree pages) and counts, for each
  account, how many expanded accounts' lists it was found on (``bot_links``).  It also
  keeps running counts in ``meta`` of how many ids were new, per list direction and page
  size class (:func:`novelty_key`): the smart policy's measure of diminishing returns, and
  for each new id the list that brought it (``via:<id>``), from which
  :mod:`botsweep.crawler.bot_yield` counts the bots each kind of list yields once scored.
* :func:`write_profiles`: profiles from a lookup (users and per-account errors).
* :func:`log_call`: one row of the API call log.

Everything goes through ``INSERT ... ON CONFLICT`` with executemany; there are no ORM
objects on these paths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, bindparam, case, delete, or_, select, update

from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, api_calls, discovered, frontier, meta

__all__ = [
    "write_follow_page",
    "absorb_discovered",
    "novelty_key",
    "VIA_PREFIX",
    "size_class",
    "read_novelty",
    "pending_discovered_ids",
    "pack_ids",
    "unpack_ids",
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


_EDGE_SQL_SQLITE = (
    "INSERT OR IGNORE INTO follows (followee_id, follower_id, first_seen) VALUES (?, ?, ?)"
)
_EDGE_SQL_PG = (
    "INSERT INTO follows (followee_id, follower_id, first_seen) VALUES (%s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)


# Built once: constructing a statement costs more than running it on this path.
_TASK_ITEMS = select(frontier.c["items"]).where(frontier.c.id == bindparam("tid"))
_ADVANCE_VALUES = {
    "cursor": bindparam("cursor"), "pages": frontier.c.pages + 1,
    "items": bindparam("items"), "truncated": bindparam("truncated"),
    "state": bindparam("state"), "lease_owner": None, "lease_until": None,
    "done_at": bindparam("done_at"), "attempts": 0, "last_error": None, "not_before": None,
}
_ADVANCE = update(frontier).where(frontier.c.id == bindparam("tid")).values(_ADVANCE_VALUES)
_ADVANCE_LEASED = (
    update(frontier)
    .where(frontier.c.id == bindparam("tid"), frontier.c.lease_owner == bindparam("owner"))
    .values(_ADVANCE_VALUES)
)
_DISCOVERED = discovered.insert().values(
    via_id=bindparam("via"), direction=bindparam("direction"), ids=bindparam("ids"),
    first_seen=bindparam("first_seen"),
)
# The same three statements as driver SQL for SQLite (see write_follow_page).
_SQLITE_DISCOVERED = (
    "INSERT INTO discovered (via_id, direction, ids, first_seen) VALUES (?, ?, ?, ?)"
)
_SQLITE_TASK_ITEMS = "SELECT items FROM frontier WHERE id = ?"
_SQLITE_ADVANCE = (
    "UPDATE frontier SET cursor = ?, pages = pages + 1, items = ?, truncated = ?, state = ?, "
    "lease_owner = NULL, lease_until = NULL, done_at = ?, attempts = 0, last_error = NULL, "
    "not_before = NULL WHERE id = ?"
)


def pack_ids(ids: Sequence[int]) -> bytes:
    """Ids as little-endian int64 bytes (X ids are below 2^63)."""
    return np.asarray(ids, dtype="<i8").tobytes()


def unpack_ids(blob: bytes) -> list[int]:
    return np.frombuffer(blob, dtype="<i8").tolist()


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


def _page_ids(items: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The page's ids, sorted and unique, as little-endian int64.

    A reply parsed by :func:`~botsweep.crawler.replies.parse_reply` carries its ids already
    converted (``items.ids``); other items have their decimal strings parsed here."""
    if not items:
        return np.zeros(0, dtype="<i8")
    ready = getattr(items, "ids", None)
    if ready is not None and len(ready) == len(items):
        parsed = np.array(ready, dtype="<i8")
    else:
        try:
            parsed = np.array([item["id"] for item in items], dtype="<i8")
        except (ValueError, OverflowError):
            parsed = np.array([int(item["id"]) for item in items], dtype="<i8")
    parsed.sort()
    return np.unique(parsed) if (parsed[1:] == parsed[:-1]).any() else parsed


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
    unique = _page_ids(items)
    ids: list[int] = unique.tolist()
    # SQLite with no lease (one crawl process) and no echo: the statements go through the
    # transaction's own sqlite3 cursor, since per page SQLAlchemy's dispatch of the small
    # ones costs more than SQLite's work on them.  Database.begin translates its errors.
    cursor = (conn.connection.cursor()
              if db.is_sqlite and lease_owner is None and not db.settings.echo else None)
    if ids:
        if cursor is not None:
            cursor.execute(_SQLITE_DISCOVERED, (account_id, direction, unique.tobytes(),
                                                fetched_at))
        else:
            conn.execute(_DISCOVERED, {"via": account_id, "direction": direction,
                                       "ids": unique.tobytes(), "first_seen": fetched_at})
        fixed, at = repeat(account_id), repeat(fetched_at)
        edges = (zip(fixed, ids, at, strict=False) if direction == "followers"
                 else zip(ids, fixed, at, strict=False))
        # A constant SQL text with driver-level executemany (the Core construct builds a
        # parameter dict per row, which costs about half the time).
        if cursor is not None:
            cursor.executemany(_EDGE_SQL_SQLITE, edges)
        else:
            conn.exec_driver_sql(_EDGE_SQL_SQLITE if db.is_sqlite else _EDGE_SQL_PG,
                                 list(edges))
    if cursor is not None:
        row = cursor.execute(_SQLITE_TASK_ITEMS, (task_id,)).fetchone()
        before = row[0] if row else None
    else:
        before = conn.execute(_TASK_ITEMS, {"tid": task_id}).scalar()
    seen = (before or 0) + len(ids)
    truncated = next_cursor is not None and seen >= max_list_size
    done = next_cursor is None or truncated
    values = {
        "tid": task_id, "cursor": None if done else next_cursor, "items": seen,
        "truncated": truncated, "state": "done" if done else "pending",
        "done_at": fetched_at if done else None,
    }
    if cursor is not None:
        cursor.execute(_SQLITE_ADVANCE, (
            values["cursor"], seen, truncated, values["state"], values["done_at"], task_id))
        cursor.close()
    elif lease_owner is None:
        conn.execute(_ADVANCE, values)
    else:
        conn.execute(_ADVANCE_LEASED, {**values, "owner": lease_owner})
    return {"ids": ids, "done": done, "truncated": truncated}


VIA_PREFIX = "via:"  # meta key of a new id's source list, until the id is scored


def size_class(ids_per_page: int) -> int:
    """The size class of a page of ``ids_per_page`` ids: 0 for 1-3, 1 for 4-15, ... 5 for
    1,024 or more (powers of 4)."""
    if ids_per_page < 1:
        return 0
    return min(5, int(math.log(ids_per_page, 4) + 1e-9))


def novelty_key(direction: str, size: int) -> str:
    """The ``meta`` key counting new ids on ``direction`` pages of ``size`` ids."""
    return f"novelty:{direction}:{size_class(size)}"


def read_novelty(conn: Connection) -> dict[str, tuple[int, int, int]]:
    """``{novelty key: (new ids, ids, pages)}`` counted since the crawl began."""
    out: dict[str, tuple[int, int, int]] = {}
    for key, value in conn.execute(
            select(meta.c.key, meta.c.value).where(meta.c.key.like("novelty:%"))):
        parts = str(value).split()
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            out[str(key)] = (int(parts[0]), int(parts[1]), int(parts[2]))
    return out


def _count_novelty(conn: Connection, db: Database,
                   counts: Mapping[str, tuple[int, int, int]]) -> None:
    if not counts:
        return
    old = read_novelty(conn)
    rows = []
    for key, (new, total, pages) in counts.items():
        was = old.get(key, (0, 0, 0))
        rows.append({"key": key, "value": f"{was[0] + new} {was[1] + total} {was[2] + pages}"})
    conn.execute(db.upsert(meta, ["key"], ["value"]), rows)


def absorb_discovered(
    conn: Connection, db: Database, *, max_rows: int = 200
) -> tuple[int, list[int]]:
    """Turn up to ``max_rows`` discovered pages into stub accounts and link counts.

    Returns (rows absorbed, ids of already-profiled accounts whose ``bot_links`` grew), so
    that the caller can let the policy reconsider them.
    """
    query = select(discovered).order_by(discovered.c.seq).limit(max_rows)
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    rows = conn.execute(query).all()
    if not rows:
        return 0, []
    links: dict[int, int] = {}
    first: dict[int, float] = {}
    pages: list[tuple[int, str, list[int]]] = []
    for row in rows:
        ids = unpack_ids(row.ids)
        pages.append((int(row.via_id), row.direction, ids))
        for aid in ids:
            links[aid] = links.get(aid, 0) + 1
            first.setdefault(aid, row.first_seen)
    ordered = sorted(links)
    existing = set()
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start:start + 5000]
        existing |= set(conn.execute(
            select(accounts.c.id).where(accounts.c.id.in_(chunk))).scalars())
    fresh = [{"id": aid, "first_seen": first[aid], "bot_links": links[aid]}
             for aid in ordered if aid not in existing]
    if fresh:
        conn.execute(db.insert_ignore(accounts, ["id"]), fresh)
    grown = sorted(existing)
    if grown:
        conn.execute(
            update(accounts).where(accounts.c.id == bindparam("aid"))
            .values(bot_links=accounts.c.bot_links + bindparam("n")),
            [{"aid": aid, "n": links[aid]} for aid in grown],
        )
    # New ids per page, in discovery order: an id is new on the first page that brings it.
    # Each new id also remembers the list that brought it (``via:<id>`` in ``meta``), so that
    # once it is scored the smart policy can count the bots each kind of list yields.
    brought: set[int] = set()
    novelty: dict[str, tuple[int, int, int]] = {}
    sources: list[dict[str, str]] = []
    for via_id, direction, ids in pages:
        fresh_ids = [aid for aid in ids if aid not in existing and aid not in brought]
        new = len(fresh_ids)
        sources += [{"key": f"{VIA_PREFIX}{aid}", "value": f"{via_id} {direction}"}
                    for aid in dict.fromkeys(fresh_ids)]
        brought.update(ids)
        key = novelty_key(direction, len(ids))
        was = novelty.get(key, (0, 0, 0))
        novelty[key] = (was[0] + new, was[1] + len(ids), was[2] + 1)
    _count_novelty(conn, db, novelty)
    if sources:
        conn.execute(db.insert_ignore(meta, ["key"]), sources)
    conn.execute(delete(discovered).where(discovered.c.seq.in_([r.seq for r in rows])))
    return len(rows), grown


def pending_discovered_ids(conn: Connection) -> set[int]:
    """Ids waiting in ``discovered`` (read-only; for counts while a crawl runs)."""
    found: set[int] = set()
    for blob in conn.execute(select(discovered.c.ids)).scalars():
        found.update(unpack_ids(blob))
    return found


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
