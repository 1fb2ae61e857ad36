"""The README's quickstart works as written: every line of it runs, in order, in a shell-like
way (the `sim serve … &` line in the background, `export` lines into the environment).

The only change made to the text is the port, swapped for a free one so that runs never
collide.  If someone edits the README into something that no longer works, this fails.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BOTSWEEP = [sys.executable, "-m", "botsweep"]


def _quickstart_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the Quickstart section has no ```sh block"
    lines = []
    for raw in block.group(1).splitlines():
        line = raw.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, server: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "`botsweep sim serve` exited early"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the sim did not listen on port {port} within {seconds} s")


def _argv(words: list[str]) -> list[str]:
    assert words[0] == "botsweep", f"the quickstart runs only botsweep commands: {words}"
    return [*BOTSWEEP, *words[1:]]


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    lines = _quickstart_lines()
    assert any(line.startswith("botsweep crawl") for line in lines)
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTSWEEP_")}
    env["HOME"] = str(tmp_path)
    servers: list[subprocess.Popen[bytes]] = []
    outputs: dict[str, str] = {}
    try:
        for line in lines:
            line = line.replace("8787", port)
            if line.startswith("export "):
                for pair in shlex.split(line)[1:]:
                    key, _, value = pair.partition("=")
                    env[key] = value
                continue
            background = line.endswith("&")
            words = shlex.split(line.rstrip("&"))
            if background:
                server = subprocess.Popen(_argv(words), cwd=tmp_path, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                servers.append(server)
                _wait_for(int(port), server)
                continue
            done = subprocess.run(_argv(words), cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=240)
            assert done.returncode == 0, f"`{line}` exited {done.returncode}: {done.stderr}"
            outputs[words[1]] = done.stdout
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)
    report = tmp_path / "report.html"
    assert report.stat().st_size > 10_000 and "</html>" in report.read_text(encoding="utf-8")
    assert any((tmp_path / "export").glob("*.csv"))
    seeded = next(line for line in lines if line.startswith("botsweep seed "))
    ids = [word for word in shlex.split(seeded)[2:] if word.isdigit()]
    status = outputs["status"]
    assert f"seeds: {len(ids)}" in status and all(i in status for i in ids)


@pytest.mark.parametrize("command", ["status", "seed", "crawl", "report", "export", "score",
                                     "campaign", "review", "daemon", "sim", "demo", "bench",
                                     "train", "evaluate", "label"])
def test_every_command_the_readme_names_exists(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert f"`{command}" in text or f"botsweep {command}" in text
    done = subprocess.run([*BOTSWEEP, command, "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def _table_commands() -> list[list[str]]:
    """The commands the README's command table names: `campaign fit` → [campaign, fit]."""
    section = README.read_text(encoding="utf-8").split("\nCommands:\n", 1)[1]
    rows = [line for line in section.split("\n\n", 1)[0].splitlines() if line.startswith("| `")]
    return [name.split() for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])]


def test_the_command_table_names_real_commands_and_every_campaign_command() -> None:
    import typer.main

    from botsweep.cli import app

    def subcommands(command: object) -> dict[str, Any]:
        return dict(getattr(command, "commands", None) or {})

    top = subcommands(typer.main.get_command(app))
    named = _table_commands()
    for words in named:
        command = top.get(words[0])
        if len(words) > 1:
            command = subcommands(command).get(words[1])
        assert command is not None, f"`{' '.join(words)}`: no such command"
    campaign = subcommands(top["campaign"])
    assert {("campaign", sub) for sub in campaign} <= {tuple(w) for w in named}
