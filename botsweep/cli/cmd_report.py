"""``botsweep report``: write the offline HTML network report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example, get_context

__all__ = ["register"]


def report(
    ctx: typer.Context,
    out: Annotated[
        str | None,
        typer.Option("--out", show_default=False,
                     help="The HTML file to write, or a directory to write it into under "
                          "report.out's name (default: report.out in the config)."),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option("--min-score",
                     help="Leave out accounts scored below this (0-1); unscored accounts and "
                          "seeds stay (default: report.min_score)."),
    ] = None,
    max_nodes: Annotated[
        int | None,
        typer.Option("--max-nodes",
                     help="Show at most this many accounts, keeping seeds and the highest-"
                          "scoring, best-connected ones (default: report.max_nodes)."),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="The page's title.")] = "botsweep report",
) -> None:
    """Write one self-contained HTML report of the crawled network (opens offline)."""
    from botsweep.errors import InputError

    app_ctx = get_context(ctx)
    settings = app_ctx.settings().report
    target = _target(out, settings.out)
    min_score = settings.min_score if min_score is None else min_score
    max_nodes = settings.max_nodes if max_nodes is None else max_nodes
    if not 0.0 <= min_score <= 1.0:
        raise InputError(f"--min-score {min_score}: expected a probability between 0 and 1")
    if max_nodes < 1:
        raise InputError(f"--max-nodes {max_nodes}: expected a positive number of accounts")
    from botsweep.viz.graph import load_report_graph
    from botsweep.viz.report import build_report, check_report_path

    check_report_path(target, "--out" if out else "report.out")  # before loading a graph

    # Everything is loaded and build_report filters, so the page can say what it left out.
    graph = load_report_graph(app_ctx.db(), campaign=app_ctx.settings().crawler.campaign,
                              config=app_ctx.config_path)
    summary = build_report(graph, target, min_score=min_score, max_nodes=max_nodes, title=title)
    typer.echo(f"wrote {summary.path}")
    typer.echo(summary.describe())


def _target(out: str | None, configured: Path) -> Path:
    """The file to write: ``--out``, or ``report.out``; a directory given (one that exists,
    or a path ending in a slash) gets the file inside it, under ``report.out``'s name."""
    if not out:
        return configured
    given = Path(out)
    if out.endswith(("/", os.sep)) or given.is_dir():
        return given / configured.name
    return given


def register(app: typer.Typer) -> None:
    app.command(
        epilog=example(
            "botsweep report --out report.html\n"
            "botsweep report --min-score 0.5 --max-nodes 5000 --out bots.html"
        )
    )(report)
