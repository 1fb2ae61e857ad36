"""Storage: the schema, engines with their pragmas, migrations, and the write paths."""

from botsweep.storage.db import Database

__all__ = ["Database"]
