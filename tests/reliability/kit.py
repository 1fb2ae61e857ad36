"""Helpers for the reliability suite: a small world served by an in-process sim, a
config.yaml that points a ``botsweep`` subprocess at it, and the final graph of a DB.

The crawler subprocesses score with a model file (the shipped default, else a tiny one
trained once per session by tests/daemon/modelkit.py), and use the ``bfs`` policy so that
what gets expanded does not depend on the order in which pages arrived: that is what lets
a crawl that was killed and resumed be compared, edge for edge, with a clean one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import select

from botsweep.sim.generate import generate_world
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, api_calls, follows, frontier

__all__ = ["KitScorer", "TOKEN_ENV", "cli_command", "cli_env", "crawl_in_process",
           "seeds_with_errors", "small_world", "write_config",
           "run_cli", "graph", "frontier_rows", "call_outcomes", "Graph"]

TOKEN_ENV = "RELIABILITY_TOKEN"
Graph = tuple[frozenset[tuple[int, int]], dict[int, str | None]]
_ROOT = Path(__file__).resolve().parents[2]
_LINK = re.compile(r"https?://t\.co/")
_DIGITS = re.compile(r"[0-9]{5}")


class KitScorer:
    """A deterministic stand-in for the bot model: a t.co link in the bio, or a handle
    with a long run of digits, and few followers look like a bot.  The suite tests the
    crawler, not the model's judgement."""

    version = "reliability-kit-1"
    threshold = 0.5

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        out = []
        for record in records:
            link = bool(_LINK.search(str(record.get("description") or ""))
                        or _DIGITS.search(str(record.get("username") or "")))
            followers = (record.get("public_metrics") or {}).get("followers_count") or 0
            out.append(0.8 if link and followers < 2000 else 0.2)
        return np.array(out, dtype=np.float64)


def small_world(accounts_n: int = 300, seed: int = 5) -> World:
    return generate_world(accounts=accounts_n, bot_networks=2, rng_seed=seed)


def write_config(path: Path, *, db: Path, base_url: str, model: Path | None = None,
                 timeout_s: float = 2.0, page_size: int = 25, policy: str = "bfs",
                 max_retries: int = 8, extra: dict[str, Any] | None = None) -> Path:
    """A config.yaml for a fast crawl against the sim: short timeouts and backoffs."""
    doc: dict[str, Any] = {
        "database": {"url": f"sqlite:///{db}", "busy_timeout_s": 5},
        "api": {"base_url": base_url, "bearer_token_env": [TOKEN_ENV], "timeout_s": timeout_s,
                "max_retries": max_retries, "backoff_base_s": 0.01, "backoff_max_s": 0.05},
        "crawler": {"policy": policy, "page_size": page_size, "max_attempts": max_retries + 1,
                    "lease_s": 30},
    }
    if model is not None:
        doc["scorer"] = {"model": str(model)}
    for section, values in (extra or {}).items():
        doc.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def seeds_with_errors(world: World) -> list[int]:
    """The world's seeds plus a few suspended, deleted and protected accounts, so that
    lookups come back as 200 replies that carry an ``errors`` list."""
    odd: list[int] = []
    for state, n in (("suspended", 2), ("deleted", 2), ("protected", 3)):
        odd += [i for i in world.accounts if world.state(i) == state][:n]
    return list(world.seeds) + odd


def crawl_in_process(world: World, db_path: Path, url: str, *, timeout_s: float = 2.0,
                     token: str = "sim-token", max_retries: int = 10,
                     db: Database | None = None) -> dict[str, Any]:
    """Seed ``db_path`` and crawl the sim at ``url`` until idle, in this process (through
    ``db`` when given, e.g. one with a storage fault installed)."""
    from botsweep.config import Settings
    from botsweep.crawler.run import open_crawl
    from botsweep.crawler.source import XSource
    from botsweep.seeding import AccountRef, add_seeds

    db = db or Database(f"sqlite:///{db_path}")
    add_seeds(db, [AccountRef(id=i) for i in seeds_with_errors(world)], label="bot")
    settings = Settings.model_validate({
        "api": {"base_url": url, "bearer_token_env": [TOKEN_ENV], "timeout_s": timeout_s,
                "max_retries": max_retries, "backoff_base_s": 0.005, "backoff_max_s": 0.02},
        "crawler": {"policy": "bfs", "page_size": 25, "max_attempts": max_retries + 1},
    })
    source = XSource({TOKEN_ENV: token}, base_url=url, timeout_s=timeout_s)
    try:
        with open_crawl(settings, db, source=source, bot_model=KitScorer()) as engine:
            stats = engine.run(until_idle=True)
    finally:
        source.close()
        db.dispose()
    return stats.as_dict()


def cli_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTSWEEP_")}
    env[TOKEN_ENV] = token
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    return env


def cli_command(config: Path, *args: str) -> list[str]:
    """``botsweep --config CONFIG ARGS`` with the light :class:`KitScorer` (crawl_child)."""
    return [sys.executable, "-m", "tests.reliability.crawl_child", "--config", str(config),
            *args]


def run_cli(config: Path, *args: str, token: str = "sim-token", timeout: float = 120.0,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_command(config, *args), env=cli_env(token), capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def graph(db_path: Path) -> Graph:
    """The crawl's result: every follows edge, and every account's state."""
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            edges = frozenset((a, b) for b, a in conn.execute(
                select(follows.c.followee_id, follows.c.follower_id)))
            states = dict(conn.execute(select(accounts.c.id, accounts.c.state)).all())
    finally:
        db.dispose()
    return edges, states


def frontier_rows(db_path: Path) -> list[tuple[str, int | None, str]]:
    """(kind, account, state) of every frontier task, sorted."""
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            rows = conn.execute(select(frontier.c.kind, frontier.c.account_id,
                                       frontier.c.state)).all()
    finally:
        db.dispose()
    return sorted((r.kind, r.account_id, r.state) for r in rows)


def call_outcomes(db_path: Path) -> dict[str, int]:
    """How many logged API calls ended with each outcome (ok, 5xx, timeout, ...)."""
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            out: dict[str, int] = {}
            for (outcome,) in conn.execute(select(api_calls.c.outcome)):
                out[outcome] = out.get(outcome, 0) + 1
    finally:
        db.dispose()
    return out
