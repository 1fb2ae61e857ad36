"""A crawl through 5xx, timeouts, resets and malformed bodies (5 % each) ends as a clean one.

Both crawls run in this process against the sim on loopback, through tweepy.  The seeds
include suspended, deleted and protected accounts, so lookups get 200 replies that carry
an ``errors`` list; their states must come out as in the fault-free crawl.  Every fault
the sim injected must show, kind for kind, in the engine's counters and in the
``api_calls`` log, and no frontier task may be left failed or unfinished.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.sim.server import SimServer
from botsweep.sim.world import World, visible_edges
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts
from tests.reliability.kit import call_outcomes, crawl_in_process, frontier_rows, graph

pytestmark = pytest.mark.slow

FAULTS = "5xx=0.05,timeout=0.05,reset=0.05,malformed=0.05"
KINDS = ("5xx", "timeout", "reset", "malformed")


def _unprofiled(db_path: Path) -> int:
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            return len(conn.execute(select(accounts.c.id).where(
                accounts.c.fetched_at.is_(None), accounts.c.state.is_(None))).all())
    finally:
        db.dispose()


def test_a_crawl_through_faults_ends_with_the_fault_free_graph(world: World,
                                                               tmp_path: Path) -> None:
    with SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000}) as url:
        clean = crawl_in_process(world, tmp_path / "clean.db", url)
    server = SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000},
                       faults=FAULTS, rng_seed=3, timeout_fault_s=0.6)
    url = server.start()
    try:
        faulty = crawl_in_process(world, tmp_path / "faulty.db", url, timeout_s=0.25)
    finally:
        server.stop()
    served = server.stats()

    assert clean["outcome"] == faulty["outcome"] == "idle"
    assert clean["faults"] == {}
    # Every kind of fault happened, and each one was counted by the crawler and logged.
    for kind in KINDS:
        assert served["faults"].get(kind, 0) >= 2, (kind, served["faults"])
    assert faulty["faults"] == served["faults"]
    logged = call_outcomes(tmp_path / "faulty.db")
    assert {k: logged.get(k, 0) for k in KINDS} == served["faults"]
    assert served["rate_limited"] == 0

    # The same graph, the same account states, the same tasks, all finished.
    clean_edges, clean_states = graph(tmp_path / "clean.db")
    faulty_edges, faulty_states = graph(tmp_path / "faulty.db")
    assert len(clean_edges) > 300
    assert clean_edges <= visible_edges(world)
    assert faulty_edges == clean_edges
    assert faulty_states == clean_states
    assert {"suspended", "not_found", "protected"} <= set(clean_states.values())
    assert frontier_rows(tmp_path / "faulty.db") == frontier_rows(tmp_path / "clean.db")
    assert all(s in ("done", "skipped") for _, _, s in frontier_rows(tmp_path / "faulty.db"))
    assert faulty["failed_tasks"] == 0
    assert _unprofiled(tmp_path / "faulty.db") == 0
