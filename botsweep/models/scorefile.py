"""Scoring a profile file into a CSV (``botsweep score --input FILE --output FILE.csv``).

The output is ``id,bot_probability,label,display_score`` as FORMATS.md specifies:
``label`` is ``bot`` or ``human`` at the model's threshold and ``display_score`` is
5 x probability, rounded to one decimal.  Records are read and scored in batches, so a
file of millions of profiles needs memory for one batch, plus each id's first line number.
The CSV is written to a temporary file beside the output and renamed into place, so a bad
line half-way through the input leaves no half-written CSV behind.  Account age runs to a
record's ``_collected_at`` (or ``_fetched_at``), else to the time of scoring.

The CSV has one row per id.  A line that repeats an earlier line's record exactly is
skipped (and counted); a line whose id is on an earlier line with other fields stops the
command, naming both lines, since either record's score could be the one wanted.  Only
the repeats' fingerprints are kept: the first occurrences are read again, once, at the end.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.atomic import replaced
from botsweep.errors import InputError
from botsweep.models.features import COUNT_FIELDS
from botsweep.models.io import iter_profiles
from botsweep.models.scorer import BotScorer, display_scores

__all__ = ["score_file", "SCORE_COLUMNS", "missing_warning"]

SCORE_COLUMNS = ("id", "bot_probability", "label", "display_score")


def _fingerprint(record: Mapping[str, Any]) -> int:
    """Equal for records with the same fields and values, whatever their key order."""
    return hash(json.dumps(record, sort_keys=True, separators=(",", ":")))


def _batches(path: Path, size: int, first: dict[str, int],
             repeats: list[tuple[str, int, int]]) -> Iterator[list[dict[str, Any]]]:
    """Batches of the records whose id is new; each later line of a known id goes to
    ``repeats`` as (id, line, fingerprint)."""
    batch: list[dict[str, Any]] = []
    for number, record in iter_profiles(path):
        ident = str(record["id"])
        if first.setdefault(ident, number) != number:
            repeats.append((ident, number, _fingerprint(record)))
            continue
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_repeats(path: Path, first: dict[str, int],
                   repeats: list[tuple[str, int, int]]) -> None:
    """InputError naming the first repeated id whose record differs from its first line's."""
    if not repeats:
        return
    wanted = {first[ident] for ident, _, _ in repeats}
    seen: dict[int, int] = {}
    for number, record in iter_profiles(path):
        if number in wanted:
            seen[number] = _fingerprint(record)
            if len(seen) == len(wanted):
                break
    for ident, number, fingerprint in repeats:
        if seen[first[ident]] != fingerprint:
            raise InputError(
                f"{path} line {number}: id {ident} is also on line {first[ident]}, with other "
                "fields; keep one record per id (lines repeating a record exactly are skipped)")


def _count_missing(records: list[dict[str, Any]], missing: dict[str, int]) -> None:
    """Add to ``missing`` the records whose ``public_metrics`` lack each count (or hold null)."""
    for record in records:
        metrics = record["public_metrics"]
        for name in COUNT_FIELDS:
            if metrics.get(name) is None:
                missing[name] = missing.get(name, 0) + 1


def missing_warning(scorer: BotScorer, missing: Mapping[str, int], scored: int) -> str | None:
    """One line for stderr when records lacked counts that the model reads as 0, having
    never seen them missing in training (the shipped model never saw any count missing)."""
    as_zero = scorer.missing_as_zero() if missing else set()
    read = {name: count for name, count in missing.items() if name in as_zero}
    if not read:
        return None
    parts = ", ".join(f"{name} {count}" for name, count in sorted(read.items()))
    return (f"warning: of {scored} accounts, some lack counts ({parts}). The model never saw "
            "those counts missing in training and read each as 0; 0 likes, lists or followers "
            "lean towards bot, so those accounts' scores are not to be trusted")


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
    count = bots = 0
    total = 0.0
    first: dict[str, int] = {}
    repeats: list[tuple[str, int, int]] = []
    missing: dict[str, int] = {}
    with replaced(target, lambda why: InputError(f"--output {why}")) as tmp:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(SCORE_COLUMNS)
            for records in _batches(source, batch, first, repeats):
                _count_missing(records, missing)
                rows = list(_rows(scorer, records, when))
                writer.writerows(rows)
                count += len(rows)
                bots += sum(1 for row in rows if row[2] == "bot")
                total += float(np.sum([float(row[1]) for row in rows]))
        _check_repeats(source, first, repeats)
    return {"scored": count, "bots": bots, "mean_probability": total / count if count else None,
            "repeated": len(repeats), "output": str(target), "model_version": scorer.version,
            "missing_counts": missing}
