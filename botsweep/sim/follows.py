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

__all__ = ["account_id", "lookup", "read_follows", "unique_follows", "write_follows"]

_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd, so multiplying by it is a bijection on 64 bits
_UNMIX = np.uint64(pow(0x9E3779B97F4A7C15, -1, 2**64))
_DECIMAL = re.compile(r"^[0-9]{1,19}$")
_MAX_ID = 2**63 - 1


def account_id(value: Any, where: str, key: str = "id") -> int:
    """``value`` as an int id, or a WorldError saying where it is and what is wrong."""
    if (isinstance(value, str) and _DECIMAL.fullmatch(value) and int(value) <= _MAX_ID
            and (value == "0" or value[0] != "0")):  # as the API writes ids: no leading 0
        return int(value)
    raise WorldError(f"{where}: {key} {value!r} is not a decimal string such as \"1234\"")


def _only_digits_and_commas(file: Path) -> bool:
    """True when every row after the header holds only digits, commas and line ends, so
    that the number parser below cannot read "3.0", "+3" or "1e0" as an id (nor round a
    19-digit "...789.0" to another account)."""
    other = re.compile(rb"[^0-9,\r\n]")
    with file.open("rb") as handle:
        handle.readline()
        while chunk := handle.read(1 << 24):
            if other.search(chunk):
                return False
    return True


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
    with file.open("r", encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline().strip()  # (a byte order mark, as Excel writes, is fine)
    if header != "follower_id,followee_id":
        raise WorldError(
            f"follows.csv line 1: header must be follower_id,followee_id, got {header!r}"
        )
    import pandas as pd

    if not _only_digits_and_commas(file):
        _slow_scan_follows(file)
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


_GROUPS = np.frombuffer(b"".join(f"{k:04d}".encode() for k in range(10_000)), dtype=np.uint32)
_POWERS = 10 ** np.arange(1, 19, dtype=np.int64)
_COLUMNS = np.arange(20)


def _digits(values: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write ids (0 to 2**63-1) as ASCII digits right-aligned in ``out``, five uint32 words
    a row (four digits a word, from a lookup table); return how many digits each has."""
    high, low = np.divmod(values.astype(np.int64), 100_000_000)
    top, middle = np.divmod(high, 100_000_000)  # top < 10**3
    for first, part in ((1, middle.astype(np.int32)), (3, low.astype(np.int32))):
        upper, lower = np.divmod(part, 10_000)
        out[:, first] = _GROUPS[upper]
        out[:, first + 1] = _GROUPS[lower]
    out[:, 0] = _GROUPS[top]
    return np.searchsorted(_POWERS, values, side="right") + 1


def _csv_rows(follower: np.ndarray, followee: np.ndarray) -> np.ndarray:
    """``follower,followee\n`` rows, built as one byte matrix and masked (no per-row Python).

    A row is 48 bytes: 20 for the follower's digits, a comma, 3 spare, 20 for the
    followee's digits, a newline, 3 spare; leading zeros and spare bytes are masked out.
    """
    n = follower.shape[0]
    rows = np.empty((n, 48), dtype=np.uint8)
    words = rows.view(np.uint32)
    rows[:, 20], rows[:, 44] = 44, 10
    left = _digits(follower, words[:, 0:5])
    right = _digits(followee, words[:, 6:11])
    keep = np.zeros((n, 48), dtype=bool)
    keep[:, 20] = keep[:, 44] = True
    np.greater_equal(_COLUMNS, 20 - left[:, None], out=keep[:, :20])
    np.greater_equal(_COLUMNS, 20 - right[:, None], out=keep[:, 24:44])
    return rows[keep]


def unique_follows(keys: np.ndarray, n: int, salt: int) -> tuple[np.ndarray, np.ndarray]:
    """Each follow ``follower * n + followee`` (dense indices below ``n``) once, as
    (followers, followees), in an order shuffled by ``salt``.  ``keys`` is reused.

    Sorting the keys scrambled by an odd multiplier both finds repeated follows and
    shuffles the rows, at a fraction of a permutation's cost.
    """
    mixed = keys.view(np.uint64)
    mixed ^= np.uint64(salt)
    mixed *= _MIX
    mixed.sort()  # np.unique is slow on numpy 2.4
    if mixed.shape[0]:
        repeated = np.flatnonzero(mixed[1:] == mixed[:-1]) + 1
        mixed = np.delete(mixed, repeated) if repeated.shape[0] else mixed
    mixed *= _UNMIX
    mixed ^= np.uint64(salt)
    key = mixed.view(np.int64)
    return key // n, key % n


def write_follows(file: Path, follower: np.ndarray, followee: np.ndarray) -> None:
    """Write the header and one ``follower,followee`` row per follow, in array order."""
    if follower.shape[0] and min(int(follower.min()), int(followee.min())) < 0:
        raise ValueError("follows.csv holds non-negative ids only")
    with file.open("wb") as handle:
        handle.write(b"follower_id,followee_id\n")
        for start in range(0, follower.shape[0], 500_000):
            stop = start + 500_000
            handle.write(_csv_rows(follower[start:stop], followee[start:stop]))
