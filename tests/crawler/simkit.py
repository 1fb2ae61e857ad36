"""Helpers for crawls against the real sim server through tweepy (integration tests)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select

from botsweep.storage.db import Database
from botsweep.storage.schema import follows, frontier

_LINK = re.compile(r"https?://t\.co/")


class LinkScorer:
    """A deterministic stand-in for the bot model: a t.co link in the bio and few
    followers look like a bot.  Integration tests use it so that they test the crawler,
    not the shipped model's judgement."""

    version = "link-heuristic-1"
    threshold = 0.5

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        out = []
        for record in records:
            link = bool(_LINK.search(str(record.get("description") or "")))
            followers = (record.get("public_metrics") or {}).get("followers_count") or 0
            out.append(0.8 if link and followers < 2000 else 0.2)
        return np.array(out)


def crawled_edges(db: Database) -> set[tuple[int, int]]:
    with db.connect() as conn:
        return {(a, b) for b, a in conn.execute(select(follows.c.followee_id,
                                                       follows.c.follower_id))}


def read_lists(db: Database) -> list[tuple[int, str, bool]]:
    """(account, kind, truncated) of every list read to its end or cap."""
    with db.connect() as conn:
        return [(r.account_id, r.kind, bool(r.truncated)) for r in conn.execute(
            select(frontier.c.account_id, frontier.c.kind, frontier.c.truncated)
            .where(frontier.c.state == "done", frontier.c.kind.in_(("followers", "following"))))]
