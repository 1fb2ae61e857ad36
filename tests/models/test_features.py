"""Features of hand-made profiles have known values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from botsweep.models.features import FEATURES, extract_features
from botsweep.models.links import registered_domain
from botsweep.models.ngram import UsernameModel
from botsweep.models.words import WordModel
from tests.models.synth import profile

_NONE = {"username_model": UsernameModel.fit(["jane_doe"]), "word_model": WordModel.empty()}


def _row(record: dict, **kwargs: object) -> dict[str, float]:
    frame = extract_features([record], **{**_NONE, **kwargs})
    assert list(frame.columns) == FEATURES
    return frame.iloc[0].to_dict()


def test_counts_ratios_and_age() -> None:
    row = _row(profile(
        1, created_at="2019-01-01T00:00:00.000Z", _collected_at="2019-01-11T00:00:00.000Z",
        metrics={"followers_count": 50, "following_count": 200, "tweet_count": 1000,
                 "listed_count": 5, "like_count": 0}))
    assert row["followers_count"] == 50 and row["like_count"] == 0
    assert row["followers_per_following"] == pytest.approx(0.25)
    assert row["listed_per_follower"] == pytest.approx(0.1)
    assert row["tweets_per_follower"] == pytest.approx(20.0)
    assert row["likes_per_tweet"] == 0
    assert row["account_age_days"] == pytest.approx(10.0)
    assert row["tweets_per_day"] == pytest.approx(100.0)
    assert row["following_per_day"] == pytest.approx(20.0)


def test_age_runs_to_fetch_time_then_now() -> None:
    record = profile(1, created_at="2020-01-01T00:00:00.000Z")
    del record["_collected_at"]
    fetched = _row({**record, "_fetched_at": "2020-01-31T00:00:00.000Z"})
    assert fetched["account_age_days"] == pytest.approx(30.0)
    at_now = _row(record, now=datetime(2020, 1, 3, tzinfo=UTC))
    assert at_now["account_age_days"] == pytest.approx(2.0)


def test_missing_counts_are_nan_not_zero() -> None:
    record = profile(1)
    record["public_metrics"] = {"followers_count": 3}
    row = _row(record)
    assert row["followers_count"] == 3
    assert math.isnan(row["following_count"]) and math.isnan(row["like_count"])


def test_text_statistics() -> None:
    row = _row(profile(
        1, username="Spam_Bot2024", name="SPAM bot 🤖",
        description="Buy now #deal #2 @shop https://x.co/a http://b.io mail a@b.com ñ",
        location="Rome"))
    assert row["username_len"] == 12
    assert row["username_digits"] == 4 and row["username_trailing_digits"] == 4
    assert row["username_upper"] == 2 and row["username_bot"] == 1
    assert row["name_len"] == 10 and row["name_upper"] == 4 and row["name_bot"] == 1
    assert row["name_emoji"] == 1 and row["name_nonascii"] == 1
    assert row["description_hashtags"] == 2  # "#deal" and "#2"
    assert row["description_mentions"] == 1  # "@shop", not the "@" inside a@b.com
    assert row["description_urls"] == 2
    assert row["description_nonascii"] == 1
    assert row["location_len"] == 4 and row["location_digits"] == 0


def test_images_links_and_names() -> None:
    row = _row(profile(
        1, username="acme_news", name="Acme News", url="https://t.co/z",
        profile_image_url="https://abs.twimg.com/sticky/default_profile_images/default.PNG",
        entities={"description": {"urls": [
            {"url": "https://t.co/1", "expanded_url": "https://bit.ly/abc"},
            {"url": "https://t.co/2", "expanded_url": "https://www.shop.example.co.uk/x"},
            {"url": "https://t.co/3", "expanded_url": "http://shop.example.co.uk/y"}]}}))
    assert row["default_image"] == 1 and row["image_png"] == 1
    assert row["has_url"] == 1
    assert row["name_is_username"] == 0  # "acmenews" vs "acme_news"
    assert row["description_link_domains"] == 2  # bit.ly and example.co.uk, once each
    assert row["description_shortener"] == 1
    same = _row(profile(2, username="AcmeNews", name="acme news"))
    assert same["name_is_username"] == 1 and same["image_png"] == 0


def test_registered_domain() -> None:
    assert registered_domain("https://user@WWW.News.BBC.co.uk:443/a?b") == "bbc.co.uk"
    assert registered_domain("example.com/path") == "example.com"
    assert registered_domain("") is None and registered_domain("localhost") is None
    # not a host name: terminal escapes, bidi overrides, quotes are no domain to show
    for host in ("\x1b]0;owned\x07evil.example", "evil\u202eelpmaxe.com", "a\"b.com"):
        assert registered_domain(f"https://{host}/x") is None
    assert registered_domain("https://bücher.de/") == "bücher.de"  # IDNs stay
    assert registered_domain("http://i❤.ws/") == "i❤.ws"


def test_v1_fields_are_never_read() -> None:
    record = profile(1)
    plain = extract_features([record], **_NONE).to_numpy()
    with_v1 = extract_features([{**record, "_v1": {"default_profile_image": True}}],
                               **_NONE).to_numpy()
    np.testing.assert_array_equal(plain, with_v1)


def test_bad_field_types_do_not_crash() -> None:
    record = profile(1, username=None, name=7, description=["x"], verified="yes",
                     created_at="not a date")
    row = _row(record)
    assert row["username_len"] == 0 and row["verified"] == 0
    assert math.isnan(row["account_age_days"])


def test_username_likelihood_prefers_names_like_the_training_ones() -> None:
    model = UsernameModel.fit(["jane_doe", "john_smith", "anna_doe", "mary_jones"] * 5)
    plausible, random = model.loglik(["jane_smith", "xq7zk9vw0p"])
    assert plausible > random
    assert math.isnan(model.loglik([""])[0])
