"""The database schema (SQLAlchemy 2.0 Core tables), shared by SQLite and PostgreSQL.

Times are epoch seconds (float).  ``first_seen`` and ``fetched_at`` are in the API's
clock, read from the reply's ``Date`` header, so that ages measured in a sim world come
out as they were in that world.  Lease and run times are this machine's wall clock.

The ``follows`` key is ordered (followee_id, follower_id) and the table has no rowid on
SQLite: a followers page (one followee and up to 1,000 followers) then lands as one run of
adjacent keys.  Measured on this kind of machine, a second index on follower_id, or one
random-order insert per discovered account, each cost the page write 2-4x (every random key
dirties its own B-tree page, and each commit writes those pages to the WAL).  So the page
write appends the page's ids to ``discovered`` (one row per page, ids packed as int64) and
the lookup step turns them into ``accounts`` stubs in batches, off the hot path.  Each
``discovered`` row also says whose list the ids came from: an id found on the lists of
several expanded accounts has that many ``bot_links``, the smart policy's network evidence.
Edges carry no foreign keys on purpose: an edge's accounts may still be in ``discovered``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)

__all__ = [
    "metadata",
    "accounts",
    "follows",
    "seeds",
    "labels",
    "frontier",
    "discovered",
    "scores",
    "runs",
    "api_calls",
    "rate_limits",
    "jobs",
    "meta",
    "ACCOUNT_STATES",
    "GONE_STATES",
    "FRONTIER_KINDS",
    "FRONTIER_STATES",
    "USERNAME_MAX",
    "CREATED_AT_MAX",
]

ACCOUNT_STATES = ("active", "protected", "suspended", "not_found", "deleted")
GONE_STATES = ("suspended", "not_found", "deleted")  # no profile, no lists to read
FRONTIER_KINDS = ("followers", "following", "resolve")
FRONTIER_STATES = ("pending", "leased", "done", "failed", "skipped")
USERNAME_MAX = 64  # X's are at most 15 characters
CREATED_AT_MAX = 40  # RFC 3339 with nanoseconds and an offset is 35

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("username", String(USERNAME_MAX)),
    Column("name", Text),
    Column("description", Text),
    Column("location", Text),
    Column("url", Text),
    Column("profile_image_url", Text),
    Column("created_at", String(CREATED_AT_MAX)),
    Column("protected", Boolean),
    Column("verified", Boolean),
    Column("followers_count", BigInteger),
    Column("following_count", BigInteger),
    Column("tweet_count", BigInteger),
    Column("listed_count", BigInteger),
    Column("like_count", BigInteger),
    Column("raw", Text),
    Column("state", String(16)),
    Column("first_seen", Float, nullable=False),
    Column("fetched_at", Float),
    Column("lookup_owner", String(64)),
    Column("lookup_until", Float),
    Column("lookup_attempts", Integer, nullable=False, server_default="0"),
    Column("bot_links", Integer, nullable=False, server_default="0"),
    # the list that first brought the account: its owner and direction (NULL for seeds and
    # accounts found before revision 0002); the smart policy reads the list's hunted share
    Column("found_via", BigInteger),
    Column("found_direction", String(16)),
    # found on a list and not scored yet: the smart policy has still to count it against
    # its kind of list (bot_yield); cleared once counted
    Column("yield_pending", Boolean, nullable=False, server_default=false()),
    CheckConstraint(
        "state IS NULL OR state IN ('active','protected','suspended','not_found','deleted')",
        name="state",
    ),
)
Index("ix_accounts_username_lower", func.lower(accounts.c.username))
Index("ix_accounts_unprofiled", accounts.c.fetched_at, accounts.c.state, accounts.c.first_seen)
Index("ix_accounts_found_via", accounts.c.found_via, accounts.c.found_direction)

follows = Table(
    "follows",
    metadata,
    Column("followee_id", BigInteger, primary_key=True, autoincrement=False),
    Column("follower_id", BigInteger, primary_key=True, autoincrement=False),
    Column("first_seen", Float, nullable=False),
    sqlite_with_rowid=False,
)

discovered = Table(
    "discovered",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("via_id", BigInteger, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("ids", LargeBinary, nullable=False),
    Column("first_seen", Float, nullable=False),
)

seeds = Table(
    "seeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_key", String(64), nullable=False, unique=True),
    Column("account_id", BigInteger, index=True),
    Column("handle", String(32)),
    Column("label", String(8)),
    Column("campaign", String(64), nullable=False, server_default=""),
    Column("source", Text, nullable=False),
    Column("added_at", Float, nullable=False),
    CheckConstraint("label IS NULL OR label IN ('bot','human')", name="label"),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_key", String(64), nullable=False),
    Column("account_id", BigInteger, index=True),
    Column("handle", String(32)),
    Column("label", String(8), nullable=False),
    Column("campaign", String(64), nullable=False, server_default=""),
    Column("source", Text, nullable=False),
    Column("added_at", Float, nullable=False),
    UniqueConstraint("account_key", "campaign"),
    CheckConstraint("label IN ('bot','human')", name="label"),
)

frontier = Table(
    "frontier",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("account_id", BigInteger),
    Column("handle", String(32)),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("priority", Float, nullable=False, server_default="0"),
    Column("cursor", Text),
    Column("pages", Integer, nullable=False, server_default="0"),
    Column("items", Integer, nullable=False, server_default="0"),
    Column("truncated", Boolean, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("not_before", Float),
    Column("enqueued_at", Float, nullable=False),
    Column("done_at", Float),
    UniqueConstraint("kind", "account_id"),
    UniqueConstraint("kind", "handle"),
    CheckConstraint("kind IN ('followers','following','resolve')", name="kind"),
    CheckConstraint(
        "state IN ('pending','leased','done','failed','skipped')", name="state"
    ),
)
Index("ix_frontier_claim", frontier.c.state, frontier.c.priority, frontier.c.id)

scores = Table(
    "scores",
    metadata,
    Column("account_id", BigInteger, ForeignKey("accounts.id"), primary_key=True,
           autoincrement=False),
    Column("scorer", String(80), primary_key=True),
    Column("model_version", String(120), nullable=False),
    Column("probability", Float, nullable=False),
    Column("profile_fetched_at", Float),
    Column("scored_at", Float, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("worker_id", String(64), nullable=False),
    Column("command", String(32), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("outcome", String(32)),
    Column("detail", Text),
)

api_calls = Table(
    "api_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), index=True),
    Column("at", Float, nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("token_key", String(64), nullable=False),
    Column("status", Integer),
    Column("outcome", String(16), nullable=False),
    Column("items", Integer, nullable=False, server_default="0"),
    Column("seconds", Float),
)
Index("ix_api_calls_endpoint_outcome", api_calls.c.endpoint, api_calls.c.outcome)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("token_key", String(64), primary_key=True),
    Column("endpoint", String(64), primary_key=True),
    Column("limit", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("reset", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("job_id", String(32), primary_key=True),
    Column("last_run_at", Float),
    Column("last_outcome", String(16)),
    Column("last_detail", Text),
    Column("next_run_at", Float),
    Column("updated_at", Float, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
