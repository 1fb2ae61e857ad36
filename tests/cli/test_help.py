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


def test_top_level_help_lists_commands_in_the_order_a_user_meets_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out[out.index("Commands:"):].splitlines()[1:]
              if line.startswith("  ") and line.split()]
    assert listed[:4] == ["demo", "seed", "crawl", "status"], listed
    assert listed.index("campaign") < listed.index("review") < listed.index("train")
    assert sorted(listed) == sorted({path[0] for path in COMMANDS}), listed


def _examples() -> list[tuple[str, list[str]]]:
    """Each ``botsweep …`` command of every help example, as (where it is shown, argv)."""
    import shlex

    found: list[tuple[str, list[str]]] = []

    def walk(command: object, prefix: list[str]) -> None:
        epilog = getattr(command, "epilog", None) or ""
        for line in epilog.splitlines()[1:]:
            for part in line.replace("&&", "\n").replace("|", "\n").splitlines():
                words = shlex.split(part.strip().rstrip("&"), comments=True)
                while words and "=" in words[0]:  # VAR=value botsweep …
                    words.pop(0)
                if words[:1] == ["botsweep"]:
                    found.append((" ".join(["botsweep", *prefix]), words[1:]))
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            if not sub.hidden:
                walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize("shown_in, argv", EXAMPLES,
                         ids=[f"{w}: {' '.join(a)}" for w, a in EXAMPLES])
def test_every_help_example_parses(shown_in: str, argv: list[str]) -> None:
    """An example a user copies from ``--help`` must at least be a valid command line:
    known commands, known options, the right number of arguments (parsed, never run)."""
    command = typer.main.get_command(app)
    args = list(argv)
    while True:
        ctx = command.make_context("botsweep", args, resilient_parsing=False)
        subs = getattr(command, "commands", None)
        if not subs:
            break
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        assert rest, f"{shown_in} --help: `botsweep {' '.join(argv)}` names no command"
        _, command, args = command.resolve_command(ctx, rest)
    assert command is not None


def test_the_examples_cover_every_command() -> None:
    shown = {argv[0] for _, argv in EXAMPLES if argv}
    assert {path[0] for path in COMMANDS} <= shown


@pytest.mark.parametrize("argv, names", [
    (["crawl", "--max-requests", "0"], ["--max-requests", "botsweep crawl --help"]),
    (["report", "--max-nodes", "abc"], ["--max-nodes", "botsweep report --help"]),
    (["crawl", "--max-requestz", "3"], ["--max-requests", "botsweep crawl --help"]),
    (["nosuch"], ["nosuch", "botsweep --help"]),
])
def test_a_bad_option_is_one_line_and_exit_2(
        argv: list[str], names: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("botsweep: error: "), captured.err
    assert all(name in lines[0] for name in names), lines[0]
    assert captured.out == ""


def test_no_command_shows_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "Commands" in captured.out + captured.err and "seed" in captured.out + captured.err
