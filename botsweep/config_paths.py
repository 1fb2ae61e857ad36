"""Relative paths in a config file are relative to that file's folder.

``botsweep --config ../d1/config.yaml seed ...`` run from another directory must reach
``../d1/botsweep.db``, not start an empty database where the command happens to run.  So
:func:`rebase_file_paths` rewrites, in the data read from a config file and before any
``BOTSWEEP_<SECTION>__<KEY>`` variable is merged over it, every relative filesystem path:

* ``database.url`` when it names a SQLite file (``sqlite:///botsweep.db`` becomes
  ``sqlite:////abs/dir/botsweep.db``); an in-memory database, a ``file:`` URI, an
  absolute path and every other database (PostgreSQL) are left alone;
* ``report.out`` and ``scorer.model``.

Absolute paths and paths starting with ``~`` are kept as written.  Values from the
environment or the defaults have no file to be relative to, and keep resolving against
the current directory.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FILE_PATH_KEYS", "rebase_file_paths", "rebase_sqlite_url", "read_home",
           "home_sqlite_url", "is_loopback_url"]

# Settings that are plain filesystem paths; database.url is handled as a URL.
FILE_PATH_KEYS = (("report", "out"), ("scorer", "model"))


def _in_home(value: str) -> bool:
    """``~`` or ``~/...``: the home folder, as a shell reads it (``~name`` and a file named
    ``~x`` are not)."""
    return value == "~" or value.startswith("~/")


def _relative(value: str) -> bool:
    """Relative to the config's folder: not absolute, and not in the home folder (read by
    :func:`read_home`; ``~x.db`` is a file named so, beside the config)."""
    return bool(value) and not _in_home(value) and not Path(value).is_absolute()


def rebase_sqlite_url(url: str, folder: Path) -> str:
    """``url`` with a relative SQLite file joined to ``folder``; anything else unchanged.

    A value that is not a database URL at all is returned as it is, so that validation
    later names it as written."""
    if not url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url  # here: loading a config needs no SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return url
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or str(parsed.query.get("uri", "")).lower() == "true":
        return url  # a SQLite URI names its own file (or memory) in its own syntax
    if not _relative(database):
        return url
    rebased = parsed.set(database=str(folder / database))
    return str(rebased.render_as_string(hide_password=False))


def rebase_file_paths(data: dict[str, Any], folder: Path) -> None:
    """Join every relative path in ``data`` (a config file's sections) to ``folder``, in
    place.  Values of the wrong type are left for validation to report."""
    database = data.get("database")
    if isinstance(database, dict) and isinstance(database.get("url"), str):
        database["url"] = rebase_sqlite_url(database["url"], folder)
    for section, key in FILE_PATH_KEYS:
        values = data.get(section)
        if isinstance(values, dict) and isinstance(values.get(key), str) \
                and _relative(values[key]):
            values[key] = str(folder / values[key])


def read_home(value: str) -> str:
    """A leading ``~`` or ``~/`` as the home folder, as a shell reads it (``~name`` and a
    file named ``~x`` are left as written)."""
    if not _in_home(value):
        return value
    try:
        return str(Path(value).expanduser())
    except RuntimeError:  # no home folder known (no HOME, no passwd entry)
        raise ValueError(
            f"{value!r}: no home folder to read '~' as; write the full path") from None


def home_sqlite_url(url: str) -> str:
    """``sqlite:///~/crawl.db``: the file in the home folder (SQLite would look for a
    folder named ``~``); any other URL unchanged."""
    head, sep, rest = url.partition(":///")
    if sep and head.split("+", 1)[0] == "sqlite" and _in_home(rest):
        return head + sep + read_home(rest)
    return url


def is_loopback_url(url: str) -> bool:
    """Does ``url`` name this machine (localhost, 127.0.0.0/8, ::1)?"""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
