"""A distinctive token never leaks: not in logs at DEBUG, the DB, the report, or errors.

The crawl runs as the real CLI with ``-vv`` against the sim, which is told to fail 5xx,
reset, malformed and timeout now and then, so that error paths log too.  A second run uses
a wrong token (a 401 for every call, the crawl aborts), a report is written, and then
every byte the runs left behind is searched for either token.  In this process, XSource
errors of every kind (no server, a timeout, a 401, a 500) and tweepy's own DEBUG log are
searched as well.
"""

from __future__ import annotations

import logging
import socket
import traceback
from pathlib import Path

import pytest

from botsweep.errors import BotsweepError
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.db import Database
from tests.reliability.kit import TOKEN_ENV, run_cli, seeds_with_errors, write_config

pytestmark = pytest.mark.slow

TOKEN = "SwEeP-S3CRET-7c1d9e0fa2b4-TOKEN"
WRONG = "WrOnG-S3CRET-0b9d5e77c3a1-TOKEN"
FAULTS = "5xx=0.05,reset=0.05,malformed=0.05,timeout=0.03"


def _leaks(blob: bytes) -> list[str]:
    found = []
    for secret in (TOKEN, WRONG):
        # also the token's tail alone: a header cut short or a partial redaction
        for needle in (secret, secret[-16:]):
            if needle.encode() in blob:
                found.append(needle)
    return found


def test_no_token_in_logs_db_report_or_files(world: World, tmp_path: Path) -> None:
    db_path = tmp_path / "secret.db"
    db = Database(f"sqlite:///{db_path}")
    add_seeds(db, [AccountRef(id=i) for i in seeds_with_errors(world)], label="bot")
    db.dispose()
    server = SimServer(world, tokens=(TOKEN,), rate_limits={"*": 1_000_000}, faults=FAULTS,
                       rng_seed=9, timeout_fault_s=0.5)
    url = server.start()
    outputs: list[str] = []
    try:
        config = write_config(tmp_path / "config.yaml", db=db_path, base_url=url,
                              timeout_s=0.25)
        crawl = run_cli(config, "-vv", "crawl", "--no-progress", token=TOKEN)
        assert crawl.returncode == 0, crawl.stderr
        outputs += [crawl.stdout, crawl.stderr]
        json_run = run_cli(config, "-vv", "--log-json", "crawl", "--no-progress",
                           token=TOKEN)
        outputs += [json_run.stdout, json_run.stderr]
        refused = run_cli(config, "-vv", "seed", "424242", token=WRONG)
        outputs += [refused.stdout, refused.stderr]
        wrong = run_cli(config, "-vv", "crawl", "--no-progress", token=WRONG)
        outputs += [wrong.stdout, wrong.stderr]
    finally:
        server.stop()
    assert server.stats()["faults_total"] > 0
    assert wrong.returncode == 1 and "401" in wrong.stderr, wrong.stderr
    assert "DEBUG" in crawl.stderr and "botsweep.source" in crawl.stderr
    report = run_cli(config, "-vv", "report", "--out", str(tmp_path / "report.html"),
                     token=TOKEN)
    assert report.returncode == 0, report.stderr
    outputs += [report.stdout, report.stderr]
    assert (tmp_path / "report.html").stat().st_size > 10_000

    for text in outputs:
        assert not _leaks(text.encode()), text[-2000:]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert db_path in files
    for path in files:
        assert not _leaks(path.read_bytes()), path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_token_in_exceptions_or_tweepy_debug_log(world: World,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from botsweep.crawler.source import XSource

    caplog.set_level(logging.DEBUG)
    for name in ("tweepy", "tweepy.client", "urllib3", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []

    def collect(call: object) -> None:
        try:
            call()  # type: ignore[operator]
        except BotsweepError as exc:
            texts.append(str(exc))
            texts.append(repr(exc))
            texts.append("".join(traceback.format_exception(exc)))
        else:
            raise AssertionError("expected an error")

    dead = XSource({TOKEN_ENV: TOKEN}, base_url=f"http://127.0.0.1:{_free_port()}",
                   timeout_s=0.5)
    collect(lambda: dead.followers(12, None, token_key=TOKEN_ENV))
    texts.append(repr(dead))
    dead.close()
    for faults, served in (("timeout=1", (TOKEN,)), ("5xx=1", (TOKEN,)), (None, (WRONG,)),
                           ("malformed=1", (TOKEN,))):
        with SimServer(world, tokens=served, faults=faults, timeout_fault_s=0.5,
                       rate_limits={"*": 1000}) as url:
            with XSource({TOKEN_ENV: TOKEN}, base_url=url, timeout_s=0.2) as source:
                collect(lambda s=source: s.lookup_users([1, 2], token_key=TOKEN_ENV))
                collect(lambda s=source: s.following(12, "abc", token_key=TOKEN_ENV))
    assert any("401" in t for t in texts) and any("timed out" in t or "within" in t
                                                  for t in texts)
    assert any(r.name.startswith("tweepy") for r in caplog.records), "tweepy logged nothing"
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    for text in texts:
        assert not _leaks(text.encode()), text
