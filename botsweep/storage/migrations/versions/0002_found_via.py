"""accounts.found_via and found_direction: the list that first brought each account.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both backends: no table copy, so a big accounts table
    # (and its expression index on lower(username)) is left as it is.
    op.add_column("accounts", sa.Column("found_via", sa.BigInteger(), nullable=True))
    op.add_column("accounts", sa.Column("found_direction", sa.String(length=16), nullable=True))
    op.create_index("ix_accounts_found_via", "accounts", ["found_via", "found_direction"],
                    unique=False)


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_found_via")
        batch_op.drop_column("found_direction")
        batch_op.drop_column("found_via")
