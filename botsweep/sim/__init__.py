"""The simulated X API v2: worlds of accounts with planted bot networks, and a server.

* :mod:`botsweep.sim.world` loads, validates and saves a world directory.
* :mod:`botsweep.sim.generate` draws a realistic world with planted campaigns.
* :mod:`botsweep.sim.server` serves a world over HTTP as the X API v2 would.

Heavy modules (numpy, the server) are imported by the submodules, not here.
"""

from __future__ import annotations

__all__: list[str] = []
