"""Profiles that arrived on list pages, used instead of looking them up again.

A followers or following page of the X API v2 carries each account's whole user object
(botsweep asks for the same ``user.fields`` as a lookup does).  The page write keeps only
the ids, and the accounts become stubs later, in batches, with what the bot-yield accounting
needs (which list found them first, how many bots link to them).  Looking each stub up then
cost one ``/2/users`` request per 100 accounts, about ten per page of 1,000, for profiles
already in hand (and, on a plan billed per object, paid for twice).

:class:`ListProfiles` keeps the page's user objects in memory until their stubs exist, then
stores and scores them as a lookup's reply would be (``decide.apply_profiles``), stamped with
the page's fetch time.  Nothing here is durable, and it need not be: after a crash, or for a
profile dropped because too many were waiting, the stub is simply looked up as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from botsweep.crawler.decide import apply_profiles
from botsweep.crawler.replies import MAX_LOOKUP
from botsweep.storage.schema import accounts

if TYPE_CHECKING:
    from botsweep.crawler.engine import CrawlEngine

__all__ = ["ListProfiles", "is_whole_profile"]

MAX_KEPT = 50_000  # user objects waiting for their stubs (a few pages' worth at most)
_CHUNK = 5_000


def is_whole_profile(user: Mapping[str, Any]) -> bool:
    """True for a user object with the fields a score needs, not a bare id and username."""
    return "public_metrics" in user and "created_at" in user


class ListProfiles:
    """The user objects of list pages, waiting until their accounts are stubs."""

    def __init__(self, engine: CrawlEngine, limit: int = MAX_KEPT) -> None:
        self.engine = engine
        self.limit = limit
        self.kept: dict[int, tuple[Mapping[str, Any], float]] = {}

    def keep(self, users: Sequence[Mapping[str, Any]], fetched_at: float) -> None:
        """Keep a page's whole profiles; past ``limit``, the oldest are dropped (and looked
        up as usual)."""
        for user in users:
            if is_whole_profile(user):
                self.kept[int(user["id"])] = (user, fetched_at)
        over = len(self.kept) - self.limit
        if over > 0:
            for aid in list(islice(self.kept, over)):
                del self.kept[aid]

    def apply(self, conn: Connection) -> None:
        """Store and score the kept profiles whose accounts are stubs now; forget those
        already profiled (or gone); keep those whose pages are not absorbed yet."""
        if not self.kept:
            return
        engine = self.engine
        ids = list(self.kept)
        rows: dict[int, bool] = {}  # id -> still waiting for its profile
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows.update((int(r.id), r.fetched_at is None and r.state is None)
                        for r in conn.execute(select(
                            accounts.c.id, accounts.c.fetched_at, accounts.c.state)
                            .where(accounts.c.id.in_(chunk))))
        by_time: dict[float, list[Mapping[str, Any]]] = {}
        for aid, waiting in rows.items():
            user, fetched_at = self.kept.pop(aid)
            if waiting:
                by_time.setdefault(fetched_at, []).append(user)
        for fetched_at, users in sorted(by_time.items()):
            for start in range(0, len(users), MAX_LOOKUP):  # as lookup replies came: less
                batch = users[start:start + MAX_LOOKUP]     # memory at once, same decisions
                counts = apply_profiles(conn, engine.db, engine.scoring, batch, {}, fetched_at)
                engine.stats.profiled += counts["profiled"]
                engine.stats.likely_bots += counts["likely"]
