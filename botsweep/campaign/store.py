"""The campaign model and the database: training rows, fitting, saving, loading, scoring.

Training rows for campaign ``NAME`` (:func:`training_data`):

* **positives**: profiled accounts labelled ``bot`` in ``NAME`` (seeds, or labels);
* **explicit negatives**: accounts labelled ``human`` (in ``NAME`` or with no campaign), and
  accounts labelled ``bot`` in *another* campaign (that is how two networks are told apart);
* **background**: profiled accounts that the generic model scores as human (``scores``
  rows of scorer ``bot`` below the ``bot_threshold`` in ``meta``), up to ``max_background``;
* **unlabelled bots**: profiled accounts that the generic model scores as bots and no seed
  or label mentions, each weighing ``unlabelled_weight``.  Against humans alone, "is a bot"
  separates the seeds perfectly and the model would flag every network; these rows teach
  it what the *other* networks look like.  Some belong to the campaign: the model sets
  those aside before its final fit (two-step PU learning, see
  :func:`botsweep.campaign.model.fit_model`).

A label beats a seed, and a label in ``NAME`` beats one without a campaign.  A ``bot``
label with no campaign says nothing about ``NAME``: such accounts are left out.
Positives and explicit negatives weigh as much as the whole background divided by the
number of positives, each background row weighs 1.

The model lives in ``meta`` under ``campaign_model:NAME`` as JSON (no pickle), so every
worker and command loads the same one; its scores live in ``scores`` as scorer
``campaign:NAME``.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, func, select

from botsweep.campaign.model import MIN_SEEDS, CampaignModel, TrainingData, _Scorer, fit_model
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
UNLABELLED_WEIGHT = 0.2


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


def bot_threshold(db: Database) -> float | None:
    """The generic model's threshold that the stored ``bot`` scores were made with."""
    with db.connect() as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == "bot_threshold")).scalar()
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _rank(row_label: str, row_campaign: str, name: str, is_label: bool) -> tuple[int, int] | None:
    """(rank, y) of one seed or label row for campaign ``name``; lower rank wins; None = no say."""
    base = 0 if is_label else 3
    if row_campaign == name:
        return base, int(row_label == "bot")
    if row_campaign == "":
        return (base + 1, 0) if row_label == "human" else None
    return base + 2, 0


def _judgements(conn: Any, name: str) -> tuple[dict[int, tuple[int, str]], set[int], int]:
    """account id → (y, kind) from seeds and labels; ids to keep out of the background;
    and how many positive seeds or labels still lack an account id."""
    handles: dict[str, int] = {}
    rows: list[tuple[int | None, str | None, str, str, bool]] = []
    for table, is_label in ((seeds, False), (labels, True)):
        for r in conn.execute(select(table.c.account_id, table.c.handle, table.c.label,
                                     table.c.campaign).where(table.c.label.is_not(None))):
            rows.append((r.account_id, r.handle, r.label, r.campaign, is_label))
    wanted = {h.lower() for aid, h, *_ in rows if aid is None and h}
    if wanted:
        for aid, username in conn.execute(
                select(accounts.c.id, func.lower(accounts.c.username))
                .where(func.lower(accounts.c.username).in_(sorted(wanted)))):
            handles[username] = aid
    best: dict[int, tuple[tuple[int, int], str]] = {}
    mentioned: set[int] = set()
    unresolved = 0
    for aid, handle, label, campaign, is_label in rows:
        if aid is None and handle:
            aid = handles.get(handle.lower())
        ranked = _rank(label, campaign, name, is_label)
        if aid is None:
            unresolved += int(ranked is not None and ranked[1] == 1)
            continue
        mentioned.add(aid)
        if ranked is not None and (aid not in best or ranked[0] < best[aid][0][0]):
            best[aid] = (ranked, "label" if is_label else "seed")
    return {aid: (ranked[1], kind) for aid, (ranked, kind) in best.items()}, mentioned, unresolved


