"""Classification metrics per dataset, and the Markdown tables the CLI prints.

Rows hold: accounts, bots, humans, accuracy on bots (recall of bots), accuracy on humans
(recall of humans), balanced accuracy (their mean), ROC AUC and F1 (bots positive).  A
metric that needs both classes is ``None`` for a one-class dataset (botwiki, verified...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["binary_metrics", "metrics_by_dataset", "markdown_table", "METRIC_COLUMNS", "fmt"]

METRIC_COLUMNS = ("accounts", "bots", "humans", "acc_bots", "acc_humans", "balanced_acc",
                  "auc", "f1")
_HEADERS = {"accounts": "accounts", "bots": "bots", "humans": "humans", "acc_bots": "acc bots",
            "acc_humans": "acc humans", "balanced_acc": "bal. acc", "auc": "AUC", "f1": "F1"}


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties count one half)."""
    import pandas as pd

    ranks = pd.Series(scores).rank(method="average").to_numpy()
    pos = labels.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_metrics(labels: np.ndarray, probs: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Metrics for one group; ``probs`` rank for AUC, ``predicted`` is the 0/1 label."""
    y = np.asarray(labels).astype(bool)
    pred = np.asarray(predicted).astype(bool)
    bots, humans = int(y.sum()), int((~y).sum())
    row: dict[str, Any] = {"accounts": int(len(y)), "bots": bots, "humans": humans}
    row["acc_bots"] = float(pred[y].mean()) if bots else None
    row["acc_humans"] = float((~pred[~y]).mean()) if humans else None
    both = bots > 0 and humans > 0
    row["balanced_acc"] = (row["acc_bots"] + row["acc_humans"]) / 2 if both else None
    row["auc"] = _auc(y, np.asarray(probs, dtype=np.float64)) if both else None
    tp = int((pred & y).sum())
    denominator = int(pred.sum()) + bots
    row["f1"] = 2 * tp / denominator if bots and denominator else None
    return row


def metrics_by_dataset(labels: np.ndarray, probs: np.ndarray, predicted: np.ndarray,
                       datasets: np.ndarray) -> dict[str, dict[str, Any]]:
    """One row per dataset (sorted) plus ``all`` for the pooled records.

    ``probs`` only ranks (for AUC); ``predicted`` gives every other column.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(datasets.tolist())):
        mask = datasets == name
        out[name] = binary_metrics(labels[mask], probs[mask], predicted[mask])
    if len(out) > 1:
        out["all"] = binary_metrics(labels, probs, predicted)
    return out


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(rows: Mapping[str, Mapping[str, Any]],
                   columns: Sequence[str] = METRIC_COLUMNS, first: str = "dataset",
                   headers: Mapping[str, str] | None = None) -> str:
    """A GitHub-flavoured Markdown table: one line per row key."""
    names = {**_HEADERS, **(headers or {})}
    head = [first, *[names.get(c, c) for c in columns]]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * len(columns)) + "|"]
    for key, row in rows.items():
        cells = [str(key), *[fmt(row.get(c)) for c in columns]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
