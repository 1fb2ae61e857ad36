"""Crawled text made safe to print on a terminal.

Names, usernames, domains and phrases come from the crawled world, so they are untrusted.
A terminal obeys the control characters in what it prints: ESC starts sequences that set
the window title, hide or recolour text, or make links, and bidi controls reorder what is
shown.  :func:`printable` shows each such character as a visible escape instead.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 and C1 controls (tab and newline too: one value stays on one line), DEL, and the
# bidi marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control and bidi character shown as an escape (``\\x1b``)."""
    return _UNSAFE.sub(_escape, text)
