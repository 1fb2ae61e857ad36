"""botsweep's command line: ``botsweep --help``.

The typer app lives in :mod:`botsweep.cli.app`; every ``cmd_*.py`` module beside it
registers its commands.  :func:`main` is the console-script entry point: it turns a
:class:`~botsweep.errors.BotsweepError` into one line on stderr and its exit code.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from botsweep.cli.app import app
from botsweep.errors import BotsweepError

__all__ = ["app", "main"]


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising SystemExit for our errors."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BotsweepError as exc:
        print(f"botsweep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("botsweep: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
