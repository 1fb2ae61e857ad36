"""The campaign model: learn one bot network's fingerprint from its seeds and labels.

A generic scorer says "bot or not"; an analyst hunting one network needs "does this
account belong to *this* campaign?".  The parts:

- :mod:`botsweep.campaign.features`: v2 user objects to hashed sparse features (description
  link domains, word and character n-grams, creation year, metric shape, generic bot
  probability), with readable names for the tokens that can be named.
- :mod:`botsweep.campaign.model`: :class:`~botsweep.campaign.model.CampaignModel`, a
  logistic model on those features, fitted with cross-validation, stored as compact JSON.
- :mod:`botsweep.campaign.store`: the training set from the DB (seeds, labels, background),
  ``fit_campaign``, ``score_campaign``, saving and loading models in the ``meta`` table.
- :mod:`botsweep.campaign.review`: which accounts to label next (active learning).
- :mod:`botsweep.campaign.report`: the fingerprint against the background, and status.

Nothing heavy is imported here.
"""

from __future__ import annotations

__all__: list[str] = []
