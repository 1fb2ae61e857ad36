"""Generated worlds look like the real data: the shipped model, trained only on real labelled
accounts, finds a world's bots among its humans, though not perfectly (mimics stay hard)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from botsweep.models.scorer import DEFAULT_MODEL_PATH, BotScorer
from botsweep.sim.generate import generate_world
from botsweep.sim.world import World

pytestmark = pytest.mark.skipif(
    not DEFAULT_MODEL_PATH.is_file(),
    reason=f"the shipped default model {DEFAULT_MODEL_PATH} is missing",
)


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random bot outscores a random human."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@pytest.fixture(scope="module")
def scored() -> tuple[World, list[dict], np.ndarray, np.ndarray, float]:
    world = generate_world(accounts=1500, bot_networks=3, rng_seed=21)
    records = [r for i, r in world.accounts.items() if world.state(i) == "active"]
    scorer = BotScorer.load()
    scores = np.asarray(scorer.predict_proba(records))
    bots = np.array([r["_label"] == "bot" for r in records])
    return world, records, scores, bots, float(scorer.threshold)


def test_the_shipped_model_separates_bots_from_humans(scored) -> None:
    _, _, scores, bots, threshold = scored
    assert bots.sum() >= 50 and (~bots).sum() >= 1000
    assert _auc(scores, bots) >= 0.85
    flagged = scores >= threshold
    assert (flagged & bots).sum() / flagged.sum() >= 0.5  # most flagged accounts are bots
    assert (flagged & ~bots).sum() / (~bots).sum() <= 0.12  # few people are called bots


def test_but_not_perfectly(scored) -> None:
    _, records, scores, bots, threshold = scored
    assert _auc(scores, bots) < 0.995
    roles = np.array([r["_role"] for r in records])
    flagged = scores >= threshold
    # flower and farm bots look like the pronbots and fake followers the model has seen;
    # mimic bots pose as people and mostly pass
    for role in ("leaf", "farm"):
        assert flagged[roles == role].mean() >= 0.8
    assert flagged[roles == "mimic"].mean() <= 0.5
    assert flagged[~bots].any()  # some thin humans look like bots


def test_human_profiles_have_real_proportions(scored) -> None:
    _, records, _, _, _ = scored
    humans = [r for r in records if r["_role"] == "human"]
    metrics = [r["public_metrics"] for r in humans]
    # listed about 1% as often as followed (was drawn apart from followers: median 0.2)
    listed_share = [m["listed_count"] / max(m["followers_count"], 1) for m in metrics]
    assert statistics.median(listed_share) <= 0.02
    assert 1000 <= statistics.median(m["tweet_count"] for m in metrics) <= 20_000
    assert 500 <= statistics.median(m["like_count"] for m in metrics) <= 10_000
    assert sum(not r["description"] for r in humans) / len(humans) <= 0.15
    assert sum("default_profile" in r["profile_image_url"] for r in humans) / len(humans) <= 0.05
    digits = [sum(c.isdigit() for c in r["username"]) for r in humans]
    assert statistics.median(digits) == 0  # people's handles mostly carry no digits
