"""Two workers on one database must hunt one target: ``botsweep crawl`` refuses, in one line
with exit 2, to rank the queue away from what a live worker hunts, and goes ahead once that
worker has not been heard from for LIVE_S (it crashed) or has ended its crawl."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from sqlalchemy import func, select

from botsweep.crawler.retarget import HUNTER_PREFIX, LIVE_S, RANKED_KEY, claim_key
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import api_calls, meta
from tests.reliability.kit import run_cli, write_config


def _claim(db: Database, at: float) -> None:
    """Another host's worker crawls this database for a campaign, last heard from ``at``."""
    rows = [{"key": RANKED_KEY, "value": "campaign:pron campaign-v1"},
            {"key": claim_key("other-host-7"),
             "value": json.dumps({"worker": "other-host-7", "target": "campaign:pron", "at": at})}]
    with db.begin() as conn:
        conn.execute(db.upsert(meta, ["key"], ["value"]), rows)


def _calls(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(api_calls)).scalar_one())


def test_a_crawl_for_another_target_than_a_live_workers_is_refused(
        world: World, sim_url: str, tmp_path: Path) -> None:
    db_path = tmp_path / "shared.db"
    db = Database(f"sqlite:///{db_path}")
    add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot")
    config = write_config(tmp_path / "config.yaml", db=db_path, base_url=sim_url)

    _claim(db, time.time())
    refused = run_cli(config, "crawl", "--no-progress", "--max-requests", "2")
    assert refused.returncode == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "worker other-host-7 is crawling this database for campaign:pron" in lines[0]
    assert "crawler.target" in lines[0]
    assert _calls(db) == 0  # refused before any request
    shown = run_cli(config, "status")
    assert shown.returncode == 0, shown.stderr
    said = " ".join(shown.stdout.split())  # rich wraps lines at the terminal's width
    assert re.search(r"queue ranked for campaign:pron campaign-v1; crawled by worker "
                     r"other-host-7 \(heard from \d+ s ago\)", said), said

    _claim(db, time.time() - LIVE_S - 5)  # that worker crashed: its claim has lapsed
    crawled = run_cli(config, "crawl", "--no-progress", "--max-requests", "2")
    assert crawled.returncode == 0, crawled.stderr
    assert _calls(db) > 0
    with db.connect() as conn:
        stored = dict(conn.execute(select(meta.c.key, meta.c.value)).all())
    assert stored[RANKED_KEY] == "bot"
    # the crawl ended and withdrew its claim, and cleared the crashed worker's lapsed one
    assert not [key for key in stored if key.startswith(HUNTER_PREFIX)]
    shown = run_cli(config, "status")
    said = " ".join(shown.stdout.split())
    assert "queue ranked for bot states:" in said, said
    db.dispose()
