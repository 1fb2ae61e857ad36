"""How well a model generalises: leave-one-dataset-out (LODO) and like_count reliance.

Leave-one-dataset-out: for each dataset D, a model is trained on every *other* dataset
(85% for the trees, with early stopping on the other 15%), its calibrator and threshold
are fitted on that 15%, and D is scored.  Nothing about D shapes the model, the username
table, the calibration or the threshold, so the row says what a user scoring a new kind
of account would see.  One-class datasets (botwiki, verified, ...) get accuracy on their
one class only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.models.calibration import Calibrator, choose_threshold
from botsweep.models.dataset import LabelledData, sample_weights
from botsweep.models.features import FEATURES
from botsweep.models.metrics import binary_metrics
from botsweep.models.train import (
    DEFAULT_PARAMS,
    _fit,
    _Matrix,
    _split_validation,
    _strata,
)

__all__ = ["LodoResult", "check_datasets", "leave_one_dataset_out", "pooled_row"]


@dataclass
class LodoResult:
    """Per held-out dataset metrics, and the held-out scores behind them."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    prob: np.ndarray | None = None
    predicted: np.ndarray | None = None


def pooled_row(labels: np.ndarray, prob: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """One metrics row over every held-out prediction (each scored by a model blind to it)."""
    return binary_metrics(labels, prob, predicted)


def check_datasets(data: LabelledData) -> None:
    """Leave-one-dataset-out needs two datasets or more; say so before any training."""
    names = data.dataset_names()
    if len(names) < 2:
        raise InputError(
            "leave-one-dataset-out needs at least two datasets (records' _source or file "
            f"names); got only {names[0] if names else 'none'}. For one dataset's "
            "cross-validation, run `botsweep train --data ...`")


def leave_one_dataset_out(
    data: LabelledData, *, features: Sequence[str] | None = None, weighting: str = "dataset",
    seed: int = 0, params: dict[str, Any] | None = None, max_rounds: int = 2000,
    early_stopping: int = 50, progress: Callable[[str], None] | None = None,
) -> LodoResult:
    """Train on all datasets but one, score that one; a row per dataset plus ``all``."""
    check_datasets(data)
    names = data.dataset_names()
    chosen = list(features) if features is not None else list(FEATURES)
    merged = {**DEFAULT_PARAMS, "seed": seed, **(params or {})}
    cache = _Matrix(data, chosen)
    strata = _strata(data)
    y = data.labels.astype(np.float64)
    prob = np.zeros(len(data))
    predicted = np.zeros(len(data), dtype=np.int8)
    result = LodoResult()
    for name in names:
        held = data.datasets == name
        train_index = np.flatnonzero(~held)
        if len(set(data.labels[train_index].tolist())) < 2:
            if progress:
                progress(f"{name}: skipped (the other datasets hold only one class)")
            continue
        weights = np.zeros(len(data))
        weights[train_index] = sample_weights(data.labels[train_index],
                                              data.datasets[train_index], weighting)
        x = cache.tables(train_index)[2]
        fit_index, valid_index = _split_validation(train_index, strata, seed)
        booster, iterations = _fit(
            x[fit_index], y[fit_index], weights[fit_index], merged, max_rounds,
            (x[valid_index], y[valid_index], weights[valid_index]), early_stopping)
        valid_raw = booster.predict(x[valid_index], num_iteration=iterations)
        calibrator = Calibrator.fit(valid_raw, y[valid_index], weights[valid_index])
        cut = choose_threshold(calibrator(valid_raw), y[valid_index], weights[valid_index])
        raw = booster.predict(x[held], num_iteration=iterations)
        prob[held] = calibrator(raw)
        predicted[held] = prob[held] >= cut
        # AUC ranks the raw scores (isotonic calibration ties many of them).
        result.rows[name] = binary_metrics(data.labels[held], raw, predicted[held])
        if progress:
            progress(f"held out {name}: {iterations} trees")
    scored = np.isin(data.datasets, list(result.rows))
    if len(result.rows) > 1:
        result.rows["all"] = pooled_row(data.labels[scored], prob[scored], predicted[scored])
    result.prob, result.predicted = prob, predicted
    return result
