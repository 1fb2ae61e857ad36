"""When the crawl starts hunting a campaign, or its model is refitted, the lists already
queued are ranked again for it: the campaign's accounts' lists are read first, and the
lists of bots that the campaign model rejects wait."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from botsweep.campaign.store import fit_campaign
from botsweep.config import Settings
from botsweep.crawler import retarget
from botsweep.crawler.bot_yield import read_bot_yield, update_bot_yield
from botsweep.crawler.decide import ScoringContext, apply_profiles
from botsweep.crawler.frontier import Frontier
from botsweep.crawler.policy import SmartPolicy
from botsweep.crawler.retarget import LIVE_S, RANKED_KEY, REFRESH_S, stand_down
from botsweep.crawler.run import scoring_context
from botsweep.errors import ConfigError
from botsweep.storage.db import Database
from botsweep.storage.pages import write_profiles
from botsweep.storage.schema import accounts, frontier, meta, scores
from tests.campaign.synth import FETCHED_AT, FakeBotScorer, build_db, population, profile
from tests.crawler.fakes import user

NOW = FETCHED_AT + 60.0
MEMBER, FARM, QUIET = 1, 2, 3  # a campaign member, a follower-farm bot, a quiet member


class FakeCampaign:
    """Flags accounts whose bio mentions lovely42 (the campaign), whatever else they are."""

    threshold = 0.5

    def __init__(self, version: str = "fake-campaign-1") -> None:
        self.version = version

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.array([0.95 if "lovely42" in str(r.get("description")) else 0.05
                         for r in records])


def _profiles() -> list[dict[str, Any]]:
    member = user(MEMBER, "member", followers=12, following=3)
    farm = user(FARM, "farm", followers=900, following=4)
    quiet = user(QUIET, "quiet", followers=40, following=300)  # looks human to FakeBotScorer
    for record in (member, quiet):
        record["description"] = "chat with me at lovely42"
    farm["description"] = "get more followers fast"
    return [member, farm, quiet]


def _context(target: str, campaign: FakeCampaign | None = None) -> ScoringContext:
    return ScoringContext(policy=SmartPolicy(), bot=FakeBotScorer(), threshold=0.5,
                          campaign=campaign, campaign_name="pron" if campaign else None,
                          target=target)


def _claim_order(db: Database) -> list[tuple[int | None, str]]:
    tasks = Frontier(db, "test", 60.0).claim(("followers", "following"), NOW, limit=10)
    Frontier(db, "test", 60.0).release_all()
    return [(t.account_id, t.kind) for t in tasks]


def _priorities(db: Database) -> dict[tuple[int, str], float]:
    with db.connect() as conn:
        return {(a, k): p for a, k, p in conn.execute(
            select(frontier.c.account_id, frontier.c.kind, frontier.c.priority))}


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'botsweep.db'}")
    with database.begin() as conn:  # profiled and queued while hunting bots
        apply_profiles(conn, database, _context("bot"), _profiles(), {}, FETCHED_AT)
    return database


def test_loading_a_campaign_model_puts_the_campaigns_lists_first(db: Database) -> None:
    before = _claim_order(db)
    assert before[0] == (FARM, "followers")  # the farm's big list led the generic queue
    assert QUIET not in {aid for aid, _ in before}  # not a bot: its lists were not queued

    hunting = _context("campaign", FakeCampaign())
    assert hunting.refresh(db, NOW, force=True)
    after = _claim_order(db)
    first = {aid for aid, _ in after[:4]}
    assert first == {MEMBER, QUIET}  # the campaign's lists, the quiet member's too
    assert {aid for aid, _ in after[4:]} == {FARM}  # the rejected bot's lists sink
    assert all(p == 0.0 for (aid, _), p in _priorities(db).items() if aid == FARM)
    with db.connect() as conn:
        camp = dict(conn.execute(select(scores.c.account_id, scores.c.model_version)
                                 .where(scores.c.scorer == "campaign:pron")).all())
        ranked = conn.execute(select(meta.c.value).where(meta.c.key == RANKED_KEY)).scalar()
    assert camp == dict.fromkeys((MEMBER, FARM, QUIET), "fake-campaign-1")
    assert ranked == "campaign:pron fake-campaign-1"
    db.dispose()


def test_the_queue_is_ranked_once_per_target_and_back_again(db: Database) -> None:
    hunting = _context("campaign", FakeCampaign())
    assert hunting.refresh(db, NOW, force=True)
    order = _claim_order(db)
    assert not hunting.refresh(db, NOW + 1, force=True)  # already ranked for this model
    assert _claim_order(db) == order
    assert _context("bot").refresh(db, NOW + 2, force=True)  # hunting bots again
    assert _claim_order(db)[0] == (FARM, "followers")
    db.dispose()


def test_a_new_campaign_model_version_ranks_the_queue_again(db: Database) -> None:
    assert _context("campaign", FakeCampaign()).refresh(db, NOW, force=True)
    assert _context("campaign", FakeCampaign("fake-campaign-2")).refresh(db, NOW, force=True)
    with db.connect() as conn:
        versions = set(conn.execute(select(scores.c.model_version)
                                    .where(scores.c.scorer == "campaign:pron")).scalars())
    assert versions == {"fake-campaign-2"}
    db.dispose()


def test_a_worker_does_not_rank_the_queue_away_from_a_live_worker_hunting_another_target(
        db: Database) -> None:
    """Two workers on one database with different targets would rank the queue back and
    forth every REFRESH_S; the second one is refused, naming the first, until the first
    has stopped (not heard from for LIVE_S)."""
    bots = _context("bot")
    assert bots.refresh(db, NOW, force=True, worker="w1")  # the first worker ranks the queue
    order = _claim_order(db)
    campaign = _context("campaign", FakeCampaign())
    with pytest.raises(ConfigError, match="worker w1 is crawling this database for bot"):
        campaign.refresh(db, NOW + 5, force=True, worker="w2")
    assert _claim_order(db) == order  # nothing ranked, nothing half-written
    with db.connect() as conn:
        ranked = conn.execute(select(meta.c.value).where(meta.c.key == RANKED_KEY)).scalar()
    assert ranked == "bot"
    # w1 keeps saying it crawls (each refresh); once it stops, w2 may take the database over
    assert bots.refresh(db, NOW + 60, force=True, worker="w1") is False
    with pytest.raises(ConfigError, match="heard from 40 s ago"):
        campaign.refresh(db, NOW + 100, force=True, worker="w2")
    assert campaign.refresh(db, NOW + 60 + LIVE_S, force=True, worker="w2")
    assert {aid for aid, _ in _claim_order(db)[:4]} == {MEMBER, QUIET}
    # now w1, restarted with its old target, is the one refused
    with pytest.raises(ConfigError, match="worker w2 is crawling this database for campaign:pron"):
        _context("bot").refresh(db, NOW + 61 + LIVE_S, force=True, worker="w1")
    stand_down(db, "w1", NOW + 62 + LIVE_S)  # w1's lapsed claim goes, w2's stays
    with pytest.raises(ConfigError, match="worker w2"):
        _context("bot").refresh(db, NOW + 62 + LIVE_S, force=True, worker="w1")
    stand_down(db, "w2", NOW + 62 + LIVE_S)  # w2's crawl ended: the database is free at once
    assert _context("bot").refresh(db, NOW + 63 + LIVE_S, force=True, worker="w1")
    db.dispose()


def test_a_worker_killed_on_this_machine_blocks_no_other_and_is_not_shown(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed here (SIGKILL: no stand-down) is known gone at once, as status knows
    a killed daemon: its claim neither refuses another target nor shows in status."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = retarget.here()
    monkeypatch.setattr(retarget, "here", lambda: {**alive, "pid": dead.pid})
    assert _context("bot").refresh(db, NOW, force=True, worker="w1")  # then w1 is killed
    monkeypatch.setattr(retarget, "here", lambda: alive)
    with db.connect() as conn:
        assert retarget.hunting(conn)["workers"] == []
    assert _context("campaign", FakeCampaign()).refresh(db, NOW + 5, force=True, worker="w2")
    with db.connect() as conn:
        assert [w["worker"] for w in retarget.hunting(conn)["workers"]] == ["w2"]
    stand_down(db, "w2", NOW + 10)  # w2's crawl ends: its claim and the dead one go
    with db.connect() as conn:
        claims = conn.execute(select(meta.c.key).where(
            meta.c.key.startswith(retarget.HUNTER_PREFIX))).scalars().all()
    assert claims == []
    db.dispose()


def test_one_worker_ending_its_crawl_does_not_free_a_target_another_still_hunts(
        db: Database) -> None:
    """Each worker keeps its own claim: when one of two workers hunting bots stands down,
    the other still holds the database for bots."""
    assert _context("bot").refresh(db, NOW, force=True, worker="w1")
    assert not _context("bot").refresh(db, NOW + 1, force=True, worker="w3")
    assert not _context("bot").refresh(db, NOW + 2, force=True, worker="w1")  # w1 said last
    stand_down(db, "w1", NOW + 3)
    with pytest.raises(ConfigError, match="worker w3 is crawling this database for bot"):
        _context("campaign", FakeCampaign()).refresh(db, NOW + 4, force=True, worker="w2")
    stand_down(db, "w3", NOW + 5)
    assert _context("campaign", FakeCampaign()).refresh(db, NOW + 6, force=True, worker="w2")
    db.dispose()


def test_a_worker_that_waited_while_another_ranked_the_queue_still_claims_it(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers hunting bots start on one database at once: w2 finds the queue not
    ranked yet, waits for the ranking lock while w1 ranks it, then finds it ranked.  w2
    crawls on for bots, so after w1's crawl ends a worker hunting another target is still
    refused, naming w2 (not let in to rank the queue away under w2's feet)."""
    other = Database(db.url)  # w1's own engine on the same database
    real = retarget._stored_key
    looked: list[str | None] = []

    def w1_ranks_after_w2_looked(conn: Any) -> str | None:
        value = real(conn)
        if not looked:  # w2's first look, before the lock: w1 ranks the queue just then
            looked.append(value)
            assert _context("bot").refresh(other, NOW, force=True, worker="w1")
        return value

    monkeypatch.setattr(retarget, "_stored_key", w1_ranks_after_w2_looked)
    assert not _context("bot").refresh(db, NOW + 1, force=True, worker="w2")
    monkeypatch.setattr(retarget, "_stored_key", real)
    assert looked == [None]  # w2 did see the queue unranked before it waited
    stand_down(other, "w1", NOW + 2)
    with db.connect() as conn:
        assert [w["worker"] for w in retarget.hunting(conn)["workers"]] == ["w2"]
    with pytest.raises(ConfigError, match="worker w2 is crawling this database for bot"):
        _context("campaign", FakeCampaign()).refresh(db, NOW + 3, force=True, worker="w3")
    other.dispose()
    db.dispose()


