"""The fast column-wise features equal the one-record-at-a-time reference, bit for bit.

The shipped model was trained on these exact numbers; any drift (an off-by-one in a
segment, a different summation order, a batch that takes another code path) would change
scores without retraining.  Each case runs alone and inside one mixed batch, so a record
that sends the batch down a slower, safer path still gets the same row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

from botsweep.models.features import FEATURES, feature_matrix
from botsweep.models.ngram import default_username_model
from botsweep.models.words import default_word_model
from tests.models.feature_reference import reference_matrix
from tests.models.synth import planted_profiles, profile

NOW = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)
_ODD_TEXT = [
    "", " ", "\x00", "a\x00b", "ÿ", "ÿÿ#x", "K\u212a", "İstanbul", "ΣΑΣ",
    "🤖🤖 bot", "🇮🇹 Roma", "★ ☀ ➡ ⬆", "#", "@", "#_", "@@a", "a#b #c", "x@y @z",
    "HTTP://A.B https://c http:/ https:// httpS://x HtTpS://y", "http://", "ttp://",
    "BoT robot bOtbot bo", "rock_n_roll_bot", "123", "a1b22c333", "abcdefghijklm word xx",
    "news daily life photos", "\ud800 lone surrogate", "中文描述 #标签 @用户", "tab\tnew\nline",
    "a" * 5000, "🙂" * 300,
]


def _edge_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [profile(0)]
    for i, text in enumerate(_ODD_TEXT, start=1):
        cases.append(profile(i, username=text[:20], name=text, description=text,
                             location=text[::-1]))
    missing = profile(100)
    for key in ("name", "description", "location", "url", "profile_image_url", "created_at",
                "verified", "protected", "public_metrics", "_collected_at"):
        del missing[key]
    cases.append(missing)
    cases += [
        profile(101, created_at=None),
        profile(102, created_at="", _collected_at=""),
        profile(103, created_at="not a date"),
        profile(104, created_at=datetime(2010, 3, 4, 5, 6, 7)),
        profile(105, _collected_at=None, _fetched_at="2023-02-03T04:05:06Z"),
        profile(106, _collected_at=datetime(2022, 1, 1, tzinfo=UTC)),
        profile(107, created_at="2030-01-01T00:00:00.000Z"),  # created after observed
        profile(108, metrics={"followers_count": 10**15, "following_count": 2**63,
                              "tweet_count": 0, "listed_count": 0, "like_count": 1e300}),
        profile(109, metrics={"followers_count": None, "following_count": "12",
                              "tweet_count": "x", "listed_count": True, "like_count": -3}),
        profile(110, public_metrics=None),
        profile(119, metrics={"followers_count": 10**400, "tweet_count": "9" * 400}),
        profile(111, public_metrics={}),
        profile(112, username=None, name=7, description=["x"], location={"a": 1}, url=None,
                profile_image_url=None, verified="true", protected=1),
        profile(113, verified=True, protected=True, url="https://t.co/x", name="user 113",
                profile_image_url="HTTPS://ABS.TWIMG.COM/default_profile_images/X.PNG"),
        profile(114, entities={"description": {"urls": [
            {"url": "https://t.co/1", "expanded_url": "https://bit.ly/x"},
            {"url": "https://t.co/2", "expanded_url": "http://www.News.Example.co.uk:80/a"},
            {"url": "https://t.co/3"}, "not a mapping", {"expanded_url": None}]}}),
        profile(115, entities={"description": {"urls": "nope"}}),
        profile(116, entities={"url": {"urls": [{"expanded_url": "https://a.com"}]}}),
        profile(117, entities=None),
        profile(118, name="Jane Doe", username="JaneDoe"),
        profile(120, profile_image_url="https://pbs.twimg.com/profile_images/"
                                       "378800000549950978/e3f9_normal.jpeg"),
        profile(121, profile_image_url="http://a0.twimg.com/profile_images/12ab/x.png"),
        profile(122, profile_image_url="https://pbs.twimg.com/profile_images//x.png"),
        profile(123, profile_image_url="https://pbs.twimg.com/profile_images/١٢/x"),
        profile(124, profile_image_url="HTTPS://PBS.TWIMG.COM/PROFILE_IMAGES/77/A.JPG"),
        profile(125, username="SamaEyewear", name="Sama Eyewear", entities={
            "url": {"urls": [{"expanded_url": "http://www.samaeyewear.net/shop"}]}}),
        profile(126, username="x", name="Élodie de la Cruz", entities={
            "url": {"urls": [{"expanded_url": "https://twitter.com/elodie"}]}}),
        profile(127, entities={"url": {"urls": ["not a mapping"]}}),
        profile(128, entities={"url": {"urls": [{"expanded_url": "no host"}]}}),
        profile(129, entities={"url": "nope", "description": {"urls": []}}),
        profile(130, entities={"url": {"urls": []}}),
        profile(131, name="ÉLODIE  mc'Donald O'Brien A b", username=None, entities={
            "url": {"urls": [{"expanded_url": "https://obrien.bbc.co.uk"}]}}),
    ]
    return cases


_PIECES = ["a", "Z", "q", "_", "0", "7", " ", "#", "@", ":", "/", ".", "http", "HTTPS://",
           "bot", "BOT", "é", "ñ", "中", "🤖", "🇮🇹", "☀", "⬆", "\u212a", "ÿ", "\x00", "news",
           "life", "love", "feed", "tweets", "every", "hour", "writer", "official"]


def _text(rng: np.random.Generator, most: int) -> str:
    return "".join(rng.choice(_PIECES, size=int(rng.integers(0, most))))


def _generated(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        record = profile(
            500 + i, username=_text(rng, 8), name=_text(rng, 10), description=_text(rng, 40),
            location=_text(rng, 6), verified=bool(rng.integers(0, 2)),
            url="https://t.co/x" if rng.integers(0, 2) else "",
            created_at=f"{int(rng.integers(2006, 2024))}-0{int(rng.integers(1, 10))}-1"
                       f"{int(rng.integers(0, 10))}T0{int(rng.integers(0, 10))}:00:00.000Z",
            metrics={name: int(rng.integers(0, 10 ** int(rng.integers(1, 9))))
                     for name in ("followers_count", "following_count", "tweet_count",
                                  "listed_count", "like_count")},
        )
        if rng.integers(0, 4) == 0:
            record["entities"] = {"description": {"urls": [
                {"expanded_url": f"https://{rng.choice(['bit.ly', 'www.a.org', 'b.co.uk'])}/x"}
            ]}}
        if rng.integers(0, 3) == 0:
            host = _text(rng, 4).replace(" ", "") + rng.choice([".com", ".io", ".co.uk", ""])
            record.setdefault("entities", {})["url"] = {"urls": [
                {"expanded_url": f"https://{host}/{_text(rng, 3)}"}]}
        if rng.integers(0, 2) == 0:
            record["profile_image_url"] = (f"https://pbs.twimg.com/profile_images/"
                                           f"{int(rng.integers(0, 2**62))}/{_text(rng, 3)}.jpg")
        if rng.integers(0, 5) == 0:
            del record["_collected_at"]
        out.append(record)
    return out


def _check(records: list[dict[str, Any]]) -> None:
    usernames, words = default_username_model(), default_word_model()
    fast = feature_matrix(records, now=NOW, username_model=usernames, word_model=words)
    slow = reference_matrix(records, NOW, usernames, words)
    assert fast.shape == (len(records), len(FEATURES))
    for j, name in enumerate(FEATURES):
        np.testing.assert_array_equal(fast[:, j], slow[:, j], err_msg=name)


def test_edge_cases_one_by_one() -> None:
    for record in _edge_cases():
        _check([record])


def test_edge_cases_in_one_batch() -> None:
    _check(_edge_cases())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_profiles(seed: int) -> None:
    _check(_generated(300, seed))


def test_clean_batch_and_empty_batch() -> None:
    _check(planted_profiles(200))
    assert feature_matrix([], now=NOW).shape == (0, len(FEATURES))


def test_mixed_batch_rows_do_not_depend_on_neighbours() -> None:
    """A record's row is the same whatever else is in its batch."""
    clean, odd = planted_profiles(50), _edge_cases()
    alone = feature_matrix(clean, now=NOW)
    mixed = feature_matrix(clean + odd, now=NOW)
    np.testing.assert_array_equal(mixed[: len(clean)], alone)


