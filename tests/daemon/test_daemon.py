"""The daemon's wiring, crawl ticks and bookkeeping, with a fake Source on a fake clock."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from botsweep.config import Settings, load_settings
from botsweep.crawler.clock import FakeClock
from botsweep.daemon import Daemon
from botsweep.daemon_jobs import JobResult, record_job
from botsweep.errors import ConfigError, InputError
from botsweep.seeding import AccountRef, add_seeds
from botsweep.status import check_health, collect_status
from botsweep.storage.db import Database
from botsweep.storage.pages import absorb_discovered
from botsweep.storage.schema import accounts, frontier, jobs, runs
from tests.crawler.fakes import FakeSource, FakeWorld, NameScorer


def chain_world(n: int = 40) -> FakeWorld:
    """Bot i follows bot i+1: every expansion discovers one more bot."""
    names = {i: f"bot{i}" for i in range(1, n + 1)}
    edges = {(i, i + 1) for i in range(1, n)}
    return FakeWorld.build(names, edges)


def make_daemon(tmp_path: Path, *, limits: dict[str, int] | None = None, url: str | None = None,
                **schedule: object) -> tuple[Daemon, FakeSource, FakeClock, Database]:
    clock = FakeClock()
    db = Database(url or f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=1)], label="bot", now=clock.now())
    source = FakeSource(chain_world(), clock)
    if limits:
        source.limits.update(limits)
    schedule.setdefault("report_at_start", False)  # the tests that want it say so
    settings = load_settings(None, schedule=schedule, crawler={"policy": "bfs"})
    daemon = Daemon(settings, db, worker_id="w-test", source=source, bot_model=NameScorer(),
                    clock=clock)
    return daemon, source, clock, db


def test_scheduler_jobs_come_from_the_schedule_config(tmp_path: Path) -> None:
    daemon, *_ = make_daemon(tmp_path, crawl_every_s=30, score_every_s=900,
                             report_cron="15 3 * * *", misfire_grace_s=42.5)
    scheduler = daemon.build_scheduler()
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    got = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert sorted(got) == ["crawl", "report", "score"]
    for job in got.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == 43
    assert got["crawl"].trigger.interval.total_seconds() == 30
    assert got["score"].trigger.interval.total_seconds() == 900
    assert str(got["report"].trigger.fields[5]) == "3"  # hour field of "15 3 * * *"
    assert type(scheduler._jobstores["default"]).__name__ == "MemoryJobStore"


@pytest.mark.parametrize("at_start", [True, False])
def test_the_report_is_written_once_at_start_then_on_its_cron(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, at_start: bool,
) -> None:
    """A new or restarted daemon shows the current state at once, rather than at the next
    report_cron time (an hour away with the default); report_at_start false waits."""
    daemon, *_ = make_daemon(tmp_path, crawl_every_s=3600, score_every_s=3600,
                             report_cron="0 0 1 1 *", report_at_start=at_start)
    caplog.set_level(logging.INFO, logger="botsweep.daemon")
    out = Path("botsweep-report.html")  # report.out's default, in the test's folder
    daemon.start()
    try:
        deadline = time.monotonic() + 60
        while at_start and not out.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0 if at_start else 3)
        written = out.exists()
        job = daemon._scheduler.get_job("report")
        next_run = job.next_run_time
    finally:
        assert daemon.shutdown()
    assert written is at_start
    assert next_run.year > datetime.now(UTC).year  # then only on the cron: next 1 January


def test_crawl_tick_held_back_by_retry_delays_says_waiting_not_rate_limited(
    tmp_path: Path,
) -> None:
    daemon, _source, clock, db = make_daemon(tmp_path, crawl_max_requests=2)
    assert daemon.crawl_tick().outcome == "budget"
    # Every open list and lookup waits 10 minutes to be retried; no rate limit is near.
    with db.begin() as conn:
        absorb_discovered(conn, db)  # the ids the last page found become accounts to look up
        conn.execute(frontier.update().where(frontier.c.state == "pending")
                     .values(not_before=clock.now() + 600))
        conn.execute(accounts.update().where(accounts.c.fetched_at.is_(None))
                     .values(lookup_until=clock.now() + 600))
    tick = daemon.crawl_tick()
    assert tick.outcome == "waiting", tick
    clock.advance(601)
    assert daemon.crawl_tick().outcome == "budget"


def test_bad_report_cron_is_a_config_error(tmp_path: Path) -> None:
    # the wrong shape: refused with the config, before any daemon is built
    with pytest.raises(ConfigError, match=r"schedule.report_cron = '0 \* \* \* \* \*': not a "
                       r"cron expression \(6 fields\); write five"):
        make_daemon(tmp_path, report_cron="0 * * * * *")
    # five fields, one out of range: refused when the daemon reads its schedule (the CLI
    # does so before it opens the database)
    daemon, *_ = make_daemon(tmp_path, report_cron="61 * * * *")
    with pytest.raises(ConfigError, match="schedule.report_cron = '61 \\* \\* \\* \\*': not a "
                       "cron expression .*higher than the maximum"):
        daemon.build_scheduler()


def test_crawl_tick_is_bounded_and_returns_when_rate_limited(tmp_path: Path) -> None:
    daemon, source, clock, db = make_daemon(tmp_path, crawl_max_requests=5,
                                            crawl_max_seconds=3600)
    first = daemon.crawl_tick()
    assert first.outcome == "budget" and first.detail.startswith("5 follows requests")
    # The fake API allows 15 followers + 15 following calls per window: the third tick
    # spends the rest and comes back instead of sleeping until the window resets.
    outcomes = [daemon.crawl_tick().outcome for _ in range(6)]
    assert "rate_limited" in outcomes
    assert clock.slept == 0
    with db.connect() as conn:
        leased = conn.execute(select(func.count()).select_from(frontier)
                              .where(frontier.c.state == "leased")).scalar_one()
        ticks = conn.execute(select(runs.c.command, runs.c.worker_id)).all()
    assert leased == 0
    assert set(ticks) == {("daemon", "w-test")}
    # A fresh window: the crawl goes on where it stopped (the ledger outlives each tick).
    before = len(source.calls)
    clock.advance(900)
    assert daemon.crawl_tick().outcome in ("budget", "idle")
    assert len(source.calls) > before


def test_job_runs_are_recorded_for_status(tmp_path: Path) -> None:
    daemon, _source, _clock, db = make_daemon(tmp_path, crawl_max_requests=3)
    run = daemon._job("crawl", daemon.crawl_tick)

    def broken() -> JobResult:
        raise RuntimeError("disk on fire")

    run()
    daemon._job("score", broken)()  # a failing run is recorded, and the daemon goes on
    status = collect_status(db)
    by_job = {row["job"]: row for row in status["jobs"]}
    assert by_job["crawl"]["worker_id"] == "w-test"
    assert by_job["crawl"]["last_outcome"] == "budget"
    assert "3 follows requests" in by_job["crawl"]["last_detail"]
    assert by_job["score"]["last_outcome"] == "error"
    assert "disk on fire" in by_job["score"]["last_detail"]
    last = by_job["crawl"]["last_run_at"]
    assert check_health(status, stale_after_s=60, now=last + 30) == ""
    assert "ran 120 s ago" in check_health(status, stale_after_s=60, now=last + 120)
    # the same tick, its daemon gone without a clean stop (the next run still booked)
    for row in status["jobs"]:
        row.update(next_run_at=last + 60, daemon_running=False)
    assert check_health(status, stale_after_s=60, now=last + 30) == (
        "no daemon running: worker w-test did not stop cleanly and is gone (its last crawl "
        "tick ran 30 s ago)")
    for row in status["jobs"]:
        row.update(next_run_at=None)  # a clean stop: not a fault
    assert check_health(status, stale_after_s=60, now=last + 30) == ""


def test_record_job_keeps_the_last_run_when_only_the_schedule_changes(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    record_job(db, "w1", "crawl", last_run_at=100.0, result=JobResult("idle", "nothing"),
               next_run_at=160.0, now=101.0)
    record_job(db, "w1", "crawl", next_run_at=None, now=200.0)  # the daemon stopped
    with db.connect() as conn:
        row = conn.execute(select(jobs)).one()
    assert (row.last_run_at, row.last_outcome, row.next_run_at, row.updated_at) == (
        100.0, "idle", None, 200.0)


def test_stop_ends_the_daemon_cleanly_and_gives_leases_back(tmp_path: Path) -> None:
    """run() in a thread with the real scheduler: the first tick starts at once."""
    daemon, source, _clock, db = make_daemon(tmp_path, crawl_every_s=3600,
                                             crawl_max_requests=10**6)
    started = threading.Event()
    original = source.followers

    def followers(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        started.set()
        return original(*args, **kwargs)

    source.followers = followers  # type: ignore[method-assign]
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run()))
    thread.start()
    assert started.wait(20), "the first crawl tick did not start"
    daemon.stop.set()
    thread.join(15)
    assert result == [True]
    with db.connect() as conn:
        leased = conn.execute(select(func.count()).select_from(frontier)
                              .where(frontier.c.state == "leased")).scalar_one()
        owners = conn.execute(select(func.count()).select_from(accounts)
                              .where(accounts.c.lookup_owner.is_not(None))).scalar_one()
        rows = {r.job_id: r for r in conn.execute(select(jobs))}
        outcome = conn.execute(select(runs.c.outcome)).scalars().all()
    assert leased == 0 and owners == 0
    assert rows["crawl"].next_run_at is None  # stopped: nothing is scheduled
    assert outcome and outcome[-1] in ("stopped", "idle", "rate_limited")


def test_the_start_line_names_the_database_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """A relative SQLite URL (from the environment, say) is logged as the absolute file it
    opened, so a daemon pointed at the wrong folder's database shows it at once."""
    daemon, *_ = make_daemon(tmp_path, url="sqlite:///crawl.db", crawl_every_s=3600)
    caplog.set_level(logging.INFO, logger="botsweep.daemon")
    daemon.start()
    assert daemon.shutdown()
    start = next(r for r in caplog.records if getattr(r, "event", None) == "daemon_start")
    path = str((tmp_path / "crawl.db").resolve())
    assert f"daemon w-test started on {path}: " in start.getMessage()
    assert getattr(start, "database_location", None) == path
    # the start line comes first, before the first tick's 'job crawl started'
    events = [getattr(r, "event", None) for r in caplog.records if getattr(r, "event", None)]
    assert events[0] == "daemon_start", events


