"""The campaign model and the database: training rows, fitting, saving, loading, scoring.

Training rows: :mod:`botsweep.campaign.training`.

The model lives in ``meta`` under ``campaign_model:NAME`` as JSON (no pickle), so every
worker and command loads the same one; its scores live in ``scores`` as scorer
``campaign:NAME``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Row, and_, func, select

from botsweep.campaign.model import CampaignModel, TrainingData, _Scorer, fit_model
from botsweep.campaign.training import UNLABELLED_WEIGHT, bot_threshold, training_data
from botsweep.errors import InputError
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, labels, meta, scores, seeds
from botsweep.storage.scores import iso_time, store_scores

__all__ = [
    "MODEL_KEY_PREFIX",
    "model_key",
    "scorer_name",
    "campaign_names",
    "resolve_campaign",
    "training_data",
    "save_model",
    "load_campaign_model",
    "fitted_campaigns",
    "fit_campaign",
    "score_campaign",
    "FitResult",
    "bot_threshold",
    "LazyBotScorer",
    "crawl_campaign_model",
]

log = logging.getLogger("botsweep.campaign")

MODEL_KEY_PREFIX = "campaign_model:"
_MAX_NAME = 64 - len(MODEL_KEY_PREFIX)
_CHUNK = 2000


def model_key(name: str) -> str:
    """The ``meta`` key of campaign ``name``'s model."""
    if not name or len(name) > _MAX_NAME:
        raise InputError(f"campaign name {name!r}: use 1 to {_MAX_NAME} characters")
    return MODEL_KEY_PREFIX + name


def scorer_name(name: str) -> str:
    """The ``scores.scorer`` value of campaign ``name``."""
    return f"campaign:{name}"


def campaign_names(db: Database) -> list[str]:
    """Campaigns named by seeds, labels or fitted models, sorted."""
    with db.connect() as conn:
        names = set(conn.execute(select(seeds.c.campaign).distinct()).scalars())
        names |= set(conn.execute(select(labels.c.campaign).distinct()).scalars())
        names |= {k[len(MODEL_KEY_PREFIX):] for k in conn.execute(
            select(meta.c.key).where(meta.c.key.like(MODEL_KEY_PREFIX + "%"))).scalars()}
    names.discard("")
    return sorted(names)


def resolve_campaign(db: Database, given: str | None, configured: str | None = None) -> str:
    """``--campaign``, else ``crawler.campaign``, else the only campaign there is."""
    if given:
        model_key(given)
        return given
    if configured:
        return configured
    names = campaign_names(db)
    if len(names) == 1:
        return names[0]
    if not names:
        raise InputError(
            "no campaign named: seeds and labels name none; add seeds with "
            "`botsweep seed ID… --label bot --campaign NAME`, then pass --campaign NAME"
        )
    raise InputError(f"several campaigns ({', '.join(names)}): choose one with --campaign NAME "
                     "(or set crawler.campaign in config.yaml)")


def save_model(db: Database, model: CampaignModel) -> None:
    """Store ``model`` under ``campaign_model:<name>`` (replacing an older fit)."""
    with db.begin() as conn:
        conn.execute(db.upsert(meta, ["key"], ["value"]),
                     [{"key": model_key(model.name), "value": model.to_json()}])


def load_campaign_model(db: Database, name: str,
                        bot_scorer: _Scorer | None = None) -> CampaignModel:
    """The fitted model of campaign ``name``; InputError when none was fitted."""
    with db.connect() as conn:
        text = conn.execute(select(meta.c.value).where(meta.c.key == model_key(name))).scalar()
    if text is None:
        fitted = fitted_campaigns(db)
        known = f" (fitted: {', '.join(fitted)})" if fitted else ""
        raise InputError(f"no campaign model {name!r} in the database{known}; fit one with "
                         f"`botsweep campaign fit --campaign {name}`")
    return CampaignModel.from_json(text, f"campaign model {name!r}", bot_scorer)


def fitted_campaigns(db: Database) -> list[str]:
    """Names of the campaigns that have a fitted model."""
    with db.connect() as conn:
        keys = conn.execute(select(meta.c.key).where(meta.c.key.like(MODEL_KEY_PREFIX + "%")))
        return sorted(k[len(MODEL_KEY_PREFIX):] for k in keys.scalars())


def store_campaign_scores(conn: Connection, db: Database, scorer: str, model: Any,
                          rows: Sequence[Row[Any]]) -> None:
    """Score ``rows`` (id, raw, fetched_at, the bot probability) with a campaign model and
    store the scores under ``scorer``: the records carry their fetch time and the generic
    bot probability, as the campaign model's features expect."""
    records = []
    for r in rows:
        record = dict(json.loads(r.raw))
        if r.fetched_at is not None:
            record["_fetched_at"] = iso_time(r.fetched_at)
        if r.probability is not None:
            record["_bot_probability"] = float(r.probability)
        records.append(record)
    probabilities = model.predict_proba(records)
    store_scores(conn, db, scorer, model.version,
                 {r.id: float(p) for r, p in zip(rows, probabilities, strict=True)},
                 {r.id: r.fetched_at for r in rows})


