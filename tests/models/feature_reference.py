"""A plain, one-record-at-a-time statement of every profile feature.

``botsweep.models.features.feature_matrix`` computes the same numbers column-wise with
numpy, fast.  This module is deliberately slow and obvious: loops and ``if``s over one
record, so that a test can check the fast code bit for bit against the definitions in
docs/model-card.md.  Sums are done in the order the fast code does them (``np.sum`` of
the username transitions, left-to-right word log-odds), so equal means identical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from botsweep.models.features import COUNT_FIELDS, FEATURES
from botsweep.models.links import SHORTENERS, description_domains
from botsweep.models.ngram import ALPHABET, UsernameModel
from botsweep.models.words import MAX_WORD, WordModel, encode_word

__all__ = ["reference_row", "reference_matrix"]


def _count(value: Any) -> float:
    if isinstance(value, bool):
        return math.nan
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and value.strip().isdigit():
            return float(value)
    except OverflowError:  # an int too large for a float
        pass
    return math.nan


def _days(value: Any) -> float:
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if not isinstance(value, str) or not value:
        return math.nan
    parsed = pd.to_datetime([value], utc=True, errors="coerce", format="ISO8601")
    if parsed.isna()[0]:
        return math.nan
    return float(parsed.as_unit("s").asi8[0]) / 86_400.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) | 32) if "A" <= c <= "Z" else c for c in text)


def _is_word_char(char: str) -> bool:
    return ("0" <= char <= "9") or ("a" <= _ascii_lower(char) <= "z") or char == "_" \
        or ord(char) > 127


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x2B00 <= code <= 0x2BFF


def _tag_count(text: str, sign: str) -> int:
    count = 0
    for i, char in enumerate(text):
        if char != sign or i + 1 >= len(text) or not _is_word_char(text[i + 1]):
            continue
        if i > 0 and _is_word_char(text[i - 1]):
            continue
        count += 1
    return count


def _text_stats(text: str) -> dict[str, float]:
    low = _ascii_lower(text)
    urls = sum(1 for i in range(len(low))
               if low.startswith("http://", i) or low.startswith("https://", i))
    return {
        "len": float(len(text)),
        "digits": float(sum("0" <= c <= "9" for c in text)),
        "upper": float(sum("A" <= c <= "Z" for c in text)),
        "nonascii": float(sum(ord(c) > 127 for c in text)),
        "emoji": float(sum(_is_emoji(c) for c in text)),
        "urls": float(urls),
        "hashtags": float(_tag_count(text, "#")),
        "mentions": float(_tag_count(text, "@")),
        "bot": float(sum(1 for i in range(len(low)) if low.startswith("bot", i))),
    }


def _symbol(char: str) -> int:
    if char == "\x00":
        return 0
    low = _ascii_lower(char)
    if low in "abcdefghijklmnopqrstuvwxyz0123456789_" and low.isascii():
        return ALPHABET.index(low)
    return len(ALPHABET) - 1


def _loglik(username: str, model: UsernameModel) -> float:
    if not username:
        return math.nan
    symbols = [0, *(_symbol(c) for c in username), 0]
    k = len(ALPHABET)
    logps = np.array([model.logp[a * k + b] for a, b in zip(symbols, symbols[1:], strict=False)])
    # numpy's reduction order (first term, then a pairwise sum of the rest), as the fast code.
    return float(np.add.reduceat(logps, [0])[0]) / (len(username) + 1)


def _word_score(text: str, model: WordModel) -> float:
    table = dict(zip(model.vocab.tolist(), model.logodds.tolist(), strict=True))
    runs, current = [], ""
    for char in text + "\x00":
        if char.isascii() and char.isalpha():
            current += char
        else:
            runs.append(current)
            current = ""
    words = [w.lower() for w in runs if 2 <= len(w) <= MAX_WORD]
    total = 0.0
    for word in words:
        code = encode_word(word)
        if code in table:
            total += table[code]
    return total / math.sqrt(max(float(len(words)), 1.0))


def _trailing_digits(text: str) -> float:
    return float(len(text) - len(text.rstrip("0123456789")))


def reference_row(record: Mapping[str, Any], now: datetime, username_model: UsernameModel,
                  word_model: WordModel) -> dict[str, float]:
    """Every feature of one record, by its definition."""
    row: dict[str, float] = {}
    metrics = record.get("public_metrics")
    for field in COUNT_FIELDS:
        row[field] = _count(metrics.get(field)) if isinstance(metrics, Mapping) else math.nan
    followers, following = row["followers_count"], row["following_count"]
    tweets, listed, likes = row["tweet_count"], row["listed_count"], row["like_count"]
    row["followers_per_following"] = followers / max(following, 1.0)
    row["listed_per_follower"] = listed / max(followers, 1.0)
    row["likes_per_tweet"] = likes / max(tweets, 1.0)
    row["tweets_per_follower"] = tweets / max(followers, 1.0)
    observed = record.get("_collected_at") or record.get("_fetched_at") or now
    age = _days(observed) - _days(record.get("created_at"))
    row["account_age_days"] = age
    days = max(age, 1.0) if not math.isnan(age) else math.nan
    for name, value in (("tweets", tweets), ("likes", likes), ("followers", followers),
                        ("following", following), ("listed", listed)):
        row[f"{name}_per_day"] = value / days
    row["verified"] = float(record.get("verified") is True)
    row["protected"] = float(record.get("protected") is True)
    row["has_url"] = float(bool(_text(record.get("url"))))
    image = _text(record.get("profile_image_url")).lower()
    row["default_image"] = float("default_profile_images" in image)
    row["image_png"] = float(image.endswith(".png"))
    username = _text(record.get("username"))
    row["name_is_username"] = float(
        _text(record.get("name")).replace(" ", "").lower() == username.lower())
    stats = _text_stats(username)
    for stat in ("len", "digits", "upper", "bot"):
        row[f"username_{stat}"] = stats[stat]
    row["username_trailing_digits"] = _trailing_digits(username)
    row["username_loglik"] = _loglik(username, username_model)
    for field in ("name", "description", "location"):
        stats = _text_stats(_text(record.get(field)))
        for stat, value in stats.items():
            if f"{field}_{stat}" in FEATURES:
                row[f"{field}_{stat}"] = value
    domains = description_domains(record)
    row["description_link_domains"] = float(len(domains))
    row["description_shortener"] = float(any(d in SHORTENERS for d in domains))
    row["description_words"] = _word_score(_text(record.get("description")), word_model)
    return row


def reference_matrix(records: list[Mapping[str, Any]], now: datetime,
                     username_model: UsernameModel, word_model: WordModel) -> np.ndarray:
    """:func:`reference_row` of each record, as a matrix in :data:`FEATURES` order."""
    out = np.empty((len(records), len(FEATURES)))
    for i, record in enumerate(records):
        row = reference_row(record, now, username_model, word_model)
        out[i] = [row[name] for name in FEATURES]
    return out