def test_a_postgresql_database_is_shown_without_its_password() -> None:
    db = Database("postgresql+psycopg://botsweep:s3cret@db.example:5432/crawl", migrate=False)
    assert db.location == "postgresql+psycopg://botsweep:***@db.example:5432/crawl"
    db.dispose()


def test_settings_travel_to_subprocess_jobs_as_json() -> None:
    settings = Settings(report={"out": "r.html", "min_score": 0.3})
    again = Settings.model_validate(settings.model_dump(mode="json"))
    assert again.report.out == Path("r.html") and again.report.min_score == 0.3


def test_a_crawl_tick_that_cannot_reach_the_api_fails_the_health_check_until_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The API is down (nothing listens on its port): the tick records `error` naming the
    base URL, so `status --check` fails, no task is failed for good, and the daemon's next
    tick, with the API back, is healthy again."""
    import socket

    from botsweep.cli import main
    from botsweep.crawler.source import XSource

    with socket.socket() as probe:  # a free port, closed again: connection refused
        probe.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{probe.getsockname()[1]}"
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=1)], label="bot")
    settings = load_settings(None, api={"base_url": base, "backoff_base_s": 0.01,
                                        "backoff_max_s": 0.05}, crawler={"policy": "bfs"})
    source = XSource({"X_BEARER_TOKEN": "tok-do-not-show"}, base_url=base, timeout_s=1)
    daemon = Daemon(settings, db, worker_id="w-test", source=source, bot_model=NameScorer())
    tick = daemon._job("crawl", daemon.crawl_tick)
    tick()
    crawl_job = {r["job"]: r for r in collect_status(db)["jobs"]}["crawl"]
    assert crawl_job["last_outcome"] == "error"
    assert crawl_job["last_detail"].startswith(f"cannot reach the API at {base}: 5 requests")
    assert "tok-do-not-show" not in crawl_job["last_detail"]
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", db.url)
    assert main(["status", "--check"]) == 1
    assert "cannot reach the API" in capsys.readouterr().err
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(frontier).where(
            (frontier.c.state == "failed") | (frontier.c.attempts > 0))).scalar() == 0

    daemon._source = FakeSource(chain_world(), FakeClock(), token_keys=("X_BEARER_TOKEN",))
    tick()  # the daemon is still there; its next tick reaches the API
    crawl_job = {r["job"]: r for r in collect_status(db)["jobs"]}["crawl"]
    assert crawl_job["last_outcome"] in ("budget", "idle", "rate_limited")
    assert main(["status", "--check"]) == 0
    source.close()


def test_a_daemon_refused_at_start_leaves_no_trace(tmp_path: Path) -> None:
    daemon, *_ = make_daemon(tmp_path)
    # a schedule APScheduler refuses (the config check catches this one first)
    object.__setattr__(daemon.settings.schedule, "report_cron", "61 * * * *")
    with pytest.raises(ConfigError, match="schedule.report_cron"):
        daemon.run()
    with daemon.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 0
    assert collect_status(daemon.db)["jobs"] == []


def test_a_report_that_could_never_be_written_stops_the_daemon_at_start(
        tmp_path: Path) -> None:
    daemon, *_ = make_daemon(tmp_path)
    daemon.settings = load_settings(None, report={"out": str(tmp_path / "nodir" / "r.html")},
                                    schedule={"report_at_start": False})
    with pytest.raises(InputError, match=r"^report\.out .*nodir.* does not exist"):
        daemon.start()  # what run() does first, before any job or run is recorded
    assert daemon._scheduler is None


def test_a_report_directory_gone_later_does_not_stop_the_crawl(tmp_path: Path) -> None:
    daemon, *_ = make_daemon(tmp_path, crawl_max_requests=3)
    reports = tmp_path / "reports"
    reports.mkdir()
    daemon.settings = load_settings(None, report={"out": str(reports / "r.html")},
                                    schedule={"crawl_max_requests": 3})
    reports.rmdir()  # say, a shared reports volume dropped out after the daemon started
    result = daemon.crawl_tick()
    assert result.outcome in ("budget", "idle", "rate_limited", "waiting"), result


def test_a_crawl_the_api_refuses_ends_its_run_as_an_error(tmp_path: Path) -> None:
    from botsweep.errors import Fatal

    daemon, source, _clock, db = make_daemon(tmp_path, crawl_max_requests=5)
    refusal = Fatal("401 Unauthorized")
    refusal.status = 401  # type: ignore[attr-defined]
    source.faults[("followers", 1, None)] = [refusal]
    source.faults[("following", 1, None)] = [refusal]
    with pytest.raises(Fatal, match="refused"):
        daemon.crawl_tick()
    with db.connect() as conn:
        outcomes = conn.execute(select(runs.c.outcome, runs.c.ended_at)).all()
    assert len(outcomes) == 1 and outcomes[0][0] == "error" and outcomes[0][1] is not None


def test_a_tick_whose_time_runs_out_while_the_api_is_unreachable_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The API is down and the tick's schedule.crawl_max_seconds runs out before
    api.max_unreachable (5) requests have failed: the tick's log line says that its time ran
    out while the API was unreachable and how many requests failed, rather than reading as
    if the crawl had given up after 3 or 4 of the 5 failures it allows."""
    from tests.crawler.test_unreachable import BASE, Outage

    daemon, source, _clock, db = make_daemon(tmp_path, crawl_max_seconds=5)
    outage = Outage(source)
    outage.down = True
    daemon._source = outage
    caplog.set_level(logging.INFO, logger="botsweep.daemon")
    daemon._job("crawl", daemon.crawl_tick)()
    assert 1 <= outage.failed < 5  # backing off 1 s doubling: 5 s allow 3 or 4 requests
    end = next(r for r in caplog.records if getattr(r, "event", None) == "job_end")
    assert end.levelno == logging.WARNING and getattr(end, "outcome", None) == "error"
    line = end.getMessage()
    assert line.startswith("job crawl error in ") and f"cannot reach the API at {BASE}: " in line
    assert "the tick's time (schedule.crawl_max_seconds, 5 s) ran out while the API was " \
           f"unreachable: {outage.failed} requests, none got a reply" in line, line
    assert "in a row" not in line and "api.max_unreachable" not in line


