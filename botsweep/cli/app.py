"""The typer application, its global options and the shared command context.

Command modules live beside this file as ``cmd_<part>.py``; each defines
``register(app: typer.Typer) -> None``.  They are discovered in :mod:`botsweep.cli`,
so adding a command never means editing a shared file.  Command modules import heavy
libraries (lightgbm, pandas, tweepy) inside the command function, so that
``botsweep status`` starts fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from botsweep.logs import setup_logging

if TYPE_CHECKING:
    from botsweep.config import Settings
    from botsweep.storage.db import Database

__all__ = ["app", "AppContext", "get_context", "example"]

# `botsweep --help` lists the commands in the order a user meets them, not as registered.
COMMAND_ORDER = ("demo", "seed", "crawl", "status", "daemon", "score", "report", "export",
                 "label", "campaign", "review", "frontier", "train", "evaluate", "sim", "bench")


class _WorkflowOrder(TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: (rank.get(n, len(rank)), n))


app = typer.Typer(
    cls=_WorkflowOrder,
    name="botsweep",
    help="Find bot networks on X: seed, crawl followers and following, score, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def example(text: str) -> str:
    """Return a help epilog that shows ``text`` as an example (kept on its own lines)."""
    lines = "\n\n".join(f"  {line}" for line in text.strip().splitlines())
    return f"Example:\n\n{lines}"


@dataclass
class AppContext:
    """What every command receives: the chosen config file and lazily built objects."""

    config_path: Path | None
    verbosity: int = 0
    log_json: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Load (once) and return the validated settings."""
        if self._settings is None:
            from botsweep.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    def db(self, *, create: bool = False) -> Database:
        """Open (once) the configured database, migrating it on first use.

        Only the commands that start a crawl's data (``seed``, ``label``, ``daemon``) pass
        ``create=True``; the others refuse a SQLite file that does not exist, which is
        nearly always a mistyped path or the wrong directory, not an empty crawl."""
        if self._db is None:
            from botsweep.storage.db import Database

            self._db = Database(self.settings().database, create=create)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


def get_context(ctx: typer.Context) -> AppContext:
    """The :class:`AppContext` that the global callback stored on ``ctx``."""
    obj: Any = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # called outside the app (tests calling commands)
        obj = AppContext(config_path=None)
        ctx.find_root().obj = obj
    return obj


@app.callback()
def _main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file (default: $BOTSWEEP_CONFIG, else ./config.yaml if present).",
            dir_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, help="-v for INFO, -vv for DEBUG.")
    ] = 0,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
) -> None:
    path = config
    if path is None and os.environ.get("BOTSWEEP_CONFIG"):
        path = Path(os.environ["BOTSWEEP_CONFIG"])
    ctx.obj = AppContext(config_path=path, verbosity=verbose, log_json=log_json)
    setup_logging(verbose, log_json)
    ctx.call_on_close(ctx.obj.close)
