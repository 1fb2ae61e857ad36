"""``botsweep frontier retry``: queue again the work the crawler gave up on.

A task is marked ``failed`` when it kept failing (a 5xx, a slow or malformed reply, a 400)
for ``crawler.max_attempts`` attempts; a profile lookup is given up on the same way.
Once the cause is fixed, ``frontier retry`` puts them back in the queue with their
attempts reset, and the next ``botsweep crawl`` (or daemon tick) takes them up.  It only
writes to the database, so it is safe to run beside a running daemon.
"""

from __future__ import annotations

import typer

from botsweep.cli.app import example, get_context

__all__ = ["register", "frontier_app"]

frontier_app = typer.Typer(
    name="frontier",
    help="The crawl's queue of lists to read and handles to resolve.",
    no_args_is_help=True,
    epilog=example("botsweep frontier retry"),
    rich_markup_mode=None,
)


@frontier_app.command(epilog=example("botsweep frontier retry && botsweep crawl"))
def retry(ctx: typer.Context) -> None:
    """Queue again every failed task and given-up profile lookup, with attempts reset."""
    from botsweep.crawler.frontier import retry_failed

    app_ctx = get_context(ctx)
    settings = app_ctx.settings()
    counts = retry_failed(app_ctx.db(), settings.crawler.max_attempts)
    if not counts["tasks"] and not counts["lookups"]:
        typer.echo("nothing to retry: no failed tasks or given-up profile lookups")
        return
    typer.echo(
        f"queued again: {counts['tasks']} failed task(s) (lists and handles) and "
        f"{counts['lookups']} profile lookup(s); the next crawl takes them up"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(frontier_app, name="frontier")
