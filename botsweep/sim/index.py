"""A world arranged for serving: id lookups, list slices and pre-serialised user objects.

Followers and following are stored as compressed rows (CSR) over dense account indices,
newest follow first, with suspended and deleted accounts already left out.  A user object
is serialised once per (account, field set) and cached as bytes, so that a page of 1,000
followers is one ``b",".join``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from botsweep.sim.apispec import TWEET_FIELDS, USER_FIELDS
from botsweep.sim.world import HIDDEN_STATES, World

__all__ = ["WorldIndex", "dumps", "join_items"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_USER_ORDER = {name: i for i, name in enumerate(USER_FIELDS)}
_TWEET_ORDER = {name: i for i, name in enumerate(TWEET_FIELDS)}
_TWEET_DEFAULT = ("edit_history_tweet_ids",)
_STATE_CODE = {"active": 0, "protected": 1, "suspended": 2, "deleted": 3}


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return _ENCODER.encode(value).encode("utf-8")


def join_items(items: list[bytes], head: bytes, tail: bytes) -> bytes:
    """``head``, ``items`` joined by commas, then ``tail``, in one copy of the big list: the
    head and tail ride on the end items (``items`` must be a fresh list, not empty; it is
    changed in place)."""
    items[0] = head + items[0]
    items[-1] += tail
    return b",".join(items)


def _csr(owner: np.ndarray, member: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(owner, kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=offsets[1:])
    return offsets, member[order]


class WorldIndex:
    """Read-only view of a :class:`World` for the server (thread-safe)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.ids = np.array(sorted(world.accounts), dtype=np.int64)
        self.records = [world.accounts[i] for i in self.ids.tolist()]
        self.states = [world.state(i) for i in self.ids.tolist()]
        self.state_code = np.array([_STATE_CODE[s] for s in self.states], dtype=np.int8)
        self.by_username = {r["username"].lower(): i for i, r in enumerate(self.records)}
        self.position = {account_id: i for i, account_id in enumerate(self.ids.tolist())}
        n = self.ids.shape[0]
        src = np.searchsorted(self.ids, world.follower)[::-1]
        dst = np.searchsorted(self.ids, world.followee)[::-1]
        hidden = self.state_code >= _STATE_CODE["suspended"]
        fans = ~hidden[src]  # a followers list leaves out hidden followers
        self.followers = _csr(dst[fans], src[fans], n)
        friends = ~hidden[dst]
        self.following = _csr(src[friends], dst[friends], n)
        self._cache: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.tweets_by_id: dict[int, dict[str, Any]] = {int(t["id"]): t for t in world.tweets}
        by_author: dict[int, list[dict[str, Any]]] = {}
        for tweet in world.tweets:
            by_author.setdefault(int(tweet["author_id"]), []).append(tweet)
        self.tweets_by_author = {
            a: sorted(ts, key=lambda t: -int(t["id"])) for a, ts in by_author.items()}
        self.has_tweets = bool(world.tweets)

    # ------------------------------------------------------------------ lookups

    def find(self, account_id: int) -> int | None:
        """Dense index of ``account_id``, or None when the world has no such account."""
        return self.position.get(account_id)

    def find_username(self, username: str) -> int | None:
        return self.by_username.get(username.lower())

    def state(self, index: int) -> str:
        return self.states[index]

    def visible(self, index: int) -> bool:
        return self.states[index] not in HIDDEN_STATES

    def neighbours(self, index: int, direction: str) -> np.ndarray:
        """Followers or following of ``index`` (dense indices), newest follow first."""
        offsets, members = self.followers if direction == "followers" else self.following
        return members[offsets[index]: offsets[index + 1]]

    # ------------------------------------------------------------------ serialising

    def user_object(self, index: int, fields: tuple[str, ...]) -> dict[str, Any]:
        """The v2 user object with the default fields plus ``fields`` (no ``_`` keys)."""
        record = self.records[index]
        obj: dict[str, Any] = {"id": record["id"], "name": record["name"],
                               "username": record["username"]}
        for name in sorted(fields, key=_USER_ORDER.__getitem__):
            if name in obj:
                continue
            if name == "protected":
                obj[name] = self.states[index] == "protected" or bool(record.get("protected"))
            elif name in ("location", "url") and not record.get(name):
                continue
            elif name in record and not name.startswith("_"):
                obj[name] = record[name]
        return obj

    def _cache_for(self, fields: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(serialised user objects, which of them are filled) for one field set."""
        cache = self._cache.get(fields)
        if cache is None:
            with self._lock:
                n = self.ids.shape[0]
                cache = self._cache.setdefault(
                    fields, (np.full(n, None, dtype=object), np.zeros(n, dtype=bool)))
        return cache

    def user_bytes(self, index: int, fields: tuple[str, ...]) -> bytes:
        """``user_object`` serialised, cached per field set."""
        return self.users_bytes(np.array([index], dtype=np.int64), fields)[0]

    def users_bytes(self, indices: np.ndarray | list[int],
                    fields: tuple[str, ...]) -> list[bytes]:
        """``user_bytes`` for many accounts at once.

        Filling is idempotent (the same bytes whichever thread writes first), so readers
        need no lock.
        """
        picks = np.asarray(indices, dtype=np.int64)
        if picks.shape[0] == 0:
            return []
        cache, filled = self._cache_for(fields)
        known = filled.take(picks)
        if np.count_nonzero(known) < picks.shape[0]:
            for index in picks[~known].tolist():
                cache[index] = dumps(self.user_object(index, fields))
                filled[index] = True
        return cache.take(picks).tolist()  # type: ignore[no-any-return]

    def users_joined(self, picks: np.ndarray, fields: tuple[str, ...], head: bytes,
                     tail: bytes) -> bytes:
        """``head``, the user objects of ``picks`` (int64, not empty) joined by commas, and
        ``tail``, as one bytes object: the hot path of a list page, made in one copy."""
        try:
            return join_items(self._cache_for(fields)[0].take(picks).tolist(), head, tail)
        except TypeError:  # a None: some of them are not serialised yet (first reads only)
            return join_items(self.users_bytes(picks, fields), head, tail)

    def tweet_object(self, tweet: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": tweet["id"], "text": tweet["text"]}
        for name in sorted(set(fields) | set(_TWEET_DEFAULT), key=_TWEET_ORDER.__getitem__):
            if name not in obj and name in tweet:
                obj[name] = tweet[name]
        if "edit_history_tweet_ids" not in obj:
            obj["edit_history_tweet_ids"] = [tweet["id"]]
        return obj

    def pinned_tweets(self, indices: list[int], expansions: tuple[str, ...],
                      tweet_fields: tuple[str, ...]) -> list[dict[str, Any]]:
        """``includes.tweets`` for the user expansions pinned_tweet_id / most_recent_tweet_id."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index in indices:
            record = self.records[index]
            for key in ("pinned_tweet_id", "most_recent_tweet_id"):
                tweet_id = record.get(key)
                if key in expansions and tweet_id and tweet_id not in seen:
                    tweet = self.tweets_by_id.get(int(tweet_id))
                    if tweet is not None:
                        seen.add(tweet_id)
                        out.append(self.tweet_object(tweet, tweet_fields))
        return out
