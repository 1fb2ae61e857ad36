"""Vectorised character statistics over many short strings at once.

All strings of a column are joined with NUL separators and decoded into one numpy array
of code points, so every count below is a handful of numpy operations over the whole
column instead of a Python loop per profile::

    [NUL] s0 [NUL] s1 [NUL] ... s(n-1) [NUL]

Segment ``i`` starts at its leading NUL (``starts[i]``), so no segment is empty and
``np.add.reduceat`` gives per-string sums.  A NUL inside a string only counts as an
ordinary character; alignment comes from the lengths, never from searching for NULs.

Definitions (documented in docs/model-card.md):

- ``digits``: ASCII 0-9.  ``upper``: ASCII A-Z.  ``nonascii``: code points above 127.
- ``emoji``: code points in U+1F000-U+1FAFF (pictographs, flags, symbols),
  U+2600-U+27BF (misc symbols, dingbats) and U+2B00-U+2BFF (stars, arrows).
- ``hashtags`` / ``mentions``: a ``#`` / ``@`` followed by a word character and not
  preceded by one (so ``a@b.com`` is not a mention).
- ``urls``: occurrences of ``http://`` or ``https://`` (any case).
- ``bot``: occurrences of ``bot`` in any case (``RedScareBot``, ``robot``, ``#bot``):
  self-declared bots say so, and "not a bot" is left for the model to weigh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["EncodedColumn", "encode_column", "text_counts", "TEXT_STATS", "narrow",
           "epoch_seconds"]

TEXT_STATS = ("len", "digits", "urls", "hashtags", "mentions", "upper", "nonascii", "emoji",
              "bot")


@dataclass(frozen=True)
class EncodedColumn:
    """A column of strings as one code-point array plus segment starts and lengths."""

    codes: np.ndarray  # uint32, length sum(lengths) + n + 1
    starts: np.ndarray  # int64, index of each segment's leading NUL
    lengths: np.ndarray  # int64, code points per string

    @cached_property
    def small(self) -> np.ndarray:
        """The codes as :func:`narrow` bytes, computed once per column."""
        return narrow(self.codes)

    def owners(self, positions: np.ndarray) -> np.ndarray:
        """The string each of the sorted code ``positions`` belongs to."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    def count_at(self, positions: np.ndarray) -> np.ndarray:
        """How many of ``positions`` fall in each string (for sparse hits)."""
        return np.bincount(self.owners(positions), minlength=len(self.starts))


def encode_column(strings: Sequence[str], joined: str | None = None) -> EncodedColumn:
    """Join ``strings`` (already ``str``) into one :class:`EncodedColumn`.

    ``joined``, when given, must be ``"\\x00".join(strings)`` (a caller that needs it too
    saves a second pass over the strings).
    """
    n = len(strings)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    joined = "\x00" + ("\x00".join(strings) if joined is None else joined) + "\x00"
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = np.zeros(n, dtype=np.int64)
    if n > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
    return EncodedColumn(codes, starts, lengths)


def narrow(codes: np.ndarray) -> np.ndarray:
    """Code points as uint8: ASCII kept, everything above 127 clipped to 255."""
    return np.minimum(codes, 255).astype(np.uint8)


def _segment_sum(flags: np.ndarray, column: EncodedColumn) -> np.ndarray:
    if len(column.starts) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(flags, column.starts, dtype=np.int32)


def _word_table() -> np.ndarray:
    """Per narrowed byte: is it a word character (ASCII letter, digit, ``_``, above 127)."""
    table = np.zeros(256, dtype=bool)
    for low, high in ((48, 57), (65, 90), (97, 122), (95, 95), (128, 255)):
        table[low : high + 1] = True
    return table


_WORD = _word_table()
_COLON, _SLASH, _H, _T, _P, _S = 58, 47, 104, 116, 112, 115


