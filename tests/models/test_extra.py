"""Training on your own labels with extra labelled data (``botsweep train --extra-data``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from botsweep.cli import main
from botsweep.errors import InputError
from botsweep.models.dataset import LabelledData
from botsweep.models.extra import DEFAULT_EXTRA_WEIGHT, prepare_extra
from botsweep.models.features import OWN_LABELS
from botsweep.models.scorer import BotScorer
from botsweep.models.train import cross_validate, train_model
from tests.models.synth import planted_profiles, write_jsonl

_FAST = {"max_rounds": 120, "early_stopping": 15}


def _data(records: list[dict[str, Any]]) -> LabelledData:
    labels = np.array([1 if r["_label"] == "bot" else 0 for r in records], dtype=np.int8)
    datasets = np.array([r["_source"].split("/")[0] for r in records], dtype=object)
    return LabelledData(records, labels, datasets)


def _theirs(n: int, seed: int) -> list[dict[str, Any]]:
    """Another set's idea of a bot: an account that never likes anything.  Their bots and
    humans follow alike, so the user's signal (following far more than followed) is absent."""
    records = planted_profiles(n, seed=seed, following_ratio=1.0, dataset="theirs")
    for i, record in enumerate(records):
        record["id"] = str(900_000 + i)
        if record["_label"] == "bot":
            record["public_metrics"]["like_count"] = 0
    return records


def _mine(n: int, seed: int, dataset: str = "synthetic") -> list[dict[str, Any]]:
    """The user's idea of a bot: following far more than followed.  A fifth of the user's
    bots and humans alike never like anything: to the user, no likes says nothing."""
    records = planted_profiles(n, seed=seed, dataset=dataset)
    for record in records[::5] + records[1::5]:
        record["public_metrics"]["like_count"] = 0
    return records


@pytest.fixture(scope="module")
def mine() -> LabelledData:
    return _data(_mine(300, seed=1, dataset="mine"))


@pytest.fixture(scope="module")
def trained(mine: LabelledData) -> tuple[BotScorer, Any]:
    extra = prepare_extra(mine, _data(_theirs(1200, seed=2)), 2.0)
    return train_model(mine, folds=3, extra=extra, **_FAST)


def test_figures_threshold_and_calibration_come_from_the_users_labels(
        trained: tuple[BotScorer, Any], mine: LabelledData) -> None:
    scorer, cv = trained
    assert set(cv.metrics) == {"mine"}  # no row for the extra set, no pooled "all"
    assert len(cv.raw) == len(mine) and (cv.fold >= 0).all()
    assert cv.metrics["mine"]["auc"] > 0.95
    assert cv.features[-1] == OWN_LABELS and scorer.feature_names[-1] == OWN_LABELS
    assert scorer.meta["extra_data"]["accounts"] == 1200
    assert scorer.meta["extra_data"]["datasets"]["theirs"]["bots"] == 600


def test_a_crawl_is_scored_by_the_users_definition(trained: tuple[BotScorer, Any]) -> None:
    """The other set calls every account with no likes a bot; the user's labels say that
    no likes means nothing.  The extra set outweighs the user's two to one, yet the model
    scores as the user's own labels (own_labels = 1): the user's humans who never like
    stay humans (without the own_labels column, most of them were flagged)."""
    scorer, _ = trained
    fresh = _mine(600, seed=7)
    truth = np.array([r["_label"] == "bot" for r in fresh])
    flagged = scorer.predict_proba(fresh) >= scorer.threshold
    assert (flagged == truth).mean() > 0.9
    no_likes = np.array([r["public_metrics"]["like_count"] == 0 for r in fresh])
    assert flagged[no_likes & ~truth].mean() < 0.2
    assert (scorer.features(fresh)[:, -1] == 1.0).all()


def test_the_model_file_keeps_the_own_labels_feature(trained: tuple[BotScorer, Any],
                                                     tmp_path: Path) -> None:
    scorer, _ = trained
    loaded = BotScorer.load(scorer.save(tmp_path / "m.json"))
    records = planted_profiles(60, seed=9)
    np.testing.assert_allclose(loaded.predict_proba(records), scorer.predict_proba(records))
    assert loaded.feature_names == scorer.feature_names


def test_without_extra_data_nothing_changes(mine: LabelledData) -> None:
    plain = cross_validate(mine, folds=3, seed=4, **_FAST)
    assert OWN_LABELS not in plain.features and plain.extra is None and plain.grown is None


def test_extra_accounts_also_in_the_users_labels_are_dropped(mine: LabelledData) -> None:
    theirs = _theirs(100, seed=3)
    theirs[0]["id"] = mine.records[0]["id"]  # the user's label wins; no twin across folds
    extra = prepare_extra(mine, _data(theirs), 0.2)
    assert len(extra.data) == 99 and extra.dropped == 1
    assert mine.records[0]["id"] not in {r["id"] for r in extra.data.records}
    with pytest.raises(InputError, match="no account that is not already in --data"):
        prepare_extra(mine, mine, 0.2)
    for weight in (0.0, -1.0, float("nan")):
        with pytest.raises(InputError, match="--extra-weight must be a number above 0"):
            prepare_extra(mine, _data(theirs), weight)


def test_train_command_with_extra_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.yaml from the checkout
    monkeypatch.delenv("BOTSWEEP_CONFIG", raising=False)
    own = write_jsonl(tmp_path / "mine.jsonl", _mine(240, seed=1, dataset="mine"))
    theirs = write_jsonl(tmp_path / "theirs.jsonl", _theirs(300, seed=2))
    out = tmp_path / "model.json"
    assert main(["train", "--data", str(own), "--extra-data", str(theirs), "--extra-weight",
                 "0.3", "--folds", "3", "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert "extra data: 300 accounts in 1 dataset, weighing 0.3 x --data" in said.err
    assert "240 accounts (120 bots, 120 humans) in 1 dataset;" in said.err
    assert "| mine |" in said.out and "| theirs |" not in said.out
    assert BotScorer.load(out).meta["extra_data"]["weight"] == 0.3
    assert main(["train", "--data", str(own), "--extra-weight", "0.3", "--out", str(out)]) == 2
    assert "--extra-weight needs --extra-data" in capsys.readouterr().err
    assert main(["train", "--data", str(own), "--extra-data", str(theirs), "--extra-weight",
                 "0", "--out", str(out)]) == 2
    assert "--extra-weight must be a number above 0" in capsys.readouterr().err


def test_the_help_states_the_default_weight() -> None:
    from typer.testing import CliRunner

    from botsweep.cli.app import app

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert f"(default {DEFAULT_EXTRA_WEIGHT:g})" in result.output
