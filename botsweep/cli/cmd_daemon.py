"""``botsweep daemon``: crawl whenever the rate limits allow, rescore, refresh the report."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from botsweep.cli.app import example, get_context

__all__ = ["register"]


def daemon(
    ctx: typer.Context,
    worker_id: Annotated[
        str | None,
        typer.Option("--worker-id",
                     help="This worker's name in leases and `botsweep status` (default: "
                          "crawler.worker_id, else <hostname>-<pid>). Give each worker its "
                          "own; a restart with the same id takes its leases back at once."),
    ] = None,
) -> None:
    """Run the crawl, score and report jobs on the `schedule` in the config until stopped.

    SIGTERM or Ctrl-C: the page in hand is stored, leases are given back, exit 0.
    Several daemons can share one PostgreSQL database (database.url); a SQLite database
    takes one crawling process at a time.
    """
    from botsweep.cron import report_trigger
    from botsweep.daemon import Daemon
    from botsweep.errors import InputError
    from botsweep.storage.crawl_lock import crawl_lock
    from botsweep.tokens import resolve_tokens
    from botsweep.viz.report import check_report_path

    if worker_id is not None and (not worker_id.strip() or len(worker_id) > 64):
        raise InputError(f"--worker-id {worker_id!r}: give 1 to 64 characters")
    app_ctx = get_context(ctx)
    # One line per event by default: the daemon's own events are INFO.
    if app_ctx.verbosity == 0:
        logging.getLogger("botsweep.daemon").setLevel(logging.INFO)
    settings = app_ctx.settings()
    # What start() would refuse, refused before the database is made: a mistyped
    # database.url must not leave a new, empty database behind.
    resolve_tokens(settings.api, warn=False)  # the Source warns of an unset one, once
    report_trigger(settings.schedule.report_cron)
    check_report_path(Path(settings.report.out), "report.out")
    db = app_ctx.db(create=True)
    with crawl_lock(db, "daemon"):  # on SQLite, one crawling process at a time
        worker = Daemon(app_ctx.settings(), db, worker_id=worker_id,
                        verbosity=app_ctx.verbosity, log_json=app_ctx.log_json,
                        config_path=app_ctx.config_path)
        if not worker.run():
            # A job would not stop: its thread would keep the interpreter alive.
            logging.shutdown()
            sys.stderr.flush()
            os._exit(1)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=example(
            "X_BEARER_TOKEN=... botsweep daemon\n"
            "BOTSWEEP_DATABASE__URL=postgresql+psycopg://botsweep@db/botsweep "
            "botsweep --log-json daemon --worker-id crawler-1"
        )
    )(daemon)
