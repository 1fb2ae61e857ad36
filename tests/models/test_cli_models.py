"""``botsweep train``, ``evaluate`` and ``score`` through the CLI, and the shipped model."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from botsweep.cli import main
from botsweep.models.scorer import DEFAULT_MODEL_PATH, BotScorer
from botsweep.storage.db import Database
from botsweep.storage.pages import write_profiles
from botsweep.storage.schema import meta, scores
from tests.models.synth import planted_profiles, profile, write_jsonl


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained through ``botsweep train`` on planted synthetic data."""
    root = tmp_path_factory.mktemp("cli-model")
    data = write_jsonl(root / "train.jsonl", planted_profiles(400))
    out = root / "model.json"
    assert main(["train", "--data", str(data), "--out", str(out), "--folds", "3"]) == 0
    return out


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.yaml from the checkout
    monkeypatch.delenv("BOTSWEEP_CONFIG", raising=False)


def test_score_round_trip(model_file: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    records = planted_profiles(60, seed=4)
    source = tmp_path / "in.jsonl.gz"
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    out = tmp_path / "scores.csv"
    capsys.readouterr()
    assert _score(model_file, source, out) == 0
    assert "scored 60 accounts" in capsys.readouterr().out
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "bot_probability", "label", "display_score"]
    assert [row["id"] for row in rows] == [r["id"] for r in records]
    scorer = BotScorer.load(model_file)
    for row in rows:
        p = float(row["bot_probability"])
        assert 0.0 <= p <= 1.0
        assert row["label"] == ("bot" if p >= scorer.threshold else "human")
        assert float(row["display_score"]) == round(5 * p, 1)
    right = sum(row["label"] == r["_label"] for row, r in zip(rows, records, strict=True))
    assert right / len(rows) > 0.9  # the planted signal, learnt through `botsweep train`


