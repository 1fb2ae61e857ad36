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


def encode_column(strings: Sequence[str]) -> EncodedColumn:
    """Join ``strings`` (already ``str``) into one :class:`EncodedColumn`."""
    n = len(strings)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    joined = "\x00" + "\x00".join(strings) + "\x00"
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


def _is_word(codes: np.ndarray) -> np.ndarray:
    lower = codes | 32
    return (
        ((codes >= 48) & (codes <= 57))
        | ((lower >= 97) & (lower <= 122))
        | (codes == 95)
        | (codes > 127)
    )


def _is_emoji(codes: np.ndarray) -> np.ndarray:
    return (
        ((codes >= 0x1F000) & (codes <= 0x1FAFF))
        | ((codes >= 0x2600) & (codes <= 0x27BF))
        | ((codes >= 0x2B00) & (codes <= 0x2BFF))
    )


class _Lower:
    """ASCII-lowercased codes, padded so that ``at(offset, char)`` never runs off the end."""

    def __init__(self, codes: np.ndarray) -> None:
        self.size = len(codes)
        low = np.where((codes >= 65) & (codes <= 90), codes | 32, codes)
        self.pad = np.concatenate([low, np.zeros(8, dtype=low.dtype)])

    def at(self, offset: int, char: str) -> np.ndarray:
        return self.pad[offset : offset + self.size] == ord(char)

    def word(self, text: str) -> np.ndarray:
        out = self.at(0, text[0])
        for offset, char in enumerate(text[1:], start=1):
            out &= self.at(offset, char)
        return out


def _url_starts(low: _Lower) -> np.ndarray:
    """Boolean per position: an ``http://`` or ``https://`` begins here."""
    plain = low.at(4, ":") & low.at(5, "/") & low.at(6, "/")
    secure = low.at(4, "s") & low.at(5, ":") & low.at(6, "/") & low.at(7, "/")
    return low.word("http") & (plain | secure)


def text_counts(column: EncodedColumn, stats: Sequence[str] = TEXT_STATS) -> dict[str, np.ndarray]:
    """Per-string counts for each name in ``stats`` (see the module docstring)."""
    # Every test but emoji needs only "which ASCII character, or above 127": one byte
    # per character moves a quarter of the memory of the uint32 code points.
    codes = narrow(column.codes)
    out: dict[str, np.ndarray] = {}
    word: np.ndarray | None = None
    low: _Lower | None = None
    for stat in stats:
        if stat == "len":
            out[stat] = column.lengths.copy()
            continue
        if stat == "digits":
            flags = (codes >= 48) & (codes <= 57)
        elif stat == "upper":
            flags = (codes >= 65) & (codes <= 90)
        elif stat == "nonascii":
            flags = codes > 127
        elif stat == "emoji":
            flags = _is_emoji(column.codes)
        elif stat in ("urls", "bot"):
            low = low or _Lower(codes)
            flags = _url_starts(low) if stat == "urls" else low.word("bot")
        elif stat in ("hashtags", "mentions"):
            if word is None:
                word = _is_word(codes)
            sign = 35 if stat == "hashtags" else 64
            nxt = np.zeros_like(word)
            nxt[:-1] = word[1:]
            prev = np.zeros_like(word)
            prev[1:] = word[:-1]
            flags = (codes == sign) & nxt & ~prev
        else:
            raise ValueError(f"unknown text statistic {stat!r}; known: {', '.join(TEXT_STATS)}")
        out[stat] = _segment_sum(flags, column)
    return out