def test_a_tick_that_gives_up_on_an_unreachable_api_names_max_unreachable(
    tmp_path: Path,
) -> None:
    from tests.crawler.test_unreachable import BASE, Outage

    daemon, source, _clock, db = make_daemon(tmp_path, crawl_max_seconds=3600)
    outage = Outage(source)
    outage.down = True
    daemon._source = outage
    daemon._job("crawl", daemon.crawl_tick)()
    assert outage.failed == 5
    detail = {r["job"]: r for r in collect_status(db)["jobs"]}["crawl"]["last_detail"]
    assert detail.startswith(f"cannot reach the API at {BASE}: 5 requests in a row got no "
                             "reply (connection refused), so the crawl gave up "
                             "(api.max_unreachable: 5)"), detail


def test_the_report_job_is_given_the_daemons_config_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import botsweep.daemon as daemon_module

    seen: dict[str, object] = {}

    def fake(kind: str, *_: object, **options: object) -> JobResult:
        seen.update(options, kind=kind)
        return JobResult("ok", "written")

    monkeypatch.setattr(daemon_module, "run_in_subprocess", fake)
    daemon, *_ = make_daemon(tmp_path)
    daemon.config_path = tmp_path / "daemon.yaml"  # as `botsweep --config FILE daemon` sets it
    assert daemon.report_job().outcome == "ok"
    assert (seen["kind"], seen["config"]) == ("report", tmp_path / "daemon.yaml")


