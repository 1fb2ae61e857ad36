"""Assemble a crawl from settings: the Source, the scorers, the policy and the engine.

``open_crawl(settings, db)`` is what ``botsweep crawl``, the demo and the daemon call; it
is the library form of the CLI (``with open_crawl(...) as engine: engine.run()``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botsweep.config import Settings
from botsweep.crawler.clock import Clock, SystemClock
from botsweep.crawler.decide import ProbabilityModel, ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.policy import make_policy
from botsweep.crawler.ratelimit import RateLedger
from botsweep.crawler.shared_ledger import SharedRateLedger, make_ledger
from botsweep.storage.db import Database

__all__ = ["open_crawl", "scoring_context"]


def scoring_context(
    settings: Settings,
    db: Database,
    *,
    policy: str | None = None,
    bot_model: ProbabilityModel | None = None,
) -> ScoringContext:
    """The scorers and policy named by settings (the shipped model unless one is given)."""
    crawler = settings.crawler
    if bot_model is None:
        from botsweep.models.scorer import load_scorer

        bot_model = load_scorer(settings)
    threshold = crawler.bot_threshold if crawler.bot_threshold is not None else bot_model.threshold
    from botsweep.campaign.store import crawl_campaign_model

    campaign, campaign_name = crawl_campaign_model(settings, db, bot_model)
    return ScoringContext(
        policy=make_policy(policy or crawler.policy, page_size=crawler.page_size,
                           skip_human_lists_over=crawler.skip_human_lists_over),
        bot=bot_model,
        threshold=threshold,
        campaign=campaign,
        campaign_name=campaign_name,
        target=crawler.target,
        campaign_wanted=crawler.campaign,
    )


@contextmanager
def open_crawl(
    settings: Settings,
    db: Database,
    *,
    policy: str | None = None,
    source: Any = None,
    bot_model: ProbabilityModel | None = None,
    clock: Clock | None = None,
    ledger: RateLedger | SharedRateLedger | None = None,
    stop: threading.Event | None = None,
    worker_id: str | None = None,
) -> Iterator[CrawlEngine]:
    """A ready CrawlEngine; its Source is closed on exit."""
    stop = stop or threading.Event()
    clock = clock or SystemClock(stop)
    owned = source is None
    if source is None:
        from botsweep.crawler.source import XSource

        source = XSource.from_settings(settings.api)
    try:
        if ledger is None:
            # PostgreSQL: one ledger in the database for every worker; SQLite: in memory,
            # started from the windows the last process saved.
            ledger = make_ledger(db, list(source.token_keys))
        scoring = scoring_context(settings, db, policy=policy, bot_model=bot_model)
        yield CrawlEngine(db, source, settings, scoring, clock=clock, ledger=ledger,
                          stop=stop, worker_id=worker_id)
    finally:
        if owned:
            source.close()
