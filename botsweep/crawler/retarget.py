"""Keep the queue ranked for what the crawl hunts, when that changes.

The ``smart`` policy ranks each list by its owner's *hunted* probability: the generic bot
score, or with ``crawler.target: campaign`` the campaign model's score.  A list is ranked
when it is queued.  When the crawl starts hunting something else (a crawl with ``target:
campaign`` on a database crawled with ``target: bot``), or the campaign model changes (a
``botsweep campaign fit`` between two crawls, or while a crawl or the daemon runs), the
lists already queued would otherwise keep the ranks of the old target.  So
:func:`sync_target`:

1. scores, with the current campaign model, every profiled account that has no score of
   that model version (or one older than its profile);
2. ranks again every pending followers/following list not begun yet, from its owner's
   hunted probability; a list that the policy no longer wants *sinks* to priority 0 (it
   stays pending: it is read if nothing better is left, and ranked again if the target
   changes back);
3. queues the lists of profiled accounts that the new target wants and that have none;
4. makes the smart policy's bot yields those of the new target (they are counted apart per
   target, see :meth:`~botsweep.crawler.decide.ScoringContext.yield_prefix`).

``meta`` key ``frontier-ranked-for`` holds what the queue is ranked for (``bot``, or
``campaign:NAME <model version>``), so every worker and every later crawl knows.
:func:`refresh` is what the engine calls: at the start of a run, and every
``REFRESH_S`` of crawl time it reloads a campaign model that was refitted meanwhile.

Workers sharing one database must hunt the same target: two that did not would rank the
queue back and forth every ``REFRESH_S``.  So each crawling worker keeps a claim in
``meta`` (key ``frontier-hunted-by:<hash of its id>``: its id, its target and when it last
said so, at each refresh); a worker that would rank the queue for another target while a
worker claiming the stored one is live (heard from within ``LIVE_S``) stops with a
ConfigError naming it instead.  A refitted campaign model is the same target.  A crawl
that ends withdraws its own claim (:func:`stand_down`), so once no worker of the old target
crawls, the next crawl may hunt something else at once; a daemon keeps its claim between
its crawl ticks (renewed at each heartbeat, :func:`renew_claim`) and withdraws it when it
stops.  A crashed worker is not heard from, and its claim lapses after ``LIVE_S`` (and is
cleared at the next crawl's end), or at once where its process is known to be gone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, or_, select

from botsweep.crawler.bot_yield import _estimates, rank_queued, read_bot_yield
from botsweep.crawler.policy import DIRECTIONS, SmartPolicy
from botsweep.errors import ConfigError
from botsweep.liveness import here, process_gone
from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier, meta, scores

if TYPE_CHECKING:
    from botsweep.crawler.decide import ScoringContext

__all__ = ["RANKED_KEY", "HUNTER_PREFIX", "REFRESH_S", "LIVE_S", "claim_key", "ranking_key",
           "refresh", "renew_claim", "sync_target", "score_missing", "stand_down", "hunting"]

log = logging.getLogger("botsweep.crawler")

RANKED_KEY = "frontier-ranked-for"
HUNTER_PREFIX = "frontier-hunted-by:"  # one claim per crawling worker
REFRESH_S = 30.0  # how often a running crawl looks for a refitted campaign model
# A worker is live while it has said so within this long (it says so every REFRESH_S of
# crawling; the engine's loop never sleeps more than 30 s between steps).
LIVE_S = 180.0
_CHUNK = 500
_SCORE_BATCH = 2000


def ranking_key(ctx: ScoringContext) -> str:
    """What the queue's priorities come from: ``bot``, or the campaign model's version."""
    if ctx.hunts_campaign():
        assert ctx.campaign is not None
        return f"{ctx.target_scorer()} {ctx.campaign.version}"
    return "bot"


def _stored_key(conn: Connection) -> str | None:
    return conn.execute(select(meta.c.value).where(meta.c.key == RANKED_KEY)).scalar()


def _target_of(key: str) -> str:
    """``bot`` or ``campaign:NAME``: a ranking key without the campaign model's version."""
    return key.split(" ", 1)[0]


def claim_key(worker: str) -> str:
    """The ``meta`` key of ``worker``'s claim (hashed: ``meta.key`` holds 64 characters)."""
    return HUNTER_PREFIX + hashlib.sha1(worker.encode("utf-8")).hexdigest()[:16]


