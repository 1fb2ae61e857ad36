"""Bagged boosting: the merged model scores the mean of its boosters, and is one model file."""

from __future__ import annotations

from pathlib import Path

import lightgbm
import numpy as np
import pytest

from botsweep.cli import main
from botsweep.errors import InputError
from botsweep.models.dataset import LabelledData
from botsweep.models.ensemble import SMALL_DATA, choose_boosters, fit_bagged, merge_boosters
from botsweep.models.scorer import BotScorer
from botsweep.models.train import train_model
from tests.models.synth import planted_profiles, write_jsonl

_PARAMS = {"objective": "binary", "verbose": -1, "num_leaves": 7, "bagging_fraction": 0.7,
           "bagging_freq": 1, "feature_fraction": 0.6, "num_threads": 1, "seed": 5}


def _noisy(n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((n, 6))
    y = ((x[:, 0] + x[:, 1] * 0.5 + rng.normal(0, 0.3, n)) > 0.8).astype(np.float64)
    return x, y


def test_merged_model_scores_the_mean_of_its_boosters() -> None:
    x, y = _noisy()
    members = [lightgbm.train({**_PARAMS, "seed": k}, lightgbm.Dataset(x, label=y), 25)
               for k in range(3)]
    merged = merge_boosters(members)
    assert merged.num_trees() == 75
    mean = np.mean([m.predict(x, raw_score=True) for m in members], axis=0)
    np.testing.assert_allclose(merged.predict(x, raw_score=True), mean, rtol=0, atol=1e-12)
    # and it survives a save and load as one ordinary LightGBM model
    again = lightgbm.Booster(model_str=merged.model_to_string())
    np.testing.assert_allclose(again.predict(x), merged.predict(x), rtol=0, atol=1e-15)


def test_bagged_boosters_differ_and_one_booster_is_a_plain_fit() -> None:
    x, y = _noisy()
    w = np.ones_like(y)
    single = fit_bagged(x, y, w, _PARAMS, 20, 1)
    plain = lightgbm.train(_PARAMS, lightgbm.Dataset(x, label=y, weight=w), 20)
    np.testing.assert_array_equal(single.predict(x), plain.predict(x))
    bagged = fit_bagged(x, y, w, _PARAMS, 20, 4)
    assert bagged.num_trees() == 80
    assert not np.allclose(bagged.predict(x), single.predict(x))


def test_auto_chooses_four_boosters_only_for_small_data() -> None:
    assert choose_boosters(None, SMALL_DATA - 1) == 4
    assert choose_boosters(None, SMALL_DATA) == 1
    assert choose_boosters(2, 50) == 2
    with pytest.raises(InputError, match="--boosters must be 1 or more"):
        choose_boosters(0, 50)


def test_a_small_training_set_ships_an_averaged_model(tmp_path: Path) -> None:
    records = planted_profiles(300)
    labels = np.array([r["_label"] == "bot" for r in records], dtype=np.int8)
    data = LabelledData(records, labels, np.array(["synthetic"] * len(records), dtype=object))
    scorer, cv = train_model(data, folds=3, max_rounds=60, early_stopping=10)
    assert cv.boosters == 4 and scorer.meta["boosters"] == 4
    assert scorer.booster.num_trees() == 4 * scorer.meta["num_boost_round"]
    loaded = BotScorer.load(scorer.save(tmp_path / "m.json"))
    np.testing.assert_array_equal(loaded.predict_proba(records), scorer.predict_proba(records))


def test_cli_rejects_a_bad_booster_count(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", planted_profiles(120))
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "m.json"),
                 "--boosters", "0"])
    assert code == 2
    assert "--boosters must be 1 or more, got 0" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
