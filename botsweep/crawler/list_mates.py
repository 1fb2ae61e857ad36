"""What the lists of an account's list-mates brought lately: new hunted ids per id read.

Accounts first found on the same list (``accounts.found_via`` and ``found_direction``) are
often of one kind: the hubs of one flower cluster turn up together on a leaf's followers
and follow the same leaves, and the farm accounts following one hub all follow mostly
humans.  Once some of them have had a list read, what those lists brought predicts what the
others' lists of the same direction will bring: on generated worlds the smart policy read
five hub following lists of one cluster in a row that brought no new id at all.

:func:`mate_yields` weighs, for each account's source list and each direction, the ids read
on its mates' lists of that direction (the frontier's ``items``) and how many of the ids
those lists brought first were scored as hunted, each list counting ``1 - recency`` times
as much as the one read after it (the first lists of a flower's hubs bring its leaves, the
later ones only repeat them).  The smart policy lets that rate lower its estimate, never
raise it (:meth:`~botsweep.crawler.policy.SmartPolicy.rate`), and :func:`mates_of` finds the
queued lists to rank again when a mate's list has been read or its ids scored
(:func:`~botsweep.crawler.decide.rerank_mates`, which only ever moves them down: moving them
up too reordered the queue on dense worlds for no gain, see docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.orm import aliased

from botsweep.crawler.found_on import source_totals
from botsweep.crawler.policy import DIRECTIONS
from botsweep.storage.schema import accounts, frontier

__all__ = ["mate_yields", "mates_of"]

_CHUNK = 200
Source = tuple[int, str]  # (list owner, direction)


def mate_yields(
    conn: Connection, sources: Mapping[int, Source], scorer: str, threshold: float,
    recency: float = 0.6,
) -> dict[int, dict[str, tuple[float, float]]]:
    """``{account: {direction: (hunted new ids, ids read)}}``, recency-weighted, over the
    lists already read of the accounts found on the same list as each account (itself
    included: its own lists are not begun when it is ranked).

    ``recency``: each list counts ``1 - recency`` times as much as the next one read (by
    ``frontier.done_at``; a list still being read counts as the latest).  Accounts with no
    source (seeds) or whose mates have had no list read are left out."""
    keys = sorted(set(sources.values()))
    mate = aliased(accounts)
    lists: dict[tuple[int, str, str], list[tuple[float, int, int, int]]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk: Sequence[Source] = keys[start:start + _CHUNK]
        where = tuple_(mate.c.found_via, mate.c.found_direction).in_(chunk)
        rows = conn.execute(
            select(mate.c.found_via, mate.c.found_direction, frontier.c.kind,
                   frontier.c.account_id, frontier.c["items"], frontier.c.done_at,
                   frontier.c.id)
            .select_from(mate.join(frontier, frontier.c.account_id == mate.c.id))
            .where(where, frontier.c.kind.in_(DIRECTIONS), frontier.c["items"] > 0)).all()
        if not rows:
            continue
        hunted = source_totals(conn, [int(r.account_id) for r in rows], scorer, threshold)
        for via, direction, kind, owner, items, done_at, row_id in rows:
            when = math.inf if done_at is None else float(done_at)
            lists.setdefault((int(via), str(direction), str(kind)), []).append(
                (when, int(row_id), hunted.get((int(owner), str(kind)), (0, 0))[0],
                 int(items)))
    rates: dict[tuple[int, str], dict[str, tuple[float, float]]] = {}
    for (via, direction, kind), read in lists.items():
        bots = ids = 0.0
        for _, _, hunted_ids, items in sorted(read):  # oldest first
            bots = bots * (1.0 - recency) + hunted_ids
            ids = ids * (1.0 - recency) + items
        rates.setdefault((via, direction), {})[kind] = (bots, ids)
    return {aid: rates[source] for aid, source in sources.items() if source in rates}


def mates_of(conn: Connection, owners: Sequence[int]) -> list[int]:
    """Accounts with a pending, not begun list that were found on the same list as one of
    ``owners`` (whose lists have just been read or brought scored ids)."""
    out: set[int] = set()
    for start in range(0, len(owners), _CHUNK):
        chunk = list(owners[start:start + _CHUNK])
        keys = [(int(v), str(d)) for v, d in conn.execute(
            select(accounts.c.found_via, accounts.c.found_direction).where(
                accounts.c.id.in_(chunk), accounts.c.found_via.is_not(None)))]
        if not keys:
            continue
        out.update(conn.execute(
            select(frontier.c.account_id).distinct()
            .select_from(frontier.join(accounts, accounts.c.id == frontier.c.account_id))
            .where(tuple_(accounts.c.found_via, accounts.c.found_direction).in_(keys),
                   frontier.c.kind.in_(DIRECTIONS),
                   frontier.c.state == "pending", frontier.c.pages == 0)).scalars())
    return sorted(out)
