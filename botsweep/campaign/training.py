"""The rows a campaign model learns from, read from the database.

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
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import and_, func, select

from botsweep.campaign.model import MIN_SEEDS, TrainingData, _Scorer
from botsweep.errors import InputError
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, labels, scores, seeds
from botsweep.storage.scores import iso_time, stored_threshold

__all__ = ["training_data", "bot_threshold", "judgements", "UNLABELLED_WEIGHT"]

_CHUNK = 2000
UNLABELLED_WEIGHT = 0.2


def bot_threshold(db: Database) -> float | None:
    """The generic model's threshold that the stored ``bot`` scores were made with."""
    with db.connect() as conn:
        return stored_threshold(conn)


def _rank(row_label: str, row_campaign: str, name: str, is_label: bool) -> tuple[int, int] | None:
    """(rank, y) of one seed or label row for campaign ``name``; lower rank wins; None = no say."""
    base = 0 if is_label else 3
    if row_campaign == name:
        return base, int(row_label == "bot")
    if row_campaign == "":
        return (base + 1, 0) if row_label == "human" else None
    return base + 2, 0


def judgements(conn: Any, name: str) -> tuple[dict[int, tuple[int, str]], set[int], int]:
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
        judged, mentioned, unresolved = judgements(conn, name)
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
