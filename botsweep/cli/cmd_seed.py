"""``botsweep seed`` and ``botsweep label``: tell botsweep where to start and what is what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example, get_context
from botsweep.errors import InputError
from botsweep.logs import plural

__all__ = ["register"]


def _label_option(value: str | None) -> str | None:
    if value is not None and value not in ("bot", "human"):
        raise InputError(f"--label {value!r}: expected bot or human")
    return value


def _campaign_option(value: str | None) -> str:
    """The --campaign name as stored ('' when the option is left out); given, it needs one."""
    from botsweep.seeding import check_campaign

    if value is None:
        return ""
    name = check_campaign(value)
    if not name:
        raise InputError("--campaign: give a name, or leave the option out for none")
    return name


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
        str | None, typer.Option(help="The campaign (bot network) these seeds belong to.")
    ] = None,
) -> None:
    """Add seed accounts; the crawler expands their followers and following."""
    from botsweep.seeding import add_seeds, parse_account, read_account_file

    _label_option(label)
    campaign = _campaign_option(campaign)  # before the database opens: bad input writes nothing
    refs = [parse_account(a) for a in accounts or []]
    sources: dict[str, str] = {}
    if file is not None:
        from_file = [ref for _, ref in read_account_file(file)]
        named = {ref.key for ref in refs}  # an account also named on the command line: cli
        sources = {ref.key: f"file:{file}" for ref in from_file if ref.key not in named}
        refs += from_file
    if not refs:
        raise InputError("no accounts given: name ids or @handles, or use --file FILE")
    added = add_seeds(get_context(ctx).db(create=True), refs, label=label, campaign=campaign,
                      sources=sources)
    already = len({ref.key for ref in refs}) - added
    note = (" (left as they were, label and campaign too; `botsweep label ACCOUNT --label "
            "bot|human [--campaign NAME]` records a label)" if already and (label or campaign)
            else "")
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
    campaign: Annotated[str | None, typer.Option(help="The campaign the label is about.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A CSV of account,label[,campaign].")
    ] = None,
) -> None:
    """Label accounts as bot or human, to train the campaign model and check the scorer."""
    from botsweep.seeding import add_labels, not_crawled, parse_account, read_label_file

    items = []
    if not accounts and (label is not None or campaign is not None):
        raise InputError("--label and --campaign go with accounts named on the command line; "
                         "a --file CSV gives each line its own label and campaign")
    if accounts:
        if label is None:
            raise InputError("--label bot|human is required when accounts are named")
        _label_option(label)
        items += [(parse_account(a), label, _campaign_option(campaign)) for a in accounts]
    sources: dict[str, str] = {}
    if file is not None:
        from_file = read_label_file(file)
        named = {ref.key for ref, _, _ in items}
        sources = {ref.key: f"file:{file}" for ref, _, _ in from_file if ref.key not in named}
        items += from_file
    if not items:
        raise InputError("nothing to label: name accounts with --label, or use --file FILE.csv")
    db = get_context(ctx).db(create=True)
    count = add_labels(db, items, sources=sources)
    waiting = len(not_crawled(db, [ref for ref, _, _ in items]))
    note = ""
    if waiting:
        note = (f" ({waiting} not in the database yet: it applies once the account is crawled)"
                if waiting == 1 else f" ({waiting} not in the database yet: they apply once "
                "the accounts are crawled)")
    typer.echo(f"{plural(count, 'label')} stored{note}")


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