def test_bad_input_line_names_file_and_line(model_file: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.jsonl"
    good = json.dumps(profile(1))
    source.write_text(f"{good}\n\n{good}\n{{\"id\": \"2\", oops\n{good}\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    code = _score(model_file, source, out)
    err = capsys.readouterr().err
    assert code == 2
    assert f"{source} line 4" in err and "not valid JSON" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # no half-written CSV
    source.write_text(json.dumps({"id": "abc"}) + "\n", encoding="utf-8")
    assert _score(model_file, source, out) == 2
    assert "line 1" in capsys.readouterr().err
    # Latin-1 on line 2 is blamed on line 2, at its byte, not on the 8 KB block around it
    source.write_bytes(f"{good}\n".encode() + b'{"id": "3", "name": "Jos\xe9"}\n')
    assert _score(model_file, source, out) == 2
    assert f"{source} line 2: not valid UTF-8 (byte 25)" in capsys.readouterr().err


def _score(model_file: Path, source: Path, out: Path) -> int:
    return main(["score", "--model", str(model_file), "--input", str(source),
                 "--output", str(out)])


def _write(source: Path, records: list[dict]) -> None:
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_a_repeated_id_gives_one_row_or_is_refused_naming_both_lines(
        model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One row per id: an exact repeat (keys in another order too) is skipped and counted;
    the same id with other fields would make the CSV say two things about one account."""
    one, two, three = profile(1), profile(2), profile(3)
    reordered = dict(reversed(list(one.items())))
    source, out = tmp_path / "in.jsonl", tmp_path / "scores.csv"
    _write(source, [one, two, reordered, three, two])
    capsys.readouterr()
    assert _score(model_file, source, out) == 0
    printed = capsys.readouterr().out
    assert "scored 3 accounts" in printed and "skipped 2 lines repeating" in printed
    with out.open(encoding="utf-8") as handle:
        assert [row["id"] for row in csv.DictReader(handle)] == ["1", "2", "3"]
    out.unlink()
    changed = profile(2)
    changed["public_metrics"]["followers_count"] += 500
    _write(source, [one, two, three, changed])
    assert _score(model_file, source, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{source} line 4: id 2 is also on line 2, with other fields" in err
    assert not out.exists()  # no CSV that keeps one of the two silently


def test_counts_of_one_are_singular(model_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "scores.csv"
    _write(source, [profile(1), profile(1)])
    capsys.readouterr()
    assert _score(model_file, source, out) == 0
    printed = capsys.readouterr().out
    assert "scored 1 account (" in printed and "skipped 1 line repeating" in printed


def _broken(change: dict) -> dict:
    record = profile(7)
    for key, value in change.items():
        if key.startswith("public_metrics."):
            record["public_metrics"][key.split(".", 1)[1]] = value
        elif value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


@pytest.mark.parametrize(("record", "fragment"), [
    ({"id": "12"}, "'username' must be"),
    (_broken({"public_metrics": "x"}), "'public_metrics' must be an object"),
    (_broken({"public_metrics": None}), "'public_metrics' must be an object"),
    (_broken({"public_metrics.followers_count": "many"}), "followers_count must be a whole"),
    (_broken({"public_metrics.following_count": -3}), "following_count must be a whole"),
    (_broken({"created_at": "not a date"}), "'created_at' must be an ISO 8601 date-time"),
    (_broken({"created_at": "2017-W16-4"}), "'created_at' must be an ISO 8601 date-time"),
    (_broken({"created_at": "2014-03-01T12:00:00,5Z"}), "'created_at' must be an ISO 8601"),
    (_broken({"_collected_at": "garbage"}), "'_collected_at' must be an ISO 8601 date-time"),
    (_broken({"_collected_at": 1493596800}), "'_collected_at' must be an ISO 8601 date-time"),
    (_broken({"public_metrics.followers_count": "\u00b2"}), "followers_count must be a whole"),
    (_broken({"id": "\u00b9\u00b2\u00b3"}), "'id' must be a decimal string"),
    ({"id": 5, "screen_name": "jane", "followers_count": 3}, "a v1.1 user object"),
])
def test_a_record_that_is_not_a_v2_user_is_refused_with_its_line(
        model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        record: dict, fragment: str) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "scores.csv"
    source.write_text(f"{json.dumps(profile(1))}\n{json.dumps(record)}\n", encoding="utf-8")
    assert _score(model_file, source, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{source} line 2: " in err and fragment in err, err
    assert not out.exists()


def test_a_v2_user_without_optional_fields_is_scored(
        model_file: Path, tmp_path: Path) -> None:
    # counts and created_at may be missing (the model reads them as missing, never as 0)
    record = _broken({"created_at": None})
    record["public_metrics"].pop("like_count")
    source, out = tmp_path / "in.jsonl", tmp_path / "scores.csv"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert _score(model_file, source, out) == 0
    assert out.read_text(encoding="utf-8").splitlines()[1].startswith("7,")


def test_a_shorter_iso_8601_created_at_is_read_as_the_same_moment(
        model_file: Path, tmp_path: Path) -> None:
    # as the README says: RFC 3339 is the form to use; a date alone or no zone is UTC (not
    # missing, which would score differently)
    forms = ["2014-03-01T00:00:00.000Z", "2014-03-01", "2014-03-01T00:00:00",
             "2014-03-01 00:00:00", "2014-03-01T01:00:00+01:00"]
    records = []
    for n, form in enumerate(forms, start=1):
        record = profile(7)
        record.update(id=str(n), created_at=form)
        records.append(record)
    source, out = tmp_path / "in.jsonl", tmp_path / "scores.csv"
    _write(source, records)
    assert _score(model_file, source, out) == 0
    with out.open(encoding="utf-8") as handle:
        probabilities = {row["bot_probability"] for row in csv.DictReader(handle)}
    assert len(probabilities) == 1


def test_score_argument_errors_exit_2(model_file: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--input", "x.jsonl"]) == 2
    assert "--input and --output go together" in capsys.readouterr().err
    assert main(["score", "--model", str(tmp_path / "nope.json"), "--input", "a.jsonl",
                 "--output", "b.csv"]) == 2
    assert main(["train", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["{}", "not json", '{"format": "botsweep-model/1"}'])
def test_a_bad_model_file_is_bad_input(tmp_path: Path, content: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "in.jsonl", planted_profiles(5))
    (tmp_path / "m.json").write_text(content, encoding="utf-8")
    assert main(["score", "--model", str(tmp_path / "m.json"), "--input", str(data),
                 "--output", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "m.json" in err
    assert not (tmp_path / "out.csv").exists()


def test_more_folds_than_the_smaller_class_holds_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = write_jsonl(tmp_path / "one.jsonl", planted_profiles(60, dataset="one"))
    two_records = planted_profiles(60, seed=2, dataset="two")
    for r in two_records:
        r["id"] = "9" + r["id"]
    two = write_jsonl(tmp_path / "two.jsonl", two_records)
    for command in ("train", "evaluate"):
        assert main([command, "--data", str(one), "--data", str(two), "--folds", "1000"]) == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if "error" in line]
        assert errors == [err.strip().splitlines()[-1]] and "Traceback" not in err
        assert "--folds 1000" in errors[0] and "60 accounts" in errors[0]


def test_score_without_input_scores_the_database(model_file: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'crawl.db'}"
    db = Database(url)
    with db.begin() as conn:
        write_profiles(conn, db, planted_profiles(30, seed=8), fetched_at=1_700_000_000.0)
    monkeypatch.setenv("BOTSWEEP_DATABASE__URL", url)
    monkeypatch.setenv("BOTSWEEP_SCORER__MODEL", str(model_file))
    assert main(["score"]) == 0
    assert "scored 30 new or changed accounts" in capsys.readouterr().out
    assert main(["score"]) == 0  # nothing changed since
    assert "scored 0 new" in capsys.readouterr().out
    with db.connect() as conn:
        stored = conn.execute(select(scores.c.model_version, scores.c.probability)).all()
        version = conn.execute(select(meta.c.value).where(meta.c.key == "bot_model_version"))
        assert version.scalar() == BotScorer.load(model_file).version
    db.dispose()
    assert len(stored) == 30 and all(0 <= p <= 1 for _, p in stored)


def test_evaluate_prints_cv_and_leave_one_dataset_out(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    one = write_jsonl(tmp_path / "one.jsonl", planted_profiles(200, dataset="one"))
    two_records = planted_profiles(200, seed=2, dataset="two")
    for r in two_records:
        r["id"] = "9" + r["id"]
    two = write_jsonl(tmp_path / "two.jsonl", two_records)
    assert main(["evaluate", "--data", str(one), "--data", str(two), "--folds", "2",
                 "--exclude", "like_count"]) == 0
    out = capsys.readouterr().out
    assert "2-fold cross-validation" in out and "Leave-one-dataset-out" in out
    lodo = out[out.index("Leave-one-dataset-out"):]
    assert "| one |" in lodo and "| two |" in lodo
    assert main(["evaluate", "--data", str(one), "--exclude", "no_such_feature"]) == 2
    capsys.readouterr()
    # one dataset: refused before the cross-validation, with the command that does it
    assert main(["evaluate", "--data", str(one), "--folds", "2"]) == 2
    captured = capsys.readouterr()
    assert "cross-validation" not in captured.out and "botsweep train" in captured.err


def test_train_and_evaluate_say_what_they_left_out(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Ids repeated across files are kept once, from the first file: the summary counts them
    and names the file their copies left; a file with no label in a directory is named."""
    folder = tmp_path / "data"
    folder.mkdir()
    first = planted_profiles(120, dataset="a")
    second = planted_profiles(120, seed=2, dataset="b")
    for r in second:
        r["id"] = "9" + r["id"]
    write_jsonl(folder / "a.jsonl", first)
    write_jsonl(folder / "b.jsonl", first[:30] + second)  # 30 ids, same labels, again
    write_jsonl(folder / "c.jsonl", [profile(1), profile(2)])  # no _label anywhere
    for command in (["evaluate", "--data", str(folder)],
                    ["train", "--data", str(folder / "a.jsonl"), "--data",
                     str(folder / "b.jsonl"), "--data", str(folder / "c.jsonl"),
                     "--boosters", "1", "--out", str(tmp_path / "m.json")]):
        assert main([*command, "--folds", "2"]) == 0
        err = capsys.readouterr().err
        assert ("240 accounts (120 bots, 120 humans) in 2 datasets; 30 repeated ids kept once "
                "(first copy kept; later copies dropped from b.jsonl: 30); 0 ids dropped for "
                "conflicting labels") in err, err
        assert 'skipped 1 file without a labelled record ("_label": "bot" or "human"): ' \
            "c.jsonl" in err, err


def test_shipped_default_model_loads_and_scores() -> None:
    assert DEFAULT_MODEL_PATH.is_file(), "botsweep/models/default/model.json must be shipped"
    assert DEFAULT_MODEL_PATH.stat().st_size < 5_000_000
    scorer = BotScorer.load()
    assert scorer.version.startswith("botsweep-lgbm-") and 0 < scorer.threshold < 1
    assert scorer.meta["data_summary"]["accounts"] > 20_000
    spam = profile(1, username="xk7q9zzv0w81", name="", description="",
                   profile_image_url="https://abs.twimg.com/sticky/default_profile_images/d.png",
                   created_at="2019-12-20T00:00:00.000Z",
                   metrics={"followers_count": 0, "following_count": 1900, "tweet_count": 0,
                            "listed_count": 0, "like_count": 0})
    person = profile(2, username="jane_doe", name="Jane Doe", verified=True,
                     description="Historian, writer. Mum of two. Views my own.",
                     created_at="2010-03-01T00:00:00.000Z",
                     metrics={"followers_count": 5200, "following_count": 800,
                              "tweet_count": 14000, "listed_count": 120, "like_count": 9000})
    probs = scorer.predict_proba([spam, person])
    assert np.all((probs >= 0) & (probs <= 1))
    assert probs[0] > scorer.threshold > probs[1]


@pytest.mark.parametrize(("options", "fragment"), [
    (["--folds", "1"], "--folds must be at least 2"),
    (["--weighting", "foo"], "--weighting 'foo' is unknown"),
    (["--boosters", "0"], "--boosters must be 1 or more"),
    (["--exclude", "nosuch"], "unknown feature 'nosuch'"),
    (["--extra-weight", "0", "--extra-data", "x"], "--extra-weight must be a number above 0"),
])
def test_bad_training_options_are_refused_before_the_data_is_read(
        options: list[str], fragment: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # --data names a file that does not exist: an option refused first never gets to it
    assert main(["train", "--data", str(tmp_path / "absent.jsonl"), *options,
                 "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and fragment in err and "absent" not in err, err


def test_counts_the_model_never_saw_missing_are_warned_about(
        model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing count is read as 0 by a model that never saw it missing (0 likes leans
    towards bot), so scoring says so; null is missing too, and a leading BOM is no error."""
    records = planted_profiles(40, seed=5)
    for record in records[:10]:
        del record["public_metrics"]["like_count"]
    records[10]["public_metrics"]["listed_count"] = None
    source = tmp_path / "in.jsonl"
    source.write_text("\ufeff" + "".join(json.dumps(r) + "\n" for r in records), "utf-8")
    capsys.readouterr()
    assert _score(model_file, source, tmp_path / "s.csv") == 0
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith("warning: of 40 accounts")
    assert "like_count 10" in err and "listed_count 1" in err and "read each as 0" in err
    full = tmp_path / "full.jsonl"
    _write(full, planted_profiles(40, seed=5))
    assert _score(model_file, full, tmp_path / "f.csv") == 0
    assert capsys.readouterr().err == ""


def test_a_model_trained_with_missing_counts_is_not_warned_about(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = planted_profiles(400, seed=6)
    for record in records[::3]:
        del record["public_metrics"]["like_count"]
    data = write_jsonl(tmp_path / "train.jsonl", records)
    model = tmp_path / "m.json"
    assert main(["train", "--data", str(data), "--out", str(model), "--folds", "3"]) == 0
    assert "like_count" not in BotScorer.load(model).missing_as_zero()
    source = tmp_path / "in.jsonl"
    _write(source, records[:30])
    capsys.readouterr()
    assert _score(model, source, tmp_path / "s.csv") == 0
    assert "warning" not in capsys.readouterr().err


def test_a_model_that_learned_nothing_is_refused_and_not_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "tiny.jsonl", planted_profiles(20, seed=7))
    out = tmp_path / "tiny.json"
    assert main(["train", "--data", str(data), "--out", str(out), "--folds", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "learned nothing from 20 accounts" in err[-1] and err[-1].startswith("botsweep: error")
    assert not out.exists()
