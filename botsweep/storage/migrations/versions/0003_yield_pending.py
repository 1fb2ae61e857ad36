"""accounts.yield_pending replaces the ``via:<id>`` rows in ``meta``.

Until an account found on a list is scored, the smart policy must still count it against
the kind of list that brought it (``found_via`` / ``found_direction``, revision 0002).
That "not yet counted" mark was one ``meta`` row per new account; it is now a column of
the account row, which absorbing a page writes anyway.  The upgrade moves every pending
``via:`` row onto its account (filling ``found_via`` where an account predates 0002) and
deletes the rows; the downgrade writes them back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_VIA = "via:"
_CHUNK = 5000


def upgrade() -> None:
    op.add_column("accounts", sa.Column("yield_pending", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT key, value FROM meta WHERE key LIKE :via"),
                        {"via": _VIA + "%"}).all()
    moved = []
    for key, value in rows:
        via, _, direction = str(value).partition(" ")
        moved.append({"id": int(str(key)[len(_VIA):]), "via": int(via), "dir": direction})
    update = sa.text(
        "UPDATE accounts SET yield_pending = :pending, "
        "found_via = COALESCE(found_via, :via), "
        "found_direction = COALESCE(found_direction, :dir) WHERE id = :id")
    for start in range(0, len(moved), _CHUNK):
        conn.execute(update, [{**row, "pending": True} for row in moved[start:start + _CHUNK]])
    conn.execute(sa.text("DELETE FROM meta WHERE key LIKE :via"), {"via": _VIA + "%"})


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, found_via, found_direction FROM accounts "
        "WHERE yield_pending = :pending AND found_via IS NOT NULL"), {"pending": True}).all()
    insert = sa.text("INSERT INTO meta (key, value) VALUES (:key, :value)")
    values = [{"key": f"{_VIA}{aid}", "value": f"{via} {direction}"}
              for aid, via, direction in rows]
    for start in range(0, len(values), _CHUNK):
        conn.execute(insert, values[start:start + _CHUNK])
    # ALTER TABLE DROP COLUMN, as in 0002: a batch copy would lose the lower(username) index.
    op.drop_column("accounts", "yield_pending")
