"""Every command's ``--help`` shows an example, and the top-level help lists the commands."""

from __future__ import annotations

import pytest
import typer.main

from botsweep.cli import app, main


def _command_paths() -> list[list[str]]:
    """The argv prefix of every command and sub-command the app has (groups included)."""
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        # typer ships its own click, so test for sub-commands rather than a click class
        subs: dict = getattr(command, "commands", None) or {}
        if subs:
            for name, sub in sorted(subs.items()):
                if not sub.hidden:
                    walk(sub, [*prefix, name])
        if prefix:
            paths.append(prefix)

    walk(typer.main.get_command(app), [])
    return paths


COMMANDS = _command_paths()


def test_the_foundation_commands_exist() -> None:
    assert {"seed", "status", "export"} <= {path[0] for path in COMMANDS}


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_shows_an_example(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out, f"botsweep {' '.join(path)} --help has no example"
    example = out[out.index("Example"):]
    assert f"botsweep {path[0]}" in example, "the example should show the command itself"


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for path in COMMANDS:
        assert path[0] in out
    assert "--config" in out
