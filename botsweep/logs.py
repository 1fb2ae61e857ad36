"""Logging set-up: one line per event, optionally JSON, and never a secret.

Every secret botsweep reads (API tokens) is registered with :func:`register_secret`;
a filter on the root handler replaces it with ``[REDACTED]`` in every record, whatever
logger produced it.  tweepy's, urllib3's and requests' loggers print request headers at
DEBUG, so they are held at WARNING whatever the verbosity (as are alembic's and
APScheduler's, whose INFO lines would drown botsweep's own).

:func:`plural` words a count for the one-line messages commands print ("1 account",
"2 accounts").
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["setup_logging", "register_secret", "redact", "JsonFormatter", "plural"]

_SECRETS: set[str] = set()
_NOISY = ("tweepy", "urllib3", "requests", "requests_oauthlib", "oauthlib", "apscheduler",
          "alembic")
_MARK = "[REDACTED]"


def register_secret(value: str) -> None:
    """Remember ``value`` so that it is redacted from every log line and error text."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[REDACTED]``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, _MARK)
    return text


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and ``word``, in the plural (``words``, else ``word + "s"``) unless it is 1."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            message = redact(record.getMessage())
            record.msg, record.args = message, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    _STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        return redact(json.dumps(payload, default=str))


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record)).replace("\n", " | ")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time, so a swapped stream is never stale."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def setup_logging(verbosity: int = 0, as_json: bool = False) -> None:
    """Configure the ``botsweep`` loggers: WARNING, INFO (-v) or DEBUG (-vv), to stderr."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = _StderrHandler()
    handler.addFilter(_RedactFilter())
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_botsweep", False):
            root.removeHandler(old)
    handler._botsweep = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