def test_a_second_daemon_under_a_live_daemons_worker_id_is_refused(tmp_path: Path) -> None:
    """Two daemons named alike (one name in a shared config file) would take back each
    other's leases; the second is refused at start, naming the first."""
    import os
    import socket
    import subprocess
    import sys
    from unittest import mock

    from botsweep.daemon_jobs import record_beat

    daemon, *_ = make_daemon(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with mock.patch("os.getpid", return_value=other.pid):  # its heartbeat, as if it
            record_beat(daemon.db, "w-test", time.time())      # had written it
        assert os.getpid() != other.pid
        with pytest.raises(ConfigError, match=(
                rf"^worker id 'w-test' is taken by a running daemon \(pid {other.pid} on "
                rf"{socket.gethostname()}, heard from \d+ s ago\); give each daemon its own")):
            daemon.start()
        assert daemon._scheduler is None
        twin, *_ = make_daemon(tmp_path / "b")  # its own database: no heartbeat there
        twin.db = daemon.db
        twin.worker_id = "w-other"
        twin._take_worker_id()  # another id is fine
    finally:
        other.kill()
        other.wait()
    daemon._take_worker_id()  # and once that daemon's process is gone, the id is free again


def test_a_daemon_holds_its_target_between_ticks_until_it_stops(tmp_path: Path) -> None:
    """A crawl for another target is refused while a daemon hunting bots runs, between its
    ticks too (each tick used to give its claim up at its end), and allowed once it stops."""
    from botsweep.crawler import retarget
    from tests.crawler.test_retarget import FakeCampaign, _context

    daemon, _source, clock, db = make_daemon(tmp_path, crawl_max_requests=2,
                                             crawl_every_s=3600)
    daemon.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the first tick runs at once, then none for 1 h
            with db.connect() as conn:
                runs_done = conn.execute(select(func.count()).select_from(runs).where(
                    runs.c.ended_at.is_not(None))).scalar_one()
            if runs_done:
                break
            time.sleep(0.1)
        assert runs_done == 1
        with db.connect() as conn:
            assert [w["worker"] for w in retarget.hunting(conn)["workers"]] == ["w-test"]
        with pytest.raises(ConfigError, match="worker w-test is crawling this database for bot"):
            _context("campaign", FakeCampaign()).refresh(db, clock.now() + 5, force=True,
                                                          worker="cli")
    finally:
        assert daemon.shutdown()
    with db.connect() as conn:
        assert retarget.hunting(conn)["workers"] == []
    assert _context("campaign", FakeCampaign()).refresh(db, clock.now() + 6, force=True,
                                                         worker="cli")


def test_a_list_the_server_always_fails_on_is_given_up_over_daemon_ticks(
        tmp_path: Path) -> None:
    """Each tick tries the held list once and ends 'waiting'; the streak spans the ticks
    (one Reach per daemon), so the list that fails alone is charged and given up on,
    instead of one wasted request per tick for ever."""
    from botsweep.errors import BotsweepError, Transient

    daemon, source, clock, db = make_daemon(tmp_path, crawl_max_requests=5)
    source.faults[("following", 1, None)] = [
        Transient("simulated 503", kind="5xx") for _ in range(100)]
    for _ in range(60):
        try:
            daemon.crawl_tick()
        except BotsweepError:
            pass
        clock.advance(120)
        with db.connect() as conn:
            states = set(conn.execute(select(frontier.c.state)).scalars())
        if states <= {"failed", "done", "skipped"}:
            break
    with db.connect() as conn:
        rows = dict(conn.execute(select(frontier.c.kind, frontier.c.state)
                                 .where(frontier.c.account_id == 1)).all())
    assert rows["following"] == "failed", rows  # (its followers: none, so not read)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stop_signal_stops_the_daemon_cleanly_and_says_so(
        sig: str, caplog: pytest.LogCaptureFixture) -> None:
    """SIGHUP (the terminal a `daemon &` was started from closing) killed the daemon on the
    spot, with its leases held and nothing logged."""
    import os
    import signal

    from botsweep.daemon import _signals_set

    stop = threading.Event()
    before = signal.getsignal(getattr(signal, sig))
    with caplog.at_level(logging.INFO, logger="botsweep"), _signals_set(stop):
        os.kill(os.getpid(), getattr(signal, sig))
        assert stop.wait(5)
    assert f"received {sig}: stopping" in caplog.text
    assert signal.getsignal(getattr(signal, sig)) == before  # given back afterwards


