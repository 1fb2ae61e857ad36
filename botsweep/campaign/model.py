"""The campaign model: a logistic model on hashed profile features, stored as compact JSON.

:func:`fit_model` first sets aside the unlabelled bots that look like the campaign
(:func:`_reliable_negatives`), then cross-validates (out-of-fold probabilities give the
precision and recall estimates, and the cut that maximises F1), fits on every row, and
moves the intercept so that the chosen cut sits at probability 0.5, which is where the
crawler's ``smart`` policy and the report draw the line.  :class:`CampaignModel`
satisfies the crawler's ``ProbabilityModel`` protocol (``version``, ``threshold``,
``predict_proba(records)``).

The generic bot probability is one of the features.  ``predict_proba`` reads it from a
record's ``_bot_probability`` when the caller put it there (the DB scoring path does),
else asks ``bot_scorer`` (the crawler passes the scorer it already has); without either it
uses the ``bot:missing`` token, which training never sees, so scores stay usable.

No pickle: the JSON holds the hashing scheme, the non-zero weights (index and value), the
intercept, the threshold, the readable fingerprint and the metrics.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from botsweep.campaign.features import CampaignFeaturizer, HashingScheme, describe_token
from botsweep.errors import InputError, ModelError

__all__ = [
    "CampaignModel",
    "TrainingData",
    "fit_model",
    "MODEL_FORMAT",
    "MIN_SEEDS",
]

MODEL_FORMAT = "botsweep-campaign/1"
MIN_SEEDS = 3
_PRUNE = 1e-4
SPY_QUANTILE = 0.3
SET_ASIDE_KINDS = ("unlabelled", "background")
_CUTS = np.round(np.arange(0.2, 0.91, 0.05), 2)


class _Scorer(Protocol):
    version: str
    threshold: float

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray: ...


@dataclass
class TrainingData:
    """Rows to fit on: ``y`` 1 for the campaign; ``kinds`` is seed, label or background."""

    records: list[dict[str, Any]]
    y: np.ndarray
    weights: np.ndarray
    kinds: np.ndarray
    bot_probabilities: np.ndarray
    ids: list[int] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def subset(self, mask: np.ndarray) -> TrainingData:
        index = np.flatnonzero(mask)
        return TrainingData([self.records[i] for i in index], self.y[index], self.weights[index],
                            self.kinds[index], self.bot_probabilities[index],
                            [self.ids[i] for i in index] if self.ids else [], dict(self.summary))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


class CampaignModel:
    """A fitted campaign model: records in, probabilities of belonging to the campaign out."""

    def __init__(self, name: str, scheme: HashingScheme, indices: np.ndarray,
                 values: np.ndarray, intercept: float, *, threshold: float = 0.5,
                 meta: Mapping[str, Any] | None = None, version: str | None = None,
                 bot_scorer: _Scorer | None = None) -> None:
        self.name = name
        self.scheme = scheme
        self.indices = np.asarray(indices, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        if self.indices.size and (self.indices.min() < 0
                                  or self.indices.max() >= scheme.n_features):
            raise ModelError(f"campaign model {name!r}: a weight index is outside the scheme")
        self.intercept = float(intercept)
        self.threshold = float(threshold)
        self.meta: dict[str, Any] = dict(meta or {})
        self.version = version or _version(name, scheme, self.indices, self.values,
                                           self.intercept, datetime.now(UTC))
        self.bot_scorer = bot_scorer
        self._featurizer: CampaignFeaturizer | None = None
        self._dense: np.ndarray | None = None

    @property
    def featurizer(self) -> CampaignFeaturizer:
        if self._featurizer is None:
            self._featurizer = CampaignFeaturizer(self.scheme)
        return self._featurizer

    def _weights(self) -> np.ndarray:
        if self._dense is None:
            dense = np.zeros(self.scheme.n_features)
            dense[self.indices] = self.values
            self._dense = dense
        return self._dense

    # -- scoring -------------------------------------------------------------------------
    def bot_probabilities(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Each record's generic bot probability: its ``_bot_probability``, else the scorer's."""
        probs = np.array([_number(r.get("_bot_probability")) for r in records], dtype=np.float64)
        missing = np.flatnonzero(np.isnan(probs))
        if missing.size and self.bot_scorer is not None:
            probs[missing] = self.bot_scorer.predict_proba([records[i] for i in missing])
        return probs

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Probability in [0, 1] that each record belongs to the campaign."""
        if not records:
            return np.zeros(0, dtype=np.float64)
        matrix = self.featurizer.transform(records, self.bot_probabilities(records))
        return _sigmoid(matrix @ self._weights() + self.intercept)

    def explain(self, record: Mapping[str, Any], top: int = 3,
                bot_probability: float | None = None) -> dict[str, list[tuple[str, float]]]:
        """The readable tokens that push this record's score up (``for``) and down."""
        if bot_probability is None:
            bot_probability = float(self.bot_probabilities([record])[0])
        named = self.featurizer.named_tokens(record, bot_probability)
        if not named:
            return {"for": [], "against": []}
        names = list(named)
        contributions = self._weights()[self.featurizer.columns(names)] * np.array(
            [named[n] for n in names])
        order = np.argsort(contributions)
        up = [(names[i], float(contributions[i])) for i in order[::-1][:top]
              if contributions[i] > 0.05]
        down = [(names[i], float(contributions[i])) for i in order[:top]
                if contributions[i] < -0.05]
        return {"for": up, "against": down}

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = dict(self.meta)
        data.update({
            "format": MODEL_FORMAT,
            "name": self.name,
            "version": self.version,
            "threshold": self.threshold,
            "intercept": round(self.intercept, 6),
            "scheme": self.scheme.to_dict(),
            "weights": {"index": self.indices.tolist(),
                        "value": [round(float(v), 5) for v in self.values]},
        })
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "campaign model",
                  bot_scorer: _Scorer | None = None) -> CampaignModel:
        if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ModelError(f"{source}: format {got!r} is not {MODEL_FORMAT!r}; refit it with "
                             "`botsweep campaign fit`")
        try:
            weights = data["weights"]
            indices = np.asarray(weights["index"], dtype=np.int64)
            values = np.asarray(weights["value"], dtype=np.float64)
            if indices.shape != values.shape:
                raise ValueError("index and value lists differ in length")
            meta = {k: v for k, v in data.items()
                    if k not in ("weights", "scheme", "intercept", "format")}
            return cls(str(data["name"]), HashingScheme.from_dict(data["scheme"]), indices,
                       values, float(data["intercept"]), threshold=float(data["threshold"]),
                       meta=meta, version=str(data["version"]), bot_scorer=bot_scorer)
        except KeyError as exc:
            raise ModelError(f"{source}: lacks {exc.args[0]!r}; refit it with "
                             "`botsweep campaign fit`") from None
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{source}: unreadable ({exc}); refit it with "
                             "`botsweep campaign fit`") from None

    @classmethod
    def from_json(cls, text: str, source: str = "campaign model",
                  bot_scorer: _Scorer | None = None) -> CampaignModel:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{source}: not JSON ({exc.msg})") from None
        return cls.from_dict(data, source, bot_scorer)


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


