"""The botsweep error tree.

Every error the library raises on purpose is a :class:`BotsweepError`.  The CLI turns
one into a single clear line and an exit code: 2 for bad input or config
(:class:`UserError`), 1 for everything else.

The Source errors (:class:`SourceError` and its children) are what a Source raises at
its boundary; tweepy and requests exceptions never travel further than that.
"""

from __future__ import annotations

__all__ = [
    "BotsweepError",
    "UserError",
    "ConfigError",
    "InputError",
    "WorldError",
    "StorageError",
    "DatabaseConflict",
    "DatabaseLocked",
    "StorageFull",
    "ModelError",
    "SourceError",
    "RateLimited",
    "NotFound",
    "Suspended",
    "Protected",
    "Transient",
    "Unreachable",
    "Fatal",
    "ApiUnreachable",
]


class BotsweepError(Exception):
    """Base of every error botsweep raises on purpose."""

    exit_code: int = 1


class UserError(BotsweepError):
    """Bad input from the user: a config value, a handle, a file. Exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """config.yaml or a BOTSWEEP_* variable is wrong."""


class InputError(UserError):
    """A command-line argument or an input file is wrong."""


class WorldError(UserError):
    """A sim world directory is malformed (names the file and the line)."""


class ModelError(BotsweepError):
    """A model file is missing, unreadable or incompatible."""


class ModelFileError(UserError, ModelError):
    """A model file the user named (``--model``, ``scorer.model``) is missing or bad. Exit 2."""


class StorageError(BotsweepError):
    """The database could not do what was asked."""


class DatabaseLocked(StorageError):
    """Another process holds the write lock for longer than the busy timeout."""


class DatabaseConflict(StorageError):
    """PostgreSQL rolled the transaction back because it conflicted with another worker's
    (a deadlock, or a serialization failure): nothing of it was kept, and trying the same
    work again is safe."""


class StorageFull(StorageError):
    """The disk (or SQLite's max_page_count) is full; the transaction was rolled back."""


class SourceError(BotsweepError):
    """Raised by a Source: the API said no, or could not be reached."""


class RateLimited(SourceError):
    """The endpoint's window is spent until ``until`` (epoch seconds, wall clock)."""

    def __init__(self, until: float, message: str = "") -> None:
        self.until = float(until)
        super().__init__(message or f"rate limited until epoch {self.until:.0f}")


class NotFound(SourceError):
    """The account does not exist (or no longer exists)."""


class Suspended(SourceError):
    """The account is suspended."""


class Protected(SourceError):
    """The account is protected: its lists cannot be read."""


class Transient(SourceError):
    """A failure worth retrying: 5xx, a timeout, a reset connection, a malformed body."""

    def __init__(self, message: str, kind: str = "transient",
                 retry_after: float | None = None, reason: str = "") -> None:
        self.kind = kind
        self.retry_after = retry_after  # seconds, from a Retry-After header
        self.reason = reason or message  # a few words, for a one-line error
        super().__init__(message)


class Unreachable(Transient):
    """No reply came at all: the API could not be reached, or it dropped the connection
    before replying.  Such a failure is the network's, not the task's, so it does not use
    up the task's attempts (see :mod:`botsweep.crawler.reach`).

    ``sent`` is False when the request never left (the host name did not resolve, the
    connection was refused or not made within the timeout): no rate-limit budget was
    spent.  ``reason`` is a few words for the one-line error, such as
    ``connection refused``.
    """

    def __init__(self, message: str, kind: str = "unreachable", *, sent: bool = False,
                 reason: str = "") -> None:
        self.sent = sent
        super().__init__(message, kind=kind, reason=reason)


class Fatal(SourceError):
    """A failure that retrying will not fix: 400, 401, 403 for the app, a bad reply shape."""


class ApiUnreachable(BotsweepError):
    """The API stayed unreachable (several requests in a row got no reply): the crawl
    stops.  Exit code 1: the network or the server is at fault, not the input."""
