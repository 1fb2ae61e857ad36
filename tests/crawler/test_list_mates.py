"""List-mates: what the lists of accounts found together brought lowers the rest's rank.

The hubs of one flower cluster turn up together on a leaf's followers and follow the same
leaves: once one hub's following list has brought them, the others' bring nothing new.
The smart policy reads that from the lists of the accounts found on the same list (the
latest weighing most), ranks a mate's queued list down, and never up; bfs is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from botsweep.crawler.decide import ScoringContext, _candidates, rerank_mates
from botsweep.crawler.list_mates import mate_yields, mates_of
from botsweep.crawler.policy import BfsPolicy, Candidate, SmartPolicy
from botsweep.storage.db import Database
from botsweep.storage.pages import absorb_discovered, pack_ids
from botsweep.storage.schema import accounts, discovered, frontier, scores
from tests.pg import database_on

LEAF, HUBS = 7, (10, 11, 12)


class _Model:
    version = "fixed"
    threshold = 0.5


def _hub(mates: tuple[tuple[str, float, float], ...] = ()) -> Candidate:
    return Candidate(12, 2, 110, 0.9, found_on=(3, 3), mates=mates)


def _following(policy: SmartPolicy, candidate: Candidate) -> float:
    return next(d.priority for d in policy.decide(candidate, 0.5) if d.kind == "following")


def test_mates_whose_lists_brought_nothing_new_rank_a_list_down_never_up() -> None:
    policy = SmartPolicy()
    alone = _following(policy, _hub())
    after_repeats = _following(policy, _hub((("following", 0.0, 220.0),)))
    after_leaves = _following(policy, _hub((("following", 105.0, 107.0),)))
    other_direction = _following(policy, _hub((("followers", 0.0, 500.0),)))
    assert after_repeats < alone / 5
    assert after_leaves == pytest.approx(alone)  # good mates do not raise it
    assert other_direction == pytest.approx(alone)
    assert BfsPolicy().decide(_hub((("following", 0.0, 220.0),)), 0.5)[1].priority == 0.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_on(request.param, tmp_path) as database:
        yield database


def _store(db: Database) -> None:
    """Three hubs found on a leaf's followers; hub 10's following list read first (110 ids,
    five of them new, two scored as bots), then hub 11's (110 ids, none new); hub 12's is
    queued."""
    with db.begin() as conn:
        conn.execute(insert(discovered), [
            {"via_id": LEAF, "direction": "followers", "ids": pack_ids(list(HUBS)),
             "first_seen": 1.0},
            {"via_id": 10, "direction": "following", "ids": pack_ids(list(range(100, 105))),
             "first_seen": 2.0},
        ])
        absorb_discovered(conn, db)
        conn.execute(update(accounts).where(accounts.c.id.in_(HUBS)).values(
            followers_count=2, following_count=110, fetched_at=1.5, state="active"))
        probabilities = {100: 0.9, 101: 0.9, 102: 0.1, 103: 0.1, 104: 0.1}
        probabilities |= dict.fromkeys(HUBS, 0.9)
        conn.execute(insert(scores), [
            {"account_id": aid, "scorer": "bot", "model_version": "fixed", "probability": p,
             "scored_at": 3.0} for aid, p in probabilities.items()])
        conn.execute(insert(frontier), [
            {"kind": "following", "account_id": 10, "state": "done", "pages": 1, "items": 110,
             "enqueued_at": 1.0, "done_at": 2.0, "priority": 9.0},
            {"kind": "following", "account_id": 11, "state": "done", "pages": 1, "items": 110,
             "enqueued_at": 1.0, "done_at": 3.0, "priority": 8.0},
            {"kind": "following", "account_id": 12, "state": "pending", "pages": 0,
             "items": 0, "enqueued_at": 1.0, "done_at": None, "priority": 7.0},
        ])


def test_mate_yields_weigh_the_latest_lists_most(db: Database) -> None:
    _store(db)
    with db.connect() as conn:
        rates = mate_yields(conn, {12: (LEAF, "followers"), 100: (10, "following")}, "bot",
                            0.5, recency=0.6)
        strict = mate_yields(conn, {12: (LEAF, "followers")}, "bot", 0.95, recency=0.6)
        mates = mates_of(conn, [11])
    bots, ids = rates[12]["following"]
    assert bots == pytest.approx(2 * 0.4)  # hub 10's two bots, one list back
    assert ids == pytest.approx(110 * 0.4 + 110)
    assert 100 not in rates  # no list of hub 10's following ids has been read
    assert strict[12]["following"][0] == 0.0
    assert mates == [12]


def test_reading_a_mates_list_ranks_the_queued_one_down(db: Database) -> None:
    _store(db)
    ctx = ScoringContext(policy=SmartPolicy(), bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
    with db.begin() as conn:
        candidate = _candidates(conn, [12], {12: 0.9}, ctx)[0]
        assert candidate.mates == (("following", pytest.approx(0.8), pytest.approx(154.0)),)
        assert rerank_mates(conn, ctx, [11]) > 0
        priority = conn.execute(select(frontier.c.priority).where(
            frontier.c.account_id == 12)).scalar_one()
    assert priority < _following(SmartPolicy(), _hub()) / 3
    with db.begin() as conn:  # a re-rank by mates only ever moves a list down
        conn.execute(update(frontier).where(frontier.c.account_id == 12).values(priority=0.01))
        rerank_mates(conn, ctx, [11])
        assert conn.execute(select(frontier.c.priority).where(
            frontier.c.account_id == 12)).scalar_one() == pytest.approx(0.01)
    bfs = ScoringContext(policy=BfsPolicy(), bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
    with db.begin() as conn:
        assert rerank_mates(conn, bfs, [11]) == 0
