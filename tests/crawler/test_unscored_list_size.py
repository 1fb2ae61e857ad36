"""Until a list of its kind is scored, its size counts up to 128 ids, a seed's following
list's not at all.

Whom a bot follows, it chooses: its network, but also cover (a farm's customers and
ordinary accounts, a mimic's community).  On generated worlds the seed farms' following
lists (250-835 accounts, 0-1 bots) took smart's first requests on their length alone,
ahead of the seeds' followers lists that lead to the flowers; and farms found on a hub's
followers had their 1,400 followees read ahead of other hubs' followers lists of 120-150
(whole farms), each unscored kind starting from the same prior share (docs/benchmarks.md).
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


def test_seeds_followers_lists_keep_their_size_up_to_the_cap() -> None:
    policy = SmartPolicy()
    big, small = Candidate(4, 900, 2, 0.97, is_seed=True), Candidate(5, 9, 2, 0.97, is_seed=True)
    assert _priority(big, "followers", policy) == pytest.approx(
        _priority(small, "followers", policy) * math.sqrt(128 / 9))
    assert [d.priority for d in BfsPolicy().decide(_farm_seed(), THRESHOLD)] == [0.0, 0.0]


def test_an_unscored_long_list_counts_as_128_ids() -> None:
    """Farms found on a hub's followers follow 250-1,400 accounts, nearly all humans; the
    next hub of a flower is followed by 120-150 accounts, a whole farm.  Before any list of
    their kinds is scored, the farm's 1,400 followees no longer weigh √(1000/120), about
    2.9 times, the hub's 120 followers."""
    policy = SmartPolicy()
    farm, hub = Candidate(6, 2, 1400, 0.999), Candidate(7, 120, 80, 0.999)
    assert _priority(farm, "following", policy) == pytest.approx(
        _priority(hub, "followers", policy) * math.sqrt(128 / 120))
    assert _priority(farm, "following", policy) == pytest.approx(
        _priority(Candidate(8, 2, 300, 0.999), "following", policy))
    # Under the cap, length still counts in full: 90 followees against 60.
    assert _priority(Candidate(9, 2, 90, 0.999), "following", policy) == pytest.approx(
        _priority(Candidate(10, 2, 60, 0.999), "following", policy) * math.sqrt(90 / 60))


def test_once_a_kind_is_scored_a_long_lists_size_counts_in_full() -> None:
    policy = SmartPolicy()
    farm = Candidate(6, 2, 1400, 1.0)
    capped = _priority(farm, "following", policy)
    key = policy.yield_key(farm, "following", THRESHOLD)
    policy.bot_yield[key] = (50.0, 100.0)  # half of what such lists brought was bots
    full = _priority(farm, "following", policy)
    assert full == pytest.approx(capped * math.sqrt(1000 / 128), rel=1e-9)


def test_a_seed_that_passes_for_a_human_gets_no_size_credit_on_its_followers() -> None:
    """A mimic seed (scored under the threshold, following about as many as follow it) is
    followed by the humans it followed back: on generated worlds its 77-277 followers held
    0-2 bots and took smart's first request.  A leaf the model misreads follows nobody, and
    its followers are its flower's hubs: that list keeps its size."""
    policy = SmartPolicy()
    mimic = Candidate(11, 277, 517, 0.40, is_seed=True)
    misread_leaf = Candidate(12, 22, 0, 0.40, is_seed=True)
    sure_seed = Candidate(13, 277, 517, 0.97, is_seed=True)
    assert policy.passes_for_human(mimic, THRESHOLD)
    assert not policy.passes_for_human(misread_leaf, THRESHOLD)
    assert not policy.passes_for_human(sure_seed, THRESHOLD)
    assert _priority(misread_leaf, "followers", policy) > _priority(mimic, "followers", policy)
    assert _priority(mimic, "followers", policy) == pytest.approx(
        _priority(sure_seed, "followers", policy) / math.sqrt(128))
    key = policy.yield_key(mimic, "followers", THRESHOLD)
    policy.bot_yield[key] = (2.0, 274.0)  # once such a list has been scored, size counts
    assert _priority(mimic, "followers", policy) == pytest.approx(
        5.0 * math.sqrt(277) * (2.0 + 20 * 0.5) / (274.0 + 20))
