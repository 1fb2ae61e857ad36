"""``botsweep status`` after daemon runs: each job's last run, outcome and next run, and
``status --check`` (the Dockerfile's HEALTHCHECK) failing once the last crawl tick is stale."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from botsweep.cli import main
from botsweep.daemon_jobs import JobResult, record_beat, record_job
from botsweep.storage.db import Database
from tests.daemon.test_daemon import make_daemon


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def crawled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A daemon's crawl tick and a failed score run; the CLI reads the same database.  The
    daemon is running (it beats), so status shows its jobs' next runs."""
    daemon, _source, _clock, db = make_daemon(tmp_path, crawl_max_requests=3)
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", db.url)
    record_beat(db, "w-test", started_at=time.time() - 60)
    daemon._job("crawl", daemon.crawl_tick)()
    daemon._job("score", lambda: JobResult("error", "model file missing"))()
    record_job(db, "w-test", "report", next_run_at=time.time() + 600)
    return db


def test_status_shows_each_jobs_last_run_outcome_and_next_run(
    crawled: Database, capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    assert "daemon jobs" in out
    cells = [[c.strip() for c in line.split("│")] for line in out.splitlines()
             if line.strip().startswith("w-test")]
    rows = {c[1]: c for c in cells}  # worker │ job │ last run │ outcome │ next run
    assert sorted(rows) == ["crawl", "report", "score"]
    assert rows["crawl"][2].endswith("s ago") and rows["crawl"][3] == "budget"
    assert rows["score"][3] == "error"
    assert rows["report"][2:] == ["-", "-", rows["report"][4]]
    assert 590 <= int(rows["report"][4].removeprefix("in ").removesuffix(" s")) <= 600
    rc, out, _ = _run(capsys, "status", "--json")
    jobs = {j["job"]: j for j in json.loads(out)["jobs"]}
    assert jobs["crawl"]["last_outcome"] == "budget"
    assert jobs["score"]["last_detail"] == "model file missing"
    assert jobs["report"]["last_run_at"] is None and jobs["report"]["next_run_at"] > time.time()


def test_a_job_whose_next_run_time_has_passed_is_due_now_not_ago(
    crawled: Database, capsys: pytest.CaptureFixture[str],
) -> None:
    """While a run goes on (or waits for one still going), the recorded next run time lies
    in the past: status says the job is due, not that its next run was 45 s ago."""
    record_job(crawled, "w-test", "crawl", next_run_at=time.time() - 45)
    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    rows = {c[1]: c for c in ([c.strip() for c in line.split("│")] for line in out.splitlines()
                              if line.strip().startswith("w-test"))}
    assert rows["crawl"][4] == "due now"
    assert rows["crawl"][2].endswith("s ago")  # the last run did happen in the past
    assert rows["report"][4].startswith("in ")


def test_status_check_is_healthy_after_a_fresh_tick_and_fails_when_stale(
    crawled: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    rc, out, err = _run(capsys, "status", "--check")
    assert (rc, out.strip()) == (0, "healthy"), err
    rc, out, err = _run(capsys, "status", "--check", "--json")
    assert (rc, json.loads(out)) == (0, {"healthy": True, "problem": None}), err
    # The last tick ran 1,000 s ago; the default stale_after_s is 900.
    record_job(crawled, "w-test", "crawl", last_run_at=time.time() - 1000,
               result=JobResult("idle", "nothing to do"))
    rc, _, err = _run(capsys, "status", "--check")
    assert rc == 1
    stale = r"unhealthy: the last crawl tick ran 10\d\d s ago \(more than 900 s\)"
    assert re.search(stale, err), err
    monkeypatch.setenv("BOTSWEEP_SCHEDULE__STALE_AFTER_S", "3600")
    assert _run(capsys, "status", "--check")[0] == 0
    # A tick that failed is unhealthy however recent.
    record_job(crawled, "w-test", "crawl", last_run_at=time.time(),
               result=JobResult("error", "the API refused the crawl: 401"))
    rc, _, err = _run(capsys, "status", "--check")
    assert rc == 1 and "the last crawl tick failed: the API refused the crawl" in err


def test_status_check_with_worker_id_judges_only_that_workers_ticks(
    crawled: Database, capsys: pytest.CaptureFixture[str],
) -> None:
    # w-test ticked just now; w-stalled's last tick is an hour old.
    record_job(crawled, "w-stalled", "crawl", last_run_at=time.time() - 3600,
               result=JobResult("budget", "3 follows requests"))
    assert _run(capsys, "status", "--check")[0] == 0  # the newest tick of any worker
    assert _run(capsys, "status", "--check", "--worker-id", "w-test")[0] == 0
    rc, _, err = _run(capsys, "status", "--check", "--worker-id", "w-stalled")
    assert rc == 1 and re.search(r"the last crawl tick ran 3\d\d\d s ago", err), err
    rc, _, err = _run(capsys, "status", "--check", "--worker-id", "w-never")
    assert rc == 1 and "no crawl tick of worker 'w-never' has run yet" in err
    rc, out, _ = _run(capsys, "status", "--json", "--worker-id", "w-stalled")
    assert [j["worker_id"] for j in json.loads(out)["jobs"]] == ["w-stalled"]


def test_status_lines_are_not_wrapped_when_piped(
    crawled: Database, capsys: pytest.CaptureFixture[str],
) -> None:
    """Piped into a log or grep (no terminal: rich would wrap at 80 columns), the summary
    line stays whole, so ``botsweep status | grep 'likely bots'`` finds its number."""
    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    first = out.splitlines()[0]
    assert len(first) > 80, first
    assert re.search(r"edges \d+; likely bots \d+; 429s \d+$", first), out
