"""Bad input gets one clear line and exit 2, and leaves nothing half-written.

Config files (broken YAML, unknown keys, wrong types, a literal token), seed files
(garbage lines, a BOM, CRLF, bytes that are not UTF-8) and world files (bad rows) go
through the real CLI entry point.  Hostile API replies (wrong types, missing fields,
oversized pages) go through XSource and the engine: the page is refused, nothing of it is
stored, the task is retried a bounded number of times and then marked failed with the
reason, and the rest of the crawl goes on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import func, select

from botsweep.cli import main
from botsweep.config import Settings
from botsweep.crawler.run import open_crawl
from botsweep.crawler.source import XSource
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.world import World, save_world
from botsweep.storage.db import Database
from botsweep.storage.schema import follows, frontier, seeds
from tests.reliability.kit import TOKEN_ENV, KitScorer, call_outcomes


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("botsweep: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- config.yaml ------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expect"), [
    ("database: [1, 2\n", r"line 2: not valid YAML"),
    ("database:\n  url: sqlite:///x.db\n  colour: blue\n", r"unknown key 'database.colour'"),
    ("crawlr:\n  policy: bfs\n", r"crawlr"),
    ("crawler:\n  page_size: lots\n", r"crawler.page_size = 'lots'"),
    ("crawler:\n  page_size: 5000\n", r"crawler.page_size"),
    ("api:\n  timeout_s: [1]\n", r"api.timeout_s"),
    ("api:\n  bearer_token: AAAAAAAAAAAAAAAAAAAAAF00\n", r"secrets are never read"),
    ("- just\n- a list\n", r"expected a mapping"),
])
def test_a_bad_config_is_one_line_exit_2_and_no_database(
    text: str, expect: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    code, err = _cli(capsys, "--config", str(tmp_path / "config.yaml"), "seed", "12")
    assert code == 2
    assert re.search(expect, _one_line_error(err)), err
    assert not list(tmp_path.glob("*.db")), "a database was created from a bad config"


# -- seed files ------------------------------------------------------------------------
def _seed_count(db_path: Path) -> int:
    db = Database(f"sqlite:///{db_path}")
    try:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(seeds)).scalar_one())
    finally:
        db.dispose()


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  url: sqlite:///{tmp_path / 'seeds.db'}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("raw", "expect"), [
    (b"12\n@jane\nthis is garbage\n", r"line 3: 'this is garbage'"),
    (b"12\n@jane\n@j\xe9ane\n", r"line 3: not valid UTF-8"),
    (b"12\n@waytoolongforahandle99\n", r"line 2"),
    (b"12\n-5\n", r"line 2"),
    (b"\xff\xfe1\x002\x00\n\x00", r"line 1: not valid UTF-8"),  # UTF-16 is not UTF-8
    (b"# only comments\n\n", r"no accounts"),
])
def test_a_bad_seed_file_adds_no_seed_at_all(raw: bytes, expect: str, config: Path,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, "--config", str(config), "seed", "777")[0] == 0
    (tmp_path / "seeds.txt").write_bytes(raw)
    code, err = _cli(capsys, "--config", str(config), "seed", "--file",
                     str(tmp_path / "seeds.txt"))
    assert code == 2
    assert re.search(expect, _one_line_error(err)), err
    assert _seed_count(tmp_path / "seeds.db") == 1  # only the earlier 777


def test_bom_and_crlf_seed_files_are_read(config: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "seeds.txt").write_bytes(b"\xef\xbb\xbf12\r\n@jane\r\n# note\r\n\r\n34 # x\r\n")
    code, err = _cli(capsys, "--config", str(config), "seed", "--file",
                     str(tmp_path / "seeds.txt"))
    assert code == 0, err
    db = Database(f"sqlite:///{tmp_path / 'seeds.db'}")
    with db.connect() as conn:
        keys = sorted(conn.execute(select(seeds.c.account_key)).scalars())
    db.dispose()
    assert keys == ["12", "34", "@jane"]


# -- world files -----------------------------------------------------------------------
@pytest.fixture()
def world_dir(world: World, tmp_path: Path) -> Path:
    out = tmp_path / "world"
    save_world(world, out)
    return out


def _append(path: Path, raw: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(raw)


@pytest.mark.parametrize(("file", "raw", "expect"), [
    ("follows.csv", b"abc,12\n", r"follows.csv line \d+: follower_id 'abc'"),
    ("follows.csv", b"1,2,3\n", r"follows.csv line \d+"),
    ("follows.csv", b"12\n", r"follows.csv line \d+"),
    ("accounts.jsonl", b"not json\n", r"accounts.jsonl line \d+: not valid JSON"),
    ("accounts.jsonl", b'{"id": 5, "username": "x"}\n', r"accounts.jsonl line \d+: id 5"),
    ("accounts.jsonl", b'["a list"]\n', r"accounts.jsonl line \d+"),
    ("accounts.jsonl", b"\xff\xfe\n", r"accounts.jsonl line \d+: not valid UTF-8"),
    ("world.json", b"}", r"world.json"),
])
def test_a_world_with_a_bad_row_is_refused_naming_the_line(
    world_dir: Path, file: str, raw: bytes, expect: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(world_dir / file, raw)
    for command in (("sim", "check"), ("sim", "serve")):
        code, err = _cli(capsys, *command, "--world", str(world_dir))
        assert code == 2, (command, err)
        assert re.search(expect, _one_line_error(err)), err


def test_the_non_utf8_line_number_is_the_bad_line(world_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    lines = (world_dir / "accounts.jsonl").read_bytes().count(b"\n")
    _append(world_dir / "accounts.jsonl", b"\xff\xfe\n")
    _, err = _cli(capsys, "sim", "check", "--world", str(world_dir))
    assert f"line {lines + 1}:" in err


def test_a_missing_world_file_is_named(world_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (world_dir / "follows.csv").unlink(missing_ok=True)
    code, err = _cli(capsys, "sim", "check", "--world", str(world_dir))
    assert code == 2 and "follows.csv" in _one_line_error(err)


# -- hostile API replies ---------------------------------------------------------------
BASE = "https://api.reliability.invalid"
HEADERS = {"x-rate-limit-limit": "1000", "x-rate-limit-remaining": "999",
           "x-rate-limit-reset": "4102444800"}


def _profile(uid: int, followers: int, following: int) -> dict[str, Any]:
    return {"id": str(uid), "username": f"acct_{uid}", "name": "A", "description": "",
            "created_at": "2015-01-01T00:00:00.000Z", "protected": False,
            "public_metrics": {"followers_count": followers, "following_count": following,
                               "tweet_count": 1, "listed_count": 0, "like_count": 0}}


def _users(request: Any) -> tuple[int, dict[str, str], str]:
    ids = [int(i) for i in re.search(r"ids=([0-9%C,]+)", request.url).group(1)  # type: ignore
           .replace("%2C", ",").split(",")]
    data = [_profile(i, 3, 2) if i == 1 else _profile(i, 0, 0) for i in ids]
    return 200, HEADERS, json.dumps({"data": data})


def _list(*ids: int) -> dict[str, Any]:
    return {"data": [{"id": str(i), "username": f"acct_{i}"} for i in ids],
            "meta": {"result_count": len(ids)}}


BAD_PAGES = {
    "wrong type": {"data": [{"id": 2, "username": "acct_2"}], "meta": {"result_count": 1}},
    "missing id": {"data": [{"username": "acct_2"}], "meta": {"result_count": 1}},
    "counts not numbers": {"data": [{"id": "2", "public_metrics": {"followers_count": "9"}}]},
    "no data, no errors": {"meta": {"next_token": "abc"}},
    "data not a list": {"data": {"id": "2"}},
    "oversized page": _list(*range(2, 40)),
    "a bad cursor": {**_list(2), "meta": {"result_count": 1, "next_token": "a b\n"}},
}


@pytest.mark.parametrize("case", sorted(BAD_PAGES))
@responses.activate
def test_a_hostile_page_is_refused_retried_then_failed_and_nothing_of_it_stored(
    case: str, tmp_path: Path
) -> None:
    responses.add_callback(responses.GET, re.compile(re.escape(BASE) + r"/2/users\?"),
                           callback=_users)
    responses.add(responses.GET, re.compile(re.escape(BASE) + r"/2/users/1/followers"),
                  json=BAD_PAGES[case], headers=HEADERS)
    responses.add(responses.GET, re.compile(re.escape(BASE) + r"/2/users/1/following"),
                  json=_list(3, 4), headers=HEADERS)
    db = Database(f"sqlite:///{tmp_path / 'hostile.db'}")
    add_seeds(db, [AccountRef(id=1)], label="bot")
    settings = Settings.model_validate({
        "api": {"base_url": BASE, "bearer_token_env": [TOKEN_ENV], "max_retries": 2,
                "backoff_base_s": 0.001, "backoff_max_s": 0.002},
        "crawler": {"policy": "bfs", "page_size": 10, "max_attempts": 3},
    })
    source = XSource({TOKEN_ENV: "hostile-token"}, base_url=BASE, timeout_s=1.0)
    with open_crawl(settings, db, source=source, bot_model=KitScorer()) as engine:
        stats = engine.run(until_idle=True)
    assert stats.outcome == "idle"
    assert stats.failed_tasks == 1
    assert stats.faults == {"malformed": 3}
    with db.connect() as conn:
        edges = set(conn.execute(select(follows.c.follower_id, follows.c.followee_id)).all())
        tasks = {r.kind: r for r in conn.execute(
            select(frontier.c.kind, frontier.c.state, frontier.c.last_error, frontier.c.attempts)
            .where(frontier.c.account_id == 1))}
    db.dispose()
    assert edges == {(1, 3), (1, 4)}  # the following page only
    assert tasks["followers"].state == "failed"
    assert tasks["followers"].attempts == 3
    assert "malformed" in tasks["followers"].last_error
    assert tasks["following"].state == "done"
    assert call_outcomes(tmp_path / "hostile.db")["malformed"] == 3
