"""The crawl's cheap steps: resolving seed handles and looking up profiles in batches.

Profiles are looked up 100 at a time (``/2/users``), unless a list page brought them
(:mod:`botsweep.crawler.list_profiles`).  Each lookup's results are stored,
scored and handed to the policy in one transaction (``decide.apply_profiles``).
Handles waiting in the frontier are resolved with ``/2/users/by``; a resolved seed then
gets its lists queued like any seed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update

from botsweep.crawler.bot_yield import finish_rerank
from botsweep.crawler.decide import apply_profiles, reconsider
from botsweep.crawler.list_profiles import ListProfiles
from botsweep.crawler.replies import ENDPOINTS
from botsweep.errors import RateLimited, SourceError
from botsweep.seeding import queue_seed_lists
from botsweep.storage.pages import absorb_discovered
from botsweep.storage.schema import accounts, frontier, labels, seeds

if TYPE_CHECKING:
    from botsweep.crawler.engine import CrawlEngine

__all__ = ["LookupSteps"]

log = logging.getLogger("botsweep.crawler")


class LookupSteps:
    """Resolve and lookup steps of one :class:`CrawlEngine`."""

    def __init__(self, engine: CrawlEngine) -> None:
        self.engine = engine
        self.from_lists = ListProfiles(engine)  # profiles list pages brought

    def _unprofiled(self, now: float) -> object:
        return (
            accounts.c.fetched_at.is_(None),
            accounts.c.state.is_(None),
            accounts.c.lookup_attempts < self.engine.crawler.max_attempts,
            or_(accounts.c.lookup_until.is_(None), accounts.c.lookup_until < now),
        )

    def pending(self, now: float) -> bool:
        with self.engine.db.connect() as conn:
            return conn.execute(
                select(accounts.c.id).where(*self._unprofiled(now)).limit(1)  # type: ignore[arg-type]
            ).first() is not None

    def next_ready_at(self, now: float) -> float | None:
        """When the earliest lookup held back (by a lease or a retry delay) may go again."""
        with self.engine.db.connect() as conn:
            return conn.execute(
                select(func.min(accounts.c.lookup_until)).where(
                    accounts.c.fetched_at.is_(None), accounts.c.state.is_(None),
                    accounts.c.lookup_attempts < self.engine.crawler.max_attempts,
                    accounts.c.lookup_until >= now,
                )
            ).scalar()

    def absorb(self) -> int:
        """Turn discovered pages into stub accounts; let the policy reconsider old ones;
        profile the new stubs whose profiles their list pages brought."""
        engine = self.engine
        with engine.db.begin() as conn:
            rows, grown = absorb_discovered(conn, engine.db)
            if grown:
                reconsider(conn, engine.db, engine.scoring, grown, engine.clock.now())
            self.from_lists.apply(conn)
        finish_rerank(engine.db, engine.scoring, engine.stop)
        return rows

    # -- profiles ----------------------------------------------------------------------
    def lookup(self, now: float) -> bool:
        engine = self.engine
        endpoint = ENDPOINTS["users"]
        if engine.ledger.wait_until(endpoint, now) > now:
            return False
        ids = engine.frontier.claim_lookups(now, engine.crawler.lookup_batch,
                                            engine.crawler.max_attempts)
        if not ids:
            return False
        ids, attempts = self._narrow(ids)
        token_key = engine.ledger.acquire(endpoint, now)
        if token_key is None:
            engine.frontier.release_lookups(ids)
            return False
        engine.stats.lookup_requests += 1
        try:
            page = engine.source.lookup_users(ids, token_key=token_key)
        except RateLimited as exc:
            engine.handle_source_error(exc, endpoint, token_key)
            engine.frontier.release_lookups(ids)
            return True
        except SourceError as exc:
            engine.handle_source_error(exc, endpoint, token_key)
            if engine.spare(exc, [("account", i) for i in ids]):
                engine.frontier.release_lookups(ids, engine.reach.hold(exc))
                return True
            engine.frontier.lookups_retry_later(
                ids, engine.backoff(max(attempts.values(), default=0), exc))
            self._give_up(ids, attempts, str(exc))
            return True
        engine.page_arrived(page, endpoint, token_key, [("account", i) for i in ids])
        fetched_at = page.fetched_at.timestamp()
        asked = set(ids)
        users = [u for u in page.items if int(u["id"]) in asked]
        states = {int(e.value): e.state for e in page.errors
                  if e.value.isdigit() and int(e.value) in asked}
        answered = {int(u["id"]) for u in users} | set(states)
        with engine.db.begin() as conn:
            counts = apply_profiles(conn, engine.db, engine.scoring, users, states, fetched_at)
            engine.log_call(endpoint, token_key, page.status, "ok", len(users), conn=conn)
        missing = [i for i in ids if i not in answered]
        if missing:  # neither a user nor an error: ask again later
            engine.frontier.lookups_retry_later(
                missing, engine.backoff(max(attempts.values(), default=0)))
            self._give_up(missing, attempts, "the reply had neither the user nor an error")
        engine.stats.profiled += counts["profiled"]
        engine.stats.likely_bots += counts["likely"]
        finish_rerank(engine.db, engine.scoring, engine.stop)
        return True

    def _narrow(self, ids: list[int]) -> tuple[list[int], dict[int, int]]:
        """Shrink a batch that is being retried, so that one account whose profile always
        breaks the reply cannot keep the others of its batch from being profiled: after
        ``a`` failed attempts the batch holds at most ``lookup_batch // 10**a`` accounts
        (100, 10, then one at a time), the most-tried first.  The rest go back unclaimed."""
        engine = self.engine
        with engine.db.connect() as conn:
            attempts = dict(conn.execute(
                select(accounts.c.id, accounts.c.lookup_attempts).where(accounts.c.id.in_(ids))
            ).all())
        tried = max(attempts.values(), default=0)
        if tried == 0:
            return ids, attempts
        limit = max(1, engine.crawler.lookup_batch // 10 ** min(tried, 6))
        ordered = sorted(ids, key=lambda i: -attempts.get(i, 0))
        keep, rest = ordered[:limit], ordered[limit:]
        if rest:
            engine.frontier.release_lookups(rest)
        return keep, attempts

    def _give_up(self, ids: list[int], attempts: dict[int, int], reason: str) -> None:
        """Count and log the accounts whose failed lookup was their last attempt."""
        engine = self.engine
        last = [i for i in ids if attempts.get(i, 0) + 1 >= engine.crawler.max_attempts]
        if last:
            engine.stats.failed_tasks += len(last)
            log.warning("giving up on the profile of %s after %d attempts: %s",
                        ", ".join(map(str, last[:10])) + (" ..." if len(last) > 10 else ""),
                        engine.crawler.max_attempts, reason)

    # -- handles -----------------------------------------------------------------------
    def resolve(self, now: float) -> bool:
        engine = self.engine
        endpoint = ENDPOINTS["users_by"]
        if engine.ledger.wait_until(endpoint, now) > now:
            return False
        tasks = engine.frontier.claim(("resolve",), now, limit=engine.crawler.lookup_batch)
        if not tasks:
            return False
        tried = max(t.attempts for t in tasks)
        if tried:  # a retried batch shrinks as in _narrow: one bad handle cannot sink the rest
            limit = max(1, engine.crawler.lookup_batch // 10 ** min(tried, 6))
            tasks = sorted(tasks, key=lambda t: -t.attempts)
            for task in tasks[limit:]:
                engine.frontier.release(task)
            tasks = tasks[:limit]
        token_key = engine.ledger.acquire(endpoint, now)
        if token_key is None:
            for task in tasks:
                engine.frontier.release(task)
            return False
        engine.stats.resolve_requests += 1
        handles = [t.handle or "" for t in tasks]
        try:
            page = engine.source.lookup_usernames(handles, token_key=token_key)
        except RateLimited as exc:
            engine.handle_source_error(exc, endpoint, token_key)
            for task in tasks:
                engine.frontier.release(task)
            return True
        except SourceError as exc:
            outcome = engine.handle_source_error(exc, endpoint, token_key)
            if engine.spare(exc, [("task", t.id) for t in tasks]):
                for task in tasks:
                    engine.frontier.release(task, engine.reach.hold(exc))
                return True
            for task in tasks:
                if not engine.frontier.retry_later(task, f"{outcome}: {exc}",
                                                   engine.backoff(task.attempts, exc),
                                                   engine.crawler.max_attempts):
                    engine.stats.failed_tasks += 1
                    log.warning("giving up on resolving @%s: %s", task.handle, exc)
            return True
        engine.page_arrived(page, endpoint, token_key, [("task", t.id) for t in tasks])
        fetched_at = page.fetched_at.timestamp()
        by_handle = {str(u.get("username", "")).lower(): u for u in page.items}
        errors = {e.value.lower(): e.state for e in page.errors}
        with engine.db.begin() as conn:
            users = [by_handle[h] for h in handles if h in by_handle]
            for handle, user in ((h, by_handle[h]) for h in handles if h in by_handle):
                aid = int(user["id"])
                for table in (seeds, labels):
                    conn.execute(update(table).where(table.c.account_key == f"@{handle}")
                                 .values(account_id=aid))
                if conn.execute(select(seeds.c.id).where(seeds.c.account_id == aid)).first():
                    queue_seed_lists(conn, engine.db, [aid], fetched_at)
            counts = apply_profiles(conn, engine.db, engine.scoring, users, {}, fetched_at)
            for task in tasks:
                handle = task.handle or ""
                found = handle in by_handle
                # An API answer (not found, suspended) is final: ``skipped``, not ``failed``,
                # so that `frontier retry` does not spend a request asking again.
                state = "done" if found else "skipped"
                reason = None if found else f"handle {errors.get(handle, 'not_found')}"
                conn.execute(update(frontier).where(frontier.c.id == task.id).values(
                    state=state, last_error=reason, done_at=fetched_at,
                    lease_owner=None, lease_until=None))
            engine.log_call(endpoint, token_key, page.status, "ok", len(users), conn=conn)
        engine.stats.profiled += counts["profiled"]
        engine.stats.likely_bots += counts["likely"]
        finish_rerank(engine.db, engine.scoring, engine.stop)
        return True
