"""``botsweep seed`` and ``botsweep label``: tell botsweep where to start and what is what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example, get_context
from botsweep.errors import InputError

__all__ = ["register"]


def _label_option(value: str | None) -> str | None:
    if value is not None and value not in ("bot", "human"):
        raise InputError(f"--label {value!r}: expected bot or human")
    return value


def seed(
    ctx: typer.Context,
    accounts: Annotated[
        list[str] | None,
        typer.Argument(
            help="Account ids (12) or handles with their @ (@jane).", show_default=False
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="A file of ids and @handles, one a line; # comments."),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Label the seeds: bot or human.")
    ] = None,
    campaign: Annotated[
        str, typer.Option(help="The campaign (bot network) these seeds belong to.")
    ] = "",
) -> None:
    """Add seed accounts; the crawler expands their followers and following."""
    from botsweep.seeding import add_seeds, check_campaign, parse_account, read_account_file

    _label_option(label)
    campaign = check_campaign(campaign)  # before the database is opened: bad input writes nothing
    refs = [parse_account(a) for a in accounts or []]
    source = "cli"
    if file is not None:
        refs += [ref for _, ref in read_account_file(file)]
        source = f"file:{file}"
    if not refs:
        raise InputError("no accounts given: name ids or @handles, or use --file FILE")
    added = add_seeds(get_context(ctx).db(create=True), refs, label=label, campaign=campaign,
                      source=source)
    already = len({ref.key for ref in refs}) - added
    note = " (left as they were; `botsweep label` changes a label)" if already and label else ""
    typer.echo(f"{added} new seed(s), {already} already seeded{note}")


def label(
    ctx: typer.Context,
    accounts: Annotated[
        list[str] | None,
        typer.Argument(help="Account ids or @handles.", show_default=False),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="bot or human.")
    ] = None,
    campaign: Annotated[str, typer.Option(help="The campaign the label is about.")] = "",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A CSV of account,label[,campaign].")
    ] = None,
) -> None:
    """Label accounts as bot or human, to train the campaign model and check the scorer."""
    from botsweep.seeding import add_labels, check_campaign, parse_account, read_label_file

    items = []
    if accounts:
        if label is None:
            raise InputError("--label bot|human is required when accounts are named")
        _label_option(label)
        campaign = check_campaign(campaign)
        items += [(parse_account(a), label, campaign) for a in accounts]
    if file is not None:
        items += read_label_file(file)
    if not items:
        raise InputError("nothing to label: name accounts with --label, or use --file FILE.csv")
    count = add_labels(get_context(ctx).db(create=True), items,
                       source=f"file:{file}" if file else "cli")
    typer.echo(f"{count} label(s) stored")


def register(app: typer.Typer) -> None:
    app.command(
        epilog=example(
            "botsweep seed 12 @jane --label bot --campaign pron\n"
            "botsweep seed --file seeds.txt --label bot"
        )
    )(seed)
    app.command(
        epilog=example(
            "botsweep label @jane 1234 --label bot --campaign pron\n"
            "botsweep label --file labels.csv"
        )
    )(label)
