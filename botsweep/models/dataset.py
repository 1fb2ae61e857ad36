"""Labelled training data: read, name datasets, deduplicate, fix observation times.

- The dataset of a record is its ``_source`` up to the first ``/``
  (``cresci-2017/fake_followers`` -> ``cresci-2017``), else its file's stem.
- Records without ``_label`` are skipped; any other value than ``bot``/``human`` is an
  error naming the file and line.
- Ids seen in several files (or twice in one) are kept once, from their first copy, when
  every copy agrees on the label and dropped entirely when they conflict; the summary
  counts both, and names the files the later copies were dropped from.
- Observation time (what account age is measured to), documented in the data README:
  ``tweetbotornot-train`` has no ``_collected_at``; its data was committed on
  2018-02-15, which is used.  In the Botometer-format sets ``_collected_at`` is the
  latest tweet's time, a lower bound for dormant accounts whose profile was fetched
  with the rest; there it becomes ``max(record, median of its _source)``, as a crawl
  measures age to fetch time.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.models.io import dataset_name_for_file, iter_profiles, profile_files

__all__ = [
    "check_weighting",
    "LabelledData",
    "load_labelled",
    "KNOWN_COLLECTED_AT",
    "LOWER_BOUND_SETS",
    "sample_weights",
    "per_dataset_counts",
    "WEIGHTINGS",
]

log = logging.getLogger("botsweep.models")

KNOWN_COLLECTED_AT = {"tweetbotornot-train": "2018-02-15T00:00:00.000Z"}
LOWER_BOUND_SETS = frozenset({
    "gilani-2017", "cresci-rtbust-2019", "botwiki-2019", "verified-2019",
    "botometer-feedback-2019", "political-bots-2019", "vendor-purchased-2019",
})
WEIGHTINGS = ("dataset", "none")


@dataclass
class LabelledData:
    """Deduplicated labelled profiles: ``labels`` is 1 for bot, 0 for human."""

    records: list[dict[str, Any]]
    labels: np.ndarray
    datasets: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def subset(self, mask: np.ndarray) -> LabelledData:
        index = np.flatnonzero(mask)
        return LabelledData(
            [self.records[i] for i in index], self.labels[index], self.datasets[index],
            {"subset_of": self.summary.get("datasets", {})},
        )

    def dataset_names(self) -> list[str]:
        return sorted(set(self.datasets.tolist()))


def _dataset_of(record: dict[str, Any], file_stem: str) -> str:
    source = record.get("_source")
    if isinstance(source, str) and source.strip():
        return source.split("/", 1)[0].strip()
    return file_stem


def _fix_observation_times(records: list[dict[str, Any]], datasets: list[str]) -> Counter[str]:
    import pandas as pd

    fixes: Counter[str] = Counter()
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, (record, dataset) in enumerate(zip(records, datasets, strict=True)):
        if not record.get("_collected_at") and dataset in KNOWN_COLLECTED_AT:
            records[i] = {**record, "_collected_at": KNOWN_COLLECTED_AT[dataset]}
            fixes["dataset_date"] += 1
        elif dataset in LOWER_BOUND_SETS and record.get("_collected_at"):
            by_source[str(record.get("_source") or dataset)].append(i)
    for members in by_source.values():
        values = [records[i]["_collected_at"] for i in members]
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        valid = parsed.dropna().sort_values()
        if not len(valid):
            continue
        median = valid[(len(valid) - 1) // 2]
        for i, stamp in zip(members, parsed, strict=True):
            if pd.isna(stamp) or stamp < median:
                stamp_text = median.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                records[i] = {**records[i], "_collected_at": stamp_text}
                fixes["raised_to_median"] += 1
    missing = sum(1 for r in records if not r.get("_collected_at"))
    if missing:
        fixes["no_observation_time"] = missing
        log.warning("%d labelled records have no _collected_at; their age runs to now", missing)
    return fixes


def load_labelled(paths: Iterable[str | Path], fix_times: bool = True) -> LabelledData:
    """Read every labelled record under ``paths`` (files or directories).

    The summary says what was left out: ``unlabelled_files`` (files without one labelled
    record), ``repeated_ids`` (ids kept once, from their first copy) and
    ``repeats_dropped_from`` (file name → how many later copies it lost)."""
    files = profile_files(paths)
    kept: dict[str, tuple[dict[str, Any], str, int]] = {}
    conflicted: set[str] = set()
    skipped = Counter[str]()
    repeats: dict[str, list[str]] = defaultdict(list)
    unlabelled_files: list[str] = []
    for path in files:
        stem = dataset_name_for_file(path)
        labelled_here = 0
        for number, record in iter_profiles(path):
            label = record.get("_label")
            if label is None:
                skipped["unlabelled"] += 1
                continue
            labelled_here += 1
            if label not in ("bot", "human"):
                raise InputError(
                    f"{path} line {number}: _label must be \"bot\" or \"human\", got {label!r}"
                )
            ident = str(record["id"])
            value = 1 if label == "bot" else 0
            if ident in conflicted:
                continue
            if ident in kept:
                if kept[ident][2] != value:
                    conflicted.add(ident)
                    del kept[ident]
                else:
                    skipped["duplicate_same_label"] += 1
                    repeats[ident].append(path.name)
                continue
            kept[ident] = (record, _dataset_of(record, stem), value)
        if not labelled_here:
            unlabelled_files.append(path.name)
    if not kept:
        raise InputError(
            "no labelled records (records need \"_label\": \"bot\" or \"human\") in: "
            + ", ".join(str(p) for p in files)
        )
    records = [item[0] for item in kept.values()]
    datasets = [item[1] for item in kept.values()]
    labels = np.fromiter((item[2] for item in kept.values()), dtype=np.int8, count=len(kept))
    fixes = _fix_observation_times(records, datasets) if fix_times else Counter()
    summary = {
        "files": [path.name for path in files],
        "accounts": len(records),
        "bots": int(labels.sum()),
        "humans": int(len(labels) - labels.sum()),
        "datasets": per_dataset_counts(datasets, labels),
        "dropped_conflicting_ids": len(conflicted),
        "repeated_ids": sum(1 for ident in repeats if ident in kept),
        "repeats_dropped_from": dict(Counter(
            name for ident, names in repeats.items() if ident in kept for name in names)),
        "unlabelled_files": unlabelled_files,
        "skipped": dict(skipped),
        "observation_time_fixes": dict(fixes),
    }
    return LabelledData(records, labels, np.array(datasets, dtype=object), summary)


def per_dataset_counts(datasets: Iterable[str], labels: np.ndarray) -> dict[str, dict[str, int]]:
    """``{dataset: {accounts, bots, humans}}``, sorted by dataset name."""
    per_dataset: dict[str, dict[str, int]] = {}
    for dataset, label in zip(datasets, labels.tolist(), strict=True):
        entry = per_dataset.setdefault(dataset, {"accounts": 0, "bots": 0, "humans": 0})
        entry["accounts"] += 1
        entry["bots" if label else "humans"] += 1
    return dict(sorted(per_dataset.items()))


def check_weighting(scheme: str) -> None:
    """InputError unless ``scheme`` is one of :data:`WEIGHTINGS`."""
    if scheme not in WEIGHTINGS:
        raise InputError(f"--weighting {scheme!r} is unknown; choose one of "
                         f"{', '.join(WEIGHTINGS)}")


def sample_weights(labels: np.ndarray, datasets: np.ndarray, scheme: str) -> np.ndarray:
    """Per-record training weights (mean 1).

    ``none``: every record counts once.  ``dataset``: each dataset's total weight is
    proportional to the square root of its size (big sets still count for more, small ones
    are not drowned), split equally between the classes it contains.
    """
    check_weighting(scheme)
    weights = np.ones(len(labels), dtype=np.float64)
    if scheme == "dataset" and len(labels):
        for dataset in set(datasets.tolist()):
            in_set = datasets == dataset
            present = [c for c in (0, 1) if np.any(labels[in_set] == c)]
            total = float(np.sqrt(in_set.sum()))
            for cls in present:
                cell = in_set & (labels == cls)
                weights[cell] = total / len(present) / cell.sum()
        weights *= len(weights) / weights.sum()
    return weights
