"""Training: stratified k-fold CV with early stopping, calibration, threshold, final fit.

For each of ``folds`` folds (stratified by dataset and label):

1. the username bigram table is fitted on the training part's humans only, and the
   description word table on the training part; the training part's own rows are
   scored by tables cross-fitted within it (5 inner folds);
2. LightGBM trains on 85% of the training part, with early stopping on the other 15%,
   then (``refit``) again on the whole training part for the round it stopped at, as
   ``boosters`` bagged boosters averaged into one (:mod:`botsweep.models.ensemble`;
   by default four below 10,000 accounts, one above).  Below 10,000 accounts the
   learning rate is 0.05 instead of 0.1, and the refit runs 1/0.85 times the stopping
   round, since it sees 1/0.85 times the rows;
3. the held-out fold is predicted, giving out-of-fold (OOF) raw scores for every record.

With ``extra`` labelled data (:mod:`botsweep.models.extra`), the folds split the user's
own records only; every training part, and the final fit, also holds the extra records,
marked by the ``own_labels`` feature, and every figure, the calibration and the threshold
come from the user's records.

The reported metrics are cross-fitted: fold k's labels come from a calibrator and
threshold fitted on the other folds' OOF scores, so no number is scored with something
that saw it; AUC ranks the raw OOF scores.  The shipped model is then trained on all
records for the mean number of rounds the refits ran, calibrated (isotonic) on all OOF
scores, and its threshold maximises weighted balanced accuracy on them.
"""

from __future__ import annotations

import logging
import platform
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.models.calibration import Calibrator, choose_threshold
from botsweep.models.dataset import LabelledData
from botsweep.models.ensemble import SMALL_DATA, choose_boosters, fit_bagged
from botsweep.models.extra import OWN_LABELS, ExtraData, combined, row_weights, with_own_column
from botsweep.models.features import FEATURES, feature_matrix
from botsweep.models.metrics import metrics_by_dataset
from botsweep.models.ngram import UsernameModel
from botsweep.models.scorer import MODEL_FORMAT, BotScorer, model_version
from botsweep.models.textstats import encode_column
from botsweep.models.words import WordModel

__all__ = ["DEFAULT_PARAMS", "CVResult", "check_folds", "cross_validate", "train_model",
           "select_features", "refit_rounds"]

log = logging.getLogger("botsweep.models")

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
    # One thread: the data sets are small, and OpenMP threads that spin while other
    # processes hold the cores made 5-fold CV 18x slower on a busy 2-core machine.
    "num_threads": 1,
}
_LOGLIK = FEATURES.index("username_loglik")
_WORDS = FEATURES.index("description_words")
_INNER_FOLDS = 5  # cross-fitting of the username and word tables inside a training part
_VALID_SHARE = 0.15  # of a training part, held out for early stopping
# Below SMALL_DATA accounts (the size of a user's own label set): on tweetbotornot-train
# (3,208 accounts), learning rate 0.05 with the longer refit gained 0.0014 balanced accuracy
# over 0.1 (32 seeds, paired standard error 0.0004) for about twice the trees.  The shipped
# model, trained on 25,026 accounts, keeps 0.1 and the plain refit.
_SMALL_DATA_LEARNING_RATE = 0.05
_SMALL_DATA_REFIT_SCALE = 1.0 / (1.0 - _VALID_SHARE)


def _size_params(accounts: int) -> dict[str, Any]:
    return {"learning_rate": _SMALL_DATA_LEARNING_RATE} if accounts < SMALL_DATA else {}


def refit_rounds(stopping_round: float, accounts: int, grown: float | None = None) -> int:
    """Rounds for a fit on a whole training part, given the early-stopping round found on
    85% of it: scaled by 1/0.85 (or by ``grown``, the refit's rows over the early-stopping
    fit's, when extra data joins both) below SMALL_DATA accounts, unchanged above."""
    scale = 1.0 if accounts >= SMALL_DATA else grown or _SMALL_DATA_REFIT_SCALE
    return max(1, int(round(stopping_round * scale)))


