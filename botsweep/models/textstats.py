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

__all__ = ["EncodedColumn", "encode_column", "text_counts", "TEXT_STATS", "narrow"]

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
