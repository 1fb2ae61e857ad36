"""A seed the model scores as human: its following list is ranked by the model, not as sure.

A bot built to pass for a human (a mimic) passes by following humans, so the smart policy
takes the model's word for the prior share of such a seed's following list; its followers
list, and every list of a seed the model agrees with, keep the seed's full evidence (the
mimic's followers list loses its size credit instead: test_unscored_list_size.py).  On
generated worlds this moved the mimic seeds' following lists (110-517 accounts, a few bots)
behind the seed hubs' and leaves' lists in the first requests (docs/benchmarks.md).
"""

from __future__ import annotations

import math

import pytest

from botsweep.crawler.policy import BfsPolicy, Candidate, SmartPolicy

THRESHOLD = 0.53


def _priority(candidate: Candidate, kind: str, policy: SmartPolicy | None = None) -> float:
    chosen = policy or SmartPolicy()
    return next(d.priority for d in chosen.decide(candidate, THRESHOLD) if d.kind == kind)


def _mimic(p: float = 0.35) -> Candidate:
    return Candidate(1, 77, 216, p, is_seed=True)


def test_a_seed_hub_list_goes_before_a_larger_list_of_a_seed_the_model_calls_human() -> None:
    hub = Candidate(2, 0, 116, 0.96, is_seed=True)
    assert _priority(hub, "following") > _priority(_mimic(), "following")


def test_the_following_list_of_a_seed_under_the_threshold_takes_the_model_prior() -> None:
    sure = _priority(_mimic(0.99), "following")
    assert _priority(_mimic(0.35), "following") == pytest.approx(sure * 0.35)
    # Links to known bots count as for any account.
    linked = Candidate(1, 77, 216, 0.35, is_seed=True, bot_links=3)
    assert _priority(linked, "following") == pytest.approx(sure * 0.65)


def test_followers_lists_and_seeds_the_model_agrees_with_keep_the_seed_evidence() -> None:
    # The same evidence; only the size credit (sqrt 77) is gone until the kind is scored.
    assert _priority(_mimic(0.35), "followers") == pytest.approx(
        _priority(_mimic(0.99), "followers") / math.sqrt(77))
    leaf = Candidate(3, 25, 0, 0.3, is_seed=True)
    assert _priority(leaf, "followers") == pytest.approx(
        _priority(Candidate(3, 25, 0, 0.9, is_seed=True), "followers"))
    policy = SmartPolicy()
    assert policy.seed_evidence(_mimic(0.99), "following", THRESHOLD) == 1.0
    assert policy.seed_evidence(_mimic(0.35), "followers", THRESHOLD) == 1.0


def test_a_scored_kind_outweighs_the_prior_and_bfs_is_untouched() -> None:
    policy = SmartPolicy()
    key = policy.yield_key(_mimic(), "following", THRESHOLD)
    policy.bot_yield[key] = (900.0, 1000.0)
    low, sure = _priority(_mimic(0.35), "following", policy), _priority(
        _mimic(0.99), "following", policy)
    assert low == pytest.approx(sure, rel=0.02)
    assert [d.priority for d in BfsPolicy().decide(_mimic(), THRESHOLD)] == [0.0, 0.0]