def _version(name: str, scheme: HashingScheme, indices: np.ndarray, values: np.ndarray,
             intercept: float, when: datetime) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(scheme.to_dict(), sort_keys=True).encode())
    digest.update(indices.astype("<i8").tobytes())
    digest.update(np.round(values, 5).astype("<f8").tobytes())
    digest.update(repr(round(intercept, 6)).encode())
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:48]
    return f"campaign-{safe}-{when:%Y%m%d}-{digest.hexdigest()[:8]}"


def _logistic(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="liblinear", intercept_scaling=10.0, max_iter=1000,
                              random_state=seed)


def _cross_validate(matrix: Any, data: TrainingData, c: float, folds: int,
                    seed: int) -> np.ndarray | None:
    """Out-of-fold probabilities, or None when there are too few rows of a class."""
    from sklearn.model_selection import StratifiedKFold

    n_pos = int(data.y.sum())
    k = min(folds, n_pos, len(data.y) - n_pos)
    if k < 2:
        return None
    oof = np.zeros(len(data.y))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(data.y)), data.y):
        model = _logistic(c, seed).fit(matrix[train], data.y[train],
                                       sample_weight=data.weights[train])
        oof[test] = model.predict_proba(matrix[test])[:, 1]
    return oof


def _reliable_negatives(data: TrainingData, matrix: Any, c: float, folds: int,
                        seed: int) -> tuple[TrainingData, Any, int]:
    """Two-step PU learning: drop the unlabelled rows that look like the campaign.

    Unlabelled bots (the generic model's bots that no seed or label mentions) teach the
    model what *other* networks look like, and the background (the generic model's humans)
    what people look like; but both hold campaign members, the background all those the
    generic model misses.  A first fit scores them; those that score at least as high as
    the lowest ``SPY_QUANTILE`` of the campaign's held-out rows (the seeds act as spies)
    are set aside, and the final model is fitted without them.  Labelled rows are never
    set aside.  Returns the kept rows, their matrix, and how many were set aside.
    """
    unlabelled = np.isin(data.kinds, SET_ASIDE_KINDS)
    if not unlabelled.any():
        return data, matrix, 0
    oof = _cross_validate(matrix, data, c, folds, seed)
    positives = oof[data.y == 1] if oof is not None else np.zeros(0)
    if positives.size == 0:
        return data, matrix, 0
    spy = float(np.quantile(positives, SPY_QUANTILE))
    first = _logistic(c, seed).fit(matrix, data.y, sample_weight=data.weights)
    scores = np.zeros(len(data.y))
    scores[unlabelled] = first.predict_proba(matrix[unlabelled])[:, 1]
    keep = ~(unlabelled & (scores >= spy))
    return data.subset(keep), matrix[np.flatnonzero(keep)], int(np.sum(~keep))


