"""The campaign workflow from the command line: fit, label, refit, review, show, status."""

from __future__ import annotations

import json
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

    rc, out, err = _run(capsys, "status")
    assert rc == 0, err
    line = next(line for line in out.splitlines() if line.startswith("campaign pron:"))
    assert "accounts flagged" in line and "estimated precision" in line
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
