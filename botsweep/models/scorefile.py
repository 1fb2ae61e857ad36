"""Scoring a profile file into a CSV (``botsweep score --input FILE --output FILE.csv``).

The output is ``id,bot_probability,label,display_score`` as FORMATS.md specifies:
``label`` is ``bot`` or ``human`` at the model's threshold and ``display_score`` is
5 x probability, rounded to one decimal.  Records are read and scored in batches, so a
file of millions of profiles needs memory for one batch only.  The CSV is written to a
temporary file beside the output and renamed into place, so a bad line half-way through
the input leaves no half-written CSV behind.  Account age runs to a record's
``_collected_at`` (or ``_fetched_at``), else to the time of scoring.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.models.io import iter_profiles
from botsweep.models.scorer import BotScorer, display_scores

__all__ = ["score_file", "SCORE_COLUMNS"]

SCORE_COLUMNS = ("id", "bot_probability", "label", "display_score")


def _batches(path: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for _, record in iter_profiles(path):
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows(scorer: BotScorer, records: list[Mapping[str, Any]],
          now: datetime) -> Iterator[tuple[str, str, str, str]]:
    probs = scorer.predict_proba(records, now=now)
    labels = scorer.labels(probs)
    shown = display_scores(probs)
    for record, p, label, d in zip(records, probs.tolist(), labels.tolist(), shown.tolist(),
                                   strict=True):
        yield str(record["id"]), f"{p:.6f}", label, f"{d:.1f}"


def score_file(scorer: BotScorer, input_path: str | Path, output_path: str | Path, *,
               batch: int = 50_000, now: datetime | None = None) -> dict[str, Any]:
    """Score every profile in ``input_path`` into ``output_path``; return a small summary."""
    source, target = Path(input_path), Path(output_path)
    if not target.parent.exists():
        raise InputError(f"--output {target}: directory {target.parent} does not exist")
    if target.resolve() == source.resolve():
        raise InputError(f"--output {target}: would overwrite the input file")
    when = now or datetime.now(UTC)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    count = bots = 0
    total = 0.0
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(SCORE_COLUMNS)
            for records in _batches(source, batch):
                rows = list(_rows(scorer, records, when))
                writer.writerows(rows)
                count += len(rows)
                bots += sum(1 for row in rows if row[2] == "bot")
                total += float(np.sum([float(row[1]) for row in rows]))
        tmp.replace(target)
    except OSError as exc:
        raise InputError(f"--output {target}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"scored": count, "bots": bots, "mean_probability": total / count if count else None,
            "output": str(target), "model_version": scorer.version}
