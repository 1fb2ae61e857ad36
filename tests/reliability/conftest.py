"""Fixtures shared by the reliability suite: a small world, its sim, a model file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from tests.daemon.modelkit import model_path
from tests.reliability.kit import small_world


@pytest.fixture(scope="session")
def reliability_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_path(tmp_path_factory.mktemp("reliability-model"))


@pytest.fixture(scope="module")
def world() -> World:
    return small_world()


@pytest.fixture(scope="module")
def sim_url(world: World) -> Iterator[str]:
    with SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000}) as url:
        yield url
