"""Initial schema: accounts, follows, seeds, labels, frontier, scores, runs, api_calls,
rate_limits, jobs and meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("profile_image_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=40), nullable=True),
        sa.Column("protected", sa.Boolean(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("followers_count", sa.BigInteger(), nullable=True),
        sa.Column("following_count", sa.BigInteger(), nullable=True),
        sa.Column("tweet_count", sa.BigInteger(), nullable=True),
        sa.Column("listed_count", sa.BigInteger(), nullable=True),
        sa.Column("like_count", sa.BigInteger(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("fetched_at", sa.Float(), nullable=True),
        sa.Column("lookup_owner", sa.String(length=64), nullable=True),
        sa.Column("lookup_until", sa.Float(), nullable=True),
        sa.Column("lookup_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bot_links", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "state IS NULL OR state IN ('active','protected','suspended','not_found','deleted')",
            name=op.f("ck_accounts_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accounts_unprofiled", ["fetched_at", "state", "first_seen"], unique=False
        )
    op.create_index("ix_accounts_username_lower", "accounts", [sa.text("lower(username)")])

    op.create_table(
        "follows",
        sa.Column("followee_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("follower_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("followee_id", "follower_id", name=op.f("pk_follows")),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "discovered",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("via_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_discovered")),
    )
    op.create_table(
        "frontier",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("handle", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("priority", sa.Float(), server_default="0", nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("truncated", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("not_before", sa.Float(), nullable=True),
        sa.Column("enqueued_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('followers','following','resolve')", name=op.f("ck_frontier_kind")
        ),
        sa.CheckConstraint(
            "state IN ('pending','leased','done','failed','skipped')",
            name=op.f("ck_frontier_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frontier")),
        sa.UniqueConstraint("kind", "account_id", name=op.f("uq_frontier_kind_account_id")),
        sa.UniqueConstraint("kind", "handle", name=op.f("uq_frontier_kind_handle")),
    )
    with op.batch_alter_table("frontier", schema=None) as batch_op:
        batch_op.create_index("ix_frontier_claim", ["state", "priority", "id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("last_run_at", sa.Float(), nullable=True),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        sa.Column("last_detail", sa.Text(), nullable=True),
        sa.Column("next_run_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", "job_id", name=op.f("pk_jobs")),
    )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("handle", sa.String(length=32), nullable=True),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("campaign", sa.String(length=64), server_default="", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.CheckConstraint("label IN ('bot','human')", name=op.f("ck_labels_label")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("account_key", "campaign", name=op.f("uq_labels_account_key_campaign")),
    )
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_account_id"), ["account_id"], unique=False)

    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "rate_limits",
        sa.Column("token_key", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("reset", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token_key", "endpoint", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "seeds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("handle", sa.String(length=32), nullable=True),
        sa.Column("label", sa.String(length=8), nullable=True),
        sa.Column("campaign", sa.String(length=64), server_default="", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "label IS NULL OR label IN ('bot','human')", name=op.f("ck_seeds_label")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seeds")),
        sa.UniqueConstraint("account_key", name=op.f("uq_seeds_account_key")),
    )
    with op.batch_alter_table("seeds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seeds_account_id"), ["account_id"], unique=False)

    op.create_table(
        "api_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("token_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_api_calls_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_calls")),
    )
    with op.batch_alter_table("api_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_api_calls_endpoint_outcome", ["endpoint", "outcome"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_api_calls_run_id"), ["run_id"], unique=False)

    op.create_table(
        "scores",
        sa.Column("account_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("scorer", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=120), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("profile_fetched_at", sa.Float(), nullable=True),
        sa.Column("scored_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_scores_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "scorer", name=op.f("pk_scores")),
    )


def downgrade() -> None:
    op.drop_table("scores")
    with op.batch_alter_table("api_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_calls_run_id"))
        batch_op.drop_index("ix_api_calls_endpoint_outcome")

    op.drop_table("api_calls")
    with op.batch_alter_table("seeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seeds_account_id"))

    op.drop_table("seeds")
    op.drop_table("runs")
    op.drop_table("rate_limits")
    op.drop_table("meta")
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labels_account_id"))

    op.drop_table("labels")
    op.drop_table("jobs")
    with op.batch_alter_table("frontier", schema=None) as batch_op:
        batch_op.drop_index("ix_frontier_claim")

    op.drop_table("frontier")
    op.drop_table("discovered")

    op.drop_table("follows")
    op.drop_index("ix_accounts_username_lower", table_name="accounts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_unprofiled")

    op.drop_table("accounts")
