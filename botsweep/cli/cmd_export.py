"""``botsweep export``: the graph as CSV, GEXF or GraphML for other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example, get_context

__all__ = ["register"]


def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv, gexf or graphml.")] = "csv",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="A directory for csv (default: export/); a file for gexf and graphml "
            "(default: botsweep.gexf or botsweep.graphml).",
            show_default=False,
        ),
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign",
            help="The campaign whose probability fills campaign_probability (default: "
            "crawler.campaign, else the only campaign seeds and labels name, else the only "
            "fitted campaign model, else the latest fitted, named on stderr).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export accounts (with scores and communities) and edges."""
    from botsweep.viz.export import (
        FORMATS,
        campaign_threshold_note,
        export_campaign,
        export_graph,
    )
    from botsweep.viz.graph import load_graph

    if fmt not in FORMATS:
        from botsweep.errors import InputError

        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if out is None:
        out = Path("export") if fmt == "csv" else Path(f"botsweep.{fmt}")
    app_ctx = get_context(ctx)
    db = app_ctx.db()
    name, note = export_campaign(db, campaign, app_ctx.settings().crawler.campaign)
    graph = load_graph(db, campaign=name)
    for path in export_graph(graph, fmt, out):
        typer.echo(f"wrote {path}")
    if note:  # once written: a refused --out is the one line said
        typer.echo(note, err=True)
    threshold = campaign_threshold_note(db, name)
    if threshold:
        typer.echo(threshold)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=example(
            "botsweep export --format csv --out export/\n"
            "botsweep export --format gexf --out graph.gexf\n"
            "botsweep export --campaign pron --out export/"
        )
    )(export)
