"""Writing a user's output file so that a reader never sees it half-written.

Reports, exports, score files and model files are written to a temporary file beside the
target and renamed over it only once complete.  A kill, a full disk or an error part-way
leaves the previous file as it was (and at worst no temporary behind: it is removed on
every error), and a symlink to a regular file is replaced, never written through.  The
file keeps the mode of the one it replaces (a new one gets the umask's).  A target that is
no regular file (``/dev/null``, a named pipe, or a symlink to one) is written in place:
renaming over it would replace the device (a pipe waits for its reader, as pipes do).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replaced", "temp_pattern"]


def _umask() -> int:
    """The process's umask, read without setting it where Linux allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and given back at once
    os.umask(mask)
    return mask


def temp_pattern(out: Path) -> str:
    """The glob of the temporary files :func:`replaced` makes for ``out``."""
    return f".{out.name}.*.tmp"


def _cannot(out: Path, exc: OSError) -> str:
    return f"cannot write {out}: {exc.strerror or exc}"


@contextmanager
def replaced(out: Path, error: Callable[[str], Exception]) -> Iterator[Path]:
    """A temporary path beside ``out``; leaving the block without an error renames it over
    ``out``.  An OSError (here or in the block) becomes ``error`` with one line."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(out).st_mode) if out.is_file() else None
        if out.exists() and not out.is_file():  # a device or a pipe (a folder is refused
            try:                                # by the callers): written in place
                yield out
            except OSError as exc:
                raise error(_cannot(out, exc)) from None
            return
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
    except OSError as exc:
        raise error(_cannot(out, exc)) from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())  # not mkstemp's 0600
        os.replace(tmp, out)
    except OSError as exc:
        raise error(_cannot(out, exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
