"""The bot model a crawl benchmark scores with, and the seeds it starts from.

A crawl benchmark needs a bot model, because both policies decide what to expand from bot
probabilities.  It uses, in order: the model file it is given, the shipped default model,
or, when neither exists, a quick model trained on the world's own labelled profiles (the
benchmark says which).  Both policies always score with the same model, so the comparison
is fair whichever it is; a model trained on the world itself is better than a real one
would be, which helps both policies alike.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.errors import InputError
from botsweep.sim.world import World, format_time

__all__ = ["BenchModel", "bench_model", "pick_seeds", "world_training_data"]

log = logging.getLogger("botsweep.bench")


class BenchModel:
    """A scorer and a one-line note on where it came from."""

    def __init__(self, scorer: Any, note: str) -> None:
        self.scorer = scorer
        self.note = note


def pick_seeds(world: World, n: int, rng_seed: int = 0) -> list[int]:
    """``n`` active planted bots chosen with a fixed rng (the same for every policy)."""
    if n < 1:
        raise InputError(f"--seeds {n}: give at least 1 seed")
    planted = sorted(
        aid for aid, record in world.accounts.items()
        if record.get("_label") == "bot" and world.state(aid) == "active"
    )
    if len(planted) < n:
        raise InputError(
            f"--seeds {n}: the world {world.name!r} has only {len(planted)} active accounts "
            "labelled bot (\"_label\": \"bot\"); ask for fewer seeds")
    return sorted(random.Random(rng_seed).sample(planted, n))


def world_training_data(world: World) -> Any:
    """The world's labelled profiles as training data (observed at the world's ``now``)."""
    from botsweep.models.dataset import LabelledData

    collected = format_time(world.now)
    records: list[dict[str, Any]] = []
    labels: list[int] = []
    for record in world.accounts.values():
        label = record.get("_label")
        if label not in ("bot", "human"):
            continue
        public = {k: v for k, v in record.items() if not k.startswith("_")}
        public["_collected_at"] = record.get("_collected_at") or collected
        records.append(public)
        labels.append(1 if label == "bot" else 0)
    if len(set(labels)) < 2:
        raise InputError(
            f"the world {world.name!r} needs accounts labelled both bot and human to train a "
            "bench model; pass --model FILE instead")
    name = f"world:{world.name}"
    summary = {"accounts": len(records), "bots": int(sum(labels)),
               "humans": len(labels) - int(sum(labels)), "datasets": {name: len(records)}}
    return LabelledData(records, np.array(labels, dtype=np.int8),
                        np.array([name] * len(records), dtype=object), summary)


def bench_model(world: World, model: Path | None = None) -> BenchModel:
    """The model file given, else the shipped default, else one trained on ``world``."""
    from botsweep.models.scorer import DEFAULT_MODEL_PATH, BotScorer

    if model is not None:
        return BenchModel(BotScorer.load(model), f"model {model}")
    if DEFAULT_MODEL_PATH.exists():
        return BenchModel(BotScorer.load(None), "the shipped default model")
    from botsweep.models.train import train_model

    data = world_training_data(world)
    scorer, _ = train_model(data, folds=3, max_rounds=300, early_stopping=30, seed=0)
    return BenchModel(
        scorer, f"no default model shipped: a quick model trained on this world's own "
                f"{len(data)} labelled profiles (threshold {scorer.threshold:.2f})")
