"""The campaign workflow from the command line: fit, label, refit, review, show, status."""

from __future__ import annotations

import csv
import json
import re
import shlex
from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.cli import main
from botsweep.storage.schema import scores
from tests.campaign.synth import build_db, population


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _ids(people: dict, kind: str) -> list[int]:
    return [aid for aid, (k, _) in people.items() if k == kind]


def test_fit_with_two_seeds_says_how_many_are_needed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = population()
    build_db(tmp_path, people, seeds=_ids(people, "pron")[:2]).dispose()
    rc, out, err = _run(capsys, "campaign", "fit", "--campaign", "pron")
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "has 2 profiled account(s) labelled bot" in err and "at least 3 are needed" in err
    assert "Traceback" not in err


def test_fit_label_refit_review_show_and_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = population(n_linker=1)
    pron = _ids(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])

    rc, out, err = _run(capsys, "campaign", "fit")  # the only campaign there is
    assert rc == 0, err
    assert "campaign pron: fitted campaign-pron-" in out
    assert "learned from 10 campaign accounts (10 seeds, 0 labels)" in out
    assert "link to lovely42.example" in out
    # the fingerprint's shares are of the training accounts, not of the flagged ones
    assert "fingerprint (share of the 10 campaign accounts it learned from): " in out
    assert "of the campaign)" not in out
    with db.connect() as conn:
        before = dict(conn.execute(select(scores.c.account_id, scores.c.probability)
                                   .where(scores.c.scorer == "campaign:pron")).all())
    assert len(before) == len(people)
    (linker,) = _ids(people, "linker")
    assert before[linker] >= 0.5

    rc, out, err = _run(capsys, "review", "--n", "5")
    assert rc == 0, err
    assert "label these 5 accounts" in out
    assert "campaign probability" in out
    assert out.count("botsweep label ") == 10  # a bot and a human command per account
    rc, out, err = _run(capsys, "review", "--n", "3", "--json")
    items = json.loads(out)
    assert len(items) == 3 and all(item["reason"] and item["command"] for item in items)

    rc, out, err = _run(capsys, "label", str(linker), "--label", "human", "--campaign", "pron")
    assert rc == 0, err
    rc, out, err = _run(capsys, "campaign", "fit", "--campaign", "pron")
    assert rc == 0, err
    assert "1 labelled outsider and" in out
    with db.connect() as conn:
        after = conn.execute(select(scores.c.probability).where(
            scores.c.scorer == "campaign:pron", scores.c.account_id == linker)).scalar_one()
    assert after < 0.5 <= before[linker]

    rc, out, err = _run(capsys, "campaign", "show")
    assert rc == 0, err
    assert "lovely42.example" in out and "estimated precision" in out
    flagged = int(out.split(" accounts flagged", 1)[0].rsplit(" ", 1)[1])
    assert f"shares of the {flagged} flagged accounts, beside those of the " in out
    assert re.search(r"^ +% of flagged +% of background$", out, re.M), out

    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    flat = " ".join(out.split())  # rich wraps long lines
    assert re.search(r"campaign pron: \d+ accounts flagged \(campaign_probability >= 0\.50\), "
                     "estimated precision", flat), out
    rc, out, err = _run(capsys, "status", "--json")
    (entry,) = json.loads(out)["campaigns"]
    assert entry["name"] == "pron" and 30 <= entry["flagged"] <= len(pron)
    assert 0.0 < entry["precision"] <= 1.0
    db.dispose()


def test_review_before_any_fit_names_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = population()
    build_db(tmp_path, people, seeds=_ids(people, "pron")[:10]).dispose()
    rc, out, err = _run(capsys, "review")
    assert rc == 2
    assert "botsweep campaign fit --campaign pron" in err


