"""Helpers for daemon workers on PostgreSQL: a recording sim, worker processes, the graph.

* :class:`RecordingSim` serves a world with high limits and a little latency (so that
  several workers overlap), and records every followers/following page and every looked-up
  id that was served, so a test can tell whether any work was done twice.
* :func:`start_worker` runs ``python -m botsweep daemon --worker-id ID`` as a real process.
* :func:`crawl_graph` is what a crawl produced: its edges, the lists it read and every
  account's state, comparable between databases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml
from sqlalchemy import func, select

from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, discovered, follows, frontier

__all__ = ["RecordingSim", "Graph", "crawl_graph", "crawl_finished", "start_worker",
           "stop_worker", "wait_for", "worker_log", "write_config", "SIM_TOKEN_ENV"]

SIM_TOKEN_ENV = "SIM_TOKEN"
_SIM_TOKEN = "sim-token"
_REPO = Path(__file__).resolve().parents[2]


@dataclass
class RecordingSim:
    """The sim on loopback; ``pages`` counts each (kind, account, cursor) served with 200."""

    world: World
    latency_s: float = 0.02
    pages: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lookups: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: SimServer | None = None

    def __enter__(self) -> str:
        self._server = SimServer(self.world, tokens=(_SIM_TOKEN,),
                                 rate_limits={"*": 1_000_000})
        app = self._server.app
        original = app.handle

        def handle(method: str, target: str, authorization: str | None) -> Any:
            if self.latency_s:
                time.sleep(self.latency_s)
            reply = original(method, target, authorization)
            if reply.status == 200:
                self._record(target)
            return reply

        app.handle = handle  # type: ignore[method-assign]
        return self._server.start()

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    def _record(self, target: str) -> None:
        path, _, qs = target.partition("?")
        parts = path.strip("/").split("/")
        query = parse_qs(qs)
        with self._lock:
            if len(parts) == 4 and parts[3] in ("followers", "following"):
                cursor = query.get("pagination_token", [""])[0]
                self.pages[(parts[3], parts[2], cursor)] += 1
            elif parts == ["2", "users"]:
                for value in query.get("ids", [""])[0].split(","):
                    if value:
                        self.lookups[value] += 1

    def repeated_pages(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return sorted(k for k, n in self.pages.items() if n > 1)

    def repeated_lookups(self) -> list[str]:
        with self._lock:
            return sorted(k for k, n in self.lookups.items() if n > 1)


def write_config(path: Path, *, database_url: str, base_url: str, model: Path,
                 lease_s: float = 300.0, **schedule: Any) -> Path:
    """A config.yaml for worker processes: bfs over the sim, with this model."""
    config = {
        "database": {"url": database_url},
        "api": {"base_url": base_url, "bearer_token_env": [SIM_TOKEN_ENV], "timeout_s": 5,
                "backoff_base_s": 0.1, "backoff_max_s": 1},
        "crawler": {"policy": "bfs", "lease_s": lease_s},
        "scorer": {"model": str(model)},
        "report": {"out": str(path.parent / "report.html")},
        # Score and report are other tests' business: not within these tests' minutes.
        "schedule": {"crawl_every_s": 0.5, "crawl_max_requests": 1_000_000,
                     "crawl_max_seconds": 5, "score_every_s": 3600,
                     "report_cron": "0 0 1 1 *", "report_at_start": False, **schedule},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start_worker(config: Path, worker_id: str, log_dir: Path) -> subprocess.Popen[bytes]:
    """``botsweep --log-json daemon --worker-id ID`` in its own process; stderr to a file."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BOTSWEEP_") and k != "X_BEARER_TOKEN"}
    env[SIM_TOKEN_ENV] = _SIM_TOKEN
    env["PYTHONPATH"] = str(_REPO) + os.pathsep + env.get("PYTHONPATH", "")
    log = (log_dir / f"{worker_id}.log").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "botsweep", "--config", str(config), "--log-json", "-v",
             "daemon", "--worker-id", worker_id],
            stdout=subprocess.DEVNULL, stderr=log, cwd=log_dir, env=env,
        )
    finally:
        log.close()


def stop_worker(proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> tuple[int, float]:
    """SIGTERM; return (exit status, seconds to exit).  Killed if it does not exit."""
    began = time.monotonic()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = -9
    return code, time.monotonic() - began


def worker_log(log_dir: Path, worker_id: str) -> list[dict[str, Any]]:
    """The JSON log lines of one worker (non-JSON lines are kept as ``{"text": ...}``)."""
    lines = []
    for line in (log_dir / f"{worker_id}.log").read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            lines.append({"text": line})
    return lines


def crawl_finished(db: Database, max_attempts: int = 5) -> bool:
    """No list or handle left to read, no profile left to look up, nothing to absorb."""
    with db.connect() as conn:
        open_tasks = conn.execute(
            select(func.count()).select_from(frontier)
            .where(frontier.c.state.in_(("pending", "leased")))).scalar_one()
        unprofiled = conn.execute(
            select(func.count()).select_from(accounts)
            .where(accounts.c.fetched_at.is_(None), accounts.c.state.is_(None),
                   accounts.c.lookup_attempts < max_attempts)).scalar_one()
        waiting = conn.execute(select(func.count()).select_from(discovered)).scalar_one()
        seeded = conn.execute(select(func.count()).select_from(frontier)).scalar_one()
    return seeded > 0 and open_tasks == 0 and unprofiled == 0 and waiting == 0


@dataclass(frozen=True)
class Graph:
    edges: frozenset[tuple[int, int]]
    lists: frozenset[tuple[int, str, str]]
    states: dict[int, str | None]


def crawl_graph(db: Database) -> Graph:
    """Edges (follower, followee), lists as (account, kind, state), and account states."""
    with db.connect() as conn:
        edges = frozenset((a, b) for b, a in conn.execute(
            select(follows.c.followee_id, follows.c.follower_id)))
        lists = frozenset((r.account_id, r.kind, r.state) for r in conn.execute(
            select(frontier.c.account_id, frontier.c.kind, frontier.c.state)))
        states = dict(conn.execute(select(accounts.c.id, accounts.c.state)).all())
    return Graph(edges, lists, states)


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str,
             procs: Sequence[subprocess.Popen[bytes]] = ()) -> None:
    """Poll ``predicate`` every 0.2 s; fail naming ``what`` (and any worker that died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        dead = [p.args[-1] for p in procs if p.poll() is not None]
        if dead:
            raise AssertionError(f"worker(s) {dead} exited while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
