"""Your own labels, helped by other labelled sets: ``botsweep train --extra-data PATH``.

A user's own label set is small (a few thousand accounts), and its idea of "bot" is its
own (brands and auto-publishers, a spam wave, a campaign).  The public sets in
``../shared/data/profiles`` are larger but define "bot" differently, so pooled naively they
pull the model away from the user's definition (docs/model-card.md, "The effect of dataset
weighting").  Here they are *extra* data, on the user's terms:

* every training part of the cross-validation, and the final fit, holds all the extra
  accounts; the folds, the early stopping, the calibration, the threshold and every
  reported figure use the user's own accounts only;
* a feature, ``own_labels``, is 1 on the user's accounts and 0 on the extra ones, so the
  trees can learn where the two definitions part; the scorer sets it to 1, so a crawl is
  scored by the user's definition;
* the extra accounts weigh ``extra_weight`` times the user's in total (split by the same
  weighting scheme), so they inform the model without outvoting the user;
* an extra account that is also among the user's is dropped: the user's label wins, and a
  held-out account never has a twin in its training part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from botsweep.errors import InputError
from botsweep.models.dataset import LabelledData, per_dataset_counts, sample_weights
from botsweep.models.features import OWN_LABELS

__all__ = ["OWN_LABELS", "DEFAULT_EXTRA_WEIGHT", "ExtraData", "prepare_extra",
           "check_extra_weight", "combined", "row_weights", "with_own_column"]

# The extra accounts' total weight against the user's.  With each of four shared sets as
# the user's labels and the other eight as extra, 5-fold CV balanced accuracy moved by
# +0.013 (botometer-feedback-2019, 517 accounts), +0.004 (cresci-rtbust-2019, 693), +0.0005
# (tweetbotornot-train, 3,208) and -0.003 (gilani-2017, 2,465) at 0.05; at 0.2 by +0.010,
# +0.003, +0.0003 and -0.008 (docs/model-card.md, "Sixth session").
DEFAULT_EXTRA_WEIGHT = 0.05


@dataclass(frozen=True)
class ExtraData:
    """Extra labelled accounts (none of them among the user's) and their total weight."""

    data: LabelledData
    weight: float
    dropped: int  # extra accounts dropped because the user's labels hold them too

    def summary(self) -> dict[str, object]:
        return {"accounts": len(self.data), "weight": self.weight,
                "dropped_as_own": self.dropped, "datasets": self.data.summary.get("datasets", {})}


def check_extra_weight(weight: float) -> None:
    """InputError unless ``weight`` is a finite number above 0."""
    if not weight > 0 or not np.isfinite(weight):
        raise InputError(f"--extra-weight must be a number above 0, got {weight}")


def prepare_extra(own: LabelledData, extra: LabelledData, weight: float) -> ExtraData:
    """``extra`` without the accounts ``own`` holds; InputError if nothing is left."""
    check_extra_weight(weight)
    own_ids = {str(record["id"]) for record in own.records}
    keep = np.fromiter((str(record["id"]) not in own_ids for record in extra.records),
                       dtype=bool, count=len(extra))
    if not keep.any():
        raise InputError("--extra-data holds no account that is not already in --data")
    kept = extra.subset(keep)
    kept.summary["datasets"] = per_dataset_counts(kept.datasets.tolist(), kept.labels)
    return ExtraData(kept, float(weight), int((~keep).sum()))


def combined(own: LabelledData, extra: ExtraData | None) -> LabelledData:
    """The user's accounts first (rows ``0 .. len(own) - 1``), then the extra ones."""
    if extra is None:
        return own
    more = extra.data
    return LabelledData(own.records + more.records,
                        np.concatenate([own.labels, more.labels]),
                        np.concatenate([own.datasets, more.datasets]), dict(own.summary))


def row_weights(own: LabelledData, extra: ExtraData | None, weighting: str) -> np.ndarray:
    """Training weights for :func:`combined` rows: the user's as ``sample_weights`` gives
    them (mean 1), the extra ones scaled to ``extra.weight`` times the user's total."""
    weights = sample_weights(own.labels, own.datasets, weighting)
    if extra is None:
        return weights
    more = sample_weights(extra.data.labels, extra.data.datasets, weighting)
    more *= extra.weight * weights.sum() / more.sum()
    return np.concatenate([weights, more])


def with_own_column(x: np.ndarray, own_count: int) -> np.ndarray:
    """``x`` with the ``own_labels`` column appended: 1 on the first ``own_count`` rows."""
    column = np.zeros((x.shape[0], 1), dtype=x.dtype)
    column[:own_count] = 1.0
    return np.hstack([x, column])
