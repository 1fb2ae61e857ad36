"""Seeds and labels: parse account references, read seed and label files, store them.

An account reference is an all-digit id (``12``) or a handle with its ``@``
(``@jane``); all-digit handles exist, so the ``@`` is required.  A seed by id enters the
frontier at once (both lists to expand, and a profile to look up); a seed by handle waits
in the frontier as a ``resolve`` task until the crawler turns it into an id.

Every write here is all-or-nothing: a file with one bad line writes none of its lines.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, or_, select, update

from botsweep.errors import InputError
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, labels, seeds

__all__ = [
    "AccountRef",
    "parse_account",
    "read_account_file",
    "read_label_file",
    "add_seeds",
    "add_labels",
    "not_crawled",
    "SEED_PRIORITY",
    "MAX_CAMPAIGN",
    "check_campaign",
    "enqueue_expansion",
    "queue_seed_lists",
]

SEED_PRIORITY = 1000.0
MAX_CAMPAIGN = 64  # the width of the campaign columns
_HANDLE = re.compile(r"^@([A-Za-z0-9_]{1,15})$")
_MAX_ID = 2**63 - 1
_CHUNK = 10_000


@dataclass(frozen=True)
class AccountRef:
    """An account named by id or by handle (exactly one is set)."""

    id: int | None = None
    handle: str | None = None

    @property
    def key(self) -> str:
        """The stable key seeds and labels are unique on: the id, or the lowercased @handle."""
        return str(self.id) if self.id is not None else f"@{(self.handle or '').lower()}"

    def __str__(self) -> str:
        return str(self.id) if self.id is not None else f"@{self.handle}"


def parse_account(text: str) -> AccountRef:
    """Parse ``12`` or ``@jane``; raise InputError naming the value and the rule."""
    value = text.strip()
    if value.isascii() and value.isdigit():
        number = int(value)
        if number <= 0 or number > _MAX_ID:
            raise InputError(f"{value!r}: an account id must be between 1 and {_MAX_ID}")
        return AccountRef(id=number)
    match = _HANDLE.match(value)
    if match:
        return AccountRef(handle=match.group(1))
    if value.startswith("@") and len(value) > 16 and _HANDLE.match(value[:16]):
        raise InputError(f"{value!r}: a handle has at most 15 characters after the @")
    raise InputError(
        f"{value!r}: expected an all-digit account id (12) or a handle with its @ "
        "(@jane: 1 to 15 letters, digits or underscores)"
    )


def _decode(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    text_lines = raw.split(b"\n")
    lines: list[str] = []
    for number, chunk in enumerate(text_lines, start=1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(
                f"{path} line {number}: not valid UTF-8 text; save the file as UTF-8"
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        lines.append(line.rstrip("\r"))
    return lines


def read_account_file(path: Path) -> list[tuple[int, AccountRef]]:
    """(line number, account) for each account line; blank lines and ``#`` comments skipped."""
    found: list[tuple[int, AccountRef]] = []
    for number, line in enumerate(_decode(path), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        try:
            found.append((number, parse_account(content)))
        except InputError as exc:
            raise InputError(f"{path} line {number}: {exc}") from None
    if not found:
        raise InputError(f"{path}: no accounts in the file (ids like 12, or handles like @jane)")
    return found


def read_label_file(path: Path) -> list[tuple[AccountRef, str, str]]:
    """Rows of ``account,label[,campaign]`` (FORMATS.md); an optional header row is skipped."""
    rows: list[tuple[AccountRef, str, str]] = []
    reader = csv.reader(io.StringIO("\n".join(_decode(path))))
    for number, row in enumerate(reader, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "account":
            continue
        if len(cells) not in (2, 3):
            raise InputError(f"{path} line {number}: expected account,label[,campaign]")
        try:
            ref = parse_account(cells[0])
        except InputError as exc:
            raise InputError(f"{path} line {number}: {exc}") from None
        label = cells[1].lower()
        if label not in ("bot", "human"):
            raise InputError(f"{path} line {number}: label {cells[1]!r} must be bot or human")
        try:
            campaign = check_campaign(cells[2] if len(cells) == 3 else "")
        except InputError as exc:
            raise InputError(f"{path} line {number}: {exc}") from None
        rows.append((ref, label, campaign))
    if not rows:
        raise InputError(f"{path}: no labels in the file (rows of account,label[,campaign])")
    return rows


def _check_label(label: str | None) -> None:
    if label is not None and label not in ("bot", "human"):
        raise InputError(f"label {label!r}: expected bot or human")


def check_campaign(campaign: str) -> str:
    """A campaign name as stored: trimmed, at most 64 printable characters ('' for none)."""
    name = campaign.strip()
    if len(name) > MAX_CAMPAIGN:
        raise InputError(
            f"campaign {name[:20]!r}...: a campaign name has at most {MAX_CAMPAIGN} characters"
        )
    if not name.isprintable():
        raise InputError(f"campaign {name!r}: control characters are not allowed in a name")
    return name


def enqueue_expansion(
    conn: Connection, db: Database, account_ids: Iterable[int], priority: float, now: float
) -> None:
    """Put both lists of each account in the frontier (an existing task is left alone)."""
    rows = [
        {"kind": kind, "account_id": account_id, "priority": priority, "enqueued_at": now}
        for account_id in account_ids
        for kind in ("followers", "following")
    ]
    if rows:
        conn.execute(db.insert_ignore(frontier, ["kind", "account_id"]), rows)


def queue_seed_lists(conn: Connection, db: Database, ids: Sequence[int], now: float) -> None:
    """Queue both lists of each seed at seed priority, whatever an earlier crawl made of them.

    New lists are queued; waiting ones get seed priority; and a list that an earlier crawl
    skipped by choice (a likely human's list too long to read, or an account it did not
    take for a bot) is reopened: the user has said it is a bot.  A list that cannot be read
    stays skipped: the account is protected, suspended or gone, the list is empty (count
    0), or it was skipped part-way (it has a cursor).  In chunks: SQLite allows at most
    32,766 bound values in one statement."""
    enqueue_expansion(conn, db, ids, SEED_PRIORITY, now)
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        conn.execute(update(frontier)
                     .where(frontier.c.account_id.in_(chunk), frontier.c.state == "pending")
                     .values(priority=SEED_PRIORITY))
        for kind, count in (("followers", accounts.c.followers_count),
                            ("following", accounts.c.following_count)):
            readable = select(accounts.c.id).where(
                accounts.c.id.in_(chunk),
                or_(accounts.c.state.is_(None), accounts.c.state == "active"),
                or_(count.is_(None), count != 0))
            conn.execute(
                update(frontier)
                .where(frontier.c.kind == kind, frontier.c.account_id.in_(readable),
                       frontier.c.state == "skipped", frontier.c.cursor.is_(None))
                .values(state="pending", priority=SEED_PRIORITY, last_error=None,
                        done_at=None))


def _seeded_keys(conn: Connection) -> set[str]:
    """Every key a seed is known by: its own, its id once resolved, and its @handle once
    profiled; so that seeding @jane and then her id (or the reverse) is one seed."""
    keys = set(conn.execute(select(seeds.c.account_key)).scalars())
    keys |= {str(i) for i in conn.execute(
        select(seeds.c.account_id).where(seeds.c.account_id.is_not(None))).scalars()}
    keys |= {f"@{name.lower()}" for name in conn.execute(
        select(accounts.c.username).join(seeds, seeds.c.account_id == accounts.c.id)
        .where(accounts.c.username.is_not(None))).scalars()}
    return keys


def add_seeds(
    db: Database,
    refs: Sequence[AccountRef],
    *,
    label: str | None = None,
    campaign: str = "",
    source: str = "cli",
    sources: Mapping[str, str] | None = None,
    now: float | None = None,
) -> int:
    """Store seeds and queue their work in one transaction; return how many were new.

    ``sources``: where each seed came from, by :attr:`AccountRef.key` (``file:PATH`` for a
    seed file's lines), else ``source``."""
    _check_label(label)
    campaign = check_campaign(campaign)
    now = time.time() if now is None else now
    unique: dict[str, AccountRef] = {}
    for ref in refs:
        unique.setdefault(ref.key, ref)  # @Jane and @jane are one account
    with db.begin() as conn:
        existing = _seeded_keys(conn)
        fresh = [ref for key, ref in unique.items() if key not in existing]
        if not fresh:
            return 0
        # Ignore rather than fail on a seed another process added a moment ago.
        conn.execute(
            db.insert_ignore(seeds, ["account_key"]),
            [
                {"account_key": ref.key, "account_id": ref.id, "handle": ref.handle,
                 "label": label, "campaign": campaign,
                 "source": (sources or {}).get(ref.key, source), "added_at": now}
                for ref in fresh
            ],
        )
        ids = [ref.id for ref in fresh if ref.id is not None]
        if ids:
            conn.execute(
                db.insert_ignore(accounts, ["id"]), [{"id": i, "first_seen": now} for i in ids]
            )
            queue_seed_lists(conn, db, ids, now)
        handles = [ref.handle for ref in fresh if ref.handle is not None]
        if handles:
            conn.execute(
                db.insert_ignore(frontier, ["kind", "handle"]),
                [{"kind": "resolve", "handle": h.lower(), "priority": SEED_PRIORITY,
                  "enqueued_at": now} for h in handles],
            )
    return len(fresh)


def add_labels(
    db: Database,
    items: Sequence[tuple[AccountRef, str, str]],
    *,
    source: str = "cli",
    sources: Mapping[str, str] | None = None,
    now: float | None = None,
) -> int:
    """Store (account, label, campaign) rows, replacing an earlier label; return the count.
    ``sources``: where each came from, by :attr:`AccountRef.key`, else ``source``."""
    now = time.time() if now is None else now
    for _, label, _ in items:
        _check_label(label)
    rows = [
        {"account_key": ref.key, "account_id": ref.id, "handle": ref.handle, "label": label,
         "campaign": check_campaign(campaign), "source": (sources or {}).get(ref.key, source),
         "added_at": now}
        for ref, label, campaign in items
    ]
    with db.begin() as conn:
        conn.execute(
            db.upsert(labels, ["account_key", "campaign"], ["label", "source", "added_at"]), rows
        )
    return len(rows)


def not_crawled(db: Database, refs: Iterable[AccountRef]) -> list[AccountRef]:
    """The accounts in ``refs`` that nothing in the database matches yet: an id no crawl has
    seen, or a handle no profiled account has (a label waits for such an account)."""
    refs = list({ref.key: ref for ref in refs}.values())
    ids = [ref.id for ref in refs if ref.id is not None]
    handles = [(ref.handle or "").lower() for ref in refs if ref.id is None]
    known_ids: set[int] = set()
    known_handles: set[str] = set()
    with db.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            known_ids.update(conn.execute(select(accounts.c.id).where(
                accounts.c.id.in_(ids[start:start + _CHUNK]))).scalars())
        for start in range(0, len(handles), _CHUNK):
            username = func.lower(accounts.c.username)
            known_handles.update(conn.execute(select(username).where(
                username.in_(handles[start:start + _CHUNK]))).scalars())
    return [ref for ref in refs if (ref.id not in known_ids if ref.id is not None
                                    else (ref.handle or "").lower() not in known_handles)]