def test_workers_hunting_the_same_campaign_share_its_refits(db: Database) -> None:
    """A refitted campaign model is the same target: another worker may rank for it."""
    assert _context("campaign", FakeCampaign()).refresh(db, NOW, force=True, worker="w1")
    assert _context("campaign", FakeCampaign("fake-campaign-2")).refresh(
        db, NOW + 1, force=True, worker="w2")
    assert not _context("campaign", FakeCampaign("fake-campaign-2")).refresh(
        db, NOW + 2, force=True, worker="w1")
    db.dispose()


def test_a_running_crawl_takes_up_a_refitted_campaign_model(tmp_path: Path) -> None:
    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    db = build_db(tmp_path, people, seeds=pron[:10])
    first = fit_campaign(db, "pron", bot_scorer=FakeBotScorer()).model
    ctx = scoring_context(Settings(crawler={"target": "campaign", "campaign": "pron"}), db,
                          bot_model=FakeBotScorer())
    assert ctx.campaign is not None and ctx.campaign.version == first.version
    assert ctx.refresh(db, NOW, force=True)
    second = fit_campaign(db, "pron", bot_scorer=FakeBotScorer(), c=0.2).model
    assert second.version != first.version
    newcomer = profile(20_001, "pron", random.Random(5))
    with db.begin() as conn:  # profiled by another worker that scores no campaign
        write_profiles(conn, db, [newcomer], NOW)
    assert not ctx.refresh(db, NOW + 1)  # looked for at most every REFRESH_S
    assert ctx.refresh(db, NOW + REFRESH_S + 1)
    assert ctx.campaign.version == second.version
    with db.connect() as conn:
        row = conn.execute(select(scores.c.model_version, scores.c.probability).where(
            scores.c.scorer == "campaign:pron", scores.c.account_id == 20_001)).one()
    assert row.model_version == second.version and row.probability >= 0.5
    db.dispose()


