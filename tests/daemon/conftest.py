"""Fixtures for the daemon tests: ``pg_url`` (a fresh PostgreSQL schema per test)."""

from __future__ import annotations

from tests.pg import pg_url

__all__ = ["pg_url"]
