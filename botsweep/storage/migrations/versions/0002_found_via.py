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
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not a batch table copy: a copy would lose the
    # expression index on lower(username), which SQLite cannot reflect.
    op.drop_index("ix_accounts_found_via", table_name="accounts")
    op.drop_column("accounts", "found_direction")
    op.drop_column("accounts", "found_via")
