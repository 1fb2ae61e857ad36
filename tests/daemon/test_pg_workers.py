"""Daemons as real processes on one PostgreSQL database, crawling one sim world.

Each test gets its own schema (tests/pg.py), so they can run beside other test sessions.
The reference is a one-worker crawl of the same world, on SQLite, in this process: the
bfs policy with one model expands the same accounts in any order, so several workers
must end with exactly its graph.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from botsweep.config import load_settings
from botsweep.crawler.run import open_crawl
from botsweep.crawler.source import XSource
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.generate import generate_world
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, jobs, runs
from tests.daemon.modelkit import model_path
from tests.daemon.pgkit import (
    Graph,
    RecordingSim,
    crawl_finished,
    crawl_graph,
    start_worker,
    stop_worker,
    wait_for,
    worker_log,
    write_config,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FINISH_TIMEOUT_S = 150


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=600, bot_networks=3, rng_seed=11)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_path(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def one_worker(world: World, model: Path, tmp_path_factory: pytest.TempPathFactory) -> Graph:
    """The graph of a one-worker crawl (the ``crawl`` command's engine, on SQLite)."""
    root = tmp_path_factory.mktemp("one-worker")
    db = Database(f"sqlite:///{root / 'one.db'}")
    add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
    settings = load_settings(None, crawler={"policy": "bfs"}, scorer={"model": str(model)})
    sim = RecordingSim(world, latency_s=0.0)
    with sim as url:
        source = XSource({"SIM_TOKEN": "sim-token"}, base_url=url, timeout_s=5.0)
        with open_crawl(settings, db, source=source) as engine:
            stats = engine.run()
    assert stats.outcome == "idle" and stats.failed_tasks == 0
    graph = crawl_graph(db)
    db.dispose()
    # A crawl worth sharing among four workers, and long enough to stop after 20 pages.
    assert len(graph.edges) > 500 and len(graph.lists) >= 60
    return graph


@pytest.fixture
def pg_db(pg_url: str, world: World) -> Iterator[Database]:
    """A fresh schema with the world's seeds added."""
    db = Database(_fast(pg_url))
    add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
    yield db
    db.dispose()


def _fast(pg_url: str) -> str:
    """The test schema's URL without waiting for each commit to reach the disk (the
    test database needs no durability; transactions stay atomic)."""
    return pg_url.replace("options=", "options=-csynchronous_commit%3Doff%20", 1)


def _leased_by(db: Database, worker_id: str) -> tuple[list[int], list[int]]:
    with db.connect() as conn:
        tasks = list(conn.execute(select(frontier.c.id).where(
            frontier.c.state == "leased", frontier.c.lease_owner == worker_id)).scalars())
        lookups = list(conn.execute(select(accounts.c.id).where(
            accounts.c.lookup_owner == worker_id)).scalars())
    return tasks, lookups


def _pages_by_worker(db: Database) -> dict[str, int]:
    import json

    pages: dict[str, int] = {}
    with db.connect() as conn:
        for worker_id, detail in conn.execute(select(runs.c.worker_id, runs.c.detail)):
            done = json.loads(detail)["pages"] if detail else 0
            pages[worker_id] = pages.get(worker_id, 0) + done
    return pages


def _assert_clean_stop(db: Database, log_dir: Path, results: list[tuple[int, float]],
                       names: list[str]) -> None:
    for name, (code, seconds) in zip(names, results, strict=True):
        assert code == 0, f"{name} exited {code}: {(log_dir / f'{name}.log').read_text()[-2000:]}"
        assert seconds < 10, f"{name} took {seconds:.1f} s to stop"
        text = (log_dir / f"{name}.log").read_text(encoding="utf-8")
        assert "sim-token" not in text  # no secret in the logs
        events = [line.get("event") for line in worker_log(log_dir, name)]
        assert "daemon_start" in events and events[-1] == "daemon_stop", events[-5:]
    with db.connect() as conn:
        leased = conn.execute(select(func.count()).select_from(frontier)
                              .where(frontier.c.state == "leased")).scalar_one()
        owners = conn.execute(select(func.count()).select_from(accounts)
                              .where(accounts.c.lookup_owner.is_not(None))).scalar_one()
        scheduled = conn.execute(select(func.count()).select_from(jobs).where(
            jobs.c.worker_id.in_(names), jobs.c.next_run_at.is_not(None))).scalar_one()
        open_runs = conn.execute(select(runs.c.worker_id).where(
            runs.c.worker_id.in_(names), runs.c.ended_at.is_(None))).scalars().all()
    assert (leased, owners) == (0, 0)
    assert scheduled == 0  # stopped workers have nothing scheduled
    assert open_runs == []  # every crawl tick was closed


def test_four_workers_expand_every_account_once(
    world: World, model: Path, one_worker: Graph, pg_db: Database, pg_url: str,
    tmp_path: Path,
) -> None:
    names = [f"worker-{i}" for i in range(1, 5)]
    sim = RecordingSim(world, latency_s=0.02)
    with sim as url:
        config = write_config(tmp_path / "config.yaml", database_url=_fast(pg_url),
                              base_url=url, model=model)
        procs = [start_worker(config, name, tmp_path) for name in names]
        try:
            wait_for(lambda: crawl_finished(pg_db), FINISH_TIMEOUT_S, "four workers to finish",
                     procs)
        finally:
            results = [stop_worker(proc) for proc in procs]
    _assert_clean_stop(pg_db, tmp_path, results, names)
    assert sim.repeated_pages() == []  # no list page was read twice
    assert sim.repeated_lookups() == []  # no profile was looked up twice
    graph = crawl_graph(pg_db)
    assert graph.edges == one_worker.edges
    assert graph.lists == one_worker.lists
    assert graph.states == one_worker.states
    pages = _pages_by_worker(pg_db)
    assert sum(pages.values()) == len(sim.pages)
    assert sum(1 for name in names if pages.get(name, 0) > 0) >= 3, pages


def _freeze_holding_work(victim: subprocess.Popen[bytes], db: Database,
                         procs: list[subprocess.Popen[bytes]]) -> tuple[list[int], list[int]]:
    """SIGSTOP the victim at a moment it holds a lease, and return what it holds.  (Seen
    holding one and then killed, it may have finished that page in between on a loaded
    machine; frozen, it cannot.)"""
    deadline = time.monotonic() + 60
    while True:
        wait_for(lambda: _leased_by(db, "victim")[0] != [], 60,
                 "the victim to lease a list", procs)
        victim.send_signal(signal.SIGSTOP)
        held = _leased_by(db, "victim")
        if held[0] or held[1] or time.monotonic() > deadline:
            return held
        victim.send_signal(signal.SIGCONT)


def test_a_killed_worker_leaves_its_work_to_the_others(
    world: World, model: Path, one_worker: Graph, pg_db: Database, pg_url: str,
    tmp_path: Path,
) -> None:
    names = ["victim", "survivor-1", "survivor-2"]
    sim = RecordingSim(world, latency_s=0.1)  # slow pages: the victim dies holding one
    with sim as url:
        config = write_config(tmp_path / "config.yaml", database_url=_fast(pg_url),
                              base_url=url, model=model, lease_s=3)
        procs = [start_worker(config, name, tmp_path) for name in names]
        try:
            held_tasks, held_lookups = _freeze_holding_work(procs[0], pg_db, procs)
            procs[0].kill()  # SIGKILL: no clean-up at all
            procs[0].wait(10)
            assert held_tasks or held_lookups, "the victim died holding nothing"
            wait_for(lambda: crawl_finished(pg_db), FINISH_TIMEOUT_S,
                     "the survivors to finish", procs[1:])
        finally:
            results = [stop_worker(proc) for proc in procs[1:]]
    assert procs[0].returncode == -9
    _assert_clean_stop(pg_db, tmp_path, results, names[1:])
    graph = crawl_graph(pg_db)
    assert graph.edges == one_worker.edges
    assert graph.lists == one_worker.lists
    assert graph.states == one_worker.states
    # Only what the victim had in hand was asked for again.
    assert len(sim.repeated_pages()) <= len(held_tasks)


def test_sigterm_stops_mid_crawl_cleanly_and_a_restart_resumes(
    world: World, model: Path, one_worker: Graph, pg_db: Database, pg_url: str,
    tmp_path: Path,
) -> None:
    sim = RecordingSim(world, latency_s=0.05)
    with sim as url:
        config = write_config(tmp_path / "config.yaml", database_url=_fast(pg_url),
                              base_url=url, model=model)
        first = start_worker(config, "solo", tmp_path)
        try:
            wait_for(lambda: len(sim.pages) >= 20, 60, "20 pages", [first])
        finally:
            result = stop_worker(first)
        assert not crawl_finished(pg_db), "the crawl ended before SIGTERM: make it longer"
        _assert_clean_stop(pg_db, tmp_path, [result], ["solo"])
        with pg_db.connect() as conn:
            outcomes = conn.execute(select(runs.c.outcome).where(runs.c.worker_id == "solo")
                                    .order_by(runs.c.id)).scalars().all()
        assert outcomes[-1] == "stopped"
        (tmp_path / "solo.log").rename(tmp_path / "solo-first.log")
        again: subprocess.Popen[bytes] = start_worker(config, "solo", tmp_path)
        try:
            wait_for(lambda: crawl_finished(pg_db), FINISH_TIMEOUT_S, "the restart to finish",
                     [again])
        finally:
            result = stop_worker(again)
    _assert_clean_stop(pg_db, tmp_path, [result], ["solo"])
    # The page in hand at SIGTERM was stored with its cursor: nothing was read twice.
    assert sim.repeated_pages() == []
    graph = crawl_graph(pg_db)
    assert graph.edges == one_worker.edges
    assert graph.lists == one_worker.lists
    assert graph.states == one_worker.states
