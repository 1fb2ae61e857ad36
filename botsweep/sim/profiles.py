"""Profile records for generated worlds: ids, names, bios with t.co links, metrics.

:class:`ProfileMaker` draws one X API v2 user object per call, for each role the
generator plants (``human``, ``celebrity``, ``hub``, ``leaf``, ``farm``, ``mimic``).
Distributions overlap on purpose: some humans have empty bios, default images, digit-heavy
handles and shortened links; mimic bots borrow human bios.  A scorer cannot reach 100%.

:func:`draw_metrics` fills tweet, like and list counts once the follow graph is known,
with rates taken from the real labelled data (summary parameters only: medians and
log-normal spreads per label), so that a model trained on real accounts reads a generated
one as it would a real one.  :func:`draw_states` sprinkles suspended, deleted and
protected accounts.

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

__all__ = [
    "ProfileMaker", "draw_metrics", "draw_states", "make_ids", "snowflake", "DEFAULT_IMAGE",
    "TWITTER_EPOCH_MS",
]

TWITTER_EPOCH_MS = 1288834974657
DEFAULT_IMAGE = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"
_LEGACY_START = datetime(2006, 3, 21, tzinfo=UTC).timestamp()
_LEGACY_END = datetime(2013, 12, 1, tzinfo=UTC).timestamp()
_ALNUM = string.ascii_lowercase + string.digits
_TCO = string.ascii_letters + string.digits
_STATE_RATES = {  # role -> (suspended, deleted, protected)
    "human": (0.005, 0.007, 0.04), "celebrity": (0.0, 0.0, 0.0),
    "hub": (0.04, 0.01, 0.005), "leaf": (0.04, 0.01, 0.005),
    "farm": (0.06, 0.01, 0.005), "mimic": (0.02, 0.01, 0.005),
}


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
                verified: bool = False, site: str | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": str(account_id), "username": username, "name": name,
            "description": description, "location": location, "url": "",
            "created_at": format_time(datetime.fromtimestamp(created, UTC)),
            "protected": False, "verified": verified,
            "verified_type": "blue" if verified else "none",
            "profile_image_url": image,
            "public_metrics": {"followers_count": 0, "following_count": 0,
                               "tweet_count": 0, "listed_count": 0, "like_count": 0},
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

    def human(self, account_id: int, created: float, *, botlike: bool = False,
              followers: int = 150) -> dict[str, Any]:
        """An organic account; ``botlike`` ones look thin (new, empty, default image).

        Fewer followers, fewer bios: as in the real data, the quiet leave it empty."""
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
        handle = r.random()  # real people's handles mostly carry no digits
        if botlike or handle < 0.05:
            base = f["first"].lower() + str(r.randint(10**5, 10**8))
        elif handle < 0.45:
            base = f["first"].lower() + r.choice(["", "_"]) + f["last"].lower()
        elif handle < 0.6:
            base = f["first"][0].lower() + f["last"].lower() + r.choice(["", "_", "x"])
        elif handle < 0.8:
            base = r.choice(["", "the", "its"]) + f["first"] + f["interest"].replace(" ", "")
        else:
            base = f["first"].lower() + r.choice(["", "_", "x"]) + str(r.randint(1, 999))
        username = self._unique_username(base)
        roll = r.random()
        empty = 0.7 if botlike else 0.07 if followers < 60 else 0.04
        if roll < empty:
            template = ""
        elif roll < empty + 0.03:
            template = r.choice(vocab.ODD_BIOS)
        else:
            template = r.choice(vocab.HUMAN_BIOS)
        link = self._human_link(username) if template and r.random() < 0.12 else None
        description, urls = self._with_link(template, link, **f) if template else ("", [])
        site = self._human_link(username) if r.random() < (0.1 if botlike else 0.4) else None
        return self._record(
            account_id, username, name, description, urls, created,
            location=f["city"] if r.random() < (0.3 if botlike else 0.7) else "",
            image=self._image(0.35 if botlike else 0.01),
            verified=not botlike and r.random() < 0.01, site=site,
        )

    def celebrity(self, account_id: int, created: float) -> dict[str, Any]:
        """A famous account: verified, busy, widely listed."""
        f = self._fill()
        username = self._unique_username(f["first"] + f["last"])
        text = f"{f['job'].capitalize()}. {f['interest'].capitalize()}. Official account."
        return self._record(
            account_id, username, f"{f['first']} {f['last']}", text, [], created,
            location=f["city"], image=self._image(0.0), verified=True,
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
            image=self._image(0.007),
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
            image=self._image(0.15),
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
            image=self._image(0.02),
        )


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * rng.lognormal(0.0, sigma, n)


def draw_metrics(roles: list[str], followers: np.ndarray, age_days: np.ndarray,
                 botlike: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """tweet_count, listed_count and like_count per account, drawn as in the real data.

    Humans tweet a few times a day over their account's life (median about 3 a day, as
    cresci-2017's and rtbust's genuine accounts do), like about 0.45 times per tweet, and
    are listed about 0.7% as often as they are followed.  Thin ("botlike") humans are new
    and quiet.  Pronbots have about 43 tweets and no lists; farm accounts hardly ever
    tweet or like (cresci's fake followers: 23 tweets, 0 likes); mimic bots tweet a lot
    but like far less than people do.
    """
    n = len(roles)
    role = np.array(roles)
    days = np.maximum(age_days, 1.0)
    fame = np.maximum(np.asarray(followers, dtype=np.float64), 1.0) / 150.0
    rate = _lognormal(rng, 3.0, 1.0, n) * fame ** 0.5  # tweets a day, more for the followed
    per_tweet = _lognormal(rng, 0.45, 1.4, n)  # likes per tweet
    listing = _lognormal(rng, 0.007, 1.1, n)  # lists per follower
    spread = rng.lognormal(0.0, 1.0, n)
    human = role == "human"
    thin = human & botlike
    rate[thin] = _lognormal(rng, 0.15, 1.5, int(thin.sum()))
    listing[thin] = 0.003
    celeb = role == "celebrity"
    rate[celeb] = _lognormal(rng, 8.0, 0.8, int(celeb.sum()))
    per_tweet[celeb] *= 0.6
    listing[celeb] = _lognormal(rng, 0.03, 0.6, int(celeb.sum()))
    tweets = rate * days
    flower = (role == "hub") | (role == "leaf")
    tweets[flower] = 43.0 * spread[flower]
    per_tweet[flower] = _lognormal(rng, 0.2, 1.3, int(flower.sum()))
    listing[flower] = 0.0
    farm = role == "farm"
    tweets[farm] = 20.0 * spread[farm] ** 1.3
    per_tweet[farm] = np.where(rng.random(int(farm.sum())) < 0.85, 0.0, 0.1)
    listing[farm] = 0.0
    mimic = role == "mimic"
    tweets[mimic] = 4000.0 * spread[mimic] ** 0.8
    per_tweet[mimic] = _lognormal(rng, 0.05, 1.2, int(mimic.sum()))
    listing[mimic] = 0.004
    tweets = np.minimum(np.round(tweets), 500_000).astype(np.int64)
    likes = np.minimum(np.round(tweets * per_tweet), 1_000_000).astype(np.int64)
    listed = rng.poisson(np.asarray(followers, dtype=np.float64) * listing)
    listed[flower] = np.where(rng.random(int(flower.sum())) < 0.9, 0,
                              rng.integers(1, 3, int(flower.sum())))
    return {"tweet_count": tweets, "listed_count": listed.astype(np.int64), "like_count": likes}


def draw_states(roles: list[str], rng: np.random.Generator) -> list[str]:
    """Each account's state by its role's rates: active, suspended, deleted or protected."""
    out = []
    draws = rng.random(len(roles))
    for role, x in zip(roles, draws, strict=True):
        suspended, deleted, protected = _STATE_RATES[role]
        if x < suspended:
            out.append("suspended")
        elif x < suspended + deleted:
            out.append("deleted")
        elif x < suspended + deleted + protected:
            out.append("protected")
        else:
            out.append("active")
    return out
