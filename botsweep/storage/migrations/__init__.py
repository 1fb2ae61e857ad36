"""Alembic migrations, applied automatically by :class:`botsweep.storage.db.Database`."""
