"""Isotonic calibration and threshold choice, stored as plain JSON (no pickle).

:class:`Calibrator` maps LightGBM's raw probability to a calibrated one by linear
interpolation between isotonic knots, exactly as scikit-learn's ``IsotonicRegression``
predicts with ``out_of_bounds="clip"``; only fitting needs scikit-learn.  Isotonic
regression is flat between knots, which would tie accounts that the model ranks apart,
so a tiny term (``1e-6 x raw``, rescaled to stay inside [0, 1]) breaks ties without
moving any probability by more than 1e-6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from botsweep.errors import ModelError

__all__ = ["Calibrator", "choose_threshold"]

_TIE_BREAK = 1e-6


class Calibrator:
    """Monotone map from raw model output in [0, 1] to a calibrated probability in [0, 1]."""

    def __init__(self, knots_x: np.ndarray, knots_y: np.ndarray) -> None:
        x = np.asarray(knots_x, dtype=np.float64)
        y = np.asarray(knots_y, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or len(x) < 1:
            raise ModelError("calibration: knots must be two equal-length lists of numbers")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ModelError("calibration: knots must be finite")
        if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
            raise ModelError("calibration: knots must be non-decreasing in x and y")
        if y[0] < 0 or y[-1] > 1:
            raise ModelError("calibration: knot probabilities must lie in [0, 1]")
        self.x = x
        self.y = y

    @classmethod
    def fit(cls, raw: np.ndarray, labels: np.ndarray,
            weights: np.ndarray | None = None) -> Calibrator:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(labels, dtype=np.float64),
                sample_weight=weights)
        return cls(iso.X_thresholds_, iso.y_thresholds_)

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        calibrated = np.interp(raw, self.x, self.y)
        out = (calibrated + _TIE_BREAK * np.clip(raw, 0.0, 1.0)) / (1.0 + _TIE_BREAK)
        return np.clip(out, 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "isotonic", "x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        if not isinstance(data, Mapping) or data.get("kind") != "isotonic":
            raise ModelError("calibration: expected {'kind': 'isotonic', 'x': [...], 'y': [...]}")
        try:
            return cls(np.asarray(data["x"], dtype=np.float64),
                       np.asarray(data["y"], dtype=np.float64))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"calibration: malformed knots ({exc})") from None


def choose_threshold(probs: np.ndarray, labels: np.ndarray,
                     weights: np.ndarray | None = None) -> float:
    """The cut (``bot`` when ``p >= cut``) that maximises weighted balanced accuracy.

    Any cut between two neighbouring distinct scores gives the same labels, so the
    midpoint of the best gap is returned.  Needs both classes.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    w = np.ones(len(probs)) if weights is None else np.asarray(weights, dtype=np.float64)
    pos, neg = w[labels].sum(), w[~labels].sum()
    if pos <= 0 or neg <= 0:
        raise ModelError("choosing a threshold needs labelled bots and humans")
    order = np.argsort(-probs, kind="stable")
    p, wp, wn = probs[order], (w * labels)[order], (w * ~labels)[order]
    last_of_value = np.append(p[1:] != p[:-1], True)
    tp = np.cumsum(wp)[last_of_value]
    fp = np.cumsum(wn)[last_of_value]
    values = p[last_of_value]
    score = tp / pos + (1.0 - fp / neg)
    best = int(np.argmax(score))
    lower = values[best + 1] if best + 1 < len(values) else 0.0
    return float((values[best] + lower) / 2.0)