def test_bot_yields_are_counted_apart_for_the_campaign(db: Database) -> None:
    """What a farm's list brought is 'all bots' to the generic hunt and 'no campaign' to
    the campaign hunt; neither count may leak into the other."""
    hunting = _context("campaign", FakeCampaign())
    hunting.refresh(db, NOW, force=True)
    fans = list(range(100, 120))
    found_on_farm = update(accounts).where(accounts.c.id.in_(fans)).values(yield_pending=True)
    with db.begin() as conn:
        conn.execute(insert(accounts), [
            {"id": f, "first_seen": NOW, "found_via": FARM, "found_direction": "followers"}
            for f in fans])
        conn.execute(found_on_farm)
        update_bot_yield(conn, db, hunting, dict.fromkeys(fans, 0.05))
        conn.execute(found_on_farm)
        update_bot_yield(conn, db, _context("bot"), dict.fromkeys(fans, 0.85))
        for_campaign = read_bot_yield(conn, hunting.yield_prefix())
        for_bots = read_bot_yield(conn)
    assert sum(b for b, _ in for_campaign.values()) == 0.0
    assert sum(n for _, n in for_campaign.values()) == 20.0
    assert sum(b for b, _ in for_bots.values()) == sum(n for _, n in for_bots.values()) == 20.0
    db.dispose()