def test_fit_status_and_export_state_the_threshold_the_stored_probabilities_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The cross-validated cut is on the model's raw score; the model shifts it to the
    stored probability's threshold.  Whatever fit, status and export say "flagged" means,
    counting stored (and exported) probabilities at the stated threshold gives the same."""
    people = population(n_linker=1)
    db = build_db(tmp_path, people, seeds=_ids(people, "pron")[:10])
    rc, out, err = _run(capsys, "campaign", "fit")
    assert rc == 0, err
    stated = re.search(r"flagged means campaign_probability >= (\d\.\d\d)", out)
    assert stated, out
    threshold = float(stated.group(1))
    cut = re.search(r"best cut of the model's raw score, (\d\.\d\d), is (?:shifted to "
                    r"(\d\.\d\d)|the stored threshold)", out)
    assert cut and float(cut.group(2) or cut.group(1)) == threshold, out
    scored = re.search(r"scored \d+ accounts: (\d+) flagged", out)
    assert scored, out
    flagged = int(scored.group(1))
    with db.connect() as conn:
        stored = conn.execute(select(scores.c.probability)
                              .where(scores.c.scorer == "campaign:pron")).scalars().all()
    assert sum(p >= threshold for p in stored) == flagged > 0
    assert json.loads(_run(capsys, "campaign", "fit", "--json")[1])["threshold"] == threshold

    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    assert (f"{flagged} accounts flagged (campaign_probability >= {threshold:.2f})"
            in " ".join(out.split()))
    (entry,) = json.loads(_run(capsys, "status", "--json")[1])["campaigns"]
    assert entry["flagged"] == flagged and entry["threshold"] == threshold

    rc, out, err = _run(capsys, "export", "--format", "csv", "--out", "export")
    assert rc == 0, err
    assert f"campaign pron; it flags an account at >= {threshold:.2f}" in out
    with (tmp_path / "export" / "accounts.csv").open(encoding="utf-8") as handle:
        exported = [float(row["campaign_probability"]) for row in csv.DictReader(handle)]
    assert sum(p >= threshold for p in exported) == flagged
    db.dispose()


def test_show_before_scoring_says_its_shares_are_of_the_labelled_bots(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    people = population()
    build_db(tmp_path, people, seeds=_ids(people, "pron")[:10]).dispose()
    assert _run(capsys, "campaign", "fit", "--no-score")[0] == 0
    rc, out, err = _run(capsys, "campaign", "show")
    assert rc == 0, err
    assert "0 accounts flagged" in out
    assert "shares of the 10 accounts labelled bot in the campaign (none is flagged yet)" in out
    assert re.search(r"^ +% of labelled +% of background$", out, re.M), out


def test_review_commands_name_the_config_file_the_review_was_run_with(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    people = population(n_linker=1)
    build_db(tmp_path / "crawl", people, seeds=_ids(people, "pron")[:10]).dispose()
    config = tmp_path / "crawl" / "config.yaml"  # its database: crawl/botsweep.db
    config.write_text("database:\n  url: sqlite:///botsweep.db\n", encoding="utf-8")
    assert _run(capsys, "--config", "crawl/config.yaml", "campaign", "fit")[0] == 0
    rc, out, err = _run(capsys, "--config", "crawl/config.yaml", "review", "--n", "2", "--json")
    assert rc == 0, err
    item = json.loads(out)[0]
    assert item["command"].startswith(f"botsweep --config {config} label {item['id']} ")
    # copied and run from another folder, the command labels the crawl's database
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    assert main(shlex.split(item["human_command"])[1:]) == 0
    assert not (other / "botsweep.db").exists()


def test_review_shows_control_characters_in_crawled_names_as_escapes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A crawled username holding ESC sequences (set the terminal's title, hide text) or a
    bidi override was printed raw, and the terminal obeyed it."""
    from sqlalchemy import update

    from botsweep.storage.schema import accounts

    people = population()
    db = build_db(tmp_path, people, seeds=_ids(people, "pron")[:10])
    evil = "a\x1b]0;owned\x07b\u202e"
    with db.begin() as conn:
        for aid, raw in conn.execute(select(accounts.c.id, accounts.c.raw)).all():
            user = {**json.loads(raw), "username": evil} if raw else {}
            conn.execute(update(accounts).where(accounts.c.id == aid).values(
                username=evil, raw=json.dumps(user) if raw else None))
    assert _run(capsys, "campaign", "fit", "--campaign", "pron")[0] == 0
    rc, out, err = _run(capsys, "review", "--n", "3")
    assert rc == 0, err
    assert "@a\\x1b]0;owned\\x07b\\u202e (" in out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    db.dispose()
