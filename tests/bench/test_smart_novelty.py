"""The smart policy's diminishing returns: lists of a kind that brought nothing new fall back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select

from botsweep.crawler.decide import ScoringContext, update_novelty
from botsweep.crawler.policy import Candidate, SmartPolicy
from botsweep.storage.db import Database
from botsweep.storage.pages import absorb_discovered, novelty_key, pack_ids, read_novelty
from botsweep.storage.schema import accounts, discovered, frontier


class _Model:
    version = "fixed"
    threshold = 0.5


def _candidate(aid: int, followers: int, following: int, p: float = 0.9,
               seed: bool = False, links: int = 0) -> Candidate:
    return Candidate(aid, followers, following, p, is_seed=seed, bot_links=links)


def test_a_spent_kind_of_list_falls_behind_a_fresh_one() -> None:
    policy = SmartPolicy()
    audience = _candidate(1, followers=400, following=0)
    hub = _candidate(2, followers=0, following=100)
    before = {d.kind: d.priority for d in policy.decide(audience, 0.5) if not d.skip}
    assert before["followers"] > max(d.priority for d in policy.decide(hub, 0.5))
    policy.novelty[novelty_key("followers", 400)] = 0.05  # audiences bring back known bots
    after = {d.kind: d.priority for d in policy.decide(audience, 0.5) if not d.skip}
    assert after["followers"] < max(d.priority for d in policy.decide(hub, 0.5))


def test_seeds_first_and_accounts_only_tied_to_bots_last() -> None:
    policy = SmartPolicy()
    seed = max(d.priority for d in policy.decide(_candidate(1, 50, 0, p=0.6, seed=True), 0.5))
    likely = max(d.priority for d in policy.decide(_candidate(2, 50, 0, p=0.6), 0.5))
    tied = max(d.priority for d in policy.decide(_candidate(3, 50, 0, p=0.3, links=5), 0.5))
    assert seed > likely > tied > 0


def test_redundant_pages_lower_novelty_and_rescale_queued_lists(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    policy = SmartPolicy()
    ctx = ScoringContext(policy=policy, bot=_Model(), threshold=0.5)  # type: ignore[arg-type]
    audience = list(range(1000, 1300))  # the same 300 followers on every audience list
    with db.begin() as conn:
        conn.execute(insert(accounts), [
            {"id": 7, "first_seen": 0.0, "followers_count": 300, "following_count": 0},
            {"id": 8, "first_seen": 0.0, "followers_count": 0, "following_count": 300},
        ])
        conn.execute(insert(frontier), [
            {"kind": "followers", "account_id": 7, "priority": 300.0, "enqueued_at": 0.0},
            {"kind": "following", "account_id": 8, "priority": 300.0, "enqueued_at": 0.0},
        ])
        for via in (1, 2, 3, 4):
            conn.execute(insert(discovered).values(
                via_id=via, direction="followers", ids=pack_ids(audience), first_seen=1.0))
        absorb_discovered(conn, db)
        key = novelty_key("followers", 300)
        assert read_novelty(conn)[key] == (300, 1200, 4)  # only the first page was new
        update_novelty(conn, db, ctx)
        priorities = dict(conn.execute(select(frontier.c.kind, frontier.c.priority)).all())
    assert policy.novelty[key] < 0.5
    assert priorities["followers"] < 0.5 * 300.0  # the queued audience list fell back
    assert priorities["following"] == 300.0  # a kind not read yet keeps its prior
    db.dispose()
