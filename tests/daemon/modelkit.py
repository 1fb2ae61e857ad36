"""A model file for crawler subprocesses: the shipped default, else a tiny one trained here.

The subprocess crawlers load their scorer with ``load_scorer``; the shipped default
(botsweep/models/default/model.json) is used when present.  When it is not (a checkout
before the model was trained), a small model is trained once per session on a generated
world's labelled accounts: good enough to tell the planted bots apart, never shipped.
"""

from __future__ import annotations

from pathlib import Path

from botsweep.models.scorer import DEFAULT_MODEL_PATH

__all__ = ["model_path"]

_CACHE: dict[str, Path] = {}


def model_path(cache_dir: Path) -> Path:
    """The shipped default model, or a tiny one trained into ``cache_dir``."""
    if DEFAULT_MODEL_PATH.is_file():
        return DEFAULT_MODEL_PATH
    if "tiny" in _CACHE:
        return _CACHE["tiny"]
    import numpy as np

    from botsweep.models.dataset import LabelledData
    from botsweep.models.train import train_model
    from botsweep.sim.generate import generate_world

    world = generate_world(accounts=600, bot_networks=3, rng_seed=7)
    records = [dict(a, _collected_at=a.get("_collected_at") or world.now)
               for a in world.accounts.values()]
    labels = np.array([1 if r.get("_label") == "bot" else 0 for r in records])
    data = LabelledData(records=records, labels=labels,
                        datasets=np.array(["world"] * len(records)))
    scorer, _ = train_model(data, folds=2, max_rounds=40, early_stopping=10)
    path = scorer.save(cache_dir / "tiny-model.json")
    _CACHE["tiny"] = path
    return path
