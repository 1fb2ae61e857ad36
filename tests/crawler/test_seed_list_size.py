"""A seed's following list is ranked without its size until a list of its kind is scored.

Whom a bot follows, it chooses: its network, but also cover (a farm's customers and
ordinary accounts, a mimic's community).  On generated worlds the seed farms' following
lists (250-835 accounts, 0-1 bots) took smart's first requests on their length alone,
ahead of the seeds' followers lists that lead to the flowers (docs/benchmarks.md).
"""

from __future__ import annotations

import math

import pytest

from botsweep.crawler.policy import BfsPolicy, Candidate, SmartPolicy

THRESHOLD = 0.53


def _priority(candidate: Candidate, kind: str, policy: SmartPolicy) -> float:
    return next(d.priority for d in policy.decide(candidate, THRESHOLD) if d.kind == kind)


def _farm_seed() -> Candidate:
    return Candidate(1, 2, 835, 0.97, is_seed=True)


def _leaf_seed() -> Candidate:
    return Candidate(2, 9, 3, 0.97, is_seed=True)


def test_a_seed_leafs_followers_go_before_a_seed_farms_long_following_list() -> None:
    policy = SmartPolicy()
    assert _priority(_leaf_seed(), "followers", policy) > _priority(
        _farm_seed(), "following", policy)
    # Without the rule, the 835-account list would go first by its length (sqrt 835 vs 3).
    short, long = Candidate(3, 2, 90, 0.97, is_seed=True), _farm_seed()
    assert _priority(short, "following", policy) == pytest.approx(
        _priority(long, "following", policy), rel=0.01)


def test_once_the_kind_is_scored_the_lists_size_counts_again() -> None:
    policy = SmartPolicy()
    key = policy.yield_key(_farm_seed(), "following", THRESHOLD)
    unscored = _priority(_farm_seed(), "following", policy)
    policy.bot_yield[key] = (40.0, 80.0)  # half of the ids that such lists brought were bots
    scored = _priority(_farm_seed(), "following", policy)
    assert scored == pytest.approx(unscored * math.sqrt(835) * (40 + 20 * 0.5) / (80 + 20)
                                   / 0.5, rel=1e-9)
    assert scored > _priority(_leaf_seed(), "followers", policy)


def test_followers_lists_and_accounts_that_are_not_seeds_keep_their_size() -> None:
    policy = SmartPolicy()
    big, small = Candidate(4, 900, 2, 0.97, is_seed=True), Candidate(5, 9, 2, 0.97, is_seed=True)
    assert _priority(big, "followers", policy) == pytest.approx(
        _priority(small, "followers", policy) * math.sqrt(900 / 9))
    found = Candidate(6, 2, 835, 0.97), Candidate(7, 2, 90, 0.97)
    assert _priority(found[0], "following", policy) == pytest.approx(
        _priority(found[1], "following", policy) * math.sqrt(835 / 90))
    assert [d.priority for d in BfsPolicy().decide(_farm_seed(), THRESHOLD)] == [0.0, 0.0]
