"""Crawls through tweepy's Client against the sim on loopback: shapes, edges, states, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.run import open_crawl
from botsweep.crawler.source import XSource
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.sim.world import World, visible_edges
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts
from tests.crawler.simkit import LinkScorer, crawled_edges, read_lists


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=600, bot_networks=3, rng_seed=11)


def _crawl(world: World, tmp_path: Path, *, policy: str = "smart", time_scale: float = 1.0,
           limits: dict[str, int] | None = None, seeds: list[int] | None = None,
           **run: object) -> tuple[Database, dict, object]:
    db = Database(f"sqlite:///{tmp_path / 'sim.db'}")
    add_seeds(db, [AccountRef(id=i) for i in (seeds or world.seeds)], label="bot")
    with SimServer(world, time_scale=time_scale, tokens=("sim-token",),
                   rate_limits=limits if limits is not None else {"*": 100_000}) as url:
        source = XSource({"SIM_TOKEN": "sim-token"}, base_url=url, timeout_s=5.0)
        with open_crawl(Settings(), db, policy=policy, source=source,
                        bot_model=LinkScorer()) as engine:
            stats = engine.run(**run)  # type: ignore[arg-type]
        source.close()
    return db, engine.stats.as_dict(), stats


def test_crawled_lists_equal_the_worlds_lists(world: World, tmp_path: Path) -> None:
    db, stats, _ = _crawl(world, tmp_path, max_requests=300)
    assert stats["outcome"] in ("idle", "budget")
    assert stats["rate_limited"] == 0
    edges = crawled_edges(db)
    visible = visible_edges(world)
    lists = read_lists(db)
    assert len(lists) > 20
    for account, kind, truncated in lists:
        if truncated:
            continue
        if kind == "followers":
            want = {(a, b) for a, b in visible if b == account}
            got = {(a, b) for a, b in edges if b == account}
        else:
            want = {(a, b) for a, b in visible if a == account}
            got = {(a, b) for a, b in edges if a == account}
        assert got == want, f"{kind} of {account}"
    assert edges <= visible  # nothing invented, no hidden account leaked


def test_states_match_the_world(world: World, tmp_path: Path) -> None:
    hidden = [i for i in world.accounts if world.state(i) in ("suspended", "deleted")][:6]
    protected = [i for i in world.accounts if world.state(i) == "protected"][:3]
    db, _, _ = _crawl(world, tmp_path, seeds=list(world.seeds) + hidden + protected,
                      max_requests=40)
    with db.connect() as conn:
        got = dict(conn.execute(select(accounts.c.id, accounts.c.state)).all())
    for i in hidden:
        want = "suspended" if world.state(i) == "suspended" else "not_found"
        assert got[i] == want, i
    for i in protected:
        assert got[i] == "protected"
    active = [i for i, s in got.items() if s == "active"]
    assert all(world.state(i) == "active" for i in active)


def test_a_rate_limited_crawl_gets_no_429(world: World, tmp_path: Path) -> None:
    # Real limits (15 follows pages per window), windows of 900/900 = 1 s.
    db, stats, _ = _crawl(world, tmp_path, time_scale=900.0, limits={}, max_requests=40)
    assert stats["follows_requests"] > 2 * 15  # crossed at least two rate windows
    assert stats["rate_limited"] == 0
    assert len(crawled_edges(db)) > 100
