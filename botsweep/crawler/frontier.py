"""The durable frontier: claiming work with leases, and giving it back.

Work is of two sorts.  *Tasks* are frontier rows: one list to read (``followers`` or
``following`` of an account, resumed from its cursor) or a handle to ``resolve``.
*Lookups* are accounts discovered but not yet profiled; they are claimed straight from
``accounts`` in batches of up to 100, so that discovering 1,000 accounts costs no extra
frontier rows.

A claim sets a lease (owner, expiry).  On PostgreSQL several workers claim with
``FOR UPDATE SKIP LOCKED``; a dead worker's lease expires and another takes the work.  On
SQLite (one writer at a time) a starting crawler takes back every lease, since no other
crawler can be mid-page on the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update

from botsweep.storage.db import Database
from botsweep.storage.schema import accounts, frontier

__all__ = ["Task", "Frontier", "retry_failed"]


# A seed's lists are queued before its profile is known.  Until its first lookup has been
# tried, they wait: the profile may show a list that cannot be read (count 0, protected,
# suspended), which the policy then skips.  One worker always looks up before it reads
# lists; with several, another worker could otherwise read such a list meanwhile, and the
# crawl would depend on how many workers ran it.
_awaiting_profile = (
    select(accounts.c.id)
    .where(accounts.c.id == frontier.c.account_id,
           frontier.c.kind.in_(("followers", "following")),
           accounts.c.fetched_at.is_(None), accounts.c.state.is_(None),
           accounts.c.lookup_attempts == 0)
    .exists()
)


@dataclass(frozen=True)
class Task:
    """A claimed frontier row."""

    id: int
    kind: str
    account_id: int | None
    handle: str | None
    cursor: str | None
    attempts: int
    items: int


class Frontier:
    """Claims and releases for one worker."""

    def __init__(self, db: Database, worker_id: str, lease_s: float) -> None:
        self.db = db
        self.worker_id = worker_id
        self.lease_s = lease_s

    def _claimable(self, now: float) -> object:
        return and_(
            or_(
                frontier.c.state == "pending",
                and_(frontier.c.state == "leased", frontier.c.lease_until < now),
            ),
            or_(frontier.c.not_before.is_(None), frontier.c.not_before <= now),
            ~_awaiting_profile,
        )

    def _held(self, task: Task) -> object:
        """``task``'s row, while this worker holds it.  On PostgreSQL a worker stalled past
        its lease must not release, retry or close a task another worker holds now."""
        if self.db.is_sqlite:
            return frontier.c.id == task.id
        return and_(frontier.c.id == task.id, frontier.c.lease_owner == self.worker_id)

    def reclaim_on_start(self) -> int:
        """Give back leases: all of them on SQLite, this worker's own on PostgreSQL."""
        condition = frontier.c.state == "leased"
        account_condition = accounts.c.lookup_owner.is_not(None)
        if not self.db.is_sqlite:
            condition = and_(condition, frontier.c.lease_owner == self.worker_id)
            account_condition = accounts.c.lookup_owner == self.worker_id
        with self.db.begin() as conn:
            count = conn.execute(
                update(frontier).where(condition)
                .values(state="pending", lease_owner=None, lease_until=None)
            ).rowcount
            conn.execute(
                update(accounts).where(account_condition)
                .values(lookup_owner=None, lookup_until=None)
            )
        return count or 0

    def release_all(self) -> None:
        """Give back every lease this worker holds (on a clean stop)."""
        with self.db.begin() as conn:
            conn.execute(
                update(frontier)
                .where(frontier.c.state == "leased", frontier.c.lease_owner == self.worker_id)
                .values(state="pending", lease_owner=None, lease_until=None)
            )
            conn.execute(
                update(accounts).where(accounts.c.lookup_owner == self.worker_id)
                .values(lookup_owner=None, lookup_until=None)
            )

    def has_work(self, kinds: Sequence[str], now: float) -> bool:
        """Is any task of these kinds claimable now?"""
        with self.db.connect() as conn:
            return conn.execute(
                select(frontier.c.id)
                .where(frontier.c.kind.in_(kinds), self._claimable(now)).limit(1)
            ).first() is not None

    def only_work(self, work: Sequence[tuple[str, int]], max_attempts: int) -> bool:
        """True when nothing but ``work`` (("task", id) and ("account", id) keys) is queued
        at all, whatever its rate limits, retry delays or leases: no other pending or
        leased task, no other profile waiting for a lookup."""
        tasks = [key for kind, key in work if kind == "task"]
        profiles = [key for kind, key in work if kind == "account"]
        with self.db.connect() as conn:
            other_task = conn.execute(select(frontier.c.id).where(
                frontier.c.state.in_(("pending", "leased")),
                frontier.c.id.not_in(tasks),
                # a seed's lists wait for its profile: they are this work, not other work
                or_(frontier.c.account_id.is_(None),
                    frontier.c.account_id.not_in(profiles))).limit(1)).first()
            if other_task is not None:
                return False
            return conn.execute(select(accounts.c.id).where(
                accounts.c.fetched_at.is_(None), accounts.c.state.is_(None),
                accounts.c.lookup_attempts < max_attempts,
                accounts.c.id.not_in(profiles)).limit(1)).first() is None

    def next_ready_at(self, kinds: Sequence[str], now: float) -> float | None:
        """When the earliest task held back by a retry delay becomes claimable."""
        with self.db.connect() as conn:
            value = conn.execute(
                select(frontier.c.not_before)
                .where(frontier.c.kind.in_(kinds), frontier.c.state == "pending",
                       frontier.c.not_before > now)
                .order_by(frontier.c.not_before).limit(1)
            ).scalar()
            leased = conn.execute(
                select(frontier.c.lease_until)
                .where(frontier.c.kind.in_(kinds), frontier.c.state == "leased")
                .order_by(frontier.c.lease_until).limit(1)
            ).scalar()
        candidates = [v for v in (value, leased) if v is not None]
        return min(candidates) if candidates else None

    def claim(self, kinds: Sequence[str], now: float, limit: int = 1) -> list[Task]:
        """Lease up to ``limit`` tasks of these kinds, highest priority first, FIFO within."""
        query = (
            select(frontier.c.id)
            .where(frontier.c.kind.in_(kinds), self._claimable(now))
            .order_by(frontier.c.priority.desc(), frontier.c.id)
            .limit(limit)
        )
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        with self.db.begin() as conn:
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(
                update(frontier).where(frontier.c.id.in_(ids))
                .values(state="leased", lease_owner=self.worker_id,
                        lease_until=now + self.lease_s)
            )
            rows = conn.execute(
                select(frontier.c.id, frontier.c.kind, frontier.c.account_id, frontier.c.handle,
                       frontier.c.cursor, frontier.c.attempts, frontier.c["items"])
                .where(frontier.c.id.in_(ids))
                .order_by(frontier.c.priority.desc(), frontier.c.id)
            ).all()
        return [Task(*row) for row in rows]

    def claim_lookups(self, now: float, limit: int, max_attempts: int) -> list[int]:
        """Lease up to ``limit`` unprofiled accounts, oldest discovery first."""
        query = (
            select(accounts.c.id)
            .where(
                accounts.c.fetched_at.is_(None),
                accounts.c.state.is_(None),
                accounts.c.lookup_attempts < max_attempts,
                or_(accounts.c.lookup_until.is_(None), accounts.c.lookup_until < now),
            )
            .order_by(accounts.c.first_seen, accounts.c.id)
            .limit(limit)
        )
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        with self.db.begin() as conn:
            ids = list(conn.execute(query).scalars())
            if ids:
                conn.execute(
                    update(accounts).where(accounts.c.id.in_(ids))
                    .values(lookup_owner=self.worker_id, lookup_until=now + self.lease_s)
                )
        return ids

    def retry_later(self, task: Task, error: str, not_before: float, max_attempts: int) -> bool:
        """Count a failed attempt; back off, or mark the task failed.  True if it will retry,
        or if the task is not this worker's any more (its lease lapsed): not ours to fail."""
        attempts = task.attempts + 1
        failed = attempts >= max_attempts
        with self.db.begin() as conn:
            held = conn.execute(
                update(frontier).where(self._held(task)).values(
                    attempts=attempts, last_error=error[:500],
                    state="failed" if failed else "pending",
                    not_before=None if failed else not_before,
                    lease_owner=None, lease_until=None,
                )
            ).rowcount
        return not failed or not held  # another worker's task now: not ours to give up

    def lookups_retry_later(self, ids: Sequence[int], not_before: float) -> None:
        """Count a failed lookup attempt for these accounts and hold them back."""
        with self.db.begin() as conn:
            conn.execute(
                update(accounts).where(accounts.c.id.in_(list(ids))).values(
                    lookup_attempts=accounts.c.lookup_attempts + 1,
                    lookup_owner=None, lookup_until=not_before,
                )
            )

    def release(self, task: Task, not_before: float | None = None) -> None:
        """Give a task back untouched (e.g. the endpoint was rate-limited), claimable again
        at once or, given ``not_before``, from then on."""
        values: dict[str, object] = {"state": "pending", "lease_owner": None,
                                     "lease_until": None}
        if not_before is not None:
            values["not_before"] = not_before
        with self.db.begin() as conn:
            conn.execute(update(frontier).where(self._held(task)).values(**values))

    def release_lookups(self, ids: Sequence[int], not_before: float | None = None) -> None:
        """Give lookups back with their attempts unchanged (claimable from ``not_before``)."""
        with self.db.begin() as conn:
            conn.execute(
                update(accounts).where(accounts.c.id.in_(list(ids)))
                .values(lookup_owner=None, lookup_until=not_before)
            )

    def finish(self, task: Task, state: str, reason: str | None = None, now: float = 0.0) -> None:
        """Close a task as done, skipped or failed, with its reason."""
        with self.db.begin() as conn:
            conn.execute(
                update(frontier).where(self._held(task)).values(
                    state=state, last_error=reason, done_at=now,
                    lease_owner=None, lease_until=None, cursor=None,
                )
            )


def retry_failed(db: Database, max_lookup_attempts: int) -> dict[str, int]:
    """Queue again every task marked ``failed`` and every profile lookup given up on.

    A failed list keeps its cursor and resumes where it stopped; attempts start again from
    zero.  Profiles count as given up once ``lookup_attempts`` reached
    ``max_lookup_attempts`` (``crawler.max_attempts``).  Returns ``{"tasks": n,
    "lookups": m}``; a second call finds nothing left to queue.
    """
    with db.begin() as conn:
        tasks = conn.execute(
            update(frontier).where(frontier.c.state == "failed").values(
                state="pending", attempts=0, last_error=None, not_before=None, done_at=None,
                lease_owner=None, lease_until=None,
            )
        ).rowcount
        lookups = conn.execute(
            update(accounts).where(
                accounts.c.fetched_at.is_(None), accounts.c.state.is_(None),
                accounts.c.lookup_attempts >= max_lookup_attempts,
            ).values(lookup_attempts=0, lookup_owner=None, lookup_until=None)
        ).rowcount
    return {"tasks": tasks or 0, "lookups": lookups or 0}
