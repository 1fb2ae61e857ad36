"""``botsweep crawl``: expand the seeds and the likely bots, within the rate limits."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from botsweep.cli.app import example, get_context
from botsweep.logs import plural

if TYPE_CHECKING:
    from botsweep.crawler.engine import CrawlEngine, CrawlStats

__all__ = ["register", "progress_display", "stop_on_signals"]


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn Ctrl-C and SIGTERM into ``stop.set()``: the current page finishes, then out."""
    previous = {}

    def _handler(signum: int, _frame: object) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, _handler)
        except ValueError:  # not the main thread
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def progress_display(engine: CrawlEngine, enabled: bool = True) -> Iterator[None]:
    """A rich progress line fed by the engine's events (requests, accounts, bots, coverage),
    on a terminal only: piped or redirected output gets the closing lines alone."""
    if not enabled or not sys.stdout.isatty():
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from botsweep.status import coverage

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        transient=False)
    task = progress.add_task("starting", total=None)
    last = [0.0]

    def _update(stats: CrawlStats) -> None:
        now = time.monotonic()
        if now - last[0] < 0.25 and stats.outcome == "running":
            return
        last[0] = now
        with engine.db.connect() as conn:
            cov = coverage(conn)
        wait = ""
        if stats.waiting_until:
            wait = f" | next reset in {max(0.0, stats.waiting_until - time.time()):.0f} s"
        progress.update(task, description=(
            f"follows {stats.follows_requests} | lookups {stats.lookup_requests} | "
            f"accounts {cov['discovered']} | profiled {stats.profiled} "
            f"({stats.likely_bots} likely bots) | "
            f"coverage {cov['ratio']:.1%} | 429s {stats.rate_limited}{wait}"
        ))

    engine.listeners.append(_update)
    with progress:
        yield


def crawl(
    ctx: typer.Context,
    max_requests: Annotated[
        int | None,
        typer.Option(help="Stop after N follows requests (followers and following pages).",
                     min=1),
    ] = None,
    policy: Annotated[
        str | None, typer.Option(help="smart (default) or bfs (the pronbot baseline).")
    ] = None,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Run until no work is left (the default).")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the live progress line.")
    ] = True,
) -> None:
    """Crawl: resolve handles, look up profiles, read followers and following, every page."""
    from botsweep.crawler.engine import CrawlEngine  # noqa: F401  (fail fast on import)
    from botsweep.crawler.policy import make_policy
    from botsweep.crawler.run import open_crawl
    from botsweep.storage.crawl_lock import crawl_lock

    if policy is not None:
        make_policy(policy)
    app_ctx = get_context(ctx)
    settings, db = app_ctx.settings(), app_ctx.db()
    stop = threading.Event()
    with (crawl_lock(db, "crawl"), stop_on_signals(stop),
          open_crawl(settings, db, policy=policy, stop=stop) as engine):
        with progress_display(engine, progress):
            stats = engine.run(max_requests=max_requests, until_idle=True)
    typer.echo(
        f"{stats.outcome}: {plural(stats.follows_requests, 'follows request')}, "
        f"{plural(stats.lookup_requests, 'lookup')}, "
        f"{plural(stats.resolve_requests, 'handle lookup')}; "
        f"{plural(stats.pages, 'page')}, {plural(stats.profiled, 'profile')} "
        f"({stats.likely_bots} of them likely bots); 429s {stats.rate_limited}; "
        f"faults {_faults(stats.faults)}; "
        f"failed tasks {stats.failed_tasks}"
    )


def _faults(faults: dict[str, int]) -> str:
    """``0``, or the total and each kind: ``7 (reset 5, timeout 2)``."""
    if not faults:
        return "0"
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(faults.items()))
    return f"{sum(faults.values())} ({kinds})"


def register(app: typer.Typer) -> None:
    app.command(
        epilog=example(
            "X_BEARER_TOKEN=... botsweep crawl\n"
            "botsweep crawl --max-requests 30 --policy bfs"
        )
    )(crawl)
