"""Rate use: the share of the allowed follows calls a rate-limited crawl actually makes.

The sim serves a generated world with its real limits (15 followers and 15 following
calls per token per window) at ``time_scale`` (a window lasts ``900 / time_scale`` s; at
15 or less, 60 s or more).  The crawl runs for ``windows`` windows from planted-bot seeds.
The sim opens a window at the first call after the previous one ended (its reset is that
moment plus the window, rounded up to a whole second), so time the crawler leaves between a
reset and its next call pushes every later window back and is lost.  The benchmark
rebuilds the sim's windows from the crawl's call log, takes the first ``windows`` of them
per endpoint, and compares the calls made in them with what the limit allows over the same
span: ``limit × (last reset - first call) / window``.  A crawler that spends every call as
soon as a window opens scores 100%; idle gaps and unspent calls lower it.  429s are the
sim's own count.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botsweep.errors import InputError
from botsweep.sim.world import World

__all__ = ["EndpointUse", "RateResult", "endpoint_use", "run_rate_bench"]

BENCH_TOKEN = "bench-token"
BENCH_TOKEN_ENV = "BOTSWEEP_BENCH_TOKEN"
FOLLOW_ENDPOINTS = ("followers", "following")


@dataclass
class EndpointUse:
    """Calls made in the first complete windows of one endpoint, and the time they span."""

    windows: int
    calls: int
    span_s: float
    per_window: list[int]
    gaps_s: list[float]  # from each reset to the first call of the next window


@dataclass
class RateResult:
    """Rate use per follows endpoint over one rate-limited crawl."""

    time_scale: float
    window_s: float
    limit: int
    use: dict[str, EndpointUse]
    rejected: dict[str, int]
    lookups: int
    edges: int
    outcome: str

    def allowed(self, endpoint: str) -> float:
        return self.limit * self.use[endpoint].span_s / self.window_s

    def share(self, endpoint: str | None = None) -> float:
        names = [n for n in (FOLLOW_ENDPOINTS if endpoint is None else (endpoint,))
                 if self.use[n].windows]
        allowed = sum(self.allowed(n) for n in names)
        return sum(self.use[n].calls for n in names) / allowed if allowed else 0.0

    def table_lines(self) -> list[str]:
        lines = [f"{'endpoint':<10} {'windows':>7} {'span s':>7} {'calls':>6} {'allowed':>8} "
                 f"{'share':>7} {'429s':>5}  calls per window, late after each reset"]
        for name in FOLLOW_ENDPOINTS:
            u = self.use[name]
            lines.append(f"{name:<10} {u.windows:>7} {u.span_s:>7.1f} {u.calls:>6} "
                         f"{self.allowed(name):>8.1f} {self.share(name):>7.1%} "
                         f"{self.rejected[name]:>5}  {u.per_window}, late by {u.gaps_s} s")
        calls = sum(u.calls for u in self.use.values())
        allowed = sum(self.allowed(n) for n in FOLLOW_ENDPOINTS)
        lines.append(f"{'both':<10} {'':>7} {'':>7} {calls:>6} {allowed:>8.1f} "
                     f"{self.share():>7.1%} {sum(self.rejected.values()):>5}")
        return lines

    def ratio_line(self) -> str:
        return (f"rate use: {self.share():.1%} of the allowed follows calls (windows of "
                f"{self.window_s:.0f} s), {sum(self.rejected.values())} 429s; goal >= 95% "
                "with 0 429s")


def endpoint_use(sent: list[float], window_s: float, windows: int) -> EndpointUse:
    """Rebuild the sim's windows from call times; measure the first ``windows`` of them."""
    per_window: list[int] = []
    gaps: list[float] = []
    first: float | None = None
    reset = -math.inf
    last_reset = 0.0
    for at in sorted(sent):
        if at >= reset:
            if len(per_window) == windows:
                break
            if first is not None:
                gaps.append(round(at - reset, 2))
            reset = math.ceil(at + window_s)
            first = at if first is None else first
            per_window.append(0)
            last_reset = reset
        per_window[-1] += 1
    if first is None:
        return EndpointUse(0, 0, 0.0, [], [])
    return EndpointUse(len(per_window), sum(per_window), last_reset - first, per_window, gaps)


def _by_status(stats: dict[str, Any], endpoint: str) -> tuple[int, int]:
    """(answered, 429) calls of ``endpoint`` in the sim's stats."""
    counts = stats.get("requests", {}).get(endpoint, {})
    made = sum(int(n) for status, n in counts.items() if str(status) != "429")
    return made, int(counts.get("429", counts.get(429, 0)))


def run_rate_bench(
    world: World, *, windows: int = 4, time_scale: float = 15.0, seeds: int = 24,
    policy: str = "smart", model: Path | None = None, rng_seed: int = 0,
) -> RateResult:
    """Crawl ``world`` for ``windows`` rate windows under the sim's real limits."""
    from sqlalchemy import select

    from botsweep.bench.crawl_bench import bench_model, pick_seeds
    from botsweep.config import Settings
    from botsweep.crawler.replies import ENDPOINTS
    from botsweep.crawler.run import open_crawl
    from botsweep.crawler.source import XSource
    from botsweep.seeding import AccountRef, add_seeds
    from botsweep.sim.limits import DEFAULT_LIMITS, WINDOW_S
    from botsweep.sim.server import SimServer
    from botsweep.storage.db import Database
    from botsweep.storage.schema import api_calls

    if windows < 1:
        raise InputError(f"--windows {windows}: crawl for at least 1 window")
    window_s = math.ceil(WINDOW_S / time_scale)
    seed_ids = pick_seeds(world, seeds, rng_seed)
    scorer = bench_model(world, model)
    with tempfile.TemporaryDirectory(prefix="botsweep-rate-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'rate.db'}")
        add_seeds(db, [AccountRef(id=i) for i in seed_ids], label="bot", source="bench")
        server = SimServer(world, time_scale=time_scale, tokens=(BENCH_TOKEN,))
        with server as url:
            source = XSource({BENCH_TOKEN_ENV: BENCH_TOKEN}, base_url=url, timeout_s=10.0)
            with open_crawl(Settings(), db, policy=policy, source=source,
                            bot_model=scorer.scorer) as engine:
                stats = engine.run(max_seconds=(windows + 1) * window_s,
                                   command="bench rate")
            source.close()
            served = server.stats()
        with db.connect() as conn:
            calls = conn.execute(select(api_calls.c.endpoint, api_calls.c.at,
                                        api_calls.c.seconds)).all()
        db.dispose()
    use, rejected = {}, {}
    for name in FOLLOW_ENDPOINTS:
        sent = [at - (seconds or 0.0) for endpoint, at, seconds in calls
                if endpoint == ENDPOINTS[name]]
        use[name] = endpoint_use(sent, window_s, windows)
        rejected[name] = _by_status(served, name)[1]
    return RateResult(time_scale=time_scale, window_s=float(window_s),
                      limit=DEFAULT_LIMITS["followers"], use=use, rejected=rejected,
                      lookups=stats.lookup_requests, edges=stats.edges, outcome=stats.outcome)
