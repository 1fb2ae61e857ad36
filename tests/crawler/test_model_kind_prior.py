"""A following list whose owner changed band by where it was found: its prior, while its
kind is not scored, is lowered to what the owner's kind under the model alone yielded.

A farm the model scores 0.99, found on another farm's following list (a list of humans),
is a likely bot rather than a sure one, and the kind of its following list may not have
been scored yet; the farms read as sure bots have shown what such lists bring.  The prior
is only ever lowered, only for following lists of accounts that are not seeds, and gives
way to the kind's own yield once the kind has been scored; bfs is untouched.
"""

from __future__ import annotations

import pytest

from botsweep.crawler.policy import BfsPolicy, Candidate, SmartPolicy

THRESHOLD = 0.53
SURE = "novelty:following:4:sure:follows"  # the farm's kind under the model alone
LIKELY = "novelty:following:4:likely:follows"  # its kind where it was found


def _farm(**changes: object) -> Candidate:
    fields: dict[object, object] = dict(account_id=1, followers_count=1, following_count=300,
                                        target_probability=0.99, found_on=(2, 300))
    fields.update(changes)
    return Candidate(**fields)  # type: ignore[arg-type]


def _priority(policy: SmartPolicy, candidate: Candidate, kind: str = "following") -> float:
    return next(d.priority for d in policy.decide(candidate, THRESHOLD) if d.kind == kind)


def _scored(alone_kind: tuple[float, float], own_kind: tuple[float, float] | None = None,
            alone_key: str = SURE) -> SmartPolicy:
    """A policy where the owner's kind under the model alone has yielded ``alone_kind``."""
    policy = SmartPolicy()
    policy.bot_yield[alone_key] = alone_kind
    if own_kind is not None:
        policy.bot_yield[LIKELY] = own_kind
    return policy


def test_a_farm_found_among_humans_changes_band_to_a_kind_not_scored() -> None:
    policy = SmartPolicy()
    assert policy.band(_farm(), THRESHOLD) == "likely"
    assert policy.band(_farm(found_on=None), THRESHOLD) == "sure"  # the model alone
    assert policy.yield_key(_farm(), "following", THRESHOLD) == LIKELY
    assert policy.yield_key(_farm(found_on=None), "following", THRESHOLD) == SURE


def test_the_sure_farms_low_yield_lowers_the_prior_of_its_following_list() -> None:
    flat = _priority(SmartPolicy(), _farm())
    lowered = _priority(_scored((1.0, 400.0)), _farm())
    assert lowered < flat / 5
    # The prior is shrunk towards the owner's own by prior_ids pseudo-ids.
    policy = SmartPolicy()
    prior = policy.bot_share(_farm(), "following", THRESHOLD)
    expected = (1.0 + policy.prior_ids * prior) / (400.0 + policy.prior_ids)
    assert _scored((1.0, 400.0)).bot_share(_farm(), "following", THRESHOLD) == \
        pytest.approx(expected)


def test_a_rich_kind_under_the_model_alone_does_not_raise_the_prior() -> None:
    flat = _priority(SmartPolicy(), _farm())
    assert _priority(_scored((400.0, 400.0)), _farm()) == pytest.approx(flat)


def test_once_its_own_kind_is_scored_its_own_yield_takes_over() -> None:
    own = SmartPolicy()
    own.bot_yield[LIKELY] = (3.0, 50.0)
    both = _scored((1.0, 400.0), own_kind=(3.0, 50.0))
    assert _priority(both, _farm()) == pytest.approx(_priority(own, _farm()))


def test_followers_lists_seeds_and_unmoved_owners_keep_their_prior() -> None:
    followed = _farm(followers_count=300, following_count=1)
    policy = _scored((1.0, 400.0), alone_key="novelty:followers:4:sure:followed")
    assert SmartPolicy().yield_key(followed, "followers", THRESHOLD) == \
        "novelty:followers:4:likely:followed"
    assert _priority(policy, followed, "followers") == pytest.approx(
        _priority(SmartPolicy(), followed, "followers"))
    seed = _farm(is_seed=True)
    assert _priority(_scored((1.0, 400.0)), seed) == pytest.approx(
        _priority(SmartPolicy(), seed))
    # An owner the list it was found on leaves in its band keeps its prior.
    among_bots = _farm(found_on=(280, 300))
    assert SmartPolicy().band(among_bots, THRESHOLD) == "sure"
    unmoved = SmartPolicy()
    unmoved.bot_yield[LIKELY] = (1.0, 400.0)
    assert _priority(unmoved, among_bots) == pytest.approx(
        _priority(SmartPolicy(), among_bots))
    assert [d.priority for d in BfsPolicy().decide(_farm(), THRESHOLD)] == [0.0, 0.0]


def test_a_kind_with_few_scored_ids_under_the_model_alone_moves_the_prior_little() -> None:
    flat = SmartPolicy().bot_share(_farm(), "following", THRESHOLD)
    one_human = _scored((0.0, 1.0)).bot_share(_farm(), "following", THRESHOLD)
    many_humans = _scored((0.0, 400.0)).bot_share(_farm(), "following", THRESHOLD)
    assert many_humans < one_human < flat
    assert one_human == pytest.approx(flat * 20.0 / 21.0)  # prior_ids = 20 pseudo-ids
