"""Profile records for generated worlds: ids, names, bios with t.co links, metrics.

:class:`ProfileMaker` draws one X API v2 user object per call, for each role the
generator plants (``human``, ``celebrity``, ``hub``, ``leaf``, ``farm``, ``mimic``).
Distributions overlap on purpose: some humans have empty bios, default images, digit-heavy
handles and shortened links; mimic bots borrow human bios.  A scorer cannot reach 100%.

Ids follow the platform's history: accounts created before the end of 2013 get the old
sequential ids (up to about 2.2e9), later ones get 19-digit snowflake ids.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime
from typing import Any

import numpy as np

from botsweep.sim import vocab
from botsweep.sim.world import format_time

__all__ = ["ProfileMaker", "make_ids", "snowflake", "DEFAULT_IMAGE", "TWITTER_EPOCH_MS"]

TWITTER_EPOCH_MS = 1288834974657
DEFAULT_IMAGE = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"
_LEGACY_START = datetime(2006, 3, 21, tzinfo=UTC).timestamp()
_LEGACY_END = datetime(2013, 12, 1, tzinfo=UTC).timestamp()
_ALNUM = string.ascii_lowercase + string.digits
_TCO = string.ascii_letters + string.digits


def snowflake(epoch_s: float, low_bits: int) -> int:
    """A snowflake id for a moment (epoch seconds) with ``low_bits`` in the last 22 bits."""
    ms = int(epoch_s * 1000) - TWITTER_EPOCH_MS
    return (max(ms, 1) << 22) | (low_bits & 0x3FFFFF)


def make_ids(created: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique, realistic user ids for creation times given as epoch seconds."""
    created = np.asarray(created, dtype=np.float64)
    legacy = created < _LEGACY_END
    frac = np.clip((created - _LEGACY_START) / (_LEGACY_END - _LEGACY_START), 0.0, 1.0)
    ids = np.empty(created.shape, dtype=np.int64)
    ids[legacy] = (12 + frac[legacy] * 2_200_000_000).astype(np.int64)
    ids[legacy] += rng.integers(0, 50_000, size=int(legacy.sum()))
    ms = (created[~legacy] * 1000).astype(np.int64) - TWITTER_EPOCH_MS
    ids[~legacy] = (ms << 22) | rng.integers(0, 1 << 22, size=ms.shape[0])
    for _ in range(100):
        order = np.argsort(ids, kind="stable")
        dup = order[1:][ids[order][1:] == ids[order][:-1]]
        if dup.shape[0] == 0:
            return ids
        ids[dup] += rng.integers(1, 1000, size=dup.shape[0])
    raise RuntimeError("could not draw unique ids")  # pragma: no cover


def _lognormal(rng: random.Random, median: float, sigma: float, cap: int = 10**7) -> int:
    return int(min(cap, max(0, round(rng.lognormvariate(0.0, sigma) * median))))


