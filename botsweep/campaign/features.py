"""Campaign features: v2 user objects to one hashed sparse row per account.

A campaign is recognised by what its accounts share: the domain behind the shortened link in
the description (read from ``entities``, since ``t.co`` hides it), a phrase, a style of
name, accounts created in the same years, a shape of the metrics (no following, a few
dozen followers), and what the generic scorer thinks of them.  Four blocks, each hashed
into its own range of columns (no vocabulary to store, so a model is a list of weights):

0. *profile tokens* (:func:`profile_tokens`): ``domain:…``, ``site:…``, ``year:…``,
   ``years:…`` (two-year band), ``followers:b3`` style metric buckets, ``ratio:…``,
   ``image:default``, ``nameword:…``, ``handle:…``, and the generic bot probability
   (``bot`` with the probability as its value, plus ``bot:low|mid|high``);
1. word 1-2-grams of the description (links removed), L2-normalised;
2. character 3-5-grams of the description, L2-normalised;
3. character 2-4-grams of the name, L2-normalised.

Tokens of blocks 0 and 1 have readable names (:meth:`CampaignFeaturizer.named_columns`),
which is how a model explains itself; character n-grams are not named.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from botsweep.errors import ModelError
from botsweep.models.links import SHORTENERS, description_domains, registered_domain

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "HashingScheme",
    "CampaignFeaturizer",
    "profile_tokens",
    "describe_token",
    "clean_description",
    "BLOCKS",
]

BLOCKS = ("tokens", "desc_words", "desc_chars", "name_chars")
_URL = re.compile(r"https?://\S+|\bt\.co/\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_METRICS = (("followers_count", "followers"), ("following_count", "following"),
            ("tweet_count", "tweets"), ("listed_count", "listed"), ("like_count", "likes"))


@dataclass(frozen=True)
class HashingScheme:
    """How records become columns: block sizes, n-gram ranges and block weights."""

    version: int = 1
    bits: dict[str, int] = field(default_factory=lambda: {
        "tokens": 18, "desc_words": 18, "desc_chars": 18, "name_chars": 16})
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    name_char_ngrams: tuple[int, int] = (2, 4)
    weights: dict[str, float] = field(default_factory=lambda: {
        "tokens": 1.0, "desc_words": 1.0, "desc_chars": 1.0, "name_chars": 0.5})
    bot_weight: float = 1.0
    domain_weight: float = 3.0
    shape_weight: float = 0.3

    def sizes(self) -> list[int]:
        return [2 ** int(self.bits[name]) for name in BLOCKS]

    def offsets(self) -> list[int]:
        return [int(v) for v in np.concatenate([[0], np.cumsum(self.sizes())[:-1]])]

    @property
    def n_features(self) -> int:
        return int(sum(self.sizes()))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["word_ngrams"] = list(self.word_ngrams)
        data["char_ngrams"] = list(self.char_ngrams)
        data["name_char_ngrams"] = list(self.name_char_ngrams)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HashingScheme:
        try:
            scheme = cls(
                version=int(data["version"]),
                bits={k: int(data["bits"][k]) for k in BLOCKS},
                word_ngrams=_pair(data["word_ngrams"]),
                char_ngrams=_pair(data["char_ngrams"]),
                name_char_ngrams=_pair(data["name_char_ngrams"]),
                weights={k: float(data["weights"][k]) for k in BLOCKS},
                bot_weight=float(data.get("bot_weight", 1.0)),
                domain_weight=float(data.get("domain_weight", 1.0)),
                shape_weight=float(data.get("shape_weight", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"campaign model: bad hashing scheme ({exc!r})") from None
        if scheme.version != 1:
            raise ModelError(
                f"campaign model: hashing scheme version {scheme.version} is not known to this "
                "botsweep; upgrade botsweep, or refit with `botsweep campaign fit`"
            )
        if any(not 4 <= b <= 22 for b in scheme.bits.values()):
            raise ModelError(f"campaign model: hashing bits {scheme.bits} out of range 4-22")
        return scheme


def _pair(value: Any) -> tuple[int, int]:
    low, high = value
    return int(low), int(high)


def _bucket(value: int) -> int:
    """0 for 0; then base-4 buckets: 1-3 → 1, 4-15 → 2, 16-63 → 3, …"""
    return 0 if value <= 0 else int(math.log2(value)) // 2 + 1


def _bucket_range(b: int) -> str:
    if b == 0:
        return "0"
    low, high = 4 ** (b - 1), 4 ** b - 1
    return f"{low}-{high}"


def clean_description(text: Any) -> str:
    """The description without its links (a t.co slug is noise, not a phrase)."""
    return _URL.sub(" ", text) if isinstance(text, str) else ""


def _year(created: Any) -> int | None:
    if isinstance(created, str) and len(created) >= 4 and created[:4].isdigit():
        year = int(created[:4])
        return year if 2000 <= year <= 2100 else None
    return None


def _site_domains(record: Mapping[str, Any]) -> list[str]:
    entities = record.get("entities")
    urls = entities.get("url", {}).get("urls") if isinstance(entities, Mapping) else None
    if not isinstance(urls, list):
        return []
    out = []
    for item in urls:
        if isinstance(item, Mapping):
            domain = registered_domain(item.get("expanded_url") or item.get("url") or "")
            if domain:
                out.append(domain)
    return out


def profile_tokens(record: Mapping[str, Any], bot_probability: float | None = None,
                   bot_weight: float = 1.0, domain_weight: float = 1.0,
                   shape_weight: float = 1.0) -> dict[str, float]:
    """The named profile tokens of one record (block 0), each with its value.

    A value is a prior on the token's weight: the regulariser charges a token less the
    larger its value.  A link domain that is not a shortener takes ``domain_weight``: the
    landing domain a network shares is its fingerprint.  The shape of the metrics and the
    generic bot score take ``shape_weight``: they say "a bot", which every network shares,
    so a model that leant on them would flag networks it has not seen yet.
    """
    tokens: dict[str, float] = {}
    domains = description_domains(record)
    for domain in domains:
        tokens[f"domain:{domain}"] = 1.0 if domain in SHORTENERS else domain_weight
    if any(domain in SHORTENERS for domain in domains):
        tokens["domain:<shortener>"] = 1.0
    if not domains:
        tokens["domain:<none>"] = 1.0
    for domain in _site_domains(record):
        tokens[f"site:{domain}"] = 1.0
    year = _year(record.get("created_at"))
    if year is not None:
        tokens[f"year:{year}"] = 1.0
        band = year - year % 2
        tokens[f"years:{band}-{band + 1}"] = 1.0
    metrics = record.get("public_metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    counts: dict[str, int] = {}
    for key, short in _METRICS:
        value = metrics.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            counts[short] = value
            tokens[f"{short}:b{_bucket(value)}"] = shape_weight
    if "followers" in counts and "following" in counts:
        if counts["following"] == 0:
            tokens["ratio:follows-nobody"] = shape_weight
        else:
            ratio = math.log10(max(counts["followers"], 1) / counts["following"])
            tokens[f"ratio:{int(round(max(-3.0, min(3.0, ratio))))}"] = shape_weight
    image = record.get("profile_image_url")
    if isinstance(image, str) and "default_profile_images" in image:
        tokens["image:default"] = 1.0
    name = record.get("name")
    if isinstance(name, str):
        for word in _WORD.findall(name.lower()):
            tokens[f"nameword:{word}"] = 1.0
    handle = record.get("username")
    if isinstance(handle, str) and handle:
        digits = len(handle) - len(handle.rstrip("0123456789"))
        tokens[f"handle:digits{min(digits, 5)}"] = 1.0
        tokens[f"handle:len{min(len(handle), 15) // 3}"] = 1.0
    if bot_probability is None or not math.isfinite(bot_probability):
        tokens["bot:missing"] = shape_weight
    else:
        p = min(1.0, max(0.0, float(bot_probability)))
        tokens["bot"] = bot_weight * shape_weight * p
        tokens["bot:high" if p >= 0.8 else "bot:mid" if p >= 0.2 else "bot:low"] = shape_weight
    return tokens


def describe_token(token: str) -> str:
    """A phrase for a reason or a report: ``domain:x.example`` → ``link to x.example``."""
    kind, _, value = token.partition(":")
    if kind == "words":
        return f"'{value}' in bio"
    if kind == "domain":
        return {"<none>": "no link in bio", "<shortener>": "shortened link in bio"}.get(
            value, f"link to {value}")
    if kind == "site":
        return f"website {value}"
    if kind == "year":
        return f"created {value}"
    if kind == "years":
        return f"created {value}"
    if kind == "nameword":
        return f"'{value}' in name"
    if kind == "ratio":
        return "follows nobody" if value == "follows-nobody" else f"followers/following ~10^{value}"
    if kind == "image":
        return "default profile image"
    if kind == "handle":
        if value.startswith("digits"):
            count = value[6:]
            if count == "0":
                return "handle ends in a letter or _"
            return f"handle ends in {count}{'+' if count == '5' else ''} digit" + (
                "" if count == "1" else "s")
        band = int(value[3:]) if value[3:].isdigit() else 0
        return f"handle of {band * 3}-{band * 3 + 2} characters" if band < 5 else \
            "handle of 15 characters"
    if token == "bot":
        return "generic bot probability"
    if kind == "bot":
        return f"generic bot score {value}"
    if value.startswith("b") and value[1:].isdigit():
        return f"{kind} {_bucket_range(int(value[1:]))}"
    return token


class CampaignFeaturizer:
    """Turns records (and generic bot probabilities) into the model's sparse matrix."""

    def __init__(self, scheme: HashingScheme | None = None) -> None:
        from sklearn.feature_extraction import FeatureHasher
        from sklearn.feature_extraction.text import HashingVectorizer

        self.scheme = scheme or HashingScheme()
        sizes = self.scheme.sizes()
        self._tokens = FeatureHasher(n_features=sizes[0], input_type="dict",
                                     alternate_sign=False)
        self._strings = FeatureHasher(n_features=sizes[1], input_type="string",
                                      alternate_sign=False)
        self._words = HashingVectorizer(
            n_features=sizes[1], analyzer="word", ngram_range=self.scheme.word_ngrams,
            alternate_sign=False, norm="l2", lowercase=True)
        self._chars = HashingVectorizer(
            n_features=sizes[2], analyzer="char_wb", ngram_range=self.scheme.char_ngrams,
            alternate_sign=False, norm="l2", lowercase=True)
        self._names = HashingVectorizer(
            n_features=sizes[3], analyzer="char_wb", ngram_range=self.scheme.name_char_ngrams,
            alternate_sign=False, norm="l2", lowercase=True)
        self._word_analyzer = self._words.build_analyzer()

    @property
    def n_features(self) -> int:
        return self.scheme.n_features

    def transform(self, records: Sequence[Mapping[str, Any]],
                  bot_probabilities: Sequence[float] | np.ndarray | None = None,
                  ) -> sparse.csr_matrix:
        """One row per record; ``bot_probabilities`` may hold NaN for unknown."""
        from scipy import sparse

        n = len(records)
        probs = (np.full(n, np.nan) if bot_probabilities is None
                 else np.asarray(bot_probabilities, dtype=np.float64))
        if probs.shape != (n,):
            raise ValueError(f"{probs.shape[0]} bot probabilities for {n} records")
        weights = self.scheme.weights
        scheme = self.scheme
        tokens = self._tokens.transform(
            profile_tokens(r, float(p), scheme.bot_weight, scheme.domain_weight,
                           scheme.shape_weight)
            for r, p in zip(records, probs, strict=True))
        descriptions = [clean_description(r.get("description")) for r in records]
        names = [r.get("name") if isinstance(r.get("name"), str) else "" for r in records]
        blocks = [
            tokens * weights["tokens"],
            self._words.transform(descriptions) * weights["desc_words"],
            self._chars.transform(descriptions) * weights["desc_chars"],
            self._names.transform(names) * weights["name_chars"],
        ]
        return sparse.hstack(blocks, format="csr", dtype=np.float64)

    def named_tokens(self, record: Mapping[str, Any],
                     bot_probability: float | None = None) -> dict[str, float]:
        """The readable tokens of a record (blocks 0 and 1) with their column values."""
        out = {
            k: v * self.scheme.weights["tokens"]
            for k, v in profile_tokens(record, bot_probability, self.scheme.bot_weight,
                                       self.scheme.domain_weight,
                                       self.scheme.shape_weight).items()
        }
        grams = self._word_analyzer(clean_description(record.get("description")))
        if grams:
            norm = math.sqrt(sum(c * c for c in _counts(grams).values()))
            for gram, count in _counts(grams).items():
                out[f"words:{gram}"] = count / norm * self.scheme.weights["desc_words"]
        return out

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """The column index of each readable token name (as :meth:`named_tokens` gives them)."""
        offsets = self.scheme.offsets()
        out = np.empty(len(names), dtype=np.int64)
        plain = [i for i, t in enumerate(names) if not t.startswith("words:")]
        words = [i for i, t in enumerate(names) if t.startswith("words:")]
        if plain:
            m = self._tokens.transform([{names[i]: 1.0} for i in plain]).tocsr()
            out[plain] = m.indices + offsets[0]  # one entry per row, rows in order
        if words:
            m = self._strings.transform([[names[i][6:]] for i in words]).tocsr()
            out[words] = m.indices + offsets[1]
        return out


def _counts(grams: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for gram in grams:
        out[gram] = out.get(gram, 0) + 1
    return out
