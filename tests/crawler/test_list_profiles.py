"""Profiles that list pages bring are used, not looked up again.

The X API v2 sends each follower's whole user object on a followers page (botsweep asks for
the same fields as a lookup).  Looking those accounts up again cost about ten ``/2/users``
requests per page of 1,000 (and, on a plan billed per object, the same profiles twice).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.policy import make_policy
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, scores
from tests.crawler.fakes import FakeSource, NameScorer
from tests.crawler.test_engine import CELEB, HUB, flower_world, stored_edges


def run(tmp_path: Path, name: str, *, on_lists: bool, keep: int | None = None,
        ) -> tuple[CrawlEngine, FakeSource, Database]:
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / f'{name}.db'}")
    add_seeds(db, [AccountRef(id=HUB), AccountRef(id=CELEB)], label="bot", now=clock.now())
    source = FakeSource(flower_world(), clock, profiles_on_lists=on_lists)
    scoring = ScoringContext(policy=make_policy("smart"), bot=NameScorer(), threshold=0.5)
    engine = CrawlEngine(db, source, Settings(), scoring, clock=clock, worker_id="w1")
    if keep is not None:
        engine.lookups.from_lists.limit = keep
    engine.run()
    return engine, source, db


def outcome(db: Database) -> tuple[object, ...]:
    """What a researcher reads from the crawl: profiles, states, scores and the frontier."""
    with db.connect() as conn:
        profiles = set(conn.execute(select(
            accounts.c.id, accounts.c.username, accounts.c.followers_count,
            accounts.c.state, accounts.c.fetched_at.is_not(None), accounts.c.found_via)))
        probs = set(conn.execute(select(scores.c.account_id, scores.c.probability)))
        tasks = set(conn.execute(select(frontier.c.kind, frontier.c.account_id,
                                        frontier.c.state)))
    return profiles, probs, tasks, stored_edges(db)


def looked_up(source: FakeSource) -> set[int]:
    return {i for kind, ids, _ in source.calls if kind == "users" for i in ids}


def test_accounts_a_list_page_brought_whole_are_not_looked_up_again(tmp_path: Path) -> None:
    plain, plain_source, plain_db = run(tmp_path, "plain", on_lists=False)
    engine, source, db = run(tmp_path, "lists", on_lists=True)
    assert outcome(db) == outcome(plain_db)
    assert engine.stats.profiled == plain.stats.profiled
    assert engine.stats.likely_bots == plain.stats.likely_bots
    # Only the seeds (on no list read before they were profiled) were looked up.
    assert looked_up(plain_source) >= {2, 3, 100, 101}
    assert looked_up(source) <= {HUB, CELEB, 14}
    assert engine.stats.lookup_requests < plain.stats.lookup_requests


def test_profiles_dropped_while_waiting_are_looked_up_as_before(tmp_path: Path) -> None:
    _, _, plain_db = run(tmp_path, "plain", on_lists=False)
    _, source, db = run(tmp_path, "few", on_lists=True, keep=3)
    profiles, probs, _, edges = outcome(db)  # (the policy may order its lists otherwise)
    assert (profiles, probs, edges) == tuple(outcome(plain_db)[i] for i in (0, 1, 3))
    assert looked_up(source) - {HUB, CELEB, 14}  # the rest were asked for again


def test_the_profiles_of_a_runs_last_page_are_kept_when_the_run_ends(tmp_path: Path) -> None:
    """A daemon tick (or crawl --max-requests) that ends on its budget right after a list
    page: the page's profiles are stored then, not looked up again by the next run."""
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'ticks.db'}")
    add_seeds(db, [AccountRef(id=HUB), AccountRef(id=CELEB)], label="bot", now=clock.now())
    source = FakeSource(flower_world(), clock, profiles_on_lists=True)
    scoring = ScoringContext(policy=make_policy("smart"), bot=NameScorer(), threshold=0.5)
    for _ in range(30):  # one follows request per run, as short daemon ticks make
        engine = CrawlEngine(db, source, Settings(), scoring, clock=clock, worker_id="w1")
        if engine.run(max_requests=1, until_idle=False).outcome == "idle":
            break
    assert looked_up(source) <= {HUB, CELEB, 14}
    _, _, plain_db = run(tmp_path, "plain", on_lists=False)
    profiles, probs, _, edges = outcome(db)
    assert (profiles, probs, edges) == tuple(outcome(plain_db)[i] for i in (0, 1, 3))