class NameCampaign(FakeCampaign):
    """Flags the accounts whose username mentions the campaign."""

    def predict_proba(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.array([0.95 if "camp" in str(r.get("username")) else 0.05 for r in records])


@pytest.mark.parametrize("target", ["bot", "campaign"])
def test_a_crawl_that_starts_hunting_the_campaign_reads_its_lists_first(
        tmp_path: Path, target: str) -> None:
    """A seed follows a campaign bot with a short list and a farm bot with two long ones.
    A first crawl, hunting bots, profiles both and reads the farm's longest list.  The next
    crawl reads the farm's other list when it hunts bots, the campaign bot's when it hunts
    the campaign, although the farm's list was queued higher."""
    from botsweep.crawler.clock import FakeClock
    from botsweep.crawler.engine import CrawlEngine
    from botsweep.seeding import AccountRef, add_seeds
    from tests.crawler.fakes import FakeSource, FakeWorld, NameScorer

    seed, member, farm = 1, 2, 3
    names = {seed: "botseed", member: "botcamp", farm: "botfarm"}
    edges = {(seed, member), (seed, farm)}
    for human in range(100, 140):
        names[human] = f"human{human}"
        edges |= {(human, farm), (farm, human)}
    for human in range(200, 205):
        names[human] = f"human{human}"
        edges.add((human, member))
    clock = FakeClock()
    source = FakeSource(FakeWorld.build(names, edges), clock)
    db = Database(f"sqlite:///{tmp_path / 'crawl.db'}")
    add_seeds(db, [AccountRef(id=seed)], label="bot", campaign="pron", now=clock.now())

    def run(ctx: ScoringContext, requests: int) -> None:
        CrawlEngine(db, source, Settings(), ctx, clock=clock, worker_id="w1").run(
            max_requests=requests)

    def context(target: str) -> ScoringContext:
        campaign = NameCampaign() if target == "campaign" else None
        return ScoringContext(policy=SmartPolicy(), bot=NameScorer(), threshold=0.5,
                              campaign=campaign, campaign_name="pron" if campaign else None,
                              target=target)

    run(context("bot"), 2)
    assert [c[:2] for c in source.calls if c[0] != "users"] == [
        ("following", seed), ("followers", farm)]
    read_before = len(source.calls)
    run(context(target), 1)
    last = [c[:2] for c in source.calls[read_before:] if c[0] in ("followers", "following")]
    assert last == ([("following", farm)] if target == "bot" else [("followers", member)])
    db.dispose()


def test_workers_starting_together_on_postgresql_rank_the_queue_once() -> None:
    import threading

    from tests.pg import pg_url_or_skip

    with pg_url_or_skip() as url:
        database = Database(url)
        with database.begin() as conn:
            apply_profiles(conn, database, _context("bot"), _profiles(), {}, FETCHED_AT)
        results: list[bool] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def worker() -> None:
            try:
                start.wait()
                results.append(_context("campaign", FakeCampaign()).refresh(
                    database, NOW, force=True))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(results) == [False, False, False, True]  # one ranked, three found it done
        assert {aid for aid, _ in _claim_order(database)[:4]} == {MEMBER, QUIET}
        database.dispose()
