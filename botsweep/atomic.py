"""Writing a user's output file so that a reader never sees it half-written.

Reports, exports, score files and model files are written to a temporary file beside the
target and renamed over it only once complete.  A kill, a full disk or an error part-way
leaves the previous file as it was (and at worst no temporary behind: it is removed on
every error), and a symlink at the target is replaced, never written through.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replaced", "temp_pattern"]


def temp_pattern(out: Path) -> str:
    """The glob of the temporary files :func:`replaced` makes for ``out``."""
    return f".{out.name}.*.tmp"


@contextmanager
def replaced(out: Path, error: Callable[[str], Exception]) -> Iterator[Path]:
    """A temporary path beside ``out``; leaving the block without an error renames it over
    ``out``.  An OSError (here or in the block) becomes ``error`` with one line."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
    except OSError as exc:
        raise error(f"cannot write {out}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a report from its readers
        os.replace(tmp, out)
    except OSError as exc:
        raise error(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
