"""``botsweep label``: labels by argument or from a CSV (FORMATS.md: account,label[,campaign]),
replacing older labels, and nothing written when any line is bad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from botsweep.cli import main
from botsweep.storage.db import Database
from botsweep.storage.pages import write_profiles
from botsweep.storage.schema import labels

DB_FILE = "botsweep.db"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _labels() -> set[tuple[Any, ...]]:
    db = Database(f"sqlite:///{DB_FILE}")
    try:
        with db.connect() as conn:
            return {tuple(row) for row in conn.execute(
                select(labels.c.account_key, labels.c.label, labels.c.campaign, labels.c.source))}
    finally:
        db.dispose()


def test_label_accounts_by_argument_and_relabel(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "label", "12", "@Jane", "--label", "bot", "--campaign", "pron")
    assert rc == 0, err
    assert "2 labels stored" in out
    rc, out, err = _run(capsys, "label", "@jane", "--label", "human", "--campaign", "pron")
    assert rc == 0, err
    assert "1 label stored" in out
    assert _labels() == {("12", "bot", "pron", "cli"), ("@jane", "human", "pron", "cli")}


def test_label_file_from_a_spreadsheet(capsys: pytest.CaptureFixture[str]) -> None:
    text = "account,label,campaign\r\n12,bot,pron\r\n@jane,Human\r\n\r\n# checked by hand\r\n"
    Path("labels.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    rc, out, err = _run(capsys, "label", "--file", "labels.csv")
    assert rc == 0, err
    assert "2 labels stored" in out
    assert _labels() == {("12", "bot", "pron", "file:labels.csv"),
                         ("@jane", "human", "", "file:labels.csv")}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("12,bot\n13,robot\n", "line 2: label 'robot' must be bot or human"),
        ("12,bot\n13\n", "line 2: expected account,label[,campaign]"),
        ("12,bot,pron,extra\n", "line 1: expected account,label[,campaign]"),
        ("12,bot\njane,bot\n", "line 2: 'jane': expected"),
        ("12,bot\n13,bot," + "c" * 65 + "\n", "line 2: campaign"),
        ("account,label\n", "no labels in the file"),
    ],
)
def test_bad_label_file_writes_none_of_its_lines(
    capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    Path("labels.csv").write_text(content, encoding="utf-8")
    rc, _, err = _run(capsys, "label", "--file", "labels.csv")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "labels.csv" in lines[0] and fragment in lines[0], err
    assert not Path(DB_FILE).exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["12"], "--label bot|human is required"),
        (["12", "--label", "spam"], "--label 'spam'"),
        ([], "nothing to label"),
        (["--file", "labels.csv", "--label", "bot"], "a --file CSV gives each line"),
        (["12", "--label", "bot", "--campaign", ""], "--campaign: give a name"),
    ],
)
def test_bad_label_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    rc, _, err = _run(capsys, "label", *argv)
    assert rc == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not Path(DB_FILE).exists()


def test_a_label_for_an_account_not_crawled_yet_is_stored_and_said_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(f"sqlite:///{DB_FILE}")
    with db.begin() as conn:
        write_profiles(conn, db, [{"id": "12", "username": "Jane", "name": "Jane",
                                   "public_metrics": {}}], 1_700_000_000.0)
    db.dispose()
    rc, out, err = _run(capsys, "label", "999", "--label", "human")
    assert rc == 0, err
    assert out.strip() == ("1 label stored (1 not in the database yet: it applies once the "
                           "account is crawled)")
    rc, out, err = _run(capsys, "label", "12", "@JANE", "@nosuchuser1", "999", "--label", "bot")
    assert rc == 0, err
    assert out.strip() == ("4 labels stored (2 not in the database yet: they apply once the "
                           "accounts are crawled)")
    rc, out, err = _run(capsys, "label", "@jane", "--label", "bot")
    assert rc == 0, err
    assert out.strip() == "1 label stored"
    assert {key for key, *_ in _labels()} == {"12", "@jane", "@nosuchuser1", "999"}