@dataclass
class CVResult:
    """Out-of-fold results of one cross-validation run."""

    features: list[str]
    raw: np.ndarray
    prob: np.ndarray
    predicted: np.ndarray
    fold: np.ndarray
    weights: np.ndarray
    best_iterations: list[int]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    boosters: int = 1  # bagged boosters averaged in each fold's model
    extra: ExtraData | None = None  # extra labelled data in every training part
    grown: float | None = None  # with extra: mean refit rows over early-stopping fit rows


def select_features(exclude: Sequence[str] = ()) -> list[str]:
    """FEATURES without ``exclude``; unknown names are an InputError listing the valid ones."""
    unknown = [name for name in exclude if name not in FEATURES]
    if unknown:
        raise InputError(
            f"unknown feature {unknown[0]!r} in --exclude; features are: {', '.join(FEATURES)}"
        )
    chosen = [name for name in FEATURES if name not in set(exclude)]
    if not chosen:
        raise InputError("--exclude removed every feature")
    return chosen


class _Matrix:
    """All features computed once; the username and word tables are refitted per training set."""

    def __init__(self, data: LabelledData, features: Sequence[str]) -> None:
        self.full = feature_matrix(data.records, username_model=UsernameModel.fit([]),
                                   word_model=WordModel.empty())
        self.usernames = [r.get("username") if isinstance(r.get("username"), str) else ""
                          for r in data.records]
        self.encoded = encode_column(self.usernames)
        self.descriptions = [r.get("description") if isinstance(r.get("description"), str)
                             else "" for r in data.records]
        self.columns = np.array([FEATURES.index(name) for name in features])
        self.labels = data.labels

    def username_model(self, train_index: np.ndarray) -> UsernameModel:
        humans = train_index[self.labels[train_index] == 0]
        return UsernameModel.fit([self.usernames[i] for i in humans])

    def tables(self, train_index: np.ndarray) -> tuple[UsernameModel, WordModel, np.ndarray]:
        """The username and word tables fitted on ``train_index``, and the matrix for every row.

        Rows outside ``train_index`` are scored by the tables; rows inside it are scored
        cross-fitted (by tables fitted on the other inner folds of ``train_index``), or the
        trees would learn to trust scores made with their own labels: a training human's
        own bigrams raise its username likelihood, and its own words move its word score.
        """
        usernames = self.username_model(train_index)
        user_scores = usernames.loglik(self.encoded)
        words = WordModel.fit(encode_column([self.descriptions[i] for i in train_index]),
                              self.labels[train_index])
        word_scores = words.score(encode_column(self.descriptions))
        inner = np.random.default_rng(len(train_index)).integers(0, _INNER_FOLDS,
                                                                  len(train_index))
        for k in range(_INNER_FOLDS):
            fit_rows, score_rows = train_index[inner != k], train_index[inner == k]
            user_scores[score_rows] = self.username_model(fit_rows).loglik(
                [self.usernames[i] for i in score_rows])
            part = WordModel.fit(encode_column([self.descriptions[i] for i in fit_rows]),
                                 self.labels[fit_rows])
            word_scores[score_rows] = part.score(
                encode_column([self.descriptions[i] for i in score_rows]))
        return usernames, words, self.matrix(user_scores, word_scores)

    def matrix(self, user_scores: np.ndarray, word_scores: np.ndarray) -> np.ndarray:
        full = self.full.copy()
        full[:, _LOGLIK] = user_scores
        full[:, _WORDS] = word_scores
        return full[:, self.columns]


def _strata(data: LabelledData) -> np.ndarray:
    return np.array([f"{d}|{y}" for d, y in zip(data.datasets, data.labels, strict=True)])


