"""Synthetic labelled profiles for the model tests (no shared data needed).

Bots and humans draw every field from the same distributions except one planted
signal: a bot follows ``following_ratio`` times more accounts than it has followers.
Everything else (usernames, bios, ages) is noise, so a model that scores well has
learnt the plant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["profile", "planted_profiles", "write_jsonl"]


def profile(ident: int | str, **fields: Any) -> dict[str, Any]:
    """One X API v2 user object with plain defaults; ``fields`` override them."""
    metrics = {"followers_count": 10, "following_count": 20, "tweet_count": 30,
               "listed_count": 0, "like_count": 5}
    metrics.update(fields.pop("metrics", {}))
    record: dict[str, Any] = {
        "id": str(ident), "username": f"user{ident}", "name": "Some One", "description": "",
        "location": "", "url": "", "created_at": "2015-01-01T00:00:00.000Z",
        "protected": False, "verified": False,
        "profile_image_url": "https://pbs.twimg.com/profile_images/1/a_normal.jpg",
        "public_metrics": metrics, "_collected_at": "2020-01-01T00:00:00.000Z",
    }
    record.update(fields)
    return record


def planted_profiles(n: int = 600, seed: int = 0, following_ratio: float = 8.0,
                     dataset: str = "synthetic") -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    words = ["coffee", "music", "news", "daily", "life", "photos", "travel", "data"]
    out = []
    for i in range(n):
        bot = i % 2 == 1
        followers = int(rng.integers(5, 2000))
        scale = following_ratio if bot else 1.0
        following = int(followers * scale * rng.uniform(0.5, 1.5))
        out.append(profile(
            10_000 + i, username=f"{rng.choice(words)}{int(rng.integers(0, 999))}",
            description=" ".join(rng.choice(words, size=int(rng.integers(0, 6)))),
            created_at=f"{int(rng.integers(2008, 2019))}-06-01T00:00:00.000Z",
            metrics={"followers_count": followers, "following_count": following,
                     "tweet_count": int(rng.integers(0, 50_000)), "listed_count": 0,
                     "like_count": int(rng.integers(0, 5_000))},
            _label="bot" if bot else "human", _source=f"{dataset}/part{i % 3}",
        ))
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
