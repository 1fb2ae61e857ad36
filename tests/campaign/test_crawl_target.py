"""``crawler.target: campaign``: campaign scores on every lookup (against the sim), and the
``smart`` policy reads the lists of the campaign's accounts, not of every bot."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from botsweep.campaign.store import fit_campaign
from botsweep.config import Settings, load_settings
from botsweep.crawler.decide import apply_profiles
from botsweep.crawler.run import open_crawl, scoring_context
from botsweep.crawler.source import XSource
from botsweep.errors import ConfigError
from botsweep.seeding import AccountRef, add_seeds
from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, scores
from tests.campaign.synth import FETCHED_AT, FakeBotScorer, build_db, population, profile

TOKEN_ENV, TOKEN = "BOTSWEEP_TEST_CAMPAIGN_TOKEN", "campaign-test-token"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=3000, bot_networks=4, rng_seed=3)


@pytest.fixture(scope="module")
def sim(world: World) -> Iterator[str]:
    with SimServer(world, tokens=(TOKEN,), rate_limits={"*": 1_000_000}) as base_url:
        yield base_url


def _settings(tmp: Path, db_file: Path, base_url: str, target: str, campaign: str | None):
    text = (f"database:\n  url: sqlite:///{db_file}\n"
            f"api:\n  base_url: {base_url}\n  bearer_token_env: [{TOKEN_ENV}]\n"
            f"crawler:\n  policy: smart\n  target: {target}\n")
    if campaign:
        text += f"  campaign: {campaign}\n"
    path = tmp / f"config-{target}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def _crawl(tmp: Path, db: Database, db_file: Path, base_url: str, target: str,
           campaign: str | None, requests: int) -> None:
    settings = _settings(tmp, db_file, base_url, target, campaign)
    source = XSource({TOKEN_ENV: TOKEN}, base_url=base_url, timeout_s=10.0)
    with open_crawl(settings, db, source=source, bot_model=FakeBotScorer()) as engine:
        engine.run(max_requests=requests, max_seconds=120.0)
    source.close()


def _target(world: World) -> tuple[str, list[int]]:
    name = str(world.accounts[world.seeds[0]]["_campaign"])
    seeds = [s for s in world.seeds if world.accounts[s].get("_campaign") == name][:12]
    return name, seeds


def test_target_campaign_needs_a_fitted_model(tmp_path: Path, sim: str, world: World,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    db_file = tmp_path / "botsweep.db"
    db = Database(f"sqlite:///{db_file}")
    settings = _settings(tmp_path, db_file, sim, "campaign", "flower-1")
    with pytest.raises(ConfigError, match="botsweep campaign fit --campaign flower-1"):
        scoring_context(settings, db, bot_model=FakeBotScorer())
    db.dispose()


def test_target_campaign_scores_every_lookup_with_the_model(
        tmp_path: Path, sim: str, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    name, seeds = _target(world)
    db_file = tmp_path / "botsweep.db"
    db = Database(f"sqlite:///{db_file}")
    add_seeds(db, [AccountRef(id=s) for s in seeds], label="bot", campaign=name)
    _crawl(tmp_path, db, db_file, sim, "bot", None, 15)  # a background to fit against
    model = fit_campaign(db, name, bot_scorer=FakeBotScorer()).model
    with db.connect() as conn:
        profiled_before = set(conn.execute(
            select(accounts.c.id).where(accounts.c.raw.is_not(None))).scalars())
    _crawl(tmp_path, db, db_file, sim, "campaign", name, 30)
    with db.connect() as conn:
        versions = dict(conn.execute(
            select(scores.c.account_id, scores.c.model_version)
            .where(scores.c.scorer == f"campaign:{name}")).all())
        new = set(conn.execute(
            select(accounts.c.id).where(accounts.c.raw.is_not(None))).scalars())
    new -= profiled_before
    assert new, "the campaign crawl profiled nobody new"
    assert all(versions.get(aid) == model.version for aid in new)
    db.dispose()


def _queued(db: Database, ids: list[int]) -> dict[int, set[str]]:
    with db.connect() as conn:
        rows = conn.execute(select(frontier.c.account_id, frontier.c.kind, frontier.c.state)
                            .where(frontier.c.account_id.in_(ids))).all()
    out: dict[int, set[str]] = {aid: set() for aid in ids}
    for aid, kind, state in rows:
        if kind in ("followers", "following") and state == "pending":
            out[aid].add(kind)
    return out


@pytest.mark.parametrize("target", ["bot", "campaign"])
def test_smart_policy_expands_what_the_target_flags(tmp_path: Path, target: str) -> None:
    """Two new accounts that the generic model both calls bots: one of the campaign, one
    of a follower farm.  Hunting bots reads both; hunting the campaign reads only its own."""
    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    db = build_db(tmp_path, people, seeds=pron[:10])
    fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    rng = random.Random(11)
    member, farm = profile(20_001, "pron", rng), profile(20_002, "farm", rng)
    member["public_metrics"]["following_count"] = 3  # so both lists are worth reading
    farm["public_metrics"].update(followers_count=30, following_count=3)
    settings = Settings(crawler={"target": target, "campaign": "pron"})
    ctx = scoring_context(settings, db, bot_model=FakeBotScorer())
    assert ctx.hunts_campaign() is (target == "campaign")
    with db.begin() as conn:
        apply_profiles(conn, db, ctx, [member, farm], {}, FETCHED_AT)
    queued = _queued(db, [20_001, 20_002])
    assert queued[20_001] == {"followers", "following"}
    assert queued[20_002] == (set() if target == "campaign" else {"followers", "following"})
    db.dispose()
