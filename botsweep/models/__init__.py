"""The bot scorer: profile features, LightGBM training, calibration and scoring.

- :mod:`botsweep.models.features` turns X API v2 user objects into a numeric frame
  (:mod:`.textstats` counts characters, :mod:`.ngram` scores usernames, :mod:`.words`
  scores description words).
- :mod:`botsweep.models.train` cross-validates and fits a model; :mod:`.evaluate` adds
  leave-one-dataset-out results; :mod:`.dataset` reads and deduplicates labelled data.
- :mod:`botsweep.models.scorer` loads a model file (the shipped default in
  ``botsweep/models/default/`` unless ``scorer.model`` names another) and predicts
  calibrated bot probabilities.
- :mod:`botsweep.models.io` reads ``.jsonl`` / ``.jsonl.gz`` profile files, and
  :mod:`.scorefile` scores one into a CSV (``botsweep score --input``).
- docs/model-card.md gives the default model's data, figures and limits.

Nothing heavy is imported here, so ``import botsweep.models`` stays cheap.
"""

from __future__ import annotations

__all__: list[str] = []
