"""``botsweep status``: what is in the database and how far the crawl has come."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from botsweep.cli.app import example, get_context

__all__ = ["register", "render_status"]


def _when(epoch: float | None, now: float) -> str:
    if not epoch:
        return "-"
    delta = epoch - now
    return f"in {delta:.0f} s" if delta >= 0 else f"{-delta:.0f} s ago"


def _next_run(epoch: float | None, now: float) -> str:
    """A job's next run: ``in N s``, or ``due now`` once that time has passed (the run is
    going, or waits for a run still going; a daemon records the next time when a run ends)."""
    return "due now" if epoch and epoch - now < 0.5 else _when(epoch, now)


def _daemon_lines(data: dict[str, Any], now: float) -> list[str]:
    """One line per running daemon, or ``no daemon running`` once one has run (jobs)."""
    from datetime import UTC, datetime

    lines = []
    for d in data.get("daemons", []):
        since = datetime.fromtimestamp(d["started_at"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        tick = (f"next crawl tick {_next_run(d['next_crawl_at'], now)}"
                if d.get("next_crawl_at") else "no crawl tick scheduled")
        lines.append(f"daemon {d['worker_id']} running: pid {d['pid']} on {d['host']}, "
                     f"since {since} ({_when(d['started_at'], now)}); {tick}")
    if not lines and data["jobs"]:
        lines.append("no daemon running")
    return lines


def render_status(data: dict[str, Any]) -> None:
    """Print the status dict as rich tables."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(soft_wrap=True)  # piped to a log or grep: one line stays one line
    cov = data["coverage"]
    console.print(
        f"[bold]accounts[/bold] {cov['discovered']} discovered, {cov['profiled']} profiled, "
        f"{cov['expanded']} expanded (coverage {cov['ratio']:.1%}); "
        f"[bold]edges[/bold] {data['edges']}; [bold]likely bots[/bold] "
        f"{data['scores']['likely_bots']}; [bold]429s[/bold] {data['rate_limited_429']}"
    )
    hunted = data.get("hunting") or {}
    if hunted.get("ranked_for"):  # a campaign name is free text: never rich markup
        now = time.time()
        crawlers = ", ".join(f"worker {w['worker']} (heard from {_when(w['heard_at'], now)})"
                             for w in hunted.get("workers", []))
        console.print(f"queue ranked for {hunted['ranked_for']}"
                      + (f"; crawled by {crawlers}" if crawlers else ""),
                      markup=False, highlight=False)
    for line in _daemon_lines(data, time.time()):  # a worker id is free text
        console.print(line, markup=False, highlight=False)
    for campaign in data.get("campaigns", []):  # free text: never rich markup
        console.print(campaign["line"], markup=False, highlight=False)
    console.print(
        "states: " + (", ".join(f"{k} {v}" for k, v in sorted(data["accounts"]["by_state"].items()))
                      or "none")
    )
    seeds = data["seeds"]
    # Campaign names are free text: print them as they are, never as rich markup.
    console.print(f"seeds: {seeds['total']}" + "".join(
        f"\n  {s['account']}" + "".join(f" = {key}" for key in s.get("also", ()))
        + (f" ({s['label']}" + (f", labelled {s['label_now']} since" if s.get("label_now")
                                  else "") + ")" if s["label"] else "")
        + (f" [{s['campaign']}]" if s["campaign"] else "")
        + (f" — {s['state'].replace('_', ' ')}" if s["state"] not in ("active", "pending")
           else "")
        for s in seeds["items"][:20]
    ) + (f"\n  … and {seeds['total'] - 20} more" if seeds["total"] > 20 else ""), markup=False)
    table = Table(title="frontier", show_edge=False)
    table.add_column("state")
    for kind in ("followers", "following", "resolve"):
        table.add_column(kind, justify="right")
    for state, kinds in sorted(data["frontier"].items()):
        table.add_row(state, *(str(kinds.get(k, 0)) for k in ("followers", "following", "resolve")))
    console.print(table)
    if data["requests"]:
        req = Table(title="requests", show_edge=False)
        req.add_column("endpoint")
        outcomes = sorted({o for by in data["requests"].values() for o in by})
        for outcome in outcomes:
            req.add_column(outcome, justify="right")
        for endpoint, by in sorted(data["requests"].items()):
            req.add_row(endpoint, *(str(by.get(o, 0)) for o in outcomes))
        console.print(req)
    if data["jobs"]:
        now = time.time()
        jobs = Table(title="daemon jobs", show_edge=False)
        for column in ("worker", "job", "last run", "outcome", "next run"):
            jobs.add_column(column)
        for job in data["jobs"]:
            # A daemon that died without its clean-up left its schedule: no run is coming.
            upcoming = (_next_run(job["next_run_at"], now) if job.get("daemon_running", True)
                        else "-")
            jobs.add_row(Text(job["worker_id"]), Text(job["job"]), _when(job["last_run_at"], now),
                         Text(job["last_outcome"] or "-"), upcoming)
        console.print(jobs)


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Health check of the daemons: exit 1 when the last crawl "
                     "tick is stale or failed, or none has run (botsweep crawl runs are "
                     "not ticks)."),
    ] = False,
    worker_id: Annotated[
        str | None,
        typer.Option("--worker-id", help="Only this worker's jobs: shown, and judged by --check "
                     "(default: every worker; --check judges the newest crawl tick)."),
    ] = None,
) -> None:
    """Show seeds, accounts by state, edges, frontier, requests by endpoint, 429s, the
    daemons running (between their ticks too) and their jobs."""
    from botsweep.status import check_health, collect_status

    app_ctx = get_context(ctx)
    data = collect_status(app_ctx.db(), campaigns=not check)
    if check:
        problem = check_health(data, app_ctx.settings().schedule.stale_after_s,
                               worker_id=worker_id)
        if as_json:  # the verdict as JSON on stdout, for a monitor to parse
            typer.echo(json.dumps({"healthy": not problem, "problem": problem or None}))
        if problem:
            typer.echo(f"unhealthy: {problem}", err=True)
            raise typer.Exit(1)
        if not as_json:
            typer.echo("healthy")
        return
    if worker_id is not None:
        data["jobs"] = [j for j in data["jobs"] if j["worker_id"] == worker_id]
        data["daemons"] = [d for d in data["daemons"] if d["worker_id"] == worker_id]
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        render_status(data)


def register(app: typer.Typer) -> None:
    app.command(epilog=example("botsweep status\nbotsweep status --json | jq .coverage\n"
                               "botsweep status --check --worker-id worker-1"))(status)
