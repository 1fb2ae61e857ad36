"""Fixtures shared by the reliability suite: a small world and its sim on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from botsweep.sim.server import SimServer
from botsweep.sim.world import World
from tests.reliability.kit import small_world


@pytest.fixture(scope="module")
def world() -> World:
    return small_world()


@pytest.fixture(scope="module")
def sim_url(world: World) -> Iterator[str]:
    with SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000}) as url:
        yield url
