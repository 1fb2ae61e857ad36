"""``botsweep crawl`` when the API cannot be reached, as a user meets it: the sim stops in
the middle of a crawl, or answers every request with a 503 for a while, a bearer token
carries a stray carriage return, and work that did fail for good is queued again with
``botsweep frontier retry``.

Every crawl here is a real ``botsweep`` process (tests/reliability/crawl_child.py) against
the sim on loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier
from tests.reliability.kit import frontier_rows, graph, run_cli, write_config

pytestmark = pytest.mark.slow

LIMITS = {"*": 1_000_000}


def _tasks(db_path: Path) -> dict[tuple[str, int | None], tuple[str, int]]:
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            return {(r.kind, r.account_id): (r.state, r.attempts) for r in conn.execute(
                select(frontier.c.kind, frontier.c.account_id, frontier.c.state,
                       frontier.c.attempts))}
    finally:
        db.dispose()


def _given_up_lookups(db_path: Path) -> int:
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            return len(conn.execute(select(accounts.c.id).where(
                accounts.c.fetched_at.is_(None), accounts.c.lookup_attempts > 0)).all())
    finally:
        db.dispose()


def _seed(config: Path, world: World) -> None:
    done = run_cli(config, "seed", *map(str, list(world.seeds)[:3]), "--label", "bot")
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def clean(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same seeds crawled with the sim up all along."""
    tmp_path = tmp_path_factory.mktemp("clean")
    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS) as url:
        cfg = write_config(tmp_path / "clean.yaml", db=tmp_path / "clean.db", base_url=url)
        _seed(cfg, world)
        done = run_cli(cfg, "crawl", "--no-progress")
        assert done.returncode == 0, done.stderr
    return tmp_path / "clean.db"


def test_the_sim_going_down_stops_the_crawl_with_one_line_and_no_task_is_lost(
    world: World, clean: Path, tmp_path: Path,
) -> None:
    server = SimServer(world, tokens=("sim-token",), rate_limits=LIMITS)
    url = server.start()
    db_path = tmp_path / "crawl.db"
    cfg = write_config(tmp_path / "crawl.yaml", db=db_path, base_url=url,
                       extra={"api": {"backoff_base_s": 0.05, "backoff_max_s": 0.5}})
    try:
        _seed(cfg, world)
        first = run_cli(cfg, "crawl", "--no-progress", "--max-requests", "3")
        assert first.returncode == 0, first.stderr
    finally:
        server.stop()
    before = _tasks(db_path)
    assert any(state == "pending" for state, _ in before.values())

    # The sim is down: the crawl neither reports a result (exit 0) nor runs forever.
    for args in (("--max-requests", "5"), ()):
        down = run_cli(cfg, "crawl", "--no-progress", *args, timeout=60)
        assert down.returncode == 1, (down.stdout, down.stderr)
        lines = down.stderr.strip().splitlines()
        assert len(lines) == 1, down.stderr
        assert lines[0].startswith(f"botsweep: error: cannot reach the API at {url}: ")
        assert "connection refused" in lines[0]
        assert "sim-token" not in down.stderr + down.stdout
        # No task used up an attempt or was given up on; every lease was given back.
        assert _tasks(db_path) == before
        assert _given_up_lookups(db_path) == 0

    # The sim is back on the same port: the crawl ends as one that never saw the outage.
    port = int(url.rsplit(":", 1)[1])
    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS, port=port):
        back = run_cli(cfg, "crawl", "--no-progress")
    assert back.returncode == 0, back.stderr
    assert "failed tasks 0" in back.stdout
    assert graph(db_path) == graph(clean)
    assert frontier_rows(db_path) == frontier_rows(clean)


def test_a_server_outage_stops_the_crawl_with_one_line_and_no_task_is_lost(
    world: World, clean: Path, tmp_path: Path,
) -> None:
    db_path = tmp_path / "crawl.db"
    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS) as url:
        cfg = write_config(tmp_path / "crawl.yaml", db=db_path, base_url=url,
                           extra={"api": {"backoff_base_s": 0.05, "backoff_max_s": 0.5}})
        _seed(cfg, world)
        first = run_cli(cfg, "crawl", "--no-progress", "--max-requests", "3")
        assert first.returncode == 0, first.stderr
    before = _tasks(db_path)
    port = int(url.rsplit(":", 1)[1])

    # Every request gets a 5xx: one line, exit 1, and no task used up an attempt.
    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS, port=port,
                   faults="5xx=1") as url:
        down = run_cli(cfg, "crawl", "--no-progress", timeout=60)
    assert down.returncode == 1, (down.stdout, down.stderr)
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1, down.stderr
    assert lines[0].startswith(f"botsweep: error: the API at {url} is failing: 5 requests "
                               "in a row got a server error (server error 5"), lines[0]
    assert _tasks(db_path) == before and _given_up_lookups(db_path) == 0

    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS, port=port):
        back = run_cli(cfg, "crawl", "--no-progress")
    assert back.returncode == 0 and "failed tasks 0" in back.stdout, back.stderr
    assert graph(db_path) == graph(clean)
    assert frontier_rows(db_path) == frontier_rows(clean)


def test_a_token_with_a_carriage_return_is_refused_before_any_request(
    world: World, tmp_path: Path,
) -> None:
    server = SimServer(world, tokens=("sim-token",), rate_limits=LIMITS)
    url = server.start()
    try:
        cfg = write_config(tmp_path / "crawl.yaml", db=tmp_path / "crawl.db", base_url=url)
        _seed(cfg, world)
        done = run_cli(cfg, "crawl", "--no-progress", token="sim-token\r")
        asked = server.stats()["requests_total"]
    finally:
        server.stop()
    assert asked == 0
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "RELIABILITY_TOKEN" in lines[0], done.stderr
    assert "sim-token" not in done.stderr + done.stdout
    assert all(attempts == 0 for _, attempts in _tasks(tmp_path / "crawl.db").values())


def test_frontier_retry_queues_failed_work_again_and_the_crawl_completes_it(
    world: World, clean: Path, tmp_path: Path,
) -> None:
    db_path = tmp_path / "crawl.db"
    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS,
                   faults="malformed=1") as url:
        cfg = write_config(tmp_path / "crawl.yaml", db=db_path, base_url=url, max_retries=1)
        _seed(cfg, world)
        broken = run_cli(cfg, "crawl", "--no-progress")
    assert broken.returncode == 0, broken.stderr
    failed = [k for k, (state, _) in _tasks(db_path).items() if state == "failed"]
    assert failed and _given_up_lookups(db_path) == 3

    again = run_cli(cfg, "frontier", "retry")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"queued again: {len(failed)} failed task(s) (lists and handles) and 3 profile "
        "lookup(s); the next crawl takes them up")
    assert all(v == ("pending", 0) for v in _tasks(db_path).values())
    twice = run_cli(cfg, "frontier", "retry")
    assert twice.returncode == 0 and twice.stdout.startswith("nothing to retry"), twice.stdout

    port = int(url.rsplit(":", 1)[1])
    with SimServer(world, tokens=("sim-token",), rate_limits=LIMITS, port=port):
        done = run_cli(cfg, "crawl", "--no-progress")
    assert done.returncode == 0 and "failed tasks 0" in done.stdout, done.stderr
    assert graph(db_path) == graph(clean)
    assert frontier_rows(db_path) == frontier_rows(clean)
