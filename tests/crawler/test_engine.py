"""The crawl loop against a fake Source on a fake clock: no network, no real sleeping."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.frontier import retry_failed
from botsweep.crawler.policy import make_policy
from botsweep.seeding import AccountRef, add_seeds
from botsweep.status import collect_status
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, follows, frontier
from tests.crawler.fakes import FakeSource, FakeWorld, NameScorer, transient

HUB, CELEB = 1, 300


def flower_world() -> FakeWorld:
    names = {HUB: "bothub"}
    edges: set[tuple[int, int]] = set()
    for leaf in range(2, 12):  # the hub follows ten leaves; leaves follow nobody
        names[leaf] = f"botleaf{leaf}"
        edges.add((HUB, leaf))
    names[12] = "botsusp"
    edges.add((HUB, 12))
    names[13] = "botlocked"
    edges.add((HUB, 13))
    names[14] = "botgone"
    edges.add((14, HUB))
    names[CELEB] = "celebrity"
    for human in range(100, 130):
        names[human] = f"human{human}"
        edges.add((human, CELEB))
    edges.add((100, 2))  # a human who follows a bot
    edges.add((3, CELEB))  # a leaf that follows the celebrity for camouflage
    states = {12: "suspended", 13: "protected", 14: "deleted"}
    return FakeWorld.build(names, edges, states)


def crawl(tmp_path: Path, world: FakeWorld, *, policy: str = "smart", seeds=(HUB,),
          source: FakeSource | None = None, clock: FakeClock | None = None,
          **run: object) -> tuple[CrawlEngine, FakeSource, Database]:
    clock = clock or FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    if seeds:
        add_seeds(db, [AccountRef(id=s) for s in seeds], label="bot", now=clock.now())
    source = source or FakeSource(world, clock)
    settings = Settings()
    scoring = ScoringContext(policy=make_policy(policy), bot=NameScorer(), threshold=0.5)
    engine = CrawlEngine(db, source, settings, scoring, clock=clock, worker_id="w1")
    engine.run(**run)  # type: ignore[arg-type]
    return engine, source, db


def stored_edges(db: Database) -> set[tuple[int, int]]:
    with db.connect() as conn:
        return {(a, b) for b, a in conn.execute(select(follows.c.followee_id,
                                                       follows.c.follower_id))}


def states(db: Database) -> dict[int, str | None]:
    with db.connect() as conn:
        return dict(conn.execute(select(accounts.c.id, accounts.c.state)).all())


@pytest.mark.parametrize("policy", ["smart", "bfs"])
def test_crawl_expands_bots_and_stores_every_edge_of_them(tmp_path: Path, policy: str) -> None:
    world = flower_world()
    engine, source, db = crawl(tmp_path, world, policy=policy)
    assert engine.stats.outcome == "idle"
    edges = stored_edges(db)
    visible = {(a, b) for a, b in world.edges if world.visible(a) and world.visible(b)}
    bots = {i for i, u in world.users.items() if u["username"].startswith("bot")}
    readable = bots - {12, 13, 14}
    expected = {(a, b) for a, b in visible if a in readable or b in readable}
    assert edges == expected
    # the celebrity is a human: its 30-follower list is never read
    assert ("followers", CELEB, None) not in source.calls
    assert source.served_429 == 0


def test_states_are_kept_apart(tmp_path: Path) -> None:
    world = flower_world()
    _, _, db = crawl(tmp_path, world, seeds=(HUB, 12, 14))
    got = states(db)
    assert got[12] == "suspended"
    assert got[13] == "protected"
    assert got[14] == "not_found"  # never seen active: the API cannot say "deleted"
    assert got[HUB] == "active"


def test_smart_skips_empty_lists_without_a_request(tmp_path: Path) -> None:
    world = flower_world()
    _, source, db = crawl(tmp_path, world, policy="smart")
    leaves_following = [c for c in source.calls if c[0] == "following" and 4 <= c[1] <= 11]
    assert leaves_following == []  # leaves follow nobody: count 0 means an empty list
    with db.connect() as conn:
        skipped = conn.execute(select(frontier.c.last_error).where(
            frontier.c.kind == "following", frontier.c.account_id == 5)).scalar()
    assert skipped == "empty list (count 0)"


def test_waits_through_rate_limit_windows_and_never_gets_a_429(tmp_path: Path) -> None:
    world = flower_world()
    clock = FakeClock()
    source = FakeSource(world, clock, limits={"/2/users/:id/followers": 2,
                                              "/2/users/:id/following": 2,
                                              "/2/users": 1, "/2/users/by": 1})
    start = clock.now()
    engine, _, db = crawl(tmp_path, world, source=source, clock=clock, policy="bfs")
    assert engine.stats.outcome == "idle"
    assert source.served_429 == 0 and engine.stats.rate_limited == 0
    assert clock.now() - start >= 900  # it had to wait for at least one reset
    assert len(stored_edges(db)) > 10


def test_max_requests_counts_follows_requests_only(tmp_path: Path) -> None:
    world = flower_world()
    engine, source, _ = crawl(tmp_path, world, policy="bfs", max_requests=3)
    assert engine.stats.outcome == "budget"
    assert engine.stats.follows_requests == 3
    assert sum(1 for c in source.calls if c[0] in ("followers", "following")) == 3
    assert engine.stats.lookup_requests >= 1


def test_transient_faults_are_retried_and_the_graph_is_complete(tmp_path: Path) -> None:
    world = flower_world()
    clean_engine, _, clean_db = crawl(tmp_path / "a", world)
    clock = FakeClock()
    source = FakeSource(world, clock)
    source.faults[("following", HUB, None)] = [transient("5xx"), transient("timeout")]
    engine, _, db = crawl(tmp_path / "b", world, source=source, clock=clock)
    assert stored_edges(db) == stored_edges(clean_db)
    assert engine.stats.faults == {"5xx": 1, "timeout": 1}


def test_a_task_that_keeps_failing_is_marked_failed_and_the_crawl_goes_on(
    tmp_path: Path,
) -> None:
    world = flower_world()
    clock = FakeClock()
    source = FakeSource(world, clock)
    source.faults[("following", HUB, None)] = [transient("reset") for _ in range(10)]
    engine, _, db = crawl(tmp_path, world, source=source, clock=clock)
    assert engine.stats.failed_tasks == 1
    with db.connect() as conn:
        row = conn.execute(select(frontier.c.state, frontier.c.last_error, frontier.c.attempts)
                           .where(frontier.c.kind == "following",
                                  frontier.c.account_id == HUB)).one()
    assert row.state == "failed" and row.attempts == 5 and "reset" in row.last_error
    assert (14, HUB) not in stored_edges(db)  # deleted accounts never appear
    assert engine.stats.outcome == "idle"


def test_resume_after_a_stop_fetches_no_page_twice(tmp_path: Path) -> None:
    world = flower_world()
    _, _, clean_db = crawl(tmp_path / "clean", world, policy="bfs")
    clock = FakeClock()
    source = FakeSource(world, clock)
    path = tmp_path / "resumed"
    crawl(path, world, policy="bfs", source=source, clock=clock, max_requests=2)
    calls_before = len([c for c in source.calls if c[0] in ("followers", "following")])
    engine, _, db = crawl(path, world, policy="bfs", source=source, clock=clock, seeds=())
    lists = [c for c in source.calls if c[0] in ("followers", "following")]
    assert len(lists) == len(set(lists)), "a list page was fetched twice"
    assert calls_before == 2
    assert stored_edges(db) == stored_edges(clean_db)


def test_long_lists_are_read_page_by_page_and_capped(tmp_path: Path) -> None:
    names = {1: "bothub", **{i: f"botleaf{i}" for i in range(2, 40)}}
    edges = {(1, i) for i in range(2, 40)}
    world = FakeWorld.build(names, edges)
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    add_seeds(db, [AccountRef(id=1)], label="bot", now=clock.now())
    settings = Settings()
    settings.crawler.page_size = 10
    settings.crawler.max_list_size = 25
    engine = CrawlEngine(db, FakeSource(world, clock), settings,
                         ScoringContext(make_policy("bfs"), NameScorer(), 0.5),
                         clock=clock, worker_id="w")
    engine.run()
    with db.connect() as conn:
        row = conn.execute(select(frontier).where(frontier.c.kind == "following",
                                                  frontier.c.account_id == 1)).one()
    assert row.truncated and row.items == 25 and row.pages == 3 and row.state == "done"


def test_handles_are_resolved_then_expanded(tmp_path: Path) -> None:
    world = flower_world()
    clock = FakeClock()
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    add_seeds(db, [AccountRef(handle="BotHub"), AccountRef(handle="nobodyhere")], label="bot",
              now=clock.now())
    source = FakeSource(world, clock)
    engine = CrawlEngine(db, source, Settings(),
                         ScoringContext(make_policy("smart"), NameScorer(), 0.5),
                         clock=clock, worker_id="w")
    engine.run()
    assert ("following", HUB, None) in source.calls
    with db.connect() as conn:
        answered = conn.execute(select(frontier.c.state, frontier.c.last_error).where(
            frontier.c.kind == "resolve", frontier.c.handle == "nobodyhere")).one()
    assert tuple(answered) == ("skipped", "handle not_found")
    # the API's answer is final: retrying failed work does not ask for the handle again
    assert retry_failed(db, 5) == {"tasks": 0, "lookups": 0}


def test_the_runs_likely_bots_include_a_seed_profiled_by_handle(tmp_path: Path) -> None:
    first = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(first, [AccountRef(handle="bothub")], label="bot", now=0.0)
    first.dispose()
    engine, _, db = crawl(tmp_path, flower_world(), seeds=())
    likely = collect_status(db)["scores"]["likely_bots"]
    assert likely >= 10  # the hub and its leaves
    assert engine.stats.likely_bots == likely  # the crawl's closing line agrees with status


def test_a_run_left_open_by_a_killed_crawl_is_closed_as_lost_by_the_next(
        tmp_path: Path) -> None:
    from botsweep.storage.schema import api_calls, runs

    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    with db.begin() as conn:  # what a crawl killed with SIGKILL leaves behind
        killed = conn.execute(runs.insert().values(
            worker_id="w0", command="crawl", started_at=100.0)).inserted_primary_key[0]
        conn.execute(api_calls.insert().values(run_id=killed, at=160.0, endpoint="x",
                                               token_key="t", status=200, outcome="ok"))
    db.dispose()
    engine, _, db = crawl(tmp_path, flower_world())
    with db.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(runs))}
    assert (rows[killed].outcome, rows[killed].ended_at) == ("lost", 160.0)
    assert rows[engine.run_id].outcome == engine.stats.outcome  # the new run, closed as usual


def test_a_5xx_with_retry_after_is_not_asked_again_sooner(tmp_path: Path) -> None:
    from botsweep.errors import Transient

    world = flower_world()
    clock = FakeClock()
    source = FakeSource(world, clock)
    source.faults[("following", HUB, None)] = [
        Transient("simulated 503", kind="5xx", retry_after=120.0)]
    started = clock.now()
    engine, _, db = crawl(tmp_path, world, source=source, clock=clock)
    tries = [i for i, call in enumerate(source.calls) if call == ("following", HUB, None)]
    assert len(tries) == 2 and stored_edges(db) >= {(HUB, leaf) for leaf in range(2, 12)}
    assert clock.now() - started >= 120.0  # the crawl waited as told, then read the list


@pytest.mark.parametrize(("status", "body"), [(402, "CREDITS"), (429, "CAPPED")])
def test_no_credits_or_a_spent_cap_stops_the_crawl_and_fails_no_task(
    tmp_path: Path, status: int, body: str,
) -> None:
    """A reply no wait will fix stops the crawl with its reason; the work stays queued,
    rather than every list being tried once and marked failed."""
    import json

    from botsweep.crawler.engine import CrawlAborted
    from botsweep.crawler.replies import ENDPOINTS, parse_reply
    from botsweep.errors import SourceError
    from tests.crawler import test_source_parse

    def refusal() -> SourceError:
        try:
            parse_reply(status, {}, json.dumps(getattr(test_source_parse, body)).encode(),
                        endpoint=ENDPOINTS["followers"], token_key="K", now=0.0, max_items=9)
        except SourceError as exc:
            return exc
        raise AssertionError("no error")

    world = flower_world()
    clock = FakeClock()
    source = FakeSource(world, clock)
    source.faults[("following", HUB, None)] = [refusal()]
    with pytest.raises(CrawlAborted, match=f"refused the crawl: .*HTTP {status}"):
        crawl(tmp_path, world, source=source, clock=clock)
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    with db.connect() as conn:
        rows = conn.execute(select(frontier.c.kind, frontier.c.state, frontier.c.attempts)
                            .where(frontier.c.account_id == HUB)).all()
    assert {(kind, state) for kind, state, _ in rows} >= {("following", "pending")}
    assert all(state != "failed" and attempts == 0 for _, state, attempts in rows)


def test_a_page_write_that_loses_a_conflict_is_read_again(tmp_path: Path) -> None:
    """A deadlock with another worker rolls the page write back; the list goes back to the
    queue and is read again, rather than waiting for its lease or failing the crawl."""
    from botsweep.crawler import engine as engine_module
    from botsweep.errors import DatabaseConflict

    _, _, clean_db = crawl(tmp_path / "clean", flower_world())
    lost = {"left": 3}
    real_write = engine_module.write_follow_page

    def write(*args: object, **kwargs: object) -> object:
        if lost["left"]:
            lost["left"] -= 1
            raise DatabaseConflict("the transaction conflicted with another worker's")
        return real_write(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "write_follow_page", write)
        engine, source, db = crawl(tmp_path / "lost", flower_world())
    assert lost["left"] == 0
    assert engine.stats.outcome == "idle" and engine.stats.failed_tasks == 0
    assert stored_edges(db) == stored_edges(clean_db)
    with db.connect() as conn:
        assert conn.execute(select(frontier.c.state).where(
            frontier.c.state.in_(("leased", "failed")))).first() is None
