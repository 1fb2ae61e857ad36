"""Shared fixtures: every test runs in its own directory with no BOTSWEEP_* variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("BOTSWEEP_") or key == "X_BEARER_TOKEN":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
