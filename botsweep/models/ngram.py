"""A character-bigram model of usernames (BotometerLite's ``screen_name_likelihood``).

Usernames are case-folded onto 39 symbols (a-z, 0-9, ``_``, "other" and a boundary).
The feature is the mean log-probability per transition, boundary to boundary, so
``jane_doe`` scores high and ``xk7q9zzv0w`` scores low.  Add-``alpha`` smoothing keeps
unseen transitions finite.  The table is 39 x 39 counts, stored as JSON (no pickle);
training fits it on the training humans' usernames only, so a fold's test accounts
never shape the model they are scored with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.errors import ModelError
from botsweep.models.textstats import EncodedColumn, encode_column

__all__ = ["UsernameModel", "default_username_model", "DEFAULT_BIGRAMS_PATH"]

ALPHABET = "^abcdefghijklmnopqrstuvwxyz0123456789_?"  # ^ boundary, ? anything else
_K = len(ALPHABET)
_OTHER = _K - 1
# The default table is the one inside the shipped default model file.
DEFAULT_BIGRAMS_PATH = Path(__file__).parent / "default" / "model.json"


def _lookup() -> np.ndarray:
    """Symbol per narrowed byte (0-255); every code above 127 is "other"."""
    table = np.full(256, _OTHER, dtype=np.int64)
    table[0] = 0
    for i, char in enumerate("abcdefghijklmnopqrstuvwxyz", start=1):
        table[ord(char)] = i
        table[ord(char.upper())] = i
    for i, char in enumerate("0123456789", start=27):
        table[ord(char)] = i
    table[ord("_")] = 37
    return table


_LUT = _lookup()


def _symbols(column: EncodedColumn) -> np.ndarray:
    return _LUT[column.small]


class UsernameModel:
    """Bigram counts over username symbols, with add-``alpha`` smoothing."""

    def __init__(self, counts: np.ndarray, alpha: float = 0.5) -> None:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (_K, _K) or not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ModelError(f"username model: expected a {_K}x{_K} table of counts >= 0")
        if alpha <= 0:
            raise ModelError(f"username model: alpha must be > 0, got {alpha}")
        self.counts = counts
        self.alpha = float(alpha)
        smoothed = counts + self.alpha
        self.logp = np.log(smoothed / smoothed.sum(axis=1, keepdims=True)).ravel()

    @classmethod
    def fit(cls, usernames: Sequence[str], alpha: float = 0.5) -> UsernameModel:
        """Count transitions in the non-empty ``usernames``."""
        names = [name for name in usernames if isinstance(name, str) and name]
        counts = np.zeros(_K * _K, dtype=np.float64)
        if names:
            sym = _symbols(encode_column(names))
            counts += np.bincount(sym[:-1] * _K + sym[1:], minlength=_K * _K)
        return cls(counts.reshape(_K, _K), alpha)

    def loglik(self, usernames: Sequence[str] | EncodedColumn) -> np.ndarray:
        """Mean log-probability per transition; NaN for an empty username."""
        column = usernames if isinstance(usernames, EncodedColumn) else encode_column(usernames)
        n = len(column.starts)
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        sym = _symbols(column)
        pair_logp = self.logp[sym[:-1] * _K + sym[1:]]
        sums = np.add.reduceat(pair_logp, column.starts)
        out = sums / (column.lengths + 1)
        out[column.lengths == 0] = np.nan
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "char-bigram",
            "alphabet": ALPHABET,
            "alpha": self.alpha,
            "counts": self.counts.astype(np.int64).tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsernameModel:
        if not isinstance(data, Mapping) or data.get("kind") != "char-bigram":
            raise ModelError("username model: expected {'kind': 'char-bigram', ...}")
        if data.get("alphabet") != ALPHABET:
            raise ModelError("username model: its alphabet differs from this botsweep version")
        try:
            return cls(np.asarray(data["counts"], dtype=np.float64), float(data["alpha"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"username model: malformed table ({exc})") from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n", "utf-8")


@lru_cache(maxsize=1)
def default_username_model() -> UsernameModel:
    """The table of the shipped default model (fitted on its training humans)."""
    try:
        data = json.loads(DEFAULT_BIGRAMS_PATH.read_text("utf-8"))
        table = data["username_model"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{DEFAULT_BIGRAMS_PATH}: cannot read the shipped username model ({exc}); "
            "reinstall botsweep or pass username_model= explicitly"
        ) from None
    return UsernameModel.from_dict(table)
