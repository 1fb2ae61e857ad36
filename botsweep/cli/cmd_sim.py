"""``botsweep sim``: generate a world with planted bot networks, serve it as the X API v2."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example

__all__ = ["register", "sim_app"]

sim_app = typer.Typer(
    name="sim",
    help="The simulated X API v2: generate a world, check one, serve one on loopback.",
    no_args_is_help=True,
    epilog=example("botsweep sim generate --out world --accounts 20000\n"
                   "botsweep sim serve --world world --port 8765"),
    rich_markup_mode=None,
)


@sim_app.command(epilog=example(
    "botsweep sim generate --out world\n"
    "botsweep sim generate --out big --accounts 100000 --bot-networks 6 --rng-seed 3\n"
    "botsweep sim generate --out sparse --accounts 50000 --bot-networks 6 --bot-share 0.02"))
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the world into.",
                                      file_okay=False)],
    accounts: Annotated[int, typer.Option(help="Number of accounts.", min=200,
                                          max=5_000_000)] = 2000,
    bot_networks: Annotated[int, typer.Option(
        help="Planted networks, in turn flower, farm, mimic (flower-1, farm-2, mimic-3, ...).",
        min=0, max=60)] = 3,
    rng_seed: Annotated[int, typer.Option(help="The same seed gives the same world.")] = 0,
    now: Annotated[str | None, typer.Option(
        help="World time, RFC 3339 (default 2018-06-01T12:00:00Z).")] = None,
    tweets: Annotated[int, typer.Option(
        help="Also write tweets.jsonl with up to this many recent tweets per account.",
        min=0, max=200)] = 0,
    bot_share: Annotated[float | None, typer.Option(
        help="The planted bots' share of all accounts, e.g. 0.02; the networks scale to it "
             "(default: each network about 6% x its style weight, bots 10-23%).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the world already in --out.")] = False,
) -> None:
    """Write a world directory: world.json, accounts.jsonl, follows.csv (and tweets.jsonl)."""
    from botsweep.errors import InputError
    from botsweep.sim.generate import generate_world
    from botsweep.sim.world import parse_time, save_world

    if out.is_dir() and any(out.iterdir()):
        if not (out / "world.json").is_file():
            raise InputError(f"--out {out}: holds other files; give a new or empty directory")
        if not force:
            raise InputError(f"--out {out}: holds a world already; --force replaces it")
    moment = None
    if now is not None:
        try:
            moment = parse_time(now)
        except ValueError:
            raise InputError(f"--now {now!r}: write it like 2018-06-01T12:00:00Z") from None
    started = time.perf_counter()
    world = generate_world(accounts=accounts, bot_networks=bot_networks, rng_seed=rng_seed,
                           now=moment, tweets_per_account=tweets, bot_share=bot_share)
    save_world(world, out)
    took = time.perf_counter() - started
    summary = world.summary()
    campaigns = ", ".join(f"{k} ({v})" for k, v in summary["campaigns"].items()) or "none"
    typer.echo(f"wrote {out}: {summary['accounts']} accounts, {summary['follows']} follows, "
               f"{summary['tweets']} tweets in {took:.1f} s")
    typer.echo(f"campaigns: {campaigns}; seeds: {len(world.seeds)} known bots in world.json")


@sim_app.command(epilog=example("botsweep sim check --world world"))
def check(
    world: Annotated[Path, typer.Option("--world", help="World directory to validate.")],
) -> None:
    """Load and validate a world; print its counts as JSON (exit 2 naming the bad line)."""
    from botsweep.sim.world import load_world

    typer.echo(json.dumps(load_world(world).summary(), indent=2))


@sim_app.command(epilog=example(
    "botsweep sim serve --world world\n"
    "botsweep sim serve --world world --port 8099 --time-scale 60 --token a --token b "
    "--rate-limit followers=30 --faults 5xx=0.03,timeout=0.01"))
def serve(
    world: Annotated[Path, typer.Option("--world", help="World directory to serve.")],
    host: Annotated[str, typer.Option(help="Address to listen on (keep it loopback).")] = (
        "127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.", min=0,
                                      max=65535)] = 0,
    time_scale: Annotated[float, typer.Option(
        help="World time and rate windows run this many times faster than real time.")] = 1.0,
    token: Annotated[list[str] | None, typer.Option(
        "--token", metavar="TOKEN",
        help="Accepted bearer token; repeat for a pool (default: sim-token).")] = None,
    rate_limit: Annotated[list[str] | None, typer.Option(
        "--rate-limit", metavar="ENDPOINT=N",
        help="ENDPOINT=N requests per 15-minute window: followers, following, "
        "users, users_by, user_by_username, user, tweets, or * for all.")] = None,
    faults: Annotated[str | None, typer.Option(
        help="Fault rates, e.g. 5xx=0.03,timeout=0.01,reset=0.01,malformed=0.01.")] = None,
    rng_seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    timeout_fault_s: Annotated[float, typer.Option(
        help="How long a 'timeout' fault holds the connection.", min=0.0)] = 10.0,
) -> None:
    """Serve a world as the X API v2; print the base URL, then serve until Ctrl-C."""
    from botsweep.sim.faults import FaultSpec
    from botsweep.sim.limits import parse_rate_limits
    from botsweep.sim.server import SimServer

    limits = parse_rate_limits(rate_limit)
    spec = FaultSpec.parse(faults)
    server = SimServer(world, host=host, port=port, time_scale=time_scale,
                       tokens=tuple(token or ("sim-token",)), rate_limits=limits, faults=spec,
                       rng_seed=rng_seed, timeout_fault_s=timeout_fault_s)
    base_url = server.start()
    typer.echo(base_url)
    done = threading.Event()
    try:
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    except ValueError:  # not the main thread (tests calling the command)
        pass
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        typer.echo(json.dumps(server.stats()), err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sim_app, name="sim")