def score_campaign(db: Database, name: str, *, model: CampaignModel | None = None,
                   bot_scorer: _Scorer | None = None, batch: int = 5000) -> int:
    """Score every profiled account for campaign ``name``; return how many were scored."""
    model = model or load_campaign_model(db, name, bot_scorer)
    if bot_scorer is not None and model.bot_scorer is None:
        model.bot_scorer = bot_scorer
    bot = scores.alias("bot")
    last, total = -1, 0
    while True:
        with db.begin() as conn:
            rows = conn.execute(
                select(accounts.c.id, accounts.c.raw, accounts.c.fetched_at, bot.c.probability)
                .select_from(accounts.outerjoin(
                    bot, and_(bot.c.account_id == accounts.c.id, bot.c.scorer == "bot")))
                .where(accounts.c.raw.is_not(None), accounts.c.id > last)
                .order_by(accounts.c.id).limit(batch)
            ).all()
            if not rows:
                return total
            store_campaign_scores(conn, db, scorer_name(name), model, rows)
        total += len(rows)
        last = rows[-1].id


class LazyBotScorer:
    """The generic scorer named by settings, loaded on first use (most rows need none:
    their bot probability is already in ``scores``)."""

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._scorer: _Scorer | None = None

    def _load(self) -> _Scorer:
        if self._scorer is None:
            from botsweep.models.scorer import load_scorer

            self._scorer = load_scorer(self._settings)
        return self._scorer

    @property
    def version(self) -> str:
        return self._load().version

    @property
    def threshold(self) -> float:
        return self._load().threshold

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self._load().predict_proba(records)


@dataclass
class FitResult:
    """What ``campaign fit`` did: the model, the rows it learned from, and what it scored."""

    model: CampaignModel
    data: TrainingData
    scored: int
    flagged: int

    def summary(self) -> dict[str, Any]:
        """What ``campaign fit`` prints.  ``threshold`` is where the stored (and exported)
        ``campaign_probability`` flags an account; ``metrics.cut`` is the same line on the
        model's raw, unshifted score, where the cross-validation chose it."""
        meta_ = self.model.meta
        return {
            "campaign": self.model.name, "version": self.model.version,
            "threshold": self.model.threshold,
            "training": meta_.get("training", {}),
            "metrics": meta_.get("metrics", {}), "scored": self.scored, "flagged": self.flagged,
            "fingerprint": meta_.get("fingerprint", [])[:10],
        }


def fit_campaign(db: Database, name: str, *, bot_scorer: _Scorer | None = None,
                 score: bool = True, max_background: int = 20_000, c: float = 1.0,
                 seed: int = 0, fit_options: Mapping[str, Any] | None = None,
                 unlabelled_weight: float = UNLABELLED_WEIGHT) -> FitResult:
    """Fit campaign ``name`` from the DB, save it, and (by default) score every account."""
    data = training_data(db, name, max_background=max_background, bot_scorer=bot_scorer,
                         seed=seed, unlabelled_weight=unlabelled_weight)
    model = fit_model(name, data, c=c, seed=seed, bot_scorer=bot_scorer, **(fit_options or {}))
    with db.connect() as conn:
        model.meta["bot_model_version"] = conn.execute(
            select(meta.c.value).where(meta.c.key == "bot_model_version")).scalar()
    save_model(db, model)
    log.info("campaign %s: fitted %s on %d rows (%d in the campaign)", name, model.version,
             len(data), int(data.y.sum()))
    scored = flagged = 0
    if score:
        scored = score_campaign(db, name, model=model, bot_scorer=bot_scorer)
        with db.connect() as conn:
            flagged = conn.execute(
                select(func.count()).select_from(scores)
                .where(scores.c.scorer == scorer_name(name),
                       scores.c.probability >= model.threshold)).scalar_one()
    return FitResult(model, data, scored, flagged)


def crawl_campaign_model(settings: Any, db: Database,
                         bot_scorer: _Scorer) -> tuple[CampaignModel | None, str | None]:
    """The campaign model a crawl scores with: ``crawler.campaign``, or with
    ``crawler.target: campaign`` the only campaign there is.  ConfigError when the target is
    the campaign but no model can be found; (None, None) when no campaign is asked for."""
    from botsweep.errors import ConfigError

    crawler = settings.crawler
    name = crawler.campaign
    if name is None and crawler.target == "campaign":
        names = fitted_campaigns(db)
        if len(names) != 1:
            which = ", ".join(names) if names else "none is fitted"
            raise ConfigError(
                f"crawler.target = 'campaign' needs crawler.campaign: NAME ({which}); fit one "
                "with `botsweep campaign fit --campaign NAME`")
        name = names[0]
    if name is None:
        return None, None
    try:
        model = load_campaign_model(db, name, bot_scorer)
    except InputError as exc:
        if crawler.target == "campaign":
            raise ConfigError(f"crawler.target = 'campaign': {exc}") from None
        log.warning("crawler.campaign = %r: %s; crawling without campaign scores", name, exc)
        return None, None
    return model, name