def _say_hunting(conn: Connection, db: Database, key: str, worker: str, now: float) -> None:
    value = json.dumps({"worker": worker, "target": _target_of(key), "at": now, **here()})
    conn.execute(db.upsert(meta, ["key"], ["value"]),
                 [{"key": claim_key(worker), "value": value}])


def _all_claims(conn: Connection) -> list[tuple[str, str, float, str, bool]]:
    """Every stored claim: (worker, target, when last heard from, meta key, whether its
    process ran here and is gone: killed, say, :func:`~botsweep.liveness.process_gone`),
    latest first; unreadable ones are nobody's."""
    out = []
    for key, raw in conn.execute(select(meta.c.key, meta.c.value)
                                 .where(meta.c.key.startswith(HUNTER_PREFIX))):
        try:
            claim = json.loads(raw)
            out.append((str(claim["worker"]), str(claim["target"]), float(claim["at"]), key,
                        process_gone(claim)))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return sorted(out, key=lambda claim: -claim[2])


def _claims(conn: Connection) -> list[tuple[str, str, float, str]]:
    """The claims of workers not known to be gone: (worker, target, heard at, meta key)."""
    return [claim[:4] for claim in _all_claims(conn) if not claim[4]]


def hunting(conn: Connection) -> dict[str, object]:
    """For ``botsweep status``: what the queue is ranked for, and the workers that claim to
    crawl for it, latest heard from first (``[{worker, target, heard_at}]``)."""
    return {"ranked_for": _stored_key(conn),
            "workers": [{"worker": worker, "target": target, "heard_at": at}
                        for worker, target, at, _ in _claims(conn)]}


def stand_down(db: Database, worker: str, now: float, *, keep_own: bool = False) -> None:
    """Withdraw ``worker``'s claim (its crawl has ended; a daemon's between its ticks, with
    ``keep_own``, keeps it), and clear claims that lapsed or whose process is gone."""
    with db.begin() as conn:
        gone = [key for other, _, at, key, dead in _all_claims(conn)
                if dead or (other == worker and not keep_own) or now - at >= LIVE_S]
        if gone:
            conn.execute(meta.delete().where(meta.c.key.in_(gone)))


def renew_claim(db: Database, worker: str, now: float) -> None:
    """Say again that ``worker`` hunts what it claimed (a daemon between its crawl ticks,
    at each heartbeat), so that its claim does not lapse while it lives (its own row:
    never behind a long transaction)."""
    with db.begin(turn=False) as conn:
        key = claim_key(worker)
        old = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        try:
            target = str(json.loads(old)["target"]) if old is not None else None
        except (ValueError, TypeError, KeyError):
            target = None
        if target is None:
            return
        value = json.dumps({"worker": worker, "target": target, "at": now, **here()})
        # only if unchanged since read: a tick that just claimed a new target keeps it
        conn.execute(meta.update().where(meta.c.key == key, meta.c.value == old)
                     .values(value=value))


def _check_no_live_rival(conn: Connection, key: str, worker: str, now: float) -> None:
    """ConfigError if another worker, live, crawls this database for another target."""
    for rival, target, at, _ in _claims(conn):
        if rival != worker and target != _target_of(key) and now - at < LIVE_S:
            raise ConfigError(
                f"worker {rival} is crawling this database for {target} (heard from "
                f"{now - at:.0f} s ago); workers sharing a database must hunt the same target: "
                f"give this one the same crawler.target and crawler.campaign, or stop that "
                f"worker first (if it died on another machine, its claim lapses in "
                f"{LIVE_S - (now - at):.0f} s)"
            )


def score_missing(conn: Connection, db: Database, ctx: ScoringContext) -> int:
    """Score every profiled account lacking a current score of the campaign model."""
    if ctx.campaign is None or not ctx.campaign_name:
        return 0
    from botsweep.campaign.store import store_campaign_scores

    name, version = f"campaign:{ctx.campaign_name}", ctx.campaign.version
    current, bot = scores.alias("current"), scores.alias("bot")
    last, total = -1, 0
    while True:
        rows = conn.execute(
            select(accounts.c.id, accounts.c.raw, accounts.c.fetched_at, bot.c.probability)
            .select_from(accounts.outerjoin(
                current, and_(current.c.account_id == accounts.c.id, current.c.scorer == name)
            ).outerjoin(bot, and_(bot.c.account_id == accounts.c.id, bot.c.scorer == "bot")))
            .where(accounts.c.raw.is_not(None), accounts.c.fetched_at.is_not(None),
                   accounts.c.id > last,
                   or_(current.c.account_id.is_(None), current.c.model_version != version,
                       current.c.profile_fetched_at < accounts.c.fetched_at))
            .order_by(accounts.c.id).limit(_SCORE_BATCH)
        ).all()
        if not rows:
            return total
        store_campaign_scores(conn, db, name, ctx.campaign, rows)
        total += len(rows)
        last = rows[-1].id


