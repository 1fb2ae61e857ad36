"""Small synthetic profiles and a DB for campaign tests: one planted network, humans, others.

* campaign ``pron`` members: a t.co link to ``lovely42.example`` (some to ``bit.ly``), a
  flirty bio, created 2011-2013, following nobody, about 20 followers;
* humans: ordinary bios, a few links to github.com or medium.com, created 2008-2019,
  following and followed by a few hundred;
* ``farm`` bots: follower-farm bios with ``cheapfans.example`` links, created 2017-2018;
* ``linker`` humans (none unless asked for): dormant personal accounts, created 2011-2013,
  following nobody, whose bio links ``lovely42.example``: the campaign's false positives.

``FakeBotScorer`` plays the generic model: 0.85 for accounts that follow fewer than 5
(so both networks look like bots to it), 0.1 otherwise.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.pages import write_profiles
from botsweep.storage.scores import score_pending

FETCHED_AT = 1_527_854_400.0  # 2018-06-01T12:00:00Z
PRON_BIOS = ["hot and lonely tonight, chat with me", "looking for fun tonight, chat with me",
             "lonely girl wants to chat with me", "naughty and lonely, come chat with me"]
HUMAN_BIOS = ["software engineer and runner", "coffee, books and cats", "teacher in {city}",
              "I write about politics and history", "dad, cyclist, bad jokes",
              "nurse, mum of two", "photography and travel", "football fan from {city}",
              "PhD student in biology", "music lover and guitarist"]
FARM_BIOS = ["get more followers fast", "follow back 100%", "grow your account today"]
CITIES = ["Leeds", "Austin", "Lyon", "Pune", "Osaka"]


def _entity(text: str, expanded: str) -> dict[str, Any]:
    url = "https://t.co/" + "".join(random.Random(text).choices("abcdefgh123", k=10))
    return {"text": f"{text} {url}",
            "urls": [{"start": len(text) + 1, "end": len(text) + 1 + len(url), "url": url,
                      "expanded_url": expanded, "display_url": expanded.split("://")[-1]}]}


def profile(aid: int, kind: str, rng: random.Random) -> dict[str, Any]:
    """One v2 user object of ``kind`` pron, human, farm or linker."""
    if kind == "pron":
        year = rng.choice([2011, 2012, 2013])
        bio = rng.choice(PRON_BIOS)
        domain = "http://lovely42.example/?u=x" if rng.random() < 0.85 else "https://bit.ly/3x"
        name = rng.choice(["Anna", "Kitty", "Lola", "Mia"]) + " " + rng.choice(["xx", "<3", ""])
        handle = f"{name.split()[0].lower()}_{rng.randint(1000, 9999)}"
        followers, following, tweets = rng.randint(8, 40), 0, rng.randint(20, 80)
    elif kind == "farm":
        year = rng.choice([2017, 2018])
        bio = rng.choice(FARM_BIOS)
        domain = "http://cheapfans.example/"
        name = rng.choice(["Jo", "Sam", "Alex"]) + str(rng.randint(1, 99))
        handle = f"{name.lower()}{rng.randint(10**6, 10**7)}"
        followers, following, tweets = rng.randint(0, 5), rng.randint(0, 3), rng.randint(0, 5)
    else:  # human, or a human whose bio links the campaign's site (a reporter, say)
        year = rng.randint(2008, 2019)
        bio = rng.choice(HUMAN_BIOS).format(city=rng.choice(CITIES))
        domain = (rng.choice(["https://github.com/x", "https://medium.com/@x"])
                  if rng.random() < 0.15 else None)
        if kind == "linker":  # a dormant personal account that once linked the site
            domain = "http://lovely42.example/?u=x"
            year = rng.choice([2011, 2012, 2013])
        name = rng.choice(["Jane Roe", "John Smith", "Ana Silva", "Wei Chen", "Sara Ali"])
        handle = name.lower().replace(" ", "_") + str(aid)
        followers, following, tweets = (rng.randint(50, 900), rng.randint(40, 700),
                                        rng.randint(100, 5000))
    if kind == "linker":
        followers, following, tweets = rng.randint(8, 40), 0, rng.randint(20, 80)
        name = rng.choice(["Anna", "Kitty", "Lola", "Mia"]) + " " + rng.choice(["Roe", "Silva"])
    record: dict[str, Any] = {
        "id": str(aid), "username": handle[:15], "name": name, "description": bio,
        "created_at": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00.000Z",
        "protected": False, "verified": False,
        "profile_image_url": "https://pbs.twimg.com/profile_images/1/a_normal.jpg",
        "public_metrics": {"followers_count": followers, "following_count": following,
                           "tweet_count": tweets, "listed_count": 0, "like_count": 3},
    }
    if domain is not None:
        linked = _entity(bio, domain)
        record["description"] = linked["text"]
        record["entities"] = {"description": {"urls": linked["urls"]}}
    return record


def population(n_pron: int = 40, n_human: int = 300, n_farm: int = 30, n_linker: int = 0,
               seed: int = 1) -> dict[int, tuple[str, dict[str, Any]]]:
    """id → (kind, record); pron ids start at 1000, humans at 5000, farm at 9000, linkers
    (humans whose bio links the campaign's domain) at 9500."""
    rng = random.Random(seed)
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    for start, kind, n in ((1000, "pron", n_pron), (5000, "human", n_human),
                           (9000, "farm", n_farm), (9500, "linker", n_linker)):
        for aid in range(start, start + n):
            out[aid] = (kind, profile(aid, kind, rng))
    return out


class FakeBotScorer:
    """The generic model's stand-in: accounts following fewer than 5 look like bots."""

    version = "fake-bot-1"
    threshold = 0.5

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        self.calls += 1
        return np.array([0.85 if (r.get("public_metrics") or {}).get("following_count", 0) < 5
                         else 0.1 for r in records])


def build_db(tmp_path: Path, people: dict[int, tuple[str, dict[str, Any]]], *,
             seeds: Sequence[int] = (), campaign: str = "pron") -> Database:
    """A SQLite DB with every profile stored and scored by FakeBotScorer, and bot seeds."""
    db = Database(f"sqlite:///{tmp_path / 'botsweep.db'}")  # the CLI's default path
    with db.begin() as conn:
        write_profiles(conn, db, [rec for _, rec in people.values()], FETCHED_AT)
    score_pending(db, FakeBotScorer())
    if seeds:
        add_seeds(db, [AccountRef(id=s) for s in seeds], label="bot", campaign=campaign,
                  now=FETCHED_AT)
    return db