def _chunks(items: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _load_records(conn: Any, ids: Sequence[int]) -> dict[int, tuple[dict[str, Any], float | None]]:
    """id → (record with ``_fetched_at`` and ``_bot_probability`` when known)."""
    out: dict[int, tuple[dict[str, Any], float | None]] = {}
    bot = scores.alias("bot")
    for chunk in _chunks(list(ids)):
        query = (
            select(accounts.c.id, accounts.c.raw, accounts.c.fetched_at, bot.c.probability)
            .select_from(accounts.outerjoin(
                bot, and_(bot.c.account_id == accounts.c.id, bot.c.scorer == "bot")))
            .where(accounts.c.id.in_(list(chunk)), accounts.c.raw.is_not(None))
        )
        for aid, raw, fetched_at, probability in conn.execute(query):
            record = dict(json.loads(raw))
            if fetched_at is not None:
                record["_fetched_at"] = iso_time(fetched_at)
            out[aid] = (record, probability)
    return out


def _other_bots(conn: Any, threshold: float | None, mentioned: set[int], limit: int,
                seed: int) -> list[int]:
    """Profiled accounts the generic model scores as bots that no seed or label mentions."""
    if threshold is None:
        return []
    ids = [aid for aid in conn.execute(
        select(scores.c.account_id)
        .join(accounts, accounts.c.id == scores.c.account_id)
        .where(scores.c.scorer == "bot", scores.c.probability >= threshold,
               accounts.c.raw.is_not(None))
        .order_by(scores.c.account_id)).scalars() if aid not in mentioned]
    if len(ids) > limit:
        ids = sorted(random.Random(seed + 1).sample(ids, limit))
    return ids


def training_data(db: Database, name: str, *, max_background: int = 20_000,
                  bot_scorer: _Scorer | None = None, seed: int = 0,
                  unlabelled_weight: float = UNLABELLED_WEIGHT) -> TrainingData:
    """The rows to fit campaign ``name`` on; InputError when there are too few positives."""
    threshold = bot_threshold(db)
    with db.connect() as conn:
        judged, mentioned, unresolved = _judgements(conn, name)
        background_ids: list[int] = []
        if threshold is not None:
            background_ids = [aid for aid in conn.execute(
                select(scores.c.account_id)
                .join(accounts, accounts.c.id == scores.c.account_id)
                .where(scores.c.scorer == "bot", scores.c.probability < threshold,
                       accounts.c.raw.is_not(None))
                .order_by(scores.c.account_id)).scalars() if aid not in mentioned]
        if len(background_ids) > max_background:
            background_ids = sorted(random.Random(seed).sample(background_ids, max_background))
        other_ids = _other_bots(conn, threshold, mentioned, max_background, seed)
        loaded = _load_records(conn, sorted(judged) + background_ids + other_ids)
    positives = [aid for aid, (y, _) in judged.items() if y == 1]
    profiled_pos = [aid for aid in positives if aid in loaded]
    if len(profiled_pos) < MIN_SEEDS:
        waiting = len(positives) - len(profiled_pos) + unresolved
        more = (f"; {waiting} more not yet profiled: run `botsweep crawl` to fetch them"
                if waiting else "")
        raise InputError(
            f"campaign {name!r} has {len(profiled_pos)} profiled account(s) labelled bot"
            f"{more}; at least {MIN_SEEDS} are needed (10 or more work better): add them with "
            f"`botsweep seed ID… --label bot --campaign {name}` or "
            f"`botsweep label ID… --label bot --campaign {name}`"
        )
    rows = [(aid, judged[aid][0], judged[aid][1]) for aid in sorted(judged) if aid in loaded]
    rows += [(aid, 0, "background") for aid in background_ids if aid in loaded]
    rows += [(aid, 0, "unlabelled") for aid in other_ids if aid in loaded]
    records = [loaded[aid][0] for aid, _, _ in rows]
    probs = np.array([np.nan if loaded[aid][1] is None else loaded[aid][1] for aid, _, _ in rows])
    missing = np.flatnonzero(np.isnan(probs))
    if missing.size and bot_scorer is not None:
        probs[missing] = bot_scorer.predict_proba([records[i] for i in missing])
    y = np.array([label for _, label, _ in rows], dtype=np.int64)
    kinds = np.array([kind for _, _, kind in rows])
    n_background = int(np.sum(kinds == "background"))
    unit = max(1.0, n_background / max(1, int(y.sum())))
    weights = np.where(kinds == "background", 1.0,
                       np.where(kinds == "unlabelled", unlabelled_weight, unit))
    summary = {
        "seeds": int(np.sum((kinds == "seed") & (y == 1))),
        "labels_bot": int(np.sum((kinds == "label") & (y == 1))),
        "labels_not_campaign": int(np.sum((kinds == "label") & (y == 0))),
        "seeds_not_campaign": int(np.sum((kinds == "seed") & (y == 0))),
        "bot_threshold": threshold,
    }
    return TrainingData(records, y, weights, kinds, probs, [aid for aid, _, _ in rows], summary)


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
            records = []
            for r in rows:
                record = dict(json.loads(r.raw))
                if r.fetched_at is not None:
                    record["_fetched_at"] = iso_time(r.fetched_at)
                if r.probability is not None:
                    record["_bot_probability"] = float(r.probability)
                records.append(record)
            probabilities = model.predict_proba(records)
            store_scores(conn, db, scorer_name(name), model.version,
                         {r.id: float(p) for r, p in zip(rows, probabilities, strict=True)},
                         {r.id: r.fetched_at for r in rows})
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
        meta_ = self.model.meta
        return {
            "campaign": self.model.name, "version": self.model.version,
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
