"""Scores in the database: write probabilities, and score what is new or changed.

``score_pending(db, scorer)`` is the DB half of ``botsweep score``: every profiled account
whose ``bot`` score is missing, was made by another model version, or predates the
profile's latest fetch is scored again, in batches, each batch in one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, and_, or_, select

from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, meta, scores

__all__ = ["store_scores", "score_pending", "record_model", "stored_threshold", "iso_time",
           "Scorer"]


class Scorer(Protocol):
    version: str
    threshold: float

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray: ...


def iso_time(epoch: float) -> str:
    """RFC 3339 UTC with milliseconds, as the API writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def store_scores(
    conn: Connection, db: Database, scorer: str, version: str,
    probabilities: Mapping[int, float], fetched: Mapping[int, float | None],
) -> None:
    """Write probabilities into ``scores`` (replacing any older row for this scorer)."""
    now = time.time()
    rows = [
        {"account_id": aid, "scorer": scorer, "model_version": version,
         "probability": float(p), "profile_fetched_at": fetched.get(aid), "scored_at": now}
        for aid, p in probabilities.items()
    ]
    if rows:
        conn.execute(
            db.upsert(scores, ["account_id", "scorer"],
                      ["model_version", "probability", "profile_fetched_at", "scored_at"]),
            rows,
        )


def record_model(conn: Connection, db: Database, version: str, threshold: float) -> None:
    """Remember which bot model (and threshold) the stored scores come from."""
    conn.execute(db.upsert(meta, ["key"], ["value"]), [
        {"key": "bot_threshold", "value": repr(float(threshold))},
        {"key": "bot_model_version", "value": version},
    ])


def stored_threshold(conn: Connection) -> float | None:
    """The threshold recorded by :func:`record_model` with the stored scores, if any."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == "bot_threshold")).scalar()
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def score_pending(db: Database, scorer: Scorer, *, batch: int = 20_000,
                  name: str = "bot") -> int:
    """Score every profiled account that is new or changed; return how many were scored."""
    current = scores.alias("current")
    stale = (
        select(accounts.c.id, accounts.c.raw, accounts.c.fetched_at)
        .select_from(accounts.outerjoin(
            current, and_(current.c.account_id == accounts.c.id, current.c.scorer == name)))
        .where(
            accounts.c.fetched_at.is_not(None),
            accounts.c.raw.is_not(None),
            or_(current.c.account_id.is_(None),
                current.c.model_version != scorer.version,
                current.c.profile_fetched_at < accounts.c.fetched_at),
        )
        .order_by(accounts.c.id)
        .limit(batch)
    )
    total = 0
    while True:
        with db.begin() as conn:
            rows = conn.execute(stale).all()
            if not rows:
                record_model(conn, db, scorer.version, scorer.threshold)
                return total
            records = [dict(json.loads(r.raw), _fetched_at=iso_time(r.fetched_at))
                       for r in rows]
            probabilities = scorer.predict_proba(records)
            store_scores(
                conn, db, name, scorer.version,
                {r.id: float(p) for r, p in zip(rows, probabilities, strict=True)},
                {r.id: r.fetched_at for r in rows},
            )
        total += len(rows)
