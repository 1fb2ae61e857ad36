"""Fakes for crawler unit tests: an in-memory Source with real rate windows, and a scorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from botsweep.crawler.clock import FakeClock
from botsweep.crawler.ratelimit import RateSnapshot
from botsweep.crawler.replies import ENDPOINTS, AccountError, Page
from botsweep.errors import NotFound, Protected, RateLimited, Suspended, Transient


def user(uid: int, username: str, followers: int = 0, following: int = 0,
         protected: bool = False) -> dict[str, Any]:
    return {
        "id": str(uid), "username": username, "name": username.title(), "description": "",
        "created_at": "2015-01-01T00:00:00.000Z", "protected": protected,
        "public_metrics": {"followers_count": followers, "following_count": following,
                           "tweet_count": 10, "listed_count": 0, "like_count": 0},
    }


@dataclass
class FakeWorld:
    """Accounts (id → user), states (id → suspended/deleted/protected) and follows."""

    users: dict[int, dict[str, Any]]
    edges: set[tuple[int, int]]  # (follower, followee)
    states: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, names: dict[int, str], edges: set[tuple[int, int]],
              states: dict[int, str] | None = None) -> FakeWorld:
        states = states or {}
        users = {}
        for uid, name in names.items():
            followers = sum(1 for a, b in edges if b == uid)
            following = sum(1 for a, b in edges if a == uid)
            users[uid] = user(uid, name, followers, following, states.get(uid) == "protected")
        return cls(users, edges, states)

    def visible(self, uid: int) -> bool:
        return self.states.get(uid) not in ("suspended", "deleted")


@dataclass
class FakeSource:
    """Serves a FakeWorld with per-endpoint windows like the real API, on a FakeClock."""

    world: FakeWorld
    clock: FakeClock
    limits: dict[str, int] = field(default_factory=lambda: {
        ENDPOINTS["followers"]: 15, ENDPOINTS["following"]: 15,
        ENDPOINTS["users"]: 300, ENDPOINTS["users_by"]: 300})
    window_s: float = 900.0
    token_keys: Sequence[str] = ("TOKEN_A",)
    faults: dict[tuple[str, int, str | None], list[Exception]] = field(default_factory=dict)
    calls: list[tuple[str, Any, Any]] = field(default_factory=list)
    served_429: int = 0
    profiles_on_lists: bool = False  # list pages carry whole user objects, as the API's do
    _windows: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)

    def _rate(self, token_key: str, endpoint: str) -> RateSnapshot:
        now = self.clock.now()
        start, used = self._windows.get((token_key, endpoint), (now, 0))
        if now >= start + self.window_s:
            start, used = now, 0
        limit = self.limits[endpoint]
        reset = start + self.window_s
        if used >= limit:
            self.served_429 += 1
            raise RateLimited(reset)
        self._windows[(token_key, endpoint)] = (start, used + 1)
        return RateSnapshot(limit, limit - used - 1, reset)

    def _page(self, endpoint: str, token_key: str, items: list[dict[str, Any]],
              cursor: str | None, rate: RateSnapshot,
              errors: list[AccountError] | None = None) -> Page:
        return Page(items=items, next_cursor=cursor, rate=rate,
                    fetched_at=datetime.fromtimestamp(self.clock.now(), UTC), endpoint=endpoint,
                    token_key=token_key, errors=errors or [])

    def lookup_users(self, ids: Sequence[int], *, token_key: str) -> Page:
        endpoint = ENDPOINTS["users"]
        rate = self._rate(token_key, endpoint)
        self.calls.append(("users", tuple(ids), None))
        items, errors = [], []
        for i in ids:
            state = self.world.states.get(i)
            if i not in self.world.users or state == "deleted":
                errors.append(AccountError(str(i), "not_found", "Could not find user"))
            elif state == "suspended":
                errors.append(AccountError(str(i), "suspended", "User has been suspended"))
            else:
                items.append(self.world.users[i])
        return self._page(endpoint, token_key, items, None, rate, errors)

    def lookup_usernames(self, names: Sequence[str], *, token_key: str) -> Page:
        endpoint = ENDPOINTS["users_by"]
        rate = self._rate(token_key, endpoint)
        self.calls.append(("users_by", tuple(names), None))
        by_name = {u["username"].lower(): u for u in self.world.users.values()}
        items = [by_name[n.lower()] for n in names if n.lower() in by_name]
        errors = [AccountError(n, "not_found", "Could not find user") for n in names
                  if n.lower() not in by_name]
        return self._page(endpoint, token_key, items, None, rate, errors)

    def _list(self, kind: str, account_id: int, cursor: str | None, token_key: str,
              max_results: int) -> Page:
        endpoint = ENDPOINTS[kind]
        queued = self.faults.get((kind, account_id, cursor))
        if queued:
            self._rate(token_key, endpoint)
            self.calls.append((kind, account_id, cursor))
            raise queued.pop(0)
        rate = self._rate(token_key, endpoint)
        self.calls.append((kind, account_id, cursor))
        state = self.world.states.get(account_id)
        if account_id not in self.world.users or state == "deleted":
            raise NotFound(f"Could not find user with id: [{account_id}]")
        if state == "suspended":
            raise Suspended(f"User has been suspended: [{account_id}]")
        if state == "protected":
            raise Protected("Sorry, you are not authorized")
        if kind == "followers":
            ids = sorted((a for a, b in self.world.edges if b == account_id), reverse=True)
        else:
            ids = sorted((b for a, b in self.world.edges if a == account_id), reverse=True)
        ids = [i for i in ids if self.world.visible(i)]
        start = int(cursor or 0)
        chunk = ids[start:start + max_results]
        following = start + max_results < len(ids)
        items = [dict(self.world.users[i]) if self.profiles_on_lists
                 else {"id": str(i), "username": self.world.users[i]["username"]}
                 for i in chunk]
        return self._page(endpoint, token_key, items,
                          str(start + max_results) if following else None, rate)

    def followers(self, account_id: int, cursor: str | None, *, token_key: str,
                  max_results: int = 1000) -> Page:
        return self._list("followers", account_id, cursor, token_key, max_results)

    def following(self, account_id: int, cursor: str | None, *, token_key: str,
                  max_results: int = 1000) -> Page:
        return self._list("following", account_id, cursor, token_key, max_results)

    def close(self) -> None:
        pass


class NameScorer:
    """Bot probability 0.9 for usernames starting with 'bot', 0.1 otherwise."""

    version = "fake-1"
    threshold = 0.5

    def predict_proba(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        return np.array([0.9 if str(r.get("username", "")).startswith("bot") else 0.1
                         for r in records])


def transient(kind: str = "5xx") -> Transient:
    return Transient(f"simulated {kind}", kind=kind)