def test_a_daemon_started_with_nohup_outlives_its_terminal() -> None:
    import os
    import signal

    from botsweep.daemon import _signals_set

    stop = threading.Event()
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what nohup does
    try:
        with _signals_set(stop):
            os.kill(os.getpid(), signal.SIGHUP)
            assert not stop.wait(0.5)
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_the_first_tick_runs_even_when_starting_takes_longer_than_the_misfire_grace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first runs were scheduled for when the schedule was built, before the model
    loaded; a start slower than misfire_grace_s skipped them as missed."""
    daemon, source, _clock, _db = make_daemon(tmp_path, crawl_every_s=3600,
                                              misfire_grace_s=1)
    started = threading.Event()
    original_followers, original_prepare = source.followers, daemon.prepare

    def followers(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        started.set()
        return original_followers(*args, **kwargs)

    def slow_prepare() -> None:
        time.sleep(2.5)  # a model loading on a busy machine
        original_prepare()

    source.followers = followers  # type: ignore[method-assign]
    monkeypatch.setattr(daemon, "prepare", slow_prepare)
    daemon.start()
    try:
        assert started.wait(20), "the first crawl tick was skipped"
    finally:
        daemon.stop.set()
        assert daemon.shutdown()


@pytest.mark.parametrize(("setting", "fragment"), [
    ({}, "no API token"),
    ({"report": {"out": "nowhere/report.html"}}, "nowhere does not exist"),
    ({"schedule": {"report_cron": "61 * * * *"}}, "higher than the maximum"),
])
def test_a_daemon_refused_at_start_makes_no_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        setting: dict[str, object], fragment: str) -> None:
    """A mistyped database.url used to leave a new, empty database (and its lock file)
    behind, when the daemon was then refused for a missing token or report folder."""
    import yaml

    from botsweep.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": "sqlite:///typo.db"}, **setting}),
                      encoding="utf-8")
    if setting:
        monkeypatch.setenv("X_BEARER_TOKEN", "t0ken")
    assert main(["--config", str(config), "daemon"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
