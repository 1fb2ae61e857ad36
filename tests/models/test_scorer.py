"""Scoring large batches: the pipelined path gives exactly the one-pass scores.

``BotScorer.predict_proba`` splits a batch of at least two chunks, predicting one chunk
on a second thread while the next one's features are computed.  A user scoring a file
or the database must get the same probabilities whatever the chunking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from botsweep.models.scorer import BotScorer
from tests.models.synth import planted_profiles, profile

NOW = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def scorer() -> BotScorer:
    return BotScorer.load()


def _mixed(n: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = planted_profiles(n, seed=3)
    # Some without a collection time (age runs to ``now``), some with odd fields.
    for i in range(0, n, 7):
        del records[i]["_collected_at"]
    records[5] = profile(5, username=None, description="🤖 bot http://bit.ly/x #a @b",
                         public_metrics=None)
    records[9] = profile(9, entities={"description": {"urls": [
        {"expanded_url": "https://news.example.co.uk/a"}]}})
    return records


@pytest.mark.parametrize("chunk", [1, 7, 32, 100])
def test_pipelined_scores_equal_one_pass(scorer: BotScorer, chunk: int) -> None:
    records = _mixed(230)
    expected = scorer.predict_matrix(scorer.features(records, now=NOW))
    scorer.chunk_size = chunk
    try:
        got = scorer.predict_proba(records, now=NOW)
    finally:
        scorer.chunk_size = BotScorer.load().chunk_size
    assert got.shape == (230,)
    assert np.array_equal(got, expected)
    assert np.all((got >= 0.0) & (got <= 1.0))


def test_pipelined_with_one_predict_thread_and_without_now(scorer: BotScorer) -> None:
    records = _mixed(120)
    for record in records:
        record.pop("_collected_at", None)
    one_pass = scorer.predict_proba(records)  # 120 < 2 chunks: one pass
    scorer.chunk_size, scorer.predict_threads = 16, 1
    try:
        piped = scorer.predict_proba(records)
    finally:
        scorer.chunk_size, scorer.predict_threads = BotScorer.load().chunk_size, 0
    # Age runs to the time of the call, so scores may move by the seconds between calls.
    np.testing.assert_allclose(piped, one_pass, atol=1e-6)
    assert len(piped) == 120


def test_small_batches_and_empty(scorer: BotScorer) -> None:
    assert scorer.predict_proba([]).shape == (0,)
    one = scorer.predict_proba([profile(1)], now=NOW)
    assert one.shape == (1,) and 0.0 <= one[0] <= 1.0
    batch = scorer.predict_proba([profile(1), profile(2, username="xk7q9zzv0w")], now=NOW)
    assert batch[0] == one[0]
