"""One reader for JSON-lines files: world accounts and tweets, and profile files.

Lines are split as bytes and decoded one by one, so that bytes that are not UTF-8 are
blamed on their own line (a text-mode reader decodes 8 KB at a time).  A byte order mark
before the first line is skipped, as are blank lines.  A line that is not UTF-8, not JSON,
or JSON nested too deeply raises the caller's error type with one line naming the place
(``where`` gives it, from the line number), so that a user finds it with ``sed -n Np``.
What each object must hold is the caller's to check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["json_lines"]

_BOM = b"\xef\xbb\xbf"


def json_lines(
    lines: Iterable[bytes], where: Callable[[int], str], error: type[Exception]
) -> Iterator[tuple[int, str, Any]]:
    """``(line number, line text, decoded value)`` for each non-blank line of ``lines``."""
    for lineno, raw in enumerate(lines, start=1):
        if lineno == 1:
            raw = raw.removeprefix(_BOM)  # as some editors write
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{where(lineno)}: not valid UTF-8 (byte {exc.start + 1})") from None
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(
                f"{where(lineno)}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise error(f"{where(lineno)}: JSON nested too deeply") from None
        yield lineno, line, value