def _queue_wanted(conn: Connection, db: Database, ctx: ScoringContext, now: float) -> int:
    """Queue the lists of profiled accounts that the target wants and that have none."""
    from botsweep.crawler.decide import reconsider

    policy = ctx.policy
    queued = select(frontier.c.account_id).where(frontier.c.kind.in_(DIRECTIONS),
                                                 frontier.c.account_id.is_not(None))
    flagged = select(scores.c.account_id).where(
        scores.c.scorer == ctx.target_scorer(), scores.c.probability >= ctx.target_threshold())
    wanted = accounts.c.id.in_(flagged)
    if isinstance(policy, SmartPolicy):
        wanted = or_(wanted, accounts.c.bot_links >= policy.min_links)
    ids = list(conn.execute(
        select(accounts.c.id).where(wanted, accounts.c.fetched_at.is_not(None),
                                    accounts.c.id.not_in(queued))).scalars())
    return sum(reconsider(conn, db, ctx, ids[i:i + _CHUNK], now)
               for i in range(0, len(ids), _CHUNK))


def sync_target(db: Database, ctx: ScoringContext, now: float,
                worker: str | None = None) -> bool:
    """Rank the queue for the current target if it was ranked for another; True if so.

    With ``worker`` (the engine's id): say that it hunts the stored target, or refuse to
    rank the queue away from a target that another live worker hunts (ConfigError).
    """
    key = ranking_key(ctx)
    with db.connect() as conn:
        current = _stored_key(conn) == key
    if current:
        if worker is not None:
            with db.begin() as conn:
                _say_hunting(conn, db, key, worker, now)
        return False
    with db.begin() as conn:
        # One worker ranks; the others wait for the write turn (Database.begin) and then
        # find the queue ranked.
        if _stored_key(conn) == key:  # another worker ranked it meanwhile: claim it too
            if worker is not None:
                _say_hunting(conn, db, key, worker, now)
            return False
        if worker is not None:
            _check_no_live_rival(conn, key, worker, now)
        scored = score_missing(conn, db, ctx) if ctx.hunts_campaign() else 0
        policy = ctx.policy
        ranked = 0
        if isinstance(policy, SmartPolicy):
            policy.bot_yield.clear()
            policy.bot_yield.update(read_bot_yield(conn, ctx.yield_prefix()))
            ctx.ranked_with.clear()
            ctx.ranked_with.update(_estimates(policy))
            ranked = rank_queued(conn, ctx, sink_unwanted=True, unprofiled_seeds=False)
        added = _queue_wanted(conn, db, ctx, now)
        conn.execute(db.upsert(meta, ["key"], ["value"]), [{"key": RANKED_KEY, "value": key}])
        if worker is not None:
            _say_hunting(conn, db, key, worker, now)
    log.info("queue ranked for %s: %d profiles scored, %d lists ranked again, %d queued",
             key, scored, ranked, added)
    return True


def _reload_campaign(db: Database, ctx: ScoringContext) -> None:
    """Take up the stored campaign model if it is not the one in use (a refit)."""
    name = ctx.campaign_name or ctx.campaign_wanted
    if not name:
        return
    from botsweep.campaign.store import load_campaign_model
    from botsweep.errors import InputError

    try:
        model = load_campaign_model(db, name, ctx.bot)
    except InputError:
        return  # not fitted (yet): go on with what there is
    if ctx.campaign is None or model.version != ctx.campaign.version:
        log.info("campaign %s: now scoring with model %s", name, model.version)
        ctx.campaign, ctx.campaign_name = model, name


def refresh(db: Database, ctx: ScoringContext, now: float, *, force: bool = False,
            worker: str | None = None) -> bool:
    """Reload a refitted campaign model and re-rank the queue for it, at most every
    ``REFRESH_S`` (or now, with ``force``); True if the queue was ranked again."""
    if not force and ctx.checked_at is not None and now - ctx.checked_at < REFRESH_S:
        return False
    if ctx.checked_at is not None or ctx.campaign is None:
        _reload_campaign(db, ctx)  # a fresh context has just loaded it
    ctx.checked_at = now
    return sync_target(db, ctx, now, worker)
