"""botsweep's command line: ``botsweep --help``.

The typer app lives in :mod:`botsweep.cli.app`; every ``cmd_*.py`` module beside it
registers its commands.  :func:`main` is the console-script entry point: it turns a
:class:`~botsweep.errors.BotsweepError`, or a bad option that click refuses, into one line
on stderr and its exit code (2 for bad input).
"""

from __future__ import annotations

import importlib
import pkgutil
import shlex
import sys

import typer

from botsweep.cli.app import app
from botsweep.errors import BotsweepError
from botsweep.logs import redact

__all__ = ["app", "main"]


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(app)


_register_commands()


_GLOBAL_OPTIONS = ("--config", "--verbose", "--log-json")
# click's base error, as the typer in use has it (recent typers carry their own click)
_CLICK_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _is_global(word: str) -> bool:
    name = word.split("=", 1)[0]
    return name in _GLOBAL_OPTIONS or (len(name) > 1 and name.strip("v") == "-")


def _misplaced_global(args: list[str]) -> list[str] | None:
    """``args`` with the global options written after the command moved before it, or
    None when there are none: ``status --config x.yaml`` means ``--config x.yaml status``,
    where click would only say "No such option"."""
    i = 0
    while i < len(args) and args[i].startswith("-"):  # the global options, then the command
        i += 2 if args[i] == "--config" else 1
    moved: list[str] = []
    rest: list[str] = []
    words = iter(args[i:])
    for word in words:
        if word == "--":
            rest += [word, *words]
            break
        if rest and _is_global(word):
            moved.append(word)
            if word == "--config":
                moved.append(next(words, ""))
        else:
            rest.append(word)
    return [*args[:i], *moved, *rest] if moved else None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising SystemExit for our errors."""
    fixed = _misplaced_global(sys.argv[1:] if argv is None else list(argv))
    if fixed is not None:
        print("botsweep: error: --config, -v and --log-json are global options and go before "
              f"the command: botsweep {shlex.join(fixed)}", file=sys.stderr)
        return 2
    try:
        code = app(args=argv, prog_name="botsweep", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except _CLICK_ERROR as exc:  # a bad option or argument: one line, like ours
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `botsweep`: the help
            exc.show()
        else:
            print(f"botsweep: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except BotsweepError as exc:
        print(f"botsweep: error: {redact(str(exc))}", file=sys.stderr)  # as every log line is
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        print("botsweep: interrupted", file=sys.stderr)
        return 130
    # A command's return value is not an exit code; an explicit exit (typer.Exit) is.
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def _one_line(exc: Exception) -> str:
    """click's message for a usage error, and where to read more, on one line."""
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    context = getattr(exc, "ctx", None)
    if context is not None:
        message += f" (see '{context.command_path} --help')"
    return message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