class ProfileMaker:
    """Draws profile records; remembers usernames so that every handle is unique."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.usernames: set[str] = set()

    # ------------------------------------------------------------------ pieces

    def _unique_username(self, base: str) -> str:
        base = "".join(ch for ch in base if ch.isascii() and (ch.isalnum() or ch == "_"))[:15]
        base = base or "user"
        candidate = base
        while candidate.lower() in self.usernames:
            digits = str(self.rng.randint(1, 99999))
            candidate = base[: 15 - len(digits)] + digits
        self.usernames.add(candidate.lower())
        return candidate

    def _tco(self) -> str:
        return "https://t.co/" + "".join(self.rng.choices(_TCO, k=10))

    def _url_entity(self, text: str, url: str, expanded: str) -> dict[str, Any]:
        start = text.index(url)
        shown = expanded.split("://", 1)[-1]
        display = shown if len(shown) <= 26 else shown[:25] + "…"
        return {"start": start, "end": start + len(url), "url": url,
                "expanded_url": expanded, "display_url": display}

    def _with_link(self, template: str, expanded: str | None, **fill: str) -> tuple[str, list]:
        """Fill ``template``; if it names {link} (or a link is given) put a t.co link in it."""
        if expanded is None:
            text = template.replace(" {link}", "").replace("{link}", "").format(**fill)
            return text.strip(), []
        url = self._tco()
        if "{link}" not in template:
            template = (template + " {link}").strip()
        text = template.format(link=url, **fill).strip()
        return text, [self._url_entity(text, url, expanded)]

    def _fill(self) -> dict[str, str]:
        r = self.rng
        return {
            "job": r.choice(vocab.JOBS), "interest": r.choice(vocab.INTERESTS),
            "interest2": r.choice(vocab.INTERESTS), "city": r.choice(vocab.CITIES),
            "city2": r.choice(vocab.CITIES), "first": r.choice(vocab.FIRST_NAMES),
            "last": r.choice(vocab.LAST_NAMES),
        }

    def _image(self, default_share: float) -> str:
        if self.rng.random() < default_share:
            return DEFAULT_IMAGE
        r = self.rng
        slug = "".join(r.choices(_TCO, k=8))
        return f"https://pbs.twimg.com/profile_images/{r.randint(10**17, 10**18)}/{slug}_normal.jpg"

    def _short_link(self) -> str:
        r = self.rng
        return f"https://{r.choice(vocab.SHORTENERS)}/{''.join(r.choices(_TCO, k=7))}"

    def _human_link(self, handle: str) -> str:
        r = self.rng
        if r.random() < 0.2:
            return self._short_link()
        return f"https://{r.choice(vocab.HUMAN_DOMAINS)}/{handle.lower()}"

    def _record(self, account_id: int, username: str, name: str, description: str,
                urls: list, created: float, *, location: str, image: str,
                tweets: int, listed: int, likes: int, verified: bool = False,
                site: str | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": str(account_id), "username": username, "name": name,
            "description": description, "location": location, "url": "",
            "created_at": format_time(datetime.fromtimestamp(created, UTC)),
            "protected": False, "verified": verified,
            "verified_type": "blue" if verified else "none",
            "profile_image_url": image,
            "public_metrics": {"followers_count": 0, "following_count": 0,
                               "tweet_count": tweets, "listed_count": listed,
                               "like_count": likes},
        }
        entities: dict[str, Any] = {}
        if urls:
            entities["description"] = {"urls": urls}
        if site:
            url = self._tco()
            record["url"] = url
            entities["url"] = {"urls": [self._url_entity(url, url, site)]}
        if entities:
            record["entities"] = entities
        return record

    # ------------------------------------------------------------------ roles

    def human(self, account_id: int, created: float, *, botlike: bool = False) -> dict[str, Any]:
        """An organic account; ``botlike`` ones look thin (new, empty, default image)."""
        r = self.rng
        f = self._fill()
        style = r.random()
        if r.random() < 0.01:
            name = r.choice(vocab.ODD_NAMES)
        elif style < 0.6:
            name = f"{f['first']} {f['last']}"
        elif style < 0.8:
            name = f["first"]
        else:
            name = (f["first"] + r.choice(["", "_", "."]) + r.choice(vocab.INTERESTS)).lower()
        if botlike or r.random() < 0.08:
            base = f["first"].lower() + str(r.randint(10**5, 10**8))
        elif style < 0.5:
            base = f["first"].lower() + r.choice(["", "_"]) + f["last"].lower()
        else:
            base = f["first"].lower() + r.choice(["", "_", "x"]) + str(r.randint(1, 999))
        username = self._unique_username(base)
        roll = r.random()
        if botlike or roll < 0.18:
            template = ""
        elif roll < 0.22:
            template = r.choice(vocab.ODD_BIOS)
        else:
            template = r.choice(vocab.HUMAN_BIOS)
        link = self._human_link(username) if template and r.random() < 0.12 else None
        description, urls = self._with_link(template, link, **f) if template else ("", [])
        site = self._human_link(username) if r.random() < 0.25 else None
        return self._record(
            account_id, username, name, description, urls, created,
            location=f["city"] if r.random() < 0.6 else "",
            image=self._image(0.35 if botlike else 0.05),
            tweets=_lognormal(r, 12 if botlike else 900, 1.6),
            listed=_lognormal(r, 0.5 if botlike else 2, 1.2),
            likes=_lognormal(r, 20 if botlike else 1500, 1.5),
            verified=not botlike and r.random() < 0.01, site=site,
        )

    def celebrity(self, account_id: int, created: float) -> dict[str, Any]:
        """A famous account: verified, busy, widely listed."""
        r = self.rng
        f = self._fill()
        username = self._unique_username(f["first"] + f["last"])
        text = f"{f['job'].capitalize()}. {f['interest'].capitalize()}. Official account."
        return self._record(
            account_id, username, f"{f['first']} {f['last']}", text, [], created,
            location=f["city"], image=self._image(0.0),
            tweets=_lognormal(r, 9000, 0.8), listed=_lognormal(r, 2000, 0.8),
            likes=_lognormal(r, 5000, 1.0), verified=True,
            site=f"https://www.{f['last'].lower().replace(chr(39), '')}{f['first'].lower()}.com",
        )

    def flower(self, account_id: int, created: float, domains: list[str]) -> dict[str, Any]:
        """A pronbot-style flower member (hub or leaf): flirty bio with a hidden link."""
        r = self.rng
        f = self._fill()
        f["first"] = r.choice(vocab.FLOWER_FIRST_NAMES)
        name = r.choice(vocab.FLOWER_NAMES).format(**f)
        tail = r.choice(["", "_", "x", "_xx"]) + "".join(r.choices(_ALNUM, k=4))
        username = self._unique_username(f["first"].lower() + tail)
        if r.random() < 0.98:
            if r.random() < 0.7:
                link = f"http://{r.choice(domains)}/?u={username.lower()}"
            else:
                link = self._short_link()
            description, urls = self._with_link(r.choice(vocab.FLOWER_BIOS), link, **f)
        else:
            description, urls = r.choice(["", "hi"]), []
        return self._record(
            account_id, username, name, description, urls, created,
            location=f["city"] if r.random() < 0.5 else "",
            image=self._image(0.007), tweets=_lognormal(r, 43, 1.0),
            listed=0 if r.random() < 0.9 else r.randint(1, 2), likes=_lognormal(r, 10, 1.3),
        )

    def farm(self, account_id: int, created: float, domains: list[str]) -> dict[str, Any]:
        """A follower-farm account: thin, generic, mostly silent."""
        r = self.rng
        f = self._fill()
        name = f"{f['first']} {f['last']}"
        if r.random() < 0.3:
            name = f["first"] + str(r.randint(1, 99))
        base = (f["first"] + f["last"][:3]).lower()[:7] + str(r.randint(10**7, 10**8 - 1))
        username = self._unique_username(base)
        link = f"http://{r.choice(domains)}/" if r.random() < 0.1 else None
        description, urls = self._with_link(r.choice(vocab.FARM_BIOS), link, **f)
        return self._record(
            account_id, username, name, description, urls, created,
            location=f["city"] if r.random() < 0.1 else "",
            image=self._image(0.4), tweets=_lognormal(r, 4, 1.5),
            listed=0, likes=_lognormal(r, 30, 1.5),
        )

    def mimic(self, account_id: int, created: float, domains: list[str],
              bios: list[str]) -> dict[str, Any]:
        """A bot posing as a person: a bio reused across its network, busy timeline."""
        r = self.rng
        f = self._fill()
        handle = f["first"].lower() + r.choice(["", "_"]) + f["last"].lower()
        username = self._unique_username(handle)
        link = f"https://{r.choice(domains)}/{username.lower()}" if r.random() < 0.2 else None
        description, urls = self._with_link(r.choice(bios), link, **f)
        return self._record(
            account_id, username, f"{f['first']} {f['last']}", description, urls, created,
            location=f["city"] if r.random() < 0.6 else "",
            image=self._image(0.02), tweets=_lognormal(r, 4000, 0.8),
            listed=_lognormal(r, 1, 1.0), likes=_lognormal(r, 3000, 1.0),
        )
