"""Whole-graph jobs in a child process: the report, errors, stopping, and one writer at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from botsweep.config import load_settings
from botsweep.daemon_jobs import _LOCK_KEYS, run_in_subprocess
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts
from tests.daemon.test_daemon import make_daemon

pytestmark = pytest.mark.slow


def crawled_settings(tmp_path: Path, out: Path) -> object:
    daemon, _source, _clock, db = make_daemon(tmp_path, crawl_max_requests=20)
    daemon.crawl_tick()
    db.dispose()
    return load_settings(None, database={"url": db.url}, report={"out": str(out)})


def account_count(settings: object) -> int:
    db = Database(settings.database)  # type: ignore[attr-defined]
    with db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    db.dispose()
    return count


def test_report_job_writes_the_report_in_a_child(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    settings = crawled_settings(tmp_path, out)
    result = run_in_subprocess("report", settings, threading.Event())
    assert result.outcome == "ok", result.detail
    assert f"wrote {out}: {account_count(settings)} accounts" in result.detail
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob(".report.html.*.tmp"))


def test_a_failing_job_says_why(tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "report.html"
    settings = crawled_settings(tmp_path, out)
    result = run_in_subprocess("report", settings, threading.Event())
    assert result.outcome == "error"
    assert "missing-dir" in result.detail and "does not exist" in result.detail


def test_stop_ends_the_child_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    settings = crawled_settings(tmp_path, out)
    stop = threading.Event()
    stop.set()
    result = run_in_subprocess("report", settings, stop, grace_s=5)
    assert result.outcome == "stopped"
    assert not out.exists() and not list(tmp_path.glob(".report.html.*"))


@pytest.mark.postgres
def test_only_one_worker_runs_a_whole_graph_job(pg_url: str, tmp_path: Path) -> None:
    Database(pg_url).dispose()  # migrate
    settings = load_settings(None, database={"url": pg_url},
                             report={"out": str(tmp_path / "r.html")})
    holder = create_engine(pg_url)
    with holder.connect() as conn:  # another worker is writing the report
        assert conn.execute(select(func.pg_try_advisory_lock(_LOCK_KEYS["report"]))).scalar()
        result = run_in_subprocess("report", settings, threading.Event())
    holder.dispose()
    assert result.outcome == "skipped"
    assert "another worker" in result.detail
    assert not (tmp_path / "r.html").exists()
