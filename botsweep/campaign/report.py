"""What the report and the status line say about a campaign: fingerprint, flags, precision.

* :func:`campaign_report_data` compares the accounts the model flags with the background
  (accounts the generic model scores as human): description link domains, description
  phrases (word 1-3-grams) and creation years, each as the share of flagged accounts that
  have it beside the share of the background that has it.
* :func:`precision_estimate` prefers labels added after the fit (held out: the model never
  saw them) once there are at least ``MIN_HELD_OUT`` of them on flagged accounts, and falls
  back to the cross-validated precision stored with the model.
* :func:`campaign_status` gives one entry per fitted campaign, with a ready status line.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from botsweep.campaign.features import clean_description
from botsweep.campaign.model import CampaignModel
from botsweep.campaign.store import fitted_campaigns, load_campaign_model, scorer_name
from botsweep.campaign.training import bot_threshold, judgements
from botsweep.errors import InputError, ModelError
from botsweep.logs import plural
from botsweep.models.links import description_domains
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, labels, scores

__all__ = ["campaign_report_data", "campaign_status", "precision_estimate", "MIN_HELD_OUT",
           "report_panel", "status_line"]

log = logging.getLogger("botsweep.campaign")

MIN_HELD_OUT = 5
_SAMPLE = 20_000
_CHUNK = 2000
_WORDS = re.compile(r"[^\W_][\w']*", re.UNICODE)


def _flagged_ids(conn: Any, name: str, threshold: float) -> list[int]:
    return list(conn.execute(
        select(scores.c.account_id)
        .where(scores.c.scorer == scorer_name(name), scores.c.probability >= threshold)
        .order_by(scores.c.account_id)).scalars())


def precision_estimate(db: Database, model: CampaignModel) -> tuple[float | None, str]:
    """(precision, where it comes from) for the accounts ``model`` flags."""
    fitted = float(model.meta.get("fitted_epoch") or 0.0)
    name = model.name
    with db.connect() as conn:
        flagged = set(_flagged_ids(conn, name, model.threshold))
        rows = conn.execute(
            select(labels.c.account_id, labels.c.label, labels.c.campaign)
            .where(labels.c.added_at > fitted, labels.c.account_id.is_not(None))).all()
    verdicts: dict[int, int] = {}
    for aid, label, campaign in rows:
        if aid not in flagged or (label == "bot" and campaign == ""):
            continue
        verdict = int(label == "bot" and campaign == name)
        if campaign == name or aid not in verdicts:
            verdicts[aid] = verdict
    if len(verdicts) >= MIN_HELD_OUT:
        share = sum(verdicts.values()) / len(verdicts)
        return round(share, 4), f"{len(verdicts)} labels added after the fit"
    metrics = model.meta.get("metrics") or {}
    if metrics.get("cv_folds"):
        training = model.meta.get("training") or {}
        others = sum(int(training.get(key) or 0) for key in (
            "background", "labels_not_campaign", "seeds_not_campaign"))
        return float(metrics["precision"]), (
            f"{metrics['cv_folds']}-fold cross-validation on {training.get('positives', 0)} "
            f"campaign accounts and {others} others")
    return None, "too few labels to estimate"


def _profiles(conn: Any, ids: Sequence[int]) -> list[dict[str, Any]]:
    out = []
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        for (raw,) in conn.execute(select(accounts.c.raw).where(
                accounts.c.id.in_(chunk), accounts.c.raw.is_not(None))):
            out.append(json.loads(raw))
    return out


def _phrases(text: str) -> set[str]:
    words = _WORDS.findall(clean_description(text).lower())
    grams = set()
    for size in (1, 2, 3):
        for i in range(len(words) - size + 1):
            grams.add(" ".join(words[i:i + size]))
    return grams


def _shares(groups: Iterable[Iterable[str]], total: int) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for items in groups:
        counts.update(set(items))
    return {k: v / total for k, v in counts.items()} if total else {}


def _overlap(a: str, b: str) -> bool:
    """True when two phrases say the same: one holds the other, or they share two words."""
    if a in b or b in a:
        return True
    pairs = {tuple(p) for p in zip(a.split(), a.split()[1:], strict=False)}
    return any(pair in pairs for pair in zip(b.split(), b.split()[1:], strict=False))


def _top(flag: dict[str, float], back: dict[str, float], n_flagged: int, top: int,
         dedupe: bool = False) -> list[tuple[str, float, float]]:
    minimum = max(2 / max(n_flagged, 1), 0.05)
    ranked = sorted((k for k, v in flag.items() if v >= minimum),
                    key=lambda k: (-(flag[k] - back.get(k, 0.0)), -len(k), k))
    chosen: list[str] = []
    for key in ranked:
        if flag[key] - back.get(key, 0.0) <= 0:
            break
        if dedupe and any(_overlap(key, other) for other in chosen):
            continue
        chosen.append(key)
        if len(chosen) >= top:
            break
    return [(k, round(flag[k], 4), round(back.get(k, 0.0), 4)) for k in chosen]


def campaign_report_data(db: Database, name: str, *, top: int = 10,
                         model: CampaignModel | None = None) -> dict[str, Any]:
    """The campaign's fingerprint against the background, for the report.

    ``{name, flagged, precision, precision_source, threshold, version, top_domains:
    [(domain, share, background_share)], top_phrases: [(phrase, share, background_share)],
    years: {year: (share, background_share)}, sample: {flagged, background}}``.
    """
    model = model or load_campaign_model(db, name)
    threshold = bot_threshold(db)
    rng = random.Random(0)
    with db.connect() as conn:
        flagged = _flagged_ids(conn, name, model.threshold)
        group = flagged
        if not group:  # nothing scored yet: show what the seeds and labels share
            judged, _, _ = judgements(conn, name)
            group = sorted(aid for aid, (y, _) in judged.items() if y == 1)
        background: list[int] = []
        if threshold is not None:
            flagged_set = set(group)
            background = [aid for aid in conn.execute(
                select(scores.c.account_id)
                .where(scores.c.scorer == "bot", scores.c.probability < threshold)
                .order_by(scores.c.account_id)).scalars() if aid not in flagged_set]
        group_sample = group if len(group) <= _SAMPLE else sorted(rng.sample(group, _SAMPLE))
        if len(background) > _SAMPLE:
            background = sorted(rng.sample(background, _SAMPLE))
        flag_records = _profiles(conn, group_sample)
        back_records = _profiles(conn, background)
    precision, source = precision_estimate(db, model)
    nf, nb = len(flag_records), len(back_records)
    domains = (_shares((description_domains(r) for r in flag_records), nf),
               _shares((description_domains(r) for r in back_records), nb))
    phrases = (_shares((_phrases(r.get("description") or "") for r in flag_records), nf),
               _shares((_phrases(r.get("description") or "") for r in back_records), nb))
    years = (_shares(([str(r.get("created_at") or "")[:4]] for r in flag_records), nf),
             _shares(([str(r.get("created_at") or "")[:4]] for r in back_records), nb))
    all_years = sorted(y for y in set(years[0]) | set(years[1]) if y.isdigit())
    return {
        "name": name,
        "flagged": len(flagged),
        "precision": precision,
        "precision_source": source,
        "threshold": model.threshold,
        "version": model.version,
        "top_domains": _top(*domains, nf, top),
        "top_phrases": _top(*phrases, nf, top, dedupe=True),
        "years": {int(y): (round(years[0].get(y, 0.0), 4), round(years[1].get(y, 0.0), 4))
                  for y in all_years},
        "sample": {"flagged": nf, "background": nb},
    }


def status_line(entry: Mapping[str, Any]) -> str:
    """``campaign NAME: N accounts flagged (campaign_probability >= T), estimated precision``
    from a :func:`campaign_status` entry or :func:`campaign_report_data`."""
    precision = entry["precision"]
    estimate = (f"estimated precision {precision:.0%} ({entry['precision_source']})"
                if precision is not None else entry["precision_source"])
    return (f"campaign {entry['name']}: {plural(entry['flagged'], 'account')} flagged "
            f"(campaign_probability >= {entry['threshold']:.2f}), {estimate}")


def campaign_status(db: Database) -> dict[str, Any]:
    """One entry per fitted campaign: flags (``flagged`` accounts have a stored probability
    of at least ``threshold``), precision estimate, fit time, and a line."""
    entries: list[dict[str, Any]] = []
    for name in fitted_campaigns(db):
        try:
            model = load_campaign_model(db, name)
        except ModelError as exc:
            entries.append({"name": name, "error": str(exc),
                            "line": f"campaign {name}: {exc}"})
            continue
        with db.connect() as conn:
            flagged = conn.execute(
                select(func.count()).select_from(scores)
                .where(scores.c.scorer == scorer_name(name),
                       scores.c.probability >= model.threshold)).scalar_one()
        precision, source = precision_estimate(db, model)
        metrics = model.meta.get("metrics") or {}
        entry = {
            "name": name, "version": model.version, "fitted_at": model.meta.get("fitted_at"),
            "flagged": flagged, "threshold": model.threshold,
            "precision": precision, "precision_source": source,
            "cv_recall": metrics.get("recall"), "training": model.meta.get("training", {}),
        }
        entry["line"] = status_line(entry)
        entries.append(entry)
    return {"campaigns": entries}


def report_panel(db: Database, name: str | None, *, review: int = 20) -> dict[str, Any]:
    """What the HTML report's campaign panel and review list show, ready for ``graph.graph``:
    ``{"campaign": campaign_report_data(...), "review": review_candidates(...)}``, or ``{}``
    when ``name`` is None or has no fitted model (the report then shows no panel)."""
    from botsweep.campaign.review import review_candidates

    if not name or name not in fitted_campaigns(db):
        return {}
    try:
        model = load_campaign_model(db, name)
    except ModelError as exc:
        log.warning("report: campaign %s left out: %s", name, exc)
        return {}
    panel: dict[str, Any] = {"campaign": campaign_report_data(db, name, model=model)}
    try:
        panel["review"] = review_candidates(db, name, review, model=model)
    except InputError:  # nothing scored for the campaign yet
        panel["review"] = []
    return panel
