"""Profile features: X API v2 user objects in, one numeric row per account out.

The set joins botornot's "fast" profile features and BotometerLite's (growth rates,
username digits/length/likelihood), plus the default-image flag read from
``profile_image_url`` and the domains of description links read from ``entities``
(:mod:`botsweep.models.links`).
Only fields that the v2 users endpoints return are read; ``_v1`` never is.

Account age is measured up to when the profile was observed: the record's
``_collected_at``, else its ``_fetched_at`` (the DB adds it when scoring crawled
accounts), else ``now``, else the current time.

Everything is column-wise: one pass over the records pulls each field into a list, and
numpy does the rest (:mod:`botsweep.models.textstats` for the text counts).  A missing
count is NaN, never a guessed 0 here; but a model that never saw a feature missing in
training reads NaN as 0 (LightGBM), which ``score`` warns about
(:meth:`~botsweep.models.scorer.BotScorer.missing_as_zero`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import contains, eq, is_, itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from botsweep.models.links import is_mapping, link_domain_features
from botsweep.models.ngram import UsernameModel, default_username_model
from botsweep.models.textstats import encode_column, epoch_seconds, text_counts
from botsweep.models.words import WordModel, default_word_model

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FEATURES",
    "CONSTANT_FEATURES",
    "OWN_LABELS",
    "COUNT_FIELDS",
    "extract_features",
    "feature_matrix",
]

COUNT_FIELDS = ("followers_count", "following_count", "tweet_count", "listed_count", "like_count")
_TEXT_FIELDS = ("name", "description", "location")
_TEXT_STATS = ("len", "digits", "urls", "hashtags", "mentions", "upper", "nonascii", "emoji")
_TEXT_EXTRA = {"name": ("bot",), "description": ("bot",), "location": ()}

FEATURES: list[str] = [
    *COUNT_FIELDS,
    "followers_per_following",
    "listed_per_follower",
    "likes_per_tweet",
    "tweets_per_follower",
    "account_age_days",
    "tweets_per_day",
    "likes_per_day",
    "followers_per_day",
    "following_per_day",
    "listed_per_day",
    "verified",
    "protected",
    "has_url",
    "default_image",
    "image_png",
    "name_is_username",
    "username_len",
    "username_digits",
    "username_upper",
    "username_trailing_digits",
    "username_loglik",
    "username_bot",
    *[f"{field}_{stat}" for field in _TEXT_FIELDS
      for stat in (*_TEXT_STATS, *_TEXT_EXTRA[field])],
    "description_link_domains",
    "description_shortener",
    "description_words",
]

# Features a model may take that records do not carry: the scorer fills in the value.
# ``own_labels`` marks the training accounts that carry the user's own labels (1) against
# extra labelled data (0); a crawl is scored as the user's own (botsweep.models.extra).
OWN_LABELS = "own_labels"
CONSTANT_FEATURES: dict[str, float] = {OWN_LABELS: 1.0}

_DAY_S = 86_400.0


def _count(value: Any) -> float:
    """A count as a float: a number (not a bool), or a string of digits; else NaN."""
    if isinstance(value, bool):
        return np.nan
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and value.strip().isdigit():
            return float(value)
    except OverflowError:
        pass
    return np.nan


def _time_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return None


def _epoch_days(values: Sequence[Any]) -> np.ndarray:
    """RFC 3339 strings (or datetimes) to days since the epoch; NaN when missing or bad."""
    if set(map(type, values)) - {str}:
        values = [_time_text(v) for v in values]
    return epoch_seconds(values) / _DAY_S


def _observed_days(collected: Sequence[Any], fetched: Sequence[Any],
                   now: datetime | None) -> np.ndarray:
    default = _time_text(now if now is not None else datetime.now(UTC))
    return _epoch_days([c or f or default for c, f in zip(collected, fetched, strict=True)])


def _trailing_digits(column: Any) -> np.ndarray:
    codes = column.codes
    if len(column.starts) == 0:
        return np.zeros(0)
    body = codes[:-1]  # without the final NUL, which belongs to no string
    positions = np.arange(len(body), dtype=np.int64)
    non_digit = np.where((body >= 48) & (body <= 57), -1, positions)
    last_non_digit = np.maximum.reduceat(non_digit, column.starts)
    return (column.starts + column.lengths - last_non_digit).astype(np.float64)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return top / np.maximum(bottom, 1.0)


_TOP_KEYS = ("username", "name", "description", "location", "url", "profile_image_url",
             "created_at", "verified", "protected", "public_metrics")


def _field(records: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    """``record.get(key)`` of every record, in one C-level pass when they are all dicts."""
    try:
        return list(map(dict.get, records, repeat(key)))  # type: ignore[arg-type]
    except TypeError:  # a Mapping that is not a dict
        return [r.get(key) if is_mapping(r) else None for r in records]


_OPTIONAL_KEYS = ("_collected_at", "_fetched_at", "entities")
_STEP = 256  # records per pass: their dicts stay in the CPU cache between the reads


def _top_fields(records: Sequence[Mapping[str, Any]]) -> dict[str, Sequence[Any]]:
    """Each field the features read, as a sequence (a tuple or a list); None if absent.

    Reading a dict costs mostly cache misses, so each run of 256 records is read for
    all its keys (one C-level itemgetter pass, or ``dict.get`` per key where a key is
    absent) and at once for the optional ones, while its dicts are in the cache; a
    transpose then makes the columns.  Other Mappings are read one key at a time."""
    get, rows = itemgetter(*_TOP_KEYS), []
    optional: dict[str, list[Any]] = {key: [] for key in _OPTIONAL_KEYS}
    try:
        for start in range(0, len(records), _STEP):
            part = records[start:start + _STEP]
            try:
                rows += list(map(get, part))
            except KeyError:
                rows += zip(*[map(dict.get, part, repeat(k)) for k in _TOP_KEYS], strict=True)
            for key, column in optional.items():
                column.extend(map(dict.get, part, repeat(key)))  # type: ignore[arg-type]
    except TypeError:  # a Mapping that is not a dict
        return {key: _field(records, key) for key in (*_TOP_KEYS, *_OPTIONAL_KEYS)}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in _TOP_KEYS]
    del rows
    return {**dict(zip(_TOP_KEYS, columns, strict=True)), **optional}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cycle collector while columns are built.

    Building them allocates some 100k short-lived tuples, which would otherwise trigger
    full collections that walk every record; nothing here makes a reference cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _joined(values: Sequence[Any]) -> tuple[Sequence[str], str]:
    """The values as strings (anything else as ``""``), and their NUL-joined text.

    The join itself checks the types: it raises TypeError unless every value is a str,
    so a clean column costs one pass.
    """
    try:
        return values, "\x00".join(values)
    except TypeError:
        strings = [v if isinstance(v, str) else "" for v in values]
        return strings, "\x00".join(strings)


def _lowered(strings: Sequence[str], joined: str, drop: str = "") -> list[str]:
    """Each string lowercased (without ``drop``), in one pass over the joined text."""
    if joined.count("\x00") != max(len(strings) - 1, 0):  # a NUL inside a string
        return [s.replace(drop, "").lower() if drop else s.lower() for s in strings]
    if drop:
        joined = joined.replace(drop, "")
    return joined.lower().split("\x00") if strings else []


_TYPES_OK = frozenset({int, float})


def _count_matrix(metrics: Sequence[Any]) -> np.ndarray:
    """public_metrics counts as an (n, 5) float matrix; NaN where a count is missing."""
    n = len(metrics)
    try:  # one C-level pass over the dicts when every value is a plain int or float
        rows = list(map(itemgetter(*COUNT_FIELDS), metrics))
        if set(map(type, chain.from_iterable(rows))) <= _TYPES_OK:
            flat = np.fromiter(chain.from_iterable(rows), np.float64, n * len(COUNT_FIELDS))
            return flat.reshape(n, len(COUNT_FIELDS))
    except (KeyError, TypeError, OverflowError):
        pass
    out = np.full((n, len(COUNT_FIELDS)), np.nan)
    for i, m in enumerate(metrics):
        if is_mapping(m):
            out[i] = [_count(m.get(name)) for name in COUNT_FIELDS]
    return out


def _segment_counts(strings: Sequence[str], joined: str, stats: Sequence[str], prefix: str,
                    cols: dict[str, np.ndarray]) -> Any:
    column = encode_column(strings, joined)
    for stat, values in text_counts(column, stats).items():
        cols[f"{prefix}_{stat}"] = values.astype(np.float64)
    return column


def feature_matrix(
    records: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
    username_model: UsernameModel | None = None,
    word_model: WordModel | None = None,
) -> np.ndarray:
    """The features of ``records`` as a float64 matrix, columns in :data:`FEATURES` order."""
    n = len(records)
    with _gc_paused():  # both build a tuple per record
        top = _top_fields(records)
        counts = _count_matrix(top["public_metrics"])
    cols: dict[str, np.ndarray] = {}
    for j, field in enumerate(COUNT_FIELDS):
        cols[field] = counts[:, j]
    followers, following = cols["followers_count"], cols["following_count"]
    tweets, listed, likes = cols["tweet_count"], cols["listed_count"], cols["like_count"]
    cols["followers_per_following"] = _ratio(followers, following)
    cols["listed_per_follower"] = _ratio(listed, followers)
    cols["likes_per_tweet"] = _ratio(likes, tweets)
    cols["tweets_per_follower"] = _ratio(tweets, followers)

    age = _observed_days(top["_collected_at"], top["_fetched_at"], now) \
        - _epoch_days(top["created_at"])
    cols["account_age_days"] = age
    days = np.maximum(age, 1.0)
    cols["tweets_per_day"] = tweets / days
    cols["likes_per_day"] = likes / days
    cols["followers_per_day"] = followers / days
    cols["following_per_day"] = following / days
    cols["listed_per_day"] = listed / days

    cols["verified"] = np.fromiter(map(is_, top["verified"], repeat(True)), float, n)
    cols["protected"] = np.fromiter(map(is_, top["protected"], repeat(True)), float, n)
    cols["has_url"] = np.fromiter(map(bool, _joined(top["url"])[0]), float, n)
    images = _lowered(*_joined(top["profile_image_url"]))
    cols["default_image"] = np.fromiter(
        map(contains, images, repeat("default_profile_images")), float, n)
    # Logos are PNGs far more often than photos: 19% of tweetbotornot's bots, 3% of humans.
    cols["image_png"] = np.fromiter(map(str.endswith, images, repeat(".png")), float, n)
    text = {field: _joined(top[field]) for field in ("username", *_TEXT_FIELDS)}
    names = _lowered(*text["name"], drop=" ")
    handles = _lowered(*text["username"])
    cols["name_is_username"] = np.fromiter(map(eq, names, handles), float, n)

    usernames = _segment_counts(*text["username"], ("len", "digits", "upper", "bot"),
                                "username", cols)
    cols["username_trailing_digits"] = _trailing_digits(usernames)
    model = username_model if username_model is not None else default_username_model()
    cols["username_loglik"] = model.loglik(usernames)
    for field in _TEXT_FIELDS:
        column = _segment_counts(*text[field], (*_TEXT_STATS, *_TEXT_EXTRA[field]),
                                 field, cols)
        if field == "description":
            words = word_model if word_model is not None else default_word_model()
            cols["description_words"] = words.score(column)
    cols["description_link_domains"], cols["description_shortener"] = link_domain_features(
        top["entities"])

    # Filling whole rows of the transpose and copying it once is half the cost of
    # writing 56 strided columns into the row-major matrix LightGBM wants.
    by_column = np.empty((len(FEATURES), n), dtype=np.float64)
    for j, name in enumerate(FEATURES):
        by_column[j] = cols[name]
    return np.ascontiguousarray(by_column.T)


def extract_features(
    records: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
    username_model: UsernameModel | None = None,
    word_model: WordModel | None = None,
) -> pd.DataFrame:
    """One row per record, columns :data:`FEATURES` (in that order)."""
    import pandas as pd

    matrix = feature_matrix(records, now=now, username_model=username_model,
                            word_model=word_model)
    return pd.DataFrame(matrix, columns=list(FEATURES))