_STAMPS = [
    "2013-06-11T11:20:35.000Z", "2000-02-29T23:59:59.000Z", "1900-02-29T00:00:00.000Z",
    "2100-02-28T00:00:00.000Z", "2013-02-30T00:00:00.000Z", "2013-13-01T00:00:00.000Z",
    "2013-00-10T00:00:00.000Z", "2013-06-00T00:00:00.000Z", "2013-06-11T24:00:00.000Z",
    "2013-06-11T23:60:00.000Z", "2013-06-11T23:59:60.000Z", "1678-01-01T00:00:00.000Z",
    "1677-12-31T23:59:59.000Z", "2261-12-31T23:59:59.000Z", "2262-01-01T00:00:00.000Z",
    "0001-01-01T00:00:00.000Z", "1969-12-31T23:59:59.000Z", "2013-06-11T11:20:35.500Z",
    "2013-06-11t11:20:35.000z", "2013-06-11 11:20:35.000Z", "2013-06-11T11:20:35Z",
    "2013-06-11T11:20:35.000+01:00", "٢٠١٣-06-11T11:20:35.000Z", "2013-06-11T11:20:35.000Y",
    "2013/06/11T11:20:35.000Z", "+013-06-11T11:20:35.000Z", "2013-06-11T11:20:35.000Z ",
]


def test_account_age_from_every_timestamp_form() -> None:
    """Creation and observation times in the API's form, near it, or far from it."""
    records = [profile(600 + i, created_at=stamp) for i, stamp in enumerate(_STAMPS)]
    records += [profile(700 + i, created_at="2010-01-01T00:00:00.000Z", _collected_at=stamp)
                for i, stamp in enumerate(_STAMPS)]
    records.append(profile(800, created_at=None, _collected_at=_STAMPS[0]))
    _check(records)
    for record in records[:3]:
        _check([record])


def test_large_batches_with_absent_keys_and_other_mappings() -> None:
    """Batches read in runs of records: absent keys and non-dict records anywhere."""
    records: list[Any] = _generated(700, 7)
    for i in (3, 255, 256, 300, 511, 699):
        del records[i]["location"]
    del records[400]["description"], records[401]["public_metrics"]
    _check(records)
    records[650] = MappingProxyType(records[650])  # a Mapping that is not a dict
    _check(records)