def _split_validation(index: np.ndarray, strata: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    try:
        return tuple(train_test_split(index, test_size=_VALID_SHARE, random_state=seed,
                                      stratify=strata[index]))
    except ValueError:  # a stratum too small to split: fall back to a plain random split
        return tuple(train_test_split(index, test_size=_VALID_SHARE, random_state=seed))


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, params: dict[str, Any], rounds: int,
         valid: tuple[np.ndarray, np.ndarray, np.ndarray],
         early_stopping: int = 50) -> tuple[Any, int]:
    """Up to ``rounds`` trees, stopped early on ``valid``; returns the booster and the best
    round.  (A fit for a known number of rounds is :func:`~botsweep.models.ensemble.fit_bagged`.)"""
    import lightgbm

    train_set = lightgbm.Dataset(x, label=y, weight=w, free_raw_data=True)
    valid_set = lightgbm.Dataset(valid[0], label=valid[1], weight=valid[2], reference=train_set)
    booster = lightgbm.train(
        params, train_set, num_boost_round=rounds, valid_sets=[valid_set],
        callbacks=[lightgbm.early_stopping(early_stopping, verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    return booster, max(best, 1)


def check_folds(folds: int) -> None:
    """InputError unless ``folds`` is at least 2."""
    if folds < 2:
        raise InputError(f"--folds must be at least 2, got {folds}")


def _check_classes(data: LabelledData) -> None:
    if len(set(data.labels.tolist())) < 2:
        only = "bots" if data.labels.size and data.labels[0] == 1 else "humans"
        raise InputError(f"training needs labelled bots and humans; the data has only {only}")


def cross_validate(
    data: LabelledData, *, features: Sequence[str] | None = None, folds: int = 5,
    weighting: str = "dataset", seed: int = 0, params: dict[str, Any] | None = None,
    max_rounds: int = 2000, early_stopping: int = 50,
    progress: Callable[[str], None] | None = None, refit: bool = True,
    boosters: int | None = None, extra: ExtraData | None = None,
) -> CVResult:
    """Stratified k-fold CV; returns OOF raw scores and cross-fitted metrics per dataset.

    ``boosters`` bagged boosters are averaged in each refit (None: :func:`choose_boosters`).
    With ``extra``, its records join every training part; the result covers ``data`` only.
    """
    from sklearn.model_selection import StratifiedKFold

    _check_classes(data)
    check_folds(folds)
    smallest = int(min(np.count_nonzero(data.labels), np.count_nonzero(data.labels == 0)))
    if folds > smallest:
        raise InputError(f"--folds {folds}: the smaller class has only {smallest} accounts, "
                         "and every fold needs bots and humans; use fewer folds")
    chosen = list(features) if features is not None else list(FEATURES)
    merged = {**DEFAULT_PARAMS, "seed": seed, **_size_params(len(data)), **(params or {})}
    bagged = choose_boosters(boosters, len(data))
    rows = combined(data, extra)
    weights = row_weights(data, extra, weighting)
    strata = _strata(rows)
    cache = _Matrix(rows, chosen)
    y = rows.labels.astype(np.float64)
    extra_index = np.arange(len(data), len(rows))
    raw = np.zeros(len(data))
    fold_of = np.full(len(data), -1)
    best: list[int] = []
    grown: list[float] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed)
                      .split(raw, strata[:len(data)]))
    for k, (own_train, test_index) in enumerate(splits):
        fit_index, valid_index = _split_validation(own_train, strata, seed + k)
        train_index = own_train
        if extra is not None:
            train_index = np.concatenate([own_train, extra_index])
            fit_index = np.concatenate([fit_index, extra_index])
            grown.append(len(train_index) / len(fit_index))
        x = cache.tables(train_index)[2]
        if extra is not None:
            x = with_own_column(x, len(data))
        booster, iterations = _fit(
            x[fit_index], y[fit_index], weights[fit_index], merged, max_rounds,
            (x[valid_index], y[valid_index], weights[valid_index]), early_stopping)
        if refit:  # the stopping round is known: retrain on the whole training part
            rounds = refit_rounds(iterations, len(data), grown[-1] if grown else None)
            booster = fit_bagged(x[train_index], y[train_index], weights[train_index],
                                 merged, rounds, bagged)
            iterations_used = None
        else:
            iterations_used = iterations
        raw[test_index] = booster.predict(x[test_index], num_iteration=iterations_used)
        fold_of[test_index] = k
        best.append(iterations)
        if progress:
            bag = f" x {bagged} boosters" if refit and bagged > 1 else ""
            progress(f"fold {k + 1}/{folds}: {iterations} trees{bag}")
    y, weights = y[:len(data)], weights[:len(data)]
    prob = np.zeros(len(data))
    predicted = np.zeros(len(data), dtype=np.int8)
    for k in range(folds):
        here, others = fold_of == k, fold_of != k
        calibrator = Calibrator.fit(raw[others], y[others], weights[others])
        cut = choose_threshold(calibrator(raw[others]), y[others], weights[others])
        prob[here] = calibrator(raw[here])
        predicted[here] = prob[here] >= cut
    # AUC ranks the raw OOF scores: each fold's calibrator is monotone, but pooling folds
    # calibrated by slightly different maps would blur the ranking that the model made.
    metrics = metrics_by_dataset(data.labels, raw, predicted, data.datasets)
    features_used = chosen + [OWN_LABELS] if extra is not None else chosen
    return CVResult(features_used, raw, prob, predicted, fold_of, weights, best, metrics,
                    boosters=bagged if refit else 1, extra=extra,
                    grown=float(np.mean(grown)) if grown else None)


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import lightgbm
    import pandas
    import sklearn

    try:
        botsweep_version = version("botsweep")
    except PackageNotFoundError:
        botsweep_version = "unknown"
    return {"botsweep": botsweep_version, "lightgbm": lightgbm.__version__,
            "numpy": np.__version__, "pandas": pandas.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def train_model(
    data: LabelledData, *, features: Sequence[str] | None = None, folds: int = 5,
    weighting: str = "dataset", seed: int = 0, params: dict[str, Any] | None = None,
    max_rounds: int = 2000, early_stopping: int = 50,
    progress: Callable[[str], None] | None = None, cv: CVResult | None = None,
    extra: ExtraData | None = None,
) -> tuple[BotScorer, CVResult]:
    """Cross-validate, then fit the final calibrated model on every record (and ``extra``'s;
    a given ``cv`` brings its own extra data)."""
    cv = cv or cross_validate(
        data, features=features, folds=folds, weighting=weighting, seed=seed, params=params,
        max_rounds=max_rounds, early_stopping=early_stopping, progress=progress, extra=extra)
    extra = cv.extra
    merged = {**DEFAULT_PARAMS, "seed": seed, **_size_params(len(data)), **(params or {})}
    rounds = refit_rounds(float(np.mean(cv.best_iterations)), len(data), cv.grown)
    rows = combined(data, extra)
    base = [name for name in cv.features if name != OWN_LABELS]
    cache = _Matrix(rows, base)
    username_model, word_model, x = cache.tables(np.arange(len(rows)))
    if extra is not None:
        x = with_own_column(x, len(data))
    booster = fit_bagged(x, rows.labels.astype(np.float64), row_weights(data, extra, weighting),
                         merged, rounds, cv.boosters)
    y = data.labels.astype(np.float64)
    calibrator = Calibrator.fit(cv.raw, y, cv.weights)
    threshold = choose_threshold(calibrator(cv.raw), y, cv.weights)
    gains = booster.feature_importance(importance_type="gain")
    if not gains.sum() > 0:  # every tree a single leaf: the same score for any account
        raise InputError(
            f"the model learned nothing from {len(data)} accounts: no tree found a split, so "
            "it would give every account the same score; train on more labelled accounts "
            "(a few hundred of each class)")
    share = gains / gains.sum()
    importance = dict(sorted(zip(cv.features, (round(float(v), 5) for v in share), strict=True),
                             key=lambda kv: -kv[1]))
    created = datetime.now(UTC)
    text = booster.model_to_string()
    version = model_version(text, calibrator.to_dict(), threshold, cv.features, created)
    meta = {
        "format": MODEL_FORMAT,
        "version": version,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "threshold_rule": "maximises weighted balanced accuracy on out-of-fold scores",
        "weighting": weighting,
        "params": merged,
        "num_boost_round": rounds,
        "boosters": cv.boosters,
        "library_versions": _library_versions(),
        "data_summary": data.summary,
        "metrics": {"cv_folds": len(cv.best_iterations), "cv": cv.metrics,
                    "best_iterations": cv.best_iterations},
        "feature_importance_gain": importance,
    }
    if extra is not None:
        meta["extra_data"] = extra.summary()
    scorer = BotScorer(booster, cv.features, threshold, calibrator, username_model, meta, version,
                       word_model=word_model)
    return scorer, cv
