"""Helpers for sim tests: write tiny hand-made worlds and profile records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["user", "write_world"]


def user(account_id: int, username: str, **extra: Any) -> dict[str, Any]:
    """A minimal valid profile record."""
    record: dict[str, Any] = {
        "id": str(account_id), "username": username, "name": username.title(),
        "description": "", "created_at": "2014-03-01T12:00:00.000Z", "protected": False,
        "public_metrics": {"followers_count": 0, "following_count": 0, "tweet_count": 1,
                           "listed_count": 0, "like_count": 0},
    }
    record.update(extra)
    return record


def write_world(root: Path, accounts: list[dict[str, Any]] | None = None,
                follows: list[tuple[int, int]] | None = None, *,
                seeds: list[int] | None = None, tweets: list[dict[str, Any]] | None = None,
                now: str = "2018-06-01T12:00:00.000Z") -> Path:
    """Write a world directory; by default three accounts where 1 and 2 follow 3."""
    root.mkdir(parents=True, exist_ok=True)
    if accounts is None:
        accounts = [user(1, "alice"), user(2, "bob"), user(3, "carol")]
    if follows is None:
        follows = [(1, 3), (2, 3)]
    meta = {"name": "tiny", "now": now, "seeds": [str(s) for s in (seeds or [])],
            "description": "hand-made"}
    (root / "world.json").write_text(json.dumps(meta), encoding="utf-8")
    (root / "accounts.jsonl").write_text(
        "".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    (root / "follows.csv").write_text(
        "follower_id,followee_id\n" + "".join(f"{a},{b}\n" for a, b in follows),
        encoding="utf-8")
    if tweets is not None:
        (root / "tweets.jsonl").write_text(
            "".join(json.dumps(t) + "\n" for t in tweets), encoding="utf-8")
    return root
