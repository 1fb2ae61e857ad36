"""Is a process that wrote a record to the database still there?

Daemons write heartbeats and crawling workers write claims to ``meta``, each with the host,
PID and PID namespace of the process that wrote it (:func:`here`).  A record written on
this host, in this PID namespace, by a process that is gone (killed with SIGKILL, say) is
known stale at once; one written elsewhere (another machine, another container) only once
it lapses.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

__all__ = ["here", "pid_namespace", "process_gone", "zombie"]


def here() -> dict[str, Any]:
    """This process: ``{host, pid, pid_ns}``, for a record that :func:`process_gone` reads."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_ns": pid_namespace()}


def pid_namespace() -> str:
    """This process's PID namespace (``pid:[4026531836]`` on Linux; empty where unknown).
    Containers on one host network share its hostname but not, as a rule, its PIDs."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def process_gone(record: dict[str, Any]) -> bool:
    """True when the record's process ran here (same host and PID namespace) and is gone: a
    process killed here is known dead at once, one elsewhere (another machine, another
    container) only once its record lapses.  A record without ``host`` is never gone."""
    namespace = pid_namespace()
    if (record.get("host") != socket.gethostname() or not namespace
            or record.get("pid_ns") != namespace):
        return False
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists under another user (EPERM), or cannot be told
        return False
    return zombie(pid)


def zombie(pid: int) -> bool:
    """True when ``pid`` has exited and waits to be reaped by its parent (Linux state Z):
    a process killed from a shell shows so until that shell collects it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
