"""follows.csv of a world directory: read it fast and check it, naming the bad line.

The file has the header ``follower_id,followee_id`` and one follow per row, decimal ids.
Blank lines are skipped.  Reading 2M rows takes about a second (pandas' C parser); when
that parser refuses the file, a line-by-line scan finds the first bad line to report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.errors import WorldError

__all__ = ["account_id", "lookup", "read_follows", "write_follows"]

_DECIMAL = re.compile(r"^[0-9]{1,19}$")
_MAX_ID = 2**63 - 1


def account_id(value: Any, where: str, key: str = "id") -> int:
    """``value`` as an int id, or a WorldError saying where it is and what is wrong."""
    if isinstance(value, str) and _DECIMAL.match(value) and int(value) <= _MAX_ID:
        return int(value)
    raise WorldError(f"{where}: {key} {value!r} is not a decimal string such as \"1234\"")


def _slow_scan_follows(file: Path) -> None:
    """Find the first malformed row of follows.csv and raise naming its line."""
    with file.open("r", encoding="utf-8", errors="replace") as handle:
        next(handle, None)
        for lineno, line in enumerate(handle, start=2):
            text = line.rstrip("\r\n")
            if not text:
                continue
            parts = text.split(",")
            if len(parts) != 2:
                raise WorldError(
                    f"follows.csv line {lineno}: expected follower_id,followee_id, got {text!r}"
                )
            for key, part in zip(("follower_id", "followee_id"), parts, strict=True):
                account_id(part.strip(), f"follows.csv line {lineno}", key)
    raise WorldError("follows.csv: cannot be parsed as two columns of decimal ids")


def _row_line(file: Path, row: int) -> int:
    """The line number of data row ``row`` (from 0): after the header, blank lines skipped."""
    with file.open("r", encoding="utf-8", errors="replace") as handle:
        next(handle, None)
        seen = -1
        for lineno, line in enumerate(handle, start=2):
            if line.strip("\r\n"):
                seen += 1
                if seen == row:
                    return lineno
    return row + 2  # pragma: no cover - the row came from this file


def read_follows(file: Path, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not file.is_file():
        raise WorldError(f"{file}: not found")
    with file.open("r", encoding="utf-8", errors="replace") as handle:
        header = handle.readline().strip()
    if header != "follower_id,followee_id":
        raise WorldError(
            f"follows.csv line 1: header must be follower_id,followee_id, got {header!r}"
        )
    import pandas as pd

    try:
        frame = pd.read_csv(file, dtype=np.int64, engine="c", skip_blank_lines=True,
                            na_filter=False)
    except (ValueError, pd.errors.ParserError, OverflowError):
        _slow_scan_follows(file)
        raise  # pragma: no cover - _slow_scan_follows always raises
    if frame.shape[1] != 2:
        _slow_scan_follows(file)
    follower = frame.iloc[:, 0].to_numpy(dtype=np.int64, copy=True)
    followee = frame.iloc[:, 1].to_numpy(dtype=np.int64, copy=True)
    for column, values in (("follower_id", follower), ("followee_id", followee)):
        negative = np.flatnonzero(values < 0)
        if negative.size:
            row = int(negative[0])
            account_id(str(int(values[row])), f"follows.csv line {_row_line(file, row)}",
                        column)
    dense = []
    for column, values in (("follower_id", follower), ("followee_id", followee)):
        found, position = lookup(known, values)
        bad = np.flatnonzero(~found)
        if bad.size:
            row = int(bad[0])
            raise WorldError(
                f"follows.csv line {_row_line(file, row)}: {column} {int(values[row])} is not "
                "an account in accounts.jsonl"
            )
        dense.append(position)
    loops = np.flatnonzero(follower == followee)
    if loops.size:
        row = int(loops[0])
        raise WorldError(f"follows.csv line {_row_line(file, row)}: account "
                         f"{int(follower[row])} follows itself")
    key = dense[0] * np.int64(known.shape[0]) + dense[1]
    ordered = np.sort(key)
    if ordered.size and (ordered[1:] == ordered[:-1]).any():
        repeated = ordered[1:][ordered[1:] == ordered[:-1]][0]
        rows = np.flatnonzero(key == repeated)[:2]
        raise WorldError(
            f"follows.csv line {_row_line(file, int(rows[1]))}: duplicate follow "
            f"{int(follower[rows[1]])} -> {int(followee[rows[1]])} (first on line "
            f"{_row_line(file, int(rows[0]))})"
        )
    return follower, followee


def lookup(known: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is each value in the sorted array ``known``, its position there).

    np.isin and np.unique are slow on numpy 2.x for int64, so use a binary search.
    """
    if known.shape[0] == 0:
        return np.zeros(values.shape, dtype=bool), np.zeros(values.shape, dtype=np.int64)
    position = np.minimum(np.searchsorted(known, values), known.shape[0] - 1)
    return known[position] == values, position.astype(np.int64)


def write_follows(file: Path, follower: np.ndarray, followee: np.ndarray) -> None:
    """Write the header and one ``follower,followee`` row per follow, in array order."""
    with file.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("follower_id,followee_id\n")
        rows = zip(follower.tolist(), followee.tolist(), strict=True)
        chunk: list[str] = []
        for a, b in rows:
            chunk.append(f"{a},{b}\n")
            if len(chunk) >= 200_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))
