"""Training learns a planted signal; calibration is monotone and stays in [0, 1]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from botsweep.errors import InputError, ModelError
from botsweep.models import train as train_module
from botsweep.models.calibration import Calibrator, choose_threshold
from botsweep.models.dataset import LabelledData, load_labelled, sample_weights
from botsweep.models.evaluate import leave_one_dataset_out
from botsweep.models.ngram import UsernameModel
from botsweep.models.scorer import BotScorer
from botsweep.models.textstats import encode_column
from botsweep.models.train import cross_validate, refit_rounds, train_model
from botsweep.models.words import WordModel
from tests.models.synth import planted_profiles, profile, write_jsonl

_FAST = {"max_rounds": 120, "early_stopping": 15}


def _data(records: list[dict]) -> LabelledData:
    labels = np.array([1 if r["_label"] == "bot" else 0 for r in records], dtype=np.int8)
    datasets = np.array([r["_source"].split("/")[0] for r in records], dtype=object)
    return LabelledData(records, labels, datasets)


@pytest.fixture(scope="module")
def trained() -> tuple[BotScorer, object]:
    return train_model(_data(planted_profiles(500)), folds=3, **_FAST)


def test_training_learns_the_planted_signal(trained: tuple[BotScorer, object]) -> None:
    scorer, cv = trained
    row = cv.metrics["synthetic"]  # type: ignore[attr-defined]
    assert row["auc"] > 0.97 and row["balanced_acc"] > 0.9
    top = list(scorer.meta["feature_importance_gain"])[:3]
    assert {"followers_per_following", "following_count", "following_per_day",
            "followers_count"} & set(top)
    fresh = planted_profiles(200, seed=99)
    probs = scorer.predict_proba(fresh)
    truth = np.array([r["_label"] == "bot" for r in fresh])
    assert ((probs >= scorer.threshold) == truth).mean() > 0.9


def test_shuffled_labels_learn_nothing() -> None:
    records = planted_profiles(400)
    rng = np.random.default_rng(3)
    for record, label in zip(records, rng.permutation([r["_label"] for r in records]),
                             strict=True):
        record["_label"] = label
    cv = cross_validate(_data(records), folds=3, **_FAST)
    assert 0.35 < cv.metrics["synthetic"]["auc"] < 0.65


def test_model_file_round_trip(trained: tuple[BotScorer, object], tmp_path: Path) -> None:
    scorer, _ = trained
    path = scorer.save(tmp_path / "m.json")
    loaded = BotScorer.load(path)
    records = planted_profiles(50, seed=5)
    np.testing.assert_allclose(loaded.predict_proba(records), scorer.predict_proba(records))
    assert loaded.version == scorer.version and loaded.threshold == scorer.threshold
    meta = loaded.meta
    assert meta["features"] == scorer.feature_names
    assert {"lightgbm", "numpy"} <= set(meta["library_versions"])
    assert meta["metrics"]["cv"]["synthetic"]["auc"] > 0.9


def test_bad_model_files_are_model_errors(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(ModelError, match="not a botsweep model file"):
        BotScorer.load(tmp_path / "x.json")
    with pytest.raises(ModelError, match="not found"):
        BotScorer.load(tmp_path / "missing.json")


def test_calibrated_output_is_monotone_and_in_unit_interval() -> None:
    rng = np.random.default_rng(1)
    raw = rng.uniform(0, 1, 2000)
    labels = (rng.uniform(0, 1, 2000) < raw ** 2).astype(int)
    calibrator = Calibrator.fit(raw, labels)
    grid = np.linspace(-0.5, 1.5, 5001)
    out = calibrator(grid)
    assert np.all(out >= 0) and np.all(out <= 1)
    assert np.all(np.diff(out) >= 0)
    inside = calibrator(np.linspace(0, 1, 1001))
    assert np.all(np.diff(inside) > 0)  # ties are broken, so ranking survives calibration
    assert abs(calibrator(np.array([0.5]))[0] - 0.25) < 0.08  # near the true curve
    again = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_array_equal(again(grid), out)


def test_threshold_separates_perfectly_separable_scores() -> None:
    probs = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    cut = choose_threshold(probs, np.array([0, 0, 0, 1, 1]))
    assert 0.3 < cut < 0.7


def test_dataset_weighting_balances_each_dataset() -> None:
    labels = np.array([1] * 90 + [0] * 10 + [1] * 5 + [0] * 5)
    datasets = np.array(["big"] * 100 + ["small"] * 10)
    w = sample_weights(labels, datasets, "dataset")
    assert w.mean() == pytest.approx(1.0)
    big, small = datasets == "big", datasets == "small"
    assert w[big & (labels == 1)].sum() == pytest.approx(w[big & (labels == 0)].sum())
    assert w[big].sum() / w[small].sum() == pytest.approx(np.sqrt(10))
    with pytest.raises(InputError):
        sample_weights(labels, datasets, "bogus")


def test_load_labelled_dedups_and_drops_conflicts(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [
        profile(1, _label="bot"), profile(2, _label="human"), profile(3, _label="bot"),
        profile(4)])  # unlabelled: skipped
    b = write_jsonl(tmp_path / "b.jsonl", [profile(2, _label="human"), profile(3, _label="human")])
    d = write_jsonl(tmp_path / "d.jsonl", [profile(6), profile(1)])  # nothing labelled
    data = load_labelled([a, b, d])
    assert sorted(r["id"] for r in data.records) == ["1", "2"]
    assert data.summary["dropped_conflicting_ids"] == 1
    # id 2 is kept once, from a.jsonl; the copy in b.jsonl is counted and named
    assert data.summary["repeated_ids"] == 1
    assert data.summary["repeats_dropped_from"] == {"b.jsonl": 1}
    assert data.summary["unlabelled_files"] == ["d.jsonl"]
    write_jsonl(tmp_path / "c.jsonl", [profile(5, _label="robot")])
    with pytest.raises(InputError, match="line 1"):
        load_labelled([tmp_path / "c.jsonl"])


def test_leave_one_dataset_out_scores_every_held_out_set() -> None:
    records = planted_profiles(300, dataset="one") + planted_profiles(300, seed=1, dataset="two")
    for i, r in enumerate(records):
        r["id"] = str(i)
    result = leave_one_dataset_out(_data(records), **_FAST)
    assert set(result.rows) == {"one", "two", "all"}
    assert result.rows["one"]["auc"] > 0.95 and result.rows["two"]["auc"] > 0.95
    with pytest.raises(InputError, match="at least two datasets"):
        leave_one_dataset_out(_data(records[:300]))


def test_word_model_learns_bot_words() -> None:
    texts = ["tweets every hour automated"] * 20 + ["i love coffee and my dog"] * 20
    labels = np.array([1] * 20 + [0] * 20)
    model = WordModel.fit(encode_column(texts), labels)
    bot, human, unknown = model.score(encode_column(["automated tweets", "love my dog", "zzz"]))
    assert bot > 0 > human and unknown == 0
    again = WordModel.from_dict(model.to_dict())
    np.testing.assert_allclose(again.score(encode_column(texts)), model.score(encode_column(texts)))


def test_training_rows_are_scored_by_tables_that_never_saw_them() -> None:
    from botsweep.models.features import FEATURES
    from botsweep.models.train import _Matrix

    records = planted_profiles(200)
    human = next(i for i, r in enumerate(records) if r["_label"] == "human")
    records[human]["username"] = "qzxjqzxjqzxj"  # bigrams no other account has
    data = _data(records)
    cache = _Matrix(data, FEATURES)
    everyone = np.arange(len(records))
    usernames, _, x = cache.tables(everyone)
    loglik = x[:, FEATURES.index("username_loglik")]
    in_sample = usernames.loglik(["qzxjqzxjqzxj"])[0]
    unseen = UsernameModel.fit([]).loglik(["qzxjqzxjqzxj"])[0]
    # The final table counts the account's own bigrams; its training row does not.
    assert in_sample > loglik[human] + 1.0
    assert loglik[human] < unseen + 1.0
    others = np.delete(everyone, human)
    held_out = cache.tables(others)[2]  # a row outside the training part gets the full tables
    fitted = cache.username_model(others).loglik(["qzxjqzxjqzxj"])[0]
    assert held_out[human, FEATURES.index("username_loglik")] == pytest.approx(fitted)


def test_refits_below_small_data_run_longer() -> None:
    assert refit_rounds(100, 3_208) == 118  # 100 / 0.85
    assert refit_rounds(100, 25_026) == 100
    assert refit_rounds(0.2, 100) == 1


def test_small_sets_train_at_learning_rate_005_and_refit_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[float, int]] = []
    real = train_module.fit_bagged

    def spy(x: Any, y: Any, w: Any, params: dict[str, Any], rounds: int, boosters: int) -> Any:
        seen.append((params["learning_rate"], rounds))
        return real(x, y, w, params, rounds, boosters)

    monkeypatch.setattr(train_module, "fit_bagged", spy)
    records = planted_profiles(300)
    labels = np.array([1 if r["_label"] == "bot" else 0 for r in records], dtype=np.int8)
    data = LabelledData(records, labels, np.array(["one"] * len(records), dtype=object))
    cv = cross_validate(data, folds=3, max_rounds=120, early_stopping=15, boosters=1)
    assert [rate for rate, _ in seen] == [0.05] * 3
    assert [rounds for _, rounds in seen] == [refit_rounds(b, 300) for b in cv.best_iterations]
    seen.clear()
    cross_validate(data, folds=3, max_rounds=120, early_stopping=15, boosters=1,
                   params={"learning_rate": 0.1})
    assert [rate for rate, _ in seen] == [0.1] * 3