def _at(codes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``codes`` at ``positions``, ASCII-lowercased; 0 (a separator) outside the array."""
    inside = (positions >= 0) & (positions < len(codes))
    values = codes[np.where(inside, positions, 0)] * inside
    return values | ((values >= 65) & (values <= 90)).astype(np.uint8) * np.uint8(32)


def _tags(codes: np.ndarray, sign: int) -> np.ndarray:
    """Positions of ``sign`` followed by a word character and not preceded by one."""
    at = np.flatnonzero(codes == sign)  # never the first or last position: both are NUL
    return at[_WORD[codes[at + 1]] & ~_WORD[codes[at - 1]]]


def _urls(codes: np.ndarray) -> np.ndarray:
    """Positions of the ``:`` of every ``http://`` or ``https://`` (any case)."""
    at = np.flatnonzero(codes == _COLON)
    slashes = (_at(codes, at + 1) == _SLASH) & (_at(codes, at + 2) == _SLASH)
    at = at[slashes]
    http4 = (_at(codes, at - 4) == _H) & (_at(codes, at - 3) == _T) & \
        (_at(codes, at - 2) == _T)
    plain = http4 & (_at(codes, at - 1) == _P)
    secure = (_at(codes, at - 5) == _H) & (_at(codes, at - 4) == _T) & \
        (_at(codes, at - 3) == _T) & (_at(codes, at - 2) == _P) & (_at(codes, at - 1) == _S)
    return at[plain | secure]


def _bots(codes: np.ndarray) -> np.ndarray:
    """Positions of every ``bot`` in any case."""
    at = np.flatnonzero((codes | np.uint8(32)) == ord("b"))
    return at[(_at(codes, at + 1) == ord("o")) & (_at(codes, at + 2) == ord("t"))]


def _emoji(column: EncodedColumn) -> np.ndarray:
    at = np.flatnonzero(column.small == 255)  # every emoji is above U+00FF
    wide = column.codes[at]
    hit = (((wide >= 0x1F000) & (wide <= 0x1FAFF)) | ((wide >= 0x2600) & (wide <= 0x27BF))
           | ((wide >= 0x2B00) & (wide <= 0x2BFF)))
    return at[hit]


def text_counts(column: EncodedColumn, stats: Sequence[str] = TEXT_STATS) -> dict[str, np.ndarray]:
    """Per-string counts for each name in ``stats`` (see the module docstring).

    Dense counts (digits, upper case, non-ASCII) sum a flag per character; the sparse
    ones find their rare anchor character (``#``, ``@``, ``:``, ``b``, a code above
    U+00FF) first and test its neighbours only there.
    """
    unknown = [stat for stat in stats if stat not in TEXT_STATS]
    if unknown:
        raise ValueError(f"unknown text statistic {unknown[0]!r}; known: {', '.join(TEXT_STATS)}")
    # Every test but emoji needs only "which ASCII character, or above 127": one byte
    # per character moves a quarter of the memory of the uint32 code points.
    codes = column.small
    out: dict[str, np.ndarray] = {}
    for stat in stats:
        if stat == "len":
            out[stat] = column.lengths.copy()
        elif stat == "digits":
            out[stat] = _segment_sum((codes >= 48) & (codes <= 57), column)
        elif stat == "upper":
            out[stat] = _segment_sum((codes >= 65) & (codes <= 90), column)
        elif stat == "nonascii":
            out[stat] = _segment_sum(codes > 127, column)
        elif stat == "emoji":
            out[stat] = column.count_at(_emoji(column))
        elif stat == "urls":
            out[stat] = column.count_at(_urls(codes))
        elif stat == "bot":
            out[stat] = column.count_at(_bots(codes))
        else:
            out[stat] = column.count_at(_tags(codes, 35 if stat == "hashtags" else 64))
    return out


# -- timestamps ------------------------------------------------------------------------
# The X API's form, "2013-06-11T11:20:35.000Z": separators at fixed places, digits elsewhere.
_STAMP = "0000-00-00T00:00:00.000Z"
_STAMP_FIXED = np.array([i for i, c in enumerate(_STAMP) if c != "0" or i >= 20])
_STAMP_DIGITS = np.array([i for i, c in enumerate(_STAMP) if c == "0" and i < 20])
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _stamp_chars(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The values of the stamp's length as rows of ASCII bytes, and which values those are."""
    n, width = len(values), len(_STAMP)
    joined = "\x00".join(values) + "\x00"
    if len(joined) == n * (width + 1) and joined.count("\x00") == n and joined.isascii():
        chars = np.frombuffer(joined.encode("ascii"), np.uint8).reshape(n, width + 1)
        if not chars[:, width].any():  # every NUL is a separator: each value fits
            return chars, np.arange(n)
    rows = np.flatnonzero(np.fromiter(map(len, values), np.int64, n) == width)
    joined = "".join([values[i] for i in rows.tolist()])
    if not joined.isascii():
        return np.zeros((0, width), np.uint8), rows[:0]
    return np.frombuffer(joined.encode("ascii"), np.uint8).reshape(len(rows), width), rows


def _fixed_stamps(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch of the values in exactly the X API's form, and which those are.

    Only whole seconds (``.000``) of valid dates and times in years 1678-2261 count, so
    each value read here is one that pandas parses to the same second.
    """
    n = len(values)
    chars, rows = _stamp_chars(values)
    template = np.frombuffer(_STAMP.encode("ascii"), np.uint8)
    ok = (chars[:, _STAMP_FIXED] == template[_STAMP_FIXED]).all(axis=1)
    digits = chars[:, _STAMP_DIGITS].astype(np.int32) - 48
    ok &= (digits.view(np.uint32) <= 9).all(axis=1)  # below 0 wraps above 9
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day = digits[:, 4] * 10 + digits[:, 5], digits[:, 6] * 10 + digits[:, 7]
    hour, minute = digits[:, 8] * 10 + digits[:, 9], digits[:, 10] * 10 + digits[:, 11]
    second = digits[:, 12] * 10 + digits[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (year >= 1678) & (year <= 2261) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= (day <= month_days) & (hour <= 23) & (minute <= 59) & (second <= 59)
    # Days from the civil date (proleptic Gregorian; years start in March, so y >= 1677).
    y = year - (month <= 2)
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 + doy - 719468
    seconds = np.zeros(n, dtype=np.int64)
    seconds[rows] = days.astype(np.int64) * 86400 + (hour * 3600 + minute * 60 + second)
    good = np.zeros(n, dtype=bool)
    good[rows] = ok
    return seconds, good


def epoch_seconds(values: Sequence[str | None]) -> np.ndarray:
    """RFC 3339 strings to float seconds since the epoch (NaN when missing or bad).

    Exactly what ``pandas.to_datetime(values, utc=True, errors="coerce",
    format="ISO8601")`` gives in whole seconds; values in the X API's own form are read
    with numpy, and only the others go through pandas.
    """
    import pandas as pd

    n = len(values)
    out = np.full(n, np.nan)
    try:
        seconds, good = _fixed_stamps(values)  # type: ignore[arg-type]
    except TypeError:  # None or another non-str among them: pandas reads those
        seconds, good = _fixed_stamps([v if isinstance(v, str) else "" for v in values])
    out[good] = seconds[good].astype(np.float64)
    rest = np.flatnonzero(~good)
    if len(rest):
        parsed = pd.to_datetime([values[i] for i in rest.tolist()], utc=True,
                                errors="coerce", format="ISO8601")
        parsed_s = parsed.as_unit("s").asi8.astype(np.float64)
        parsed_s[parsed.isna()] = np.nan
        out[rest] = parsed_s
    return out
