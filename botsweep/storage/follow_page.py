"""The page write of a followers or following list: its edges, the ids it discovered and the
frontier cursor, in the caller's transaction (:func:`write_follow_page`, re-exported by
:mod:`botsweep.storage.pages`).

The crawl's hottest write, so it is built for speed and measured by
``benchmarks/bench_ingest.py``:

* The page's ids are sorted, so that a followers page lands as one run of adjacent keys in
  ``follows`` (its key is followee first).  A reply parsed by
  :func:`~botsweep.crawler.replies.parse_reply` hands them over already converted to ints.
* On SQLite the statements go through the transaction's own sqlite3 cursor, and the edges
  through multi-row ``INSERT`` statements; PostgreSQL, and a worker holding a lease, go
  through SQLAlchemy with driver-level executemany.
* The accounts discovered are one ``discovered`` row with the ids packed as int64; they
  become stub accounts later, in batches (:func:`~botsweep.storage.pages.absorb_discovered`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, select, update

from botsweep.storage.db import Database
from botsweep.storage.schema import discovered, frontier

__all__ = ["write_follow_page"]

_EDGE_SQL_SQLITE = (
    "INSERT OR IGNORE INTO follows (followee_id, follower_id, first_seen) VALUES (?, ?, ?)"
)
# Multi-row INSERTs of _EDGE_ROWS edges of one account: parameter 1 is the account, 2 the
# time, 3.. the other ends (keyed by "is a followers page").
_EDGE_ROWS = 250
_EDGE_ROWS_SQL = {
    followers: "INSERT OR IGNORE INTO follows (followee_id, follower_id, first_seen) VALUES "
    + ",".join(("(?1,?{},?2)" if followers else "(?{},?1,?2)").format(n + 3)
               for n in range(_EDGE_ROWS))
    for followers in (True, False)
}
_EDGE_SQL_PG = (
    "INSERT INTO follows (followee_id, follower_id, first_seen) VALUES (%s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)


# Built once: constructing a statement costs more than running it on this path.
_TASK_ITEMS = select(frontier.c["items"], frontier.c.lease_owner).where(
    frontier.c.id == bindparam("tid"))
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
# The same three statements as driver SQL for SQLite (see _rows_sqlite).
_SQLITE_DISCOVERED = (
    "INSERT INTO discovered (via_id, direction, ids, first_seen) VALUES (?, ?, ?, ?)"
)
_SQLITE_TASK_ITEMS = "SELECT items FROM frontier WHERE id = ?"
_SQLITE_ADVANCE = (
    "UPDATE frontier SET cursor = ?, pages = pages + 1, items = ?, truncated = ?, state = ?, "
    "lease_owner = NULL, lease_until = NULL, done_at = ?, attempts = 0, last_error = NULL, "
    "not_before = NULL WHERE id = ?"
)


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


def _insert_edges_sqlite(cursor: Any, account_id: int, ids: list[int], fetched_at: float,
                         followers: bool) -> None:
    """The page's edges, 250 to a statement (the rest with executemany).  Measured on
    SQLite 3.40, a multi-row INSERT stores a page about 1.8x as fast as executemany; one
    fixed size keeps it to one prepared statement (preparing 1,000 rows takes ~10 ms)."""
    sql, whole = _EDGE_ROWS_SQL[followers], len(ids) - len(ids) % _EDGE_ROWS
    for start in range(0, whole, _EDGE_ROWS):
        cursor.execute(sql, [account_id, fetched_at, *ids[start:start + _EDGE_ROWS]])
    if whole < len(ids):
        fixed, at, rest = repeat(account_id), repeat(fetched_at), ids[whole:]
        cursor.executemany(_EDGE_SQL_SQLITE, zip(fixed, rest, at, strict=False) if followers
                           else zip(rest, fixed, at, strict=False))


def _rows_sqlite(cursor: Any, task_id: int, account_id: int, direction: str,
                 unique: np.ndarray, ids: list[int], fetched_at: float) -> int | None:
    """The discovered row and the edges, through the transaction's own sqlite3 cursor;
    returns the task's item count before this page.  Per page, SQLAlchemy's dispatch of
    the small statements costs more than SQLite's work on them."""
    if ids:
        cursor.execute(_SQLITE_DISCOVERED, (account_id, direction, unique.tobytes(),
                                            fetched_at))
        _insert_edges_sqlite(cursor, account_id, ids, fetched_at, direction == "followers")
    row = cursor.execute(_SQLITE_TASK_ITEMS, (task_id,)).fetchone()
    return row[0] if row else None


def _rows_core(conn: Connection, db: Database, task_id: int, account_id: int, direction: str,
               unique: np.ndarray, ids: list[int], fetched_at: float,
               lease_owner: str | None) -> tuple[int | None, bool]:
    """The same through SQLAlchemy, on either database; also says whether ``lease_owner``
    (when given) still holds the task.  A page read after its lease was lost keeps its
    edges, but its discovered row is the new holder's to write: counted twice, it would
    inflate ``bot_links`` and the novelty counts the smart policy ranks by."""
    row = conn.execute(_TASK_ITEMS, {"tid": task_id}).first()
    held = lease_owner is None or (row is not None and row.lease_owner == lease_owner)
    if ids:
        if held:
            conn.execute(_DISCOVERED, {"via": account_id, "direction": direction,
                                       "ids": unique.tobytes(), "first_seen": fetched_at})
        # A constant SQL text with driver-level executemany (the Core construct builds a
        # parameter dict per row, which costs about half the time).
        edges = ([(account_id, i, fetched_at) for i in ids] if direction == "followers"
                 else [(i, account_id, fetched_at) for i in ids])
        conn.exec_driver_sql(_EDGE_SQL_SQLITE if db.is_sqlite else _EDGE_SQL_PG, edges)
    return (row[0] if row else None), held


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

    Returns ``{"ids": [...], "done": bool, "truncated": bool, "held": bool}``.  The task
    goes back to ``pending`` (or ``done``) and its lease is released.  When ``lease_owner``
    is given and this worker no longer holds the lease (``held`` False), only the edges are
    kept (they are facts, and idempotent); the cursor and the discovered ids are left to
    the worker that holds it now.

    SQLite with no lease (one crawl process) and no echo uses the driver's cursor; its
    errors are translated by :meth:`Database.begin` like SQLAlchemy's.
    """
    unique = _page_ids(items)
    ids: list[int] = unique.tolist()
    fast = db.is_sqlite and lease_owner is None and not db.settings.echo
    cursor = conn.connection.cursor() if fast else None
    try:
        held = True
        if cursor is not None:
            before = _rows_sqlite(cursor, task_id, account_id, direction, unique, ids,
                                  fetched_at)
        else:
            before, held = _rows_core(conn, db, task_id, account_id, direction, unique, ids,
                                      fetched_at, lease_owner)
        seen = (before or 0) + len(ids)
        truncated = next_cursor is not None and seen >= max_list_size
        done = next_cursor is None or truncated
        values = {
            "tid": task_id, "cursor": None if done else next_cursor, "items": seen,
            "truncated": truncated, "state": "done" if done else "pending",
            "done_at": fetched_at if done else None,
        }
        if cursor is not None:
            cursor.execute(_SQLITE_ADVANCE, (values["cursor"], seen, truncated,
                                             values["state"], values["done_at"], task_id))
        elif lease_owner is None:
            conn.execute(_ADVANCE, values)
        elif held:
            conn.execute(_ADVANCE_LEASED, {**values, "owner": lease_owner})
    finally:
        if cursor is not None:
            cursor.close()
    return {"ids": ids, "done": done and held, "truncated": truncated and held, "held": held}
