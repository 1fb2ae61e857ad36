"""``botsweep demo``: crawl a generated world served by the sim; no API key, no network."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example

__all__ = ["register"]


def demo(
    out: Annotated[Path, typer.Option(help="Directory for the world, DB and report.")] = Path(
        "botsweep-demo"),
    accounts: Annotated[int, typer.Option(help="Accounts in the generated world.", min=200,
                                          max=200_000)] = 3000,
    rng_seed: Annotated[int, typer.Option(help="Seed of the generated world.")] = 7,
    time_scale: Annotated[float, typer.Option(
        help="How much faster than real time the sim's clock and rate windows run.",
        min=1.0)] = 600.0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Generate a world with planted bot networks, crawl it from 12 known bots, score, report."""
    from botsweep.cli.cmd_crawl import progress_display, stop_on_signals
    from botsweep.demo import check_out, run_demo

    check_out(out.resolve())  # a refusal comes before anything else is printed
    stop = threading.Event()
    typer.echo(f"botsweep demo: a {accounts}-account world, served by the sim on loopback "
               f"(time x{time_scale:g}), crawled from 12 seed bots")
    with stop_on_signals(stop):
        result = run_demo(out, accounts=accounts, rng_seed=rng_seed, time_scale=time_scale,
                          on_engine=lambda engine: progress_display(engine, progress),
                          stop=stop)
    for line in result.lines():
        typer.echo(line)
    typer.echo(f"done in {result.seconds:.0f} s")


def register(app: typer.Typer) -> None:
    app.command(epilog=example("botsweep demo\nbotsweep demo --out /tmp/demo --accounts 5000"))(
        demo)
