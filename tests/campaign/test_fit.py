"""Fitting a campaign model from seeds, labels and background; storing and scoring it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from botsweep.campaign.model import CampaignModel
from botsweep.campaign.store import (
    fit_campaign,
    load_campaign_model,
    model_key,
    resolve_campaign,
    score_campaign,
)
from botsweep.errors import InputError
from botsweep.seeding import AccountRef, add_labels, add_seeds
from botsweep.storage.schema import meta, scores
from tests.campaign.synth import FakeBotScorer, build_db, population, profile


def campaign_scores(db, name: str = "pron") -> dict[int, float]:
    with db.connect() as conn:
        return dict(conn.execute(
            select(scores.c.account_id, scores.c.probability)
            .where(scores.c.scorer == f"campaign:{name}")).all())


def ids_of(people, kind: str) -> list[int]:
    return [aid for aid, (k, _) in people.items() if k == kind]


@pytest.fixture
def people():
    return population()


def test_seeds_sharing_a_domain_flag_unseen_accounts_with_it_and_not_humans(
        tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    result = fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    p = campaign_scores(db)
    assert result.scored == len(people)
    unseen = [aid for aid in pron[10:]
              if "lovely42.example" in json.dumps(people[aid][1].get("entities", {}))]
    assert len(unseen) >= 15
    assert np.mean([p[aid] >= 0.5 for aid in unseen]) >= 0.9
    humans = ids_of(people, "human")
    assert sum(p[aid] >= 0.5 for aid in humans) == 0
    # The fingerprint names the planted domain among the strongest tokens.
    tokens = [row[0] for row in result.model.meta["fingerprint"][:8]]
    assert "domain:lovely42.example" in tokens


def test_the_domain_itself_drives_the_score(tmp_path: Path, people) -> None:
    """Two new accounts identical but for the link: the campaign's domain scores higher."""
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    model = fit_campaign(db, "pron", bot_scorer=FakeBotScorer(), score=False).model
    import random

    base = profile(77, "pron", random.Random(5))
    with_domain = json.loads(json.dumps(base).replace("bit.ly/3x", "lovely42.example/?u=x"))
    with_other = json.loads(json.dumps(base).replace("lovely42.example", "bit.ly"))
    for record in (with_domain, with_other):
        record["_bot_probability"] = 0.85
    p_domain, p_other = model.predict_proba([with_domain, with_other])
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert logit(p_domain) > logit(p_other) + 0.5


def test_a_human_label_on_a_false_positive_lowers_its_score(tmp_path: Path) -> None:
    people = population(n_linker=1)
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    before = campaign_scores(db)
    (linker,) = ids_of(people, "linker")  # a person whose old profile looks like the campaign
    assert before[linker] >= 0.5
    add_labels(db, [(AccountRef(id=linker), "human", "pron")])
    result = fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    after = campaign_scores(db)
    assert after[linker] < 0.5 and after[linker] < before[linker] - 0.3
    assert result.model.meta["training"]["labels_not_campaign"] == 1
    # The campaign is still found, and humans still are not.
    assert np.mean([after[aid] >= 0.5 for aid in pron[10:]]) >= 0.9
    assert not any(after[aid] >= 0.5 for aid in ids_of(people, "human"))


def test_other_bot_networks_are_not_flagged(tmp_path: Path, people) -> None:
    """Bots the generic model flags but that share nothing of the campaign's fingerprint."""
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    result = fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    p = campaign_scores(db)
    farm = ids_of(people, "farm")
    assert all(p[aid] >= 0.5 for aid in pron[:10])
    assert not any(p[aid] >= 0.5 for aid in farm)
    training = result.model.meta["training"]
    assert training["unlabelled"] + training["unlabelled_set_aside"] == len(farm) + 30


def test_a_bot_label_adds_a_member_the_seeds_did_not_cover(tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    first = fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    add_labels(db, [(AccountRef(id=aid), "bot", "pron") for aid in pron[10:15]])
    second = fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    assert second.model.meta["training"]["positives"] == 15
    assert second.model.meta["training"]["labels_bot"] == 5
    assert second.model.version != first.model.version


def test_fewer_than_three_seeds_says_how_many_are_needed(tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:2])
    with pytest.raises(InputError, match=r"has 2 profiled account\(s\) labelled bot.*at least 3"):
        fit_campaign(db, "pron", bot_scorer=FakeBotScorer())


def test_unprofiled_seeds_are_counted_as_waiting(tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:2])
    add_seeds(db, [AccountRef(id=123456789), AccountRef(handle="nobodyyet")], label="bot",
              campaign="pron")
    with pytest.raises(InputError, match=r"2 more not yet profiled: run `botsweep crawl`"):
        fit_campaign(db, "pron")


def test_no_background_and_no_negative_labels_is_a_clear_error(tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, {aid: people[aid] for aid in pron}, seeds=pron[:10])
    with pytest.raises(InputError, match="nothing to contrast"):
        fit_campaign(db, "pron")


def test_model_is_stored_as_json_and_loads_to_the_same_scores(tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    fitted = fit_campaign(db, "pron", bot_scorer=FakeBotScorer(), score=False).model
    with db.connect() as conn:
        text = conn.execute(select(meta.c.value).where(meta.c.key == model_key("pron"))).scalar()
    data = json.loads(text)
    assert data["format"] == "botsweep-campaign/1"
    assert len(text) < 200_000
    assert {"weights", "intercept", "scheme", "threshold", "metrics", "version"} <= set(data)
    loaded = load_campaign_model(db, "pron")
    records = [dict(rec, _bot_probability=0.85) for _, rec in list(people.values())[::7]]
    np.testing.assert_allclose(loaded.predict_proba(records), fitted.predict_proba(records),
                               atol=1e-4)
    assert loaded.version == fitted.version


def test_predict_asks_the_bot_scorer_only_when_the_record_lacks_the_probability(
        tmp_path: Path, people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:10])
    fit_campaign(db, "pron", bot_scorer=FakeBotScorer(), score=False)
    scorer = FakeBotScorer()
    model = load_campaign_model(db, "pron", bot_scorer=scorer)
    records = [rec for _, rec in list(people.values())[:5]]
    model.predict_proba([dict(r, _bot_probability=0.2) for r in records])
    assert scorer.calls == 0
    model.predict_proba(records)
    assert scorer.calls == 1


def test_score_campaign_without_a_model_names_the_fix(tmp_path: Path, people) -> None:
    db = build_db(tmp_path, people)
    with pytest.raises(InputError, match="botsweep campaign fit --campaign pron"):
        score_campaign(db, "pron")


def test_bad_model_json_is_a_model_error() -> None:
    from botsweep.errors import ModelError

    with pytest.raises(ModelError, match="refit"):
        CampaignModel.from_json('{"format": "botsweep-campaign/1", "name": "x"}')


def test_resolve_campaign_picks_the_only_one_and_refuses_to_guess(tmp_path: Path,
                                                                   people) -> None:
    pron = ids_of(people, "pron")
    db = build_db(tmp_path, people, seeds=pron[:3])
    assert resolve_campaign(db, None) == "pron"
    assert resolve_campaign(db, None, "other") == "other"
    add_labels(db, [(AccountRef(id=9000), "bot", "farm")])
    with pytest.raises(InputError, match="several campaigns"):
        resolve_campaign(db, None)
    with pytest.raises(InputError, match="1 to 49 characters"):
        resolve_campaign(db, "x" * 60)
