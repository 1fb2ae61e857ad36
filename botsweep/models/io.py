"""Reading profile files: ``.jsonl`` or ``.jsonl.gz``, one X API v2 user object a line.

A line that is not an X API v2 user object raises :class:`InputError` naming the file and
the line number, so a user can find it with ``sed -n Np``: it needs a decimal ``id``, a
``username`` and a ``public_metrics`` object whose counts (any may be missing or null) are
whole numbers of at least 0, and a ``created_at``, when there is one, that is an ISO 8601 date or
date-time: RFC 3339 as the API writes it, or a shorter form (``2014-03-01``, no time zone),
which is read as UTC.  A v1.1 user object (``screen_name``, counts at the top level) is named
as such.  Blank lines are skipped.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from botsweep.errors import InputError
from botsweep.jsonl import json_lines
from botsweep.models.features import COUNT_FIELDS

__all__ = ["read_profiles", "iter_profiles", "profile_files", "dataset_name_for_file"]

_SUFFIXES = (".jsonl.gz", ".jsonl")


def _open(path: Path) -> BinaryIO:
    try:
        if path.name.endswith(".gz"):
            return gzip.open(path, "rb")  # type: ignore[return-value]
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; pass a .jsonl or .jsonl.gz file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror or exc})") from None


def _check(path: Path, number: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise InputError(
            f"{path} line {number}: expected a JSON object (an X API v2 user), "
            f"got {type(record).__name__}"
        )
    ident = record.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or not _decimal(str(ident)):
        raise InputError(
            f"{path} line {number}: 'id' must be a decimal string such as \"1234\", "
            f"got {ident!r}"
        )
    where = f"{path} line {number}"
    if "username" not in record and "screen_name" in record:
        raise InputError(f"{where}: a v1.1 user object (screen_name); botsweep reads X API v2 "
                         "user objects (username, public_metrics), as FORMATS.md describes")
    username = record.get("username")
    if not isinstance(username, str) or not username:
        raise InputError(f"{where}: 'username' must be a non-empty string, got {username!r}")
    metrics = record.get("public_metrics")
    if not isinstance(metrics, dict):
        raise InputError(f"{where}: 'public_metrics' must be an object of counts, "
                         f"got {metrics!r}")
    for name in COUNT_FIELDS:
        value = metrics.get(name)  # absent or null: missing
        if value is not None and (isinstance(value, bool) or not (
                isinstance(value, int) and value >= 0
                or isinstance(value, str) and _decimal(value))):
            raise InputError(f"{where}: public_metrics.{name} must be a whole number of at "
                             f"least 0 (or null), got {json.dumps(value)}")
    for name in ("created_at", "_collected_at"):  # a date read as missing would move ages
        moment = record.get(name)
        if moment is not None and not _is_rfc3339(moment):
            raise InputError(f"{where}: '{name}' must be an ISO 8601 date-time such as "
                             f"\"2015-01-01T00:00:00.000Z\" (RFC 3339), got {moment!r}")
    return record


# RFC 3339, or a shorter ISO 8601 form the features read as the same moment (a date alone,
# no seconds, a space for the T, no zone: UTC); not week dates, comma fractions or numbers.
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}"
                      r"(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?")


def _decimal(text: str) -> bool:
    """ASCII digits only ("²" is a digit to str.isdigit, not to float())."""
    return text.isascii() and text.isdigit()


def _is_rfc3339(value: Any) -> bool:
    """A date-time the features parse (see ``_RFC3339``)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # a month 13, a day 32
        return False
    return True


def iter_profiles(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-blank line of ``path``."""
    path = Path(path)
    number = 0
    with _open(path) as handle:
        try:
            for number, _, record in json_lines(  # noqa: B007 (used after the loop)
                    handle, lambda n: f"{path} line {n}", InputError):
                yield number, _check(path, number, record)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(
                f"{path}: corrupt or truncated gzip after line {number} ({exc})"
            ) from None


def read_profiles(path: str | Path) -> list[dict[str, Any]]:
    """Every record of ``path`` (``.jsonl`` or ``.jsonl.gz``) as a list of dicts."""
    return [record for _, record in iter_profiles(path)]


def profile_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories (their ``*.jsonl`` / ``*.jsonl.gz``, sorted)."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith(_SUFFIXES) and p.is_file())
            if not found:
                raise InputError(f"{path}: directory holds no .jsonl or .jsonl.gz files")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return out


def dataset_name_for_file(path: Path) -> str:
    """A file name without ``.jsonl[.gz]``: ``cresci-2017.jsonl.gz`` -> ``cresci-2017``."""
    name = path.name
    for suffix in (*_SUFFIXES, ".json", ".gz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem
