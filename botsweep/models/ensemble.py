"""Bagged boosting: several boosters with different bagging seeds, merged into one.

On a few thousand labelled accounts a single booster's choices of rows and features move
balanced accuracy by about ±0.005 from one seed to the next.  Averaging ``k`` boosters
that differ only in their bagging and feature-fraction seeds removes much of that
variance.  Their average is itself a LightGBM model: every tree of every booster, each
leaf value divided by ``k``, summed in one model.  So the scorer, the model file and the
pipelined predict stay as they are; only the number of trees (and the predict time)
grows ``k`` times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from botsweep.errors import InputError

__all__ = ["SMALL_DATA", "choose_boosters", "fit_bagged", "merge_boosters"]

SMALL_DATA = 10_000  # below this many accounts, ``--boosters auto`` averages four boosters
_AUTO_SMALL = 4
_SCALED = re.compile(r"^(leaf_value|internal_value)=(.*)$", re.MULTILINE)
_TREE_HEADER = re.compile(r"^Tree=\d+$", re.MULTILINE)


def choose_boosters(requested: int | None, accounts: int) -> int:
    """``requested`` if given (1 or more), else 4 below :data:`SMALL_DATA` accounts, else 1.

    A large training set gives a steady single booster, and the shipped model is scored
    on every crawled profile, so it keeps one booster's predict time.
    """
    if requested is None:
        return _AUTO_SMALL if accounts < SMALL_DATA else 1
    if requested < 1:
        raise InputError(f"--boosters must be 1 or more, got {requested}")
    return requested


def _scale(match: re.Match[str], factor: float) -> str:
    values = " ".join(repr(float(v) * factor) for v in match.group(2).split())
    return f"{match.group(1)}={values}"


def merge_boosters(boosters: Sequence[Any]) -> Any:
    """One LightGBM booster whose raw score is the mean of ``boosters``' raw scores.

    The boosters must share their features and objective (as bagged copies do).
    """
    import lightgbm

    if len(boosters) == 1:
        return boosters[0]
    factor = 1.0 / len(boosters)
    head = tail = ""
    trees: list[str] = []
    for booster in boosters:
        text = booster.model_to_string()
        body_start = _TREE_HEADER.search(text)
        end = text.index("end of trees")
        if body_start is None:
            raise ValueError("booster has no trees to merge")
        if not head:
            head, tail = text[: body_start.start()], text[end:]
        body = text[body_start.start(): end]
        trees += [block for block in _TREE_HEADER.split(body) if block.strip()]
    blocks = [f"Tree={i}" + _SCALED.sub(lambda m: _scale(m, factor), block)
              for i, block in enumerate(trees)]
    sizes = " ".join(str(len(block.encode())) for block in blocks)
    head = re.sub(r"^tree_sizes=.*$", f"tree_sizes={sizes}", head, count=1, flags=re.MULTILINE)
    return lightgbm.Booster(model_str=head + "".join(blocks) + tail)


def fit_bagged(x: np.ndarray, y: np.ndarray, w: np.ndarray, params: dict[str, Any],
               rounds: int, boosters: int) -> Any:
    """``boosters`` boosters of ``rounds`` trees, seeds apart, merged into one."""
    import lightgbm

    base = int(params.get("seed", 0))
    fitted = []
    for k in range(boosters):
        train_set = lightgbm.Dataset(x, label=y, weight=w, free_raw_data=True)
        seeded = {**params, "seed": base * 1000 + k} if boosters > 1 else params
        fitted.append(lightgbm.train(seeded, train_set, num_boost_round=rounds))
    return merge_boosters(fitted)
