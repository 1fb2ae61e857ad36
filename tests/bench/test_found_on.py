"""Where an account was found: a profile the model flags ranks by the list that brought it.

A human the model misreads as a bot, found on a list of humans, is not expanded; the same
profile found on a list of bots is.  Stub accounts remember that list, and its counts are
read under the hunted scorer, without the account's own score.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from botsweep.crawler.decide import ScoringContext, _candidates
from botsweep.crawler.found_on import list_counts
from botsweep.crawler.policy import BfsPolicy, Candidate, SmartPolicy
from botsweep.storage.db import Database
from botsweep.storage.pages import absorb_discovered, pack_ids
from botsweep.storage.schema import accounts, discovered, scores
from tests.pg import database_on


class _Model:
    version = "fixed"
    threshold = 0.5


def _wanted(policy: SmartPolicy, candidate: Candidate) -> list[str]:
    return [d.kind for d in policy.decide(candidate, 0.5) if d.skip is None]


def test_a_flagged_profile_found_among_humans_is_not_expanded_but_among_bots_it_is() -> None:
    policy = SmartPolicy()
    flagged = dict(account_id=1, followers_count=900, following_count=700,
                   target_probability=0.85)
    among_humans = Candidate(**flagged, found_on=(2, 400))  # type: ignore[arg-type]
    among_bots = Candidate(**flagged, found_on=(45, 50))  # type: ignore[arg-type]
    unknown = Candidate(**flagged)  # type: ignore[arg-type]
    assert policy.hunted(among_humans) < 0.5 < 0.85 < policy.hunted(among_bots)
    assert _wanted(policy, among_humans) == []
    assert _wanted(policy, among_bots) == ["followers", "following"]
    assert policy.hunted(unknown) == pytest.approx(0.85)  # no source: the model alone
    assert BfsPolicy().decide(among_humans, 0.5)  # the baseline keeps reading the model alone


def test_a_seed_is_a_seed_wherever_it_was_found() -> None:
    policy = SmartPolicy()
    seed = Candidate(1, 20, 0, 0.3, is_seed=True, found_on=(0, 500))
    assert policy.hunted(seed) == pytest.approx(0.3)
    assert _wanted(policy, seed) == ["followers"]  # following is empty (count 0)


def test_a_list_with_few_scored_ids_leans_on_the_model() -> None:
    policy = SmartPolicy()
    alone = Candidate(1, 50, 50, 0.8, found_on=(0, 0))
    one_human = Candidate(1, 50, 50, 0.8, found_on=(0, 1))
    many_humans = Candidate(1, 50, 50, 0.8, found_on=(0, 200))
    assert policy.hunted(alone) == pytest.approx(0.8)  # no company on its list: the model
    assert policy.hunted(many_humans) < policy.hunted(one_human) < 0.8
    assert policy.hunted(one_human) > 0.5  # one human neighbour is not enough to drop it


def _store(db: Database) -> tuple[int, int]:
    hub, celeb = 7, 8
    with db.begin() as conn:
        conn.execute(insert(discovered), [
            {"via_id": hub, "direction": "following", "ids": pack_ids([100, 101, 102, 300]),
             "first_seen": 1.0},
            {"via_id": celeb, "direction": "followers", "ids": pack_ids([300, 200, 201]),
             "first_seen": 2.0},
        ])
        absorb_discovered(conn, db)
        rows = {aid: 0.9 for aid in (100, 101, 102, 300)} | {200: 0.1, 201: 0.6}
        conn.execute(insert(scores), [
            {"account_id": aid, "scorer": "bot", "model_version": "fixed", "probability": p,
             "scored_at": 3.0} for aid, p in rows.items()])
    return hub, celeb


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_on(request.param, tmp_path) as database:
        yield database


def test_stubs_remember_the_first_list_that_brought_them(db: Database) -> None:
    hub, celeb = _store(db)
    with db.connect() as conn:
        found = {row.id: (row.found_via, row.found_direction) for row in conn.execute(
            select(accounts.c.id, accounts.c.found_via, accounts.c.found_direction))}
    assert found[100] == (hub, "following")
    assert found[300] == (hub, "following")  # on both lists: the first one counts
    assert found[200] == (celeb, "followers")


def test_list_counts_leave_out_the_account_itself_and_follow_the_threshold(
        db: Database) -> None:
    hub, celeb = _store(db)
    own = {100: 0.9, 200: 0.1}
    sources = {100: (hub, "following"), 200: (celeb, "followers")}
    with db.connect() as conn:
        counts = list_counts(conn, sources, "bot", 0.5, own)
        strict = list_counts(conn, sources, "bot", 0.95, own)
        other_scorer = list_counts(conn, sources, "campaign:x", 0.5, own)
        ctx = ScoringContext(policy=SmartPolicy(), bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
        found = {c.account_id: c.found_on for c in _candidates(conn, [100, 200, 999], own, ctx)}
    assert counts == {100: (3, 3), 200: (1, 1)}  # the hub's other ids; the celeb's 201
    assert strict == {100: (0, 3), 200: (0, 1)}
    assert other_scorer == {100: (0, 0), 200: (0, 0)}
    assert found == {100: (3, 3), 200: (1, 1)}
