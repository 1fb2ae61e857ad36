"""A small model file for crawler subprocesses, trained once per session.

Daemon processes load their scorer from a file (``scorer.model``).  The tests that compare
several workers with one use this tiny model, not the shipped default: what they test is
the crawler's bookkeeping, so the model must not change under them while the default is
retrained, and the crawl it drives must stay small.  Trained on a generated world's
labelled accounts: good enough to tell the planted bots apart, never shipped.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["model_path"]

_CACHE: dict[str, Path] = {}


def model_path(cache_dir: Path) -> Path:
    """A tiny model trained into ``cache_dir`` (once per session)."""
    if "tiny" in _CACHE and _CACHE["tiny"].is_file():
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