def _metrics_at(oof: np.ndarray, y: np.ndarray, cut: float) -> dict[str, float]:
    flagged = oof >= cut
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    fn = int(np.sum(~flagged & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "tp": tp, "fp": fp, "fn": fn}


def _choose_cut(oof: np.ndarray, y: np.ndarray) -> float:
    """The cut (0.2-0.9) with the best out-of-fold F1; ties go to the higher cut."""
    best, best_f1 = 0.5, -1.0
    for cut in _CUTS:
        f1 = _metrics_at(oof, y, float(cut))["f1"]
        if f1 >= best_f1:
            best, best_f1 = float(cut), f1
    return best


def _fingerprint(coef: np.ndarray, featurizer: CampaignFeaturizer, data: TrainingData,
                 top: int = 20) -> list[list[Any]]:
    """The readable tokens of campaign rows that push their score up most (weight times
    the token's value, which carries the scheme's domain and shape weights)."""
    seen: dict[str, int] = {}
    values: dict[str, float] = {}
    for record, y, p in zip(data.records, data.y, data.bot_probabilities, strict=True):
        if y == 1:
            for token, value in featurizer.named_tokens(record, float(p)).items():
                seen[token] = seen.get(token, 0) + 1
                values[token] = max(values.get(token, 0.0), value)
    names = [t for t in seen if t != "bot"]
    if not names:
        return []
    weights = coef[featurizer.columns(names)] * np.array([values[t] for t in names])
    order = np.argsort(weights)[::-1][:top]
    n_pos = max(1, int(data.y.sum()))
    return [[names[i], round(float(weights[i]), 4), round(seen[names[i]] / n_pos, 3),
             describe_token(names[i])] for i in order if weights[i] > 0]


def fit_model(name: str, data: TrainingData, *, scheme: HashingScheme | None = None,
              c: float = 1.0, folds: int = 5, seed: int = 0,
              bot_scorer: _Scorer | None = None) -> CampaignModel:
    """Cross-validate and fit a campaign model on ``data``; raise InputError if too thin."""
    n_pos = int(np.sum(data.y == 1))
    n_neg = int(np.sum(data.y == 0))
    if n_pos < MIN_SEEDS:
        raise InputError(
            f"campaign {name!r}: {n_pos} profiled account(s) labelled bot in it; at least "
            f"{MIN_SEEDS} are needed (10 or more work better)"
        )
    if n_neg == 0 or not np.any((data.kinds != "unlabelled") & (data.y == 0)):
        raise InputError(
            f"campaign {name!r}: nothing to contrast the seeds with; crawl first "
            "(`botsweep crawl`) so that accounts the bot model scores as human serve as "
            "background, or label some humans (`botsweep label ID --label human`)"
        )
    featurizer = CampaignFeaturizer(scheme)
    wide = featurizer.transform(data.records, data.bot_probabilities)
    # Fit on the columns that occur (a few thousand of ~850k): the solver's cost grows with
    # the width, and a column that never occurs gets weight 0 anyway.
    used = np.unique(wide.indices)
    matrix = wide[:, used]
    data, matrix, set_aside = _reliable_negatives(data, matrix, c, folds, seed)
    n_neg = int(np.sum(data.y == 0))
    oof = _cross_validate(matrix, data, c, folds, seed)
    # Unlabelled bots are negatives to learn from, not to judge by: the cut and the metrics
    # come from seeds, labels and the human background.
    known = data.kinds != "unlabelled"
    cut = (_choose_cut(oof[known], data.y[known]) if oof is not None and n_pos >= 5
           else 0.5)
    model = _logistic(c, seed).fit(matrix, data.y, sample_weight=data.weights)
    coef = np.zeros(featurizer.n_features)
    coef[used] = model.coef_[0]
    keep = np.flatnonzero(np.abs(coef) >= _PRUNE)
    intercept = float(model.intercept_[0]) - math.log(cut / (1.0 - cut))
    metrics: dict[str, Any] = {"cv_folds": 0}
    if oof is not None:
        folds_used = min(folds, n_pos, n_neg)
        metrics = {"cv_folds": folds_used, "cut": cut,
                   **_metrics_at(oof[known], data.y[known], cut)}
        labelled = (data.kinds != "background") & known
        if np.any(labelled & (data.y == 0)):
            metrics["labelled_only"] = _metrics_at(oof[labelled], data.y[labelled], cut)
    fitted = datetime.now(UTC)
    meta = {
        "fitted_at": fitted.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fitted_epoch": fitted.timestamp(),
        "c": c,
        "training": dict(data.summary, positives=n_pos, negatives=n_neg,
                         background=int(np.sum(data.kinds == "background")),
                         unlabelled=int(np.sum(data.kinds == "unlabelled")),
                         unlabelled_set_aside=set_aside),
        "metrics": metrics,
        "fingerprint": _fingerprint(coef, featurizer, data),
    }
    result = CampaignModel(name, featurizer.scheme, keep, coef[keep], intercept, threshold=0.5,
                           meta=meta, bot_scorer=bot_scorer)
    result._featurizer = featurizer
    return result
