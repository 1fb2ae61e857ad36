"""``botsweep seed`` and ``botsweep status`` as a researcher uses them: ids and @handles, seed
files as they come out of spreadsheets and editors, and nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from botsweep import seeding
from botsweep.cli import main
from botsweep.errors import InputError
from botsweep.seeding import SEED_PRIORITY, AccountRef, add_seeds, enqueue_expansion, parse_account
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, labels, seeds

DB_FILE = "botsweep.db"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    rc, out, err = _run(capsys, "status", "--json")
    assert rc == 0, err
    return json.loads(out)


def _dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables seeding writes (ids and times included)."""
    db = Database(f"sqlite:///{DB_FILE}")
    try:
        with db.connect() as conn:
            return {t.name: sorted(tuple(r) for r in conn.execute(select(t)))
                    for t in (seeds, labels, accounts, frontier)}
    finally:
        db.dispose()


def _error_line(rc: int, err: str) -> str:
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("botsweep: error: "), err
    return lines[0]


# --- the "done when" ---------------------------------------------------------------


def test_seed_then_status_shows_seeds_and_pending_work(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "seed", "12", "@jane", "--label", "bot")
    assert rc == 0, err
    assert "2 new seed(s)" in out
    status = _status(capsys)
    items = {s["account"]: s for s in status["seeds"]["items"]}
    assert set(items) == {"12", "@jane"} and status["seeds"]["total"] == 2
    assert items["12"]["account_id"] == 12 and items["12"]["label"] == "bot"
    assert items["@jane"]["account_id"] is None and items["@jane"]["label"] == "bot"
    # 12: both lists to read; @jane: waits in the frontier until resolved to an id.
    assert status["frontier"] == {"pending": {"followers": 1, "following": 1, "resolve": 1}}
    assert status["coverage"]["frontier_pending"] == 3
    assert status["accounts"] == {"total": 1, "by_state": {"unprofiled": 1}}


def test_status_tables_name_the_seeds_and_the_frontier(capsys: pytest.CaptureFixture[str]) -> None:
    # A campaign name is free text; one that looks like rich markup is printed as it is.
    argv = ["seed", "12", "@jane", "--label", "bot", "--campaign", "[/b]pron"]
    assert _run(capsys, *argv)[0] == 0
    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    assert "seeds: 2" in out and "@jane (bot) [[/b]pron]" in out and "12 (bot) [[/b]pron]" in out
    pending = next(line for line in out.splitlines() if line.strip().startswith("pending"))
    assert [cell for cell in pending.split()[1:] if cell != "│"] == ["1", "1", "1"]


def test_status_of_a_new_database_is_empty_not_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, _, err = _run(capsys, "status")  # no database here yet: say so, create nothing
    assert rc == 2 and "`botsweep seed` starts a new one" in _error_line(rc, err)
    assert not Path(DB_FILE).exists()
    Database(f"sqlite:///{DB_FILE}").dispose()  # as a daemon leaves it before any seed
    status = _status(capsys)
    assert status["seeds"]["total"] == 0 and status["edges"] == 0 and status["frontier"] == {}
    rc, out, _ = _run(capsys, "status")
    assert rc == 0 and "0 discovered" in out


def test_status_check_fails_until_a_crawl_tick_ran(capsys: pytest.CaptureFixture[str]) -> None:
    Database(f"sqlite:///{DB_FILE}").dispose()
    rc, _, err = _run(capsys, "status", "--check")
    assert rc == 1 and "no crawl tick of any worker has run yet" in err
    rc, out, _ = _run(capsys, "status", "--check", "--json")
    verdict = json.loads(out)
    assert rc == 1 and verdict["healthy"] is False and "no crawl tick" in verdict["problem"]


# --- seeding twice, and the same account spelt twice ----------------------------------------


def test_seeding_the_same_accounts_again_changes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "seed", "12", "@jane", "--label", "bot")[0] == 0
    before = _dump()
    rc, out, _ = _run(capsys, "seed", "@JANE", "012", "--label", "human", "--campaign", "x")
    assert rc == 0
    assert "0 new seed(s), 2 already seeded" in out and "botsweep label" in out
    assert _dump() == before
    rc, out, _ = _run(capsys, "seed", "12", "--campaign", "x")  # a campaign alone is kept too
    assert rc == 0 and "label and campaign too" in out
    assert _dump() == before


def test_one_account_named_twice_in_one_command_is_one_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, err = _run(capsys, "seed", "@Jane", "@jane", "12", "12")
    assert rc == 0, err
    assert "2 new seed(s), 0 already seeded" in out
    assert _status(capsys)["frontier"]["pending"] == {"followers": 1, "following": 1,
                                                      "resolve": 1}


# --- bad input: a clear line, exit 2, nothing written ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["12a"], "'12a': expected an all-digit account id"),
        (["@@"], "'@@': expected"),
        (["@"], "'@': expected"),
        (["jane"], "'jane': expected an all-digit account id (12) or a handle with its @"),
        (["@abcdefghijklmnop"], "at most 15 characters"),
        (["0"], "between 1 and"),
        ([str(2**63)], "between 1 and"),
        (["@jane", "12", "@bad-name"], "'@bad-name'"),
        (["12", "--label", "robot"], "--label 'robot': expected bot or human"),
        (["12", "--campaign", "c" * 65], "at most 64 characters"),
        (["12", "--campaign", "pron\nflower"], "control characters"),
        (["12", "--campaign", "  "], "--campaign: give a name"),
        ([], "no accounts given"),
    ],
)
def test_bad_accounts_are_refused_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    line = _error_line(*_run(capsys, "seed", *argv)[::2])
    assert fragment in line
    assert not Path(DB_FILE).exists()


