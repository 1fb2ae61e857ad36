"""The write paths of a crawl: one transaction per page, so re-applying a page changes nothing.

* :func:`write_follow_page`: a followers or following page — its edges, the record of the
  accounts it discovered (one ``discovered`` row with the ids packed) and the frontier
  cursor — in one transaction (it lives in :mod:`botsweep.storage.follow_page`, the crawl's
  hottest write).
* :func:`absorb_discovered`: turns ``discovered`` rows into stub accounts (many pages in one
  transaction, so random-order inserts share their B-tree pages) and counts, for each
  account, how many expanded accounts' lists it was found on (``bot_links``).  It also
  keeps running counts in ``meta`` of how many ids were new, per list direction and page
  size class (:func:`novelty_key`): the smart policy's measure of diminishing returns.
  Each new stub keeps the list that brought it in ``accounts.found_via`` /
  ``found_direction`` (for :mod:`botsweep.crawler.found_on`), marked ``yield_pending``
  until :mod:`botsweep.crawler.bot_yield` has counted it against its kind of list.
* :func:`write_profiles`: profiles from a lookup (users and per-account errors).
* :func:`log_call`: one row of the API call log.

Everything goes through ``INSERT ... ON CONFLICT`` with executemany (or, for a page's
edges on SQLite, multi-row inserts); there are no ORM objects on these paths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, bindparam, case, delete, or_, select, update

from botsweep.storage.db import Database
from botsweep.storage.follow_page import write_follow_page
from botsweep.storage.schema import (
    CREATED_AT_MAX,
    USERNAME_MAX,
    accounts,
    api_calls,
    discovered,
    meta,
)

__all__ = [
    "write_follow_page", "absorb_discovered", "novelty_key", "size_class",
    "read_novelty", "pending_discovered_ids", "pack_ids", "unpack_ids", "write_profiles",
    "mark_accounts", "log_call", "profile_row", "storable_user", "PROFILE_COLUMNS",
]

PROFILE_COLUMNS = (
    "username", "name", "description", "location", "url", "profile_image_url", "created_at",
    "protected", "verified", "followers_count", "following_count", "tweet_count",
    "listed_count", "like_count", "raw", "state", "fetched_at",
)
_METRICS = ("followers_count", "following_count", "tweet_count", "listed_count", "like_count")


def _text(value: Any, limit: int | None = None) -> str | None:
    """A string column's value: None for a non-string, or one longer than the column."""
    if not isinstance(value, str) or (limit is not None and len(value) > limit):
        return None
    return value


def _scrub(value: Any) -> Any:
    """``value`` with every string storable: lone surrogates become U+FFFD, NULs go."""
    if isinstance(value, str):
        value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
        return value
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def storable_user(user: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """``user`` and its JSON, made storable on any backend.

    A reply can be valid JSON and still hold what no database takes: a lone surrogate
    (``"\\ud800"``, not UTF-8) or a NUL (PostgreSQL text refuses it).  Such strings are
    scrubbed rather than the profile refused, so one odd profile cannot stop a crawl.
    """
    raw = json.dumps(user, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" not in raw:
        try:
            raw.encode("utf-8")
            return user, raw
        except UnicodeEncodeError:
            pass
    clean = _scrub(dict(user))
    return clean, json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None  # not a count, or beyond a BIGINT


def pack_ids(ids: Sequence[int]) -> bytes:
    """Ids as little-endian int64 bytes (X ids are below 2^63)."""
    return np.asarray(ids, dtype="<i8").tobytes()


def unpack_ids(blob: bytes) -> list[int]:
    return np.frombuffer(blob, dtype="<i8").tolist()


def profile_row(user: Mapping[str, Any], fetched_at: float) -> dict[str, Any]:
    """A row of ``accounts`` from a v2 user object (the raw object is kept as JSON).

    A username or ``created_at`` longer than its column is stored as null (no real one
    is); the raw JSON keeps what was sent.
    """
    user, raw = storable_user(user)
    metrics = user.get("public_metrics") if isinstance(user.get("public_metrics"), dict) else {}
    protected = bool(user.get("protected"))
    row: dict[str, Any] = {
        "id": int(user["id"]),
        "username": _text(user.get("username"), USERNAME_MAX),
        "name": _text(user.get("name")),
        "description": _text(user.get("description")),
        "location": _text(user.get("location")),
        "url": _text(user.get("url")),
        "profile_image_url": _text(user.get("profile_image_url")),
        "created_at": _text(user.get("created_at"), CREATED_AT_MAX),
        "protected": protected,
        "verified": bool(user.get("verified")),
        "raw": raw,
        "state": "protected" if protected else "active",
        "fetched_at": fetched_at,
        "first_seen": fetched_at,
        "lookup_owner": None,
        "lookup_until": None,
    }
    for name in _METRICS:
        row[name] = _count(metrics.get(name))
    return row


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
    first: dict[int, tuple[float, int, str]] = {}  # first seen, and on which list
    pages: list[tuple[int, str, list[int]]] = []
    for row in rows:
        ids = unpack_ids(row.ids)
        pages.append((int(row.via_id), row.direction, ids))
        for aid in ids:
            links[aid] = links.get(aid, 0) + 1
            first.setdefault(aid, (row.first_seen, int(row.via_id), row.direction))
    ordered = sorted(links)
    existing = set()
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start:start + 5000]
        existing |= set(conn.execute(
            select(accounts.c.id).where(accounts.c.id.in_(chunk))).scalars())
    fresh = [{"id": aid, "first_seen": first[aid][0], "bot_links": links[aid],
              "found_via": first[aid][1], "found_direction": first[aid][2],
              "yield_pending": True}
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
    brought: set[int] = set()
    novelty: dict[str, tuple[int, int, int]] = {}
    for _via_id, direction, ids in pages:
        new = sum(1 for aid in ids if aid not in existing and aid not in brought)
        brought.update(ids)
        key = novelty_key(direction, len(ids))
        was = novelty.get(key, (0, 0, 0))
        novelty[key] = (was[0] + new, was[1] + len(ids), was[2] + 1)
    _count_novelty(conn, db, novelty)
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
