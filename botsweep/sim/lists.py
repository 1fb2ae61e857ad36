"""Paginated lists: opaque page tokens, and the checked parameters of list requests.

A crawler reads a followers or following list page after page with the same parameters;
only ``pagination_token`` changes.  :class:`ListQueries` checks a query without its token
once (with ``check_query`` and ``max_results``, the same functions every request uses)
and remembers the outcome, so a page costs a dictionary look-up and a token check.
Anything unusual (a token given twice, empty, with escapes, or a query that does not
pass) is left to the caller's full check, which gives the exact 400.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple
from urllib.parse import unquote_plus

from botsweep.sim.apispec import ApiError, check_int, check_query, invalid

__all__ = ["ListParams", "ListQueries", "PageTokens", "parse_qs"]

_TOKEN = "pagination_token="


def parse_qs(qs: str) -> dict[str, list[str]]:
    """``parse_qs(qs, keep_blank_values=True)``, fast when nothing needs unquoting."""
    out: dict[str, list[str]] = {}
    for part in qs.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = unquote_plus(name), unquote_plus(value)
        out.setdefault(name, []).append(value)
    return out


class ListParams(NamedTuple):
    """The checked parameters of a followers/following query, but for its token."""

    size: int
    fields: tuple[str, ...]
    expansions: tuple[str, ...]
    tweet_fields: tuple[str, ...]


class ListQueries:
    """Checked list queries, keyed by (endpoint, query string without its token)."""

    def __init__(self, most: int = 1024) -> None:
        self.most = most  # distinct queries kept; past that the memo starts again
        self._known: dict[tuple[str, str], ListParams | None] = {}

    def get(self, endpoint: str, qs: str) -> tuple[ListParams, str | None] | None:
        """(the parameters, the pagination token or None), or None when the caller must
        check ``qs`` the long way."""
        rest, tokens = qs, []
        if _TOKEN in qs:
            parts = []
            for part in qs.split("&"):
                (tokens if part.startswith(_TOKEN) else parts).append(part)
            rest = "&".join(parts)
        key = (endpoint, rest)
        params = self._known.get(key, False)
        if params is False:
            params = self._check(endpoint, rest)
            if len(self._known) >= self.most:
                self._known.clear()
            self._known[key] = params
        if params is None or len(tokens) > 1:
            return None
        if not tokens:
            return params, None
        token = tokens[0][len(_TOKEN):]
        if not token or "%" in token or "+" in token:
            return None
        return params, token

    @staticmethod
    def _check(endpoint: str, rest: str) -> ListParams | None:
        try:
            query = check_query(endpoint, parse_qs(rest))
            size = check_int("max_results", query.one("max_results"), 1, 1000, 100)
        except ApiError:
            return None
        if "pagination_token" in query:  # spelled with escapes
            return None
        return ListParams(size, query.fields("user.fields"), query.fields("expansions"),
                          query.fields("tweet.fields"))


class PageTokens:
    """Opaque tokens for an offset in one list, which only this sim (and seed) accepts."""

    def __init__(self, rng_seed: int) -> None:
        secret = hashlib.blake2b(f"botsweep-sim-{rng_seed}".encode()).digest()[:32]
        self._mac = hashlib.blake2b(key=secret, digest_size=8)

    def _page_mac(self, kind: str, account_id: int, offset: int) -> bytes:
        mac = self._mac.copy()  # keyed once; a copy skips hashing the key block again
        mac.update(f"{kind}|{account_id}|{offset}".encode())
        return mac.digest()

    def token(self, kind: str, account_id: int, offset: int) -> str:
        """An opaque token for ``offset`` in ``kind`` list of ``account_id``."""
        mac = self._page_mac(kind, account_id, offset)
        hidden = (offset ^ int.from_bytes(mac[:4], "big")).to_bytes(4, "big")
        return (mac + hidden).hex()

    def offset(self, kind: str, account_id: int, token: str | None) -> int:
        """The offset a token stands for; the real 400 if it is not one of ours."""
        if token is None:
            return 0
        try:
            raw = bytes.fromhex(token) if len(token) == 24 else b""
        except ValueError:
            raw = b""
        offset = -1
        if len(raw) == 12:
            offset = int.from_bytes(raw[8:], "big") ^ int.from_bytes(raw[:4], "big")
            if not hmac.compare_digest(raw[:8], self._page_mac(kind, account_id, offset)):
                offset = -1
        if offset < 0:
            raise invalid([{"parameters": {"pagination_token": [token]},
                            "message": f"The `pagination_token` query parameter value [{token}] "
                                       "is not valid"}])
        return offset