def test_bad_input_leaves_an_existing_database_as_it_was(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "seed", "7")[0] == 0
    before = _dump()
    _error_line(*_run(capsys, "seed", "8", "12a")[::2])
    assert _dump() == before


def test_longest_handle_and_largest_id_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "seed", "@abcdefghijklmno", str(2**63 - 1))
    assert rc == 0, err
    assert {s["account"] for s in _status(capsys)["seeds"]["items"]} == {
        "@abcdefghijklmno", str(2**63 - 1)}


# --- seed files -----------------------------------------------------------------------------


def test_seed_file_with_comments_blanks_crlf_and_bom(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "# known pronbots\r\n\r\n12\r\n@jane   # the hub\r\n  345  \r\n\r\n# end\r\n"
    Path("seeds.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    rc, out, err = _run(capsys, "seed", "--file", "seeds.txt", "--label", "bot")
    assert rc == 0, err
    assert "3 new seed(s)" in out
    items = _status(capsys)["seeds"]["items"]
    assert [s["account"] for s in items] == ["12", "@jane", "345"]
    assert {s["source"] for s in items} == {"file:seeds.txt"}


def test_seed_file_and_arguments_together(capsys: pytest.CaptureFixture[str]) -> None:
    Path("seeds.txt").write_text("12\n", encoding="utf-8")
    assert _run(capsys, "seed", "99", "--file", "seeds.txt")[0] == 0
    items = _status(capsys)["seeds"]["items"]
    assert {s["account"]: s["source"] for s in items} == {"12": "file:seeds.txt", "99": "cli"}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "no accounts in the file"),
        (b"\xef\xbb\xbf\r\n# only a comment\r\n\r\n", "no accounts in the file"),
        (b"12\n@jane\n12a\n34\n", "line 3: '12a'"),
        (b"12\n@jane\n@muchtoolonghandle1\n", "line 3: '@muchtoolonghandle1': a handle"),
        (b"12\n@j\xe9ane\n34\n", "line 2: not valid UTF-8"),
        (b"\xff\xfe1\x002\x00\n\x00", "line 1: not valid UTF-8"),  # UTF-16
    ],
)
def test_bad_seed_file_writes_none_of_its_lines(
    capsys: pytest.CaptureFixture[str], content: bytes, fragment: str
) -> None:
    Path("seeds.txt").write_bytes(content)
    line = _error_line(*_run(capsys, "seed", "--file", "seeds.txt", "99")[::2])
    assert "seeds.txt" in line and fragment in line
    assert not Path(DB_FILE).exists()


def test_missing_seed_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    line = _error_line(*_run(capsys, "seed", "--file", "nope.txt")[::2])
    assert "nope.txt" in line and "cannot read" in line


# --- the library underneath -----------------------------------------------------------------


@given(st.from_regex(r"\A[A-Za-z0-9_]{1,15}\Z"))
def test_every_valid_handle_parses_and_keys_case_insensitively(handle: str) -> None:
    ref = parse_account(f"@{handle}")
    assert ref == AccountRef(handle=handle)
    assert ref.key == parse_account(f"@{handle.upper()}").key == f"@{handle.lower()}"


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_every_valid_id_parses(number: int) -> None:
    assert parse_account(str(number)) == AccountRef(id=number)
    assert parse_account(f" 00{number} ").key == str(number)


@given(st.text(max_size=20))
def test_parse_account_accepts_or_raises_input_error(text: str) -> None:
    try:
        ref = parse_account(text)
    except InputError as exc:
        assert repr(text.strip()) in str(exc)
    else:
        assert (ref.id is None) != (ref.handle is None)


def test_a_crawled_account_that_becomes_a_seed_jumps_the_queue(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'q.db'}")
    with db.begin() as conn:
        conn.execute(accounts.insert().values(id=55, first_seen=1.0))
        enqueue_expansion(conn, db, [55], priority=1.0, now=1.0)
    assert add_seeds(db, [AccountRef(id=55)], now=2.0) == 1
    with db.connect() as conn:
        priorities = conn.execute(
            select(frontier.c.priority).where(frontier.c.account_id == 55)).scalars().all()
    assert priorities == [SEED_PRIORITY, SEED_PRIORITY]
    db.dispose()


def test_many_seeds_are_updated_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some SQLite builds bind at most 32,766 (or 999) values per statement, so the priority
    # update goes in chunks; every chunk must land.
    monkeypatch.setattr(seeding, "_CHUNK", 7)
    db = Database(f"sqlite:///{tmp_path / 'big.db'}")
    with db.begin() as conn:  # half of them already crawled, waiting at low priority
        enqueue_expansion(conn, db, range(1, 51, 2), priority=1.0, now=1.0)
    assert add_seeds(db, [AccountRef(id=i) for i in range(1, 51)], now=2.0) == 50
    with db.connect() as conn:
        rows = conn.execute(select(frontier.c.account_id, frontier.c.priority)).all()
    assert len(rows) == 100 and {p for _, p in rows} == {SEED_PRIORITY}
    db.dispose()


def test_status_shows_a_seeds_later_label(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "seed", "12", "99", "--label", "bot")[0] == 0
    assert _run(capsys, "label", "12", "--label", "human")[0] == 0
    items = {s["account"]: s for s in _status(capsys)["seeds"]["items"]}
    assert (items["12"]["label"], items["12"]["label_now"]) == ("bot", "human")
    assert items["99"]["label_now"] is None
    rc, out, _ = _run(capsys, "status")
    assert rc == 0 and "12 (bot, labelled human since)" in out and "99 (bot)" in out
