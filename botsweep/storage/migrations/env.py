"""Alembic environment: always run online, on the connection Database hands over."""

from __future__ import annotations

from alembic import context

from botsweep.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - botsweep always passes its connection
    raise RuntimeError("botsweep migrations run through botsweep.storage.db.Database")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
