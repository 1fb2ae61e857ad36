"""``botsweep bench``: benchmarks that measure botsweep against a baseline in the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example

__all__ = ["register", "bench_app"]

bench_app = typer.Typer(
    name="bench",
    help="Benchmarks against a baseline measured in the same run (see docs/benchmarks.md).",
    no_args_is_help=True,
    epilog=example("botsweep sim generate --out world --accounts 5000\n"
                   "botsweep bench crawl --world world --seeds 12 --budget 25 --budget 100"),
    rich_markup_mode=None,
)


def _policies(text: str) -> list[str]:
    from botsweep.errors import InputError

    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names or any(p not in ("smart", "bfs") for p in names):
        raise InputError(f"--policy {text!r}: expected smart, bfs or smart,bfs")
    return list(dict.fromkeys(names))


@bench_app.command(epilog=example(
    "botsweep bench crawl --world world --seeds 12 --budget 25 --budget 100\n"
    "botsweep bench crawl --world world --seeds 12 --budget 50 --real-limits --time-scale 600"))
def crawl(
    world: Annotated[Path, typer.Option("--world", help="World directory (FORMATS.md).",
                                        file_okay=False)],
    seeds: Annotated[int, typer.Option(help="Planted bots to seed from (fixed rng).",
                                       min=1)] = 12,
    budget: Annotated[list[int] | None, typer.Option(
        "--budget", help="Follows requests (followers+following pages); repeat for several.",
        min=1)] = None,
    policy: Annotated[str, typer.Option(help="Policies to run: smart,bfs.")] = "smart,bfs",
    time_scale: Annotated[float, typer.Option(
        help="Sim time scale (windows last 900/S s).", min=0.001)] = 900.0,
    real_limits: Annotated[bool, typer.Option(
        "--real-limits/--raised-limits",
        help="Crawl under the sim's real rate limits (slower) or raised ones.")] = False,
    model: Annotated[Path | None, typer.Option(
        help="Bot model file (default: the shipped model, else one trained on the world).",
        dir_okay=False)] = None,
    rng_seed: Annotated[int, typer.Option(help="Seed of the seed choice.")] = 0,
) -> None:
    """Bots found per follows request, smart against bfs, from the same seeds and budget."""
    from botsweep.bench.crawl_bench import run_crawl_bench
    from botsweep.sim.world import load_world

    chosen = _policies(policy)
    loaded = load_world(world)
    budgets = budget or [25, 100]
    typer.echo(f"world {loaded.name}: {len(loaded.accounts)} accounts, "
               f"{loaded.n_follows} follows; {seeds} seeds; budgets {budgets} follows requests")
    result = run_crawl_bench(
        loaded, seeds=seeds, budgets=budgets, policies=chosen, model=model,
        time_scale=time_scale, real_limits=real_limits, rng_seed=rng_seed,
        progress=lambda line: typer.echo(line, err=True))
    typer.echo(f"model: {result.model_note}")
    typer.echo(f"limits: {result.limits}")
    for line in result.table_lines():
        typer.echo(line)
    typer.echo(result.ratio_line())


@bench_app.command(epilog=example(
    "botsweep bench rate --world world\n"
    "botsweep bench rate --world world --time-scale 15 --windows 6 --policy smart"))
def rate(
    world: Annotated[Path, typer.Option("--world", help="World directory (FORMATS.md).",
                                        file_okay=False)],
    time_scale: Annotated[float, typer.Option(
        help="Sim time scale; 15 or less gives windows of 60 s or more.", min=0.001,
        max=15.0)] = 15.0,
    windows: Annotated[int, typer.Option(help="Rate windows to measure.", min=1)] = 4,
    seeds: Annotated[int, typer.Option(help="Planted bots to seed from.", min=1)] = 24,
    policy: Annotated[str, typer.Option(
        help="bfs queues both lists of every bot, so neither endpoint runs dry.")] = "bfs",
    model: Annotated[Path | None, typer.Option(help="Bot model file.", dir_okay=False)] = None,
) -> None:
    """Share of the allowed follows calls a rate-limited crawl uses, and its 429s."""
    from botsweep.bench.rate_bench import run_rate_bench
    from botsweep.errors import InputError
    from botsweep.sim.world import load_world

    chosen = _policies(policy)
    if len(chosen) != 1:
        raise InputError(f"--policy {policy!r}: give one policy, smart or bfs")
    loaded = load_world(world)
    typer.echo(f"world {loaded.name}: {len(loaded.accounts)} accounts; policy {chosen[0]}; "
               f"{windows} windows of {900 / time_scale:.0f} s under the sim's real limits")
    result = run_rate_bench(loaded, windows=windows, time_scale=time_scale, seeds=seeds,
                            policy=chosen[0], model=model)
    for line in result.table_lines():
        typer.echo(line)
    typer.echo(result.ratio_line())


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
