"""The Source seam: X API v2 through tweepy, translated into Pages and botsweep errors.

This is the only module in botsweep that imports tweepy (lazily, so importing the types
here stays cheap).  Each call returns a :class:`Page` or raises one of
:class:`~botsweep.errors.RateLimited`, :class:`~botsweep.errors.NotFound`,
:class:`~botsweep.errors.Suspended`, :class:`~botsweep.errors.Protected`,
:class:`~botsweep.errors.Transient` (``kind`` = ``5xx``, ``timeout``, ``reset`` or
``malformed``), its child :class:`~botsweep.errors.Unreachable` when no reply came at all
(see :mod:`botsweep.crawler.reach`), or :class:`~botsweep.errors.Fatal`; tweepy and
requests exceptions stop here.  Every error raised for a reply carries ``status``, ``rate`` (a
:class:`RateSnapshot` or None), ``endpoint`` and ``token_key`` attributes, so that the
engine can feed the ledger even when a call fails.

tweepy's ``Client`` always calls ``https://api.twitter.com`` with no timeout and hides the
reply headers, so each client gets ``return_type=requests.Response``,
``wait_on_rate_limit=False`` and, on its session, an adapter that rewrites the host to
``base_url`` and applies ``timeout_s``.

Choices: an oversized page (more users than ``max_results``, or than the ids asked for in a
lookup) is ``Transient(kind="malformed")``: a garbled reply is worth a bounded retry, and
the engine gives up on that row after its attempts, not on the crawl.  A raw 404 means the
route does not exist (wrong ``api.base_url``) and is Fatal; missing accounts come back as
200 with an ``errors`` list (see FORMATS.md).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from botsweep.crawler.clock import Clock, SystemClock
from botsweep.crawler.ratelimit import RateSnapshot
from botsweep.crawler.reach import no_reply_error
from botsweep.crawler.replies import (
    ENDPOINTS,
    MAX_LOOKUP,
    USER_FIELDS,
    AccountError,
    Page,
    parse_reply,
)
from botsweep.errors import InputError
from botsweep.logs import redact, register_secret
from botsweep.tokens import check_token

__all__ = [
    "ENDPOINTS",
    "USER_FIELDS",
    "MAX_LOOKUP",
    "RateSnapshot",
    "AccountError",
    "Page",
    "Source",
    "XSource",
    "parse_reply",
    "check_account_id",
    "check_username",
]

log = logging.getLogger("botsweep.source")

_REAL_HOST = "https://api.twitter.com"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_CURSOR = re.compile(r"^[\x21-\x7e]{1,1024}$")  # printable ASCII, no spaces
_BEARER = re.compile(r"Bearer\s+[^\s'\",}]+")


class Source(Protocol):
    """What the engine needs from an API: four reads, each one page."""

    token_keys: Sequence[str]

    def lookup_users(self, ids: Sequence[int], *, token_key: str) -> Page: ...

    def lookup_usernames(self, names: Sequence[str], *, token_key: str) -> Page: ...

    def followers(
        self, account_id: int, cursor: str | None, *, token_key: str, max_results: int = 1000
    ) -> Page: ...

    def following(
        self, account_id: int, cursor: str | None, *, token_key: str, max_results: int = 1000
    ) -> Page: ...


# -- validation of what we send -------------------------------------------------------
def check_account_id(value: object) -> str:
    """An X user id (int or decimal string) as its canonical decimal string, or InputError."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 19:
        raise InputError(f"account id {value!r} is not a decimal X user id such as 783214")
    if int(text) <= 0 or int(text) >= 2**63:
        raise InputError(f"account id {value!r} is out of range for an X user id")
    return str(int(text))


def _check_batch(values: Sequence[Any], what: str) -> None:
    if isinstance(values, str | bytes):
        raise InputError(f"{what}: expected a list, got the single string {values!r}")
    if not 1 <= len(values) <= MAX_LOOKUP:
        raise InputError(f"{what}: {len(values)} given; one lookup takes 1 to {MAX_LOOKUP}")


def _unique(values: list[str], *, fold: bool = False) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.lower() if fold else value
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def check_username(value: object) -> str:
    """A handle without its leading ``@`` (the API's rule: 1-15 of A-Z a-z 0-9 _), or
    InputError.  Validate seeds with it, so that a bad handle never reaches a batch."""
    name = value[1:] if isinstance(value, str) and value.startswith("@") else value
    if not isinstance(name, str) or not _USERNAME.match(name):
        raise InputError(
            f"username {value!r} is not an X handle (1-15 letters, digits or _, "
            "optionally with a leading @)"
        )
    return name


def _check_cursor(cursor: object) -> str | None:
    if cursor is None:
        return None
    if not isinstance(cursor, str) or not _CURSOR.match(cursor):
        raise InputError(f"pagination cursor {cursor!r} is not a token the API returned")
    return cursor


def _check_max(max_results: object) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InputError(f"max_results={max_results!r}: expected an integer from 1 to 1000")
    if not 1 <= max_results <= 1000:
        raise InputError(f"max_results={max_results}: the API takes 1 to 1000 per page")
    return max_results


# -- transport --------------------------------------------------------------------------
class _RewriteAdapter(HTTPAdapter):
    """Sends tweepy's ``https://api.twitter.com`` requests to ``base_url``, with a timeout.

    Also keeps the last response per thread: tweepy can fail while building its own
    exception from an odd error body, and the raw reply is what we parse.
    """

    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__()
        self._base = base_url
        self._timeout = timeout_s
        self.last = threading.local()

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self._base != _REAL_HOST and url.startswith(_REAL_HOST + "/"):
            request.url = self._base + url[len(_REAL_HOST):]
            proxies = requests.utils.get_environ_proxies(request.url)
        response = super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=dict(proxies or {}),
        )
        self.last.response = response
        return response


class _TweepyRedactFilter(logging.Filter):
    """tweepy logs the Authorization header at DEBUG: scrub it whatever the log level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact(_BEARER.sub("Bearer [REDACTED]", message))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def _quiet_tweepy() -> None:
    logger = logging.getLogger("tweepy.client")
    if not any(isinstance(f, _TweepyRedactFilter) for f in logger.filters):
        logger.addFilter(_TweepyRedactFilter())


class XSource:
    """The X API v2 (or the sim) through tweepy: one ``tweepy.Client`` per token.

    ``tokens`` maps environment variable names (the keys the ledger and logs use) to token
    values (registered as secrets, never shown).
    """

    def __init__(
        self,
        tokens: Mapping[str, str],
        *,
        base_url: str = _REAL_HOST,
        timeout_s: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        import tweepy

        if not tokens:
            raise InputError("XSource needs at least one token (env var name -> token)")
        for key, value in tokens.items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                raise InputError(
                    "XSource tokens are keyed by environment variable name (e.g. "
                    "X_BEARER_TOKEN); a key is not such a name"
                )
            if not isinstance(value, str) or not value:
                raise InputError(f"XSource token {key} is empty; export it first")
            check_token(key, value)  # ConfigError: a stray newline, never a network fault
            register_secret(value)
        if not re.match(r"^https?://[^\s/]+", base_url or ""):
            raise InputError(f"base_url {base_url!r}: expected an http(s) URL")
        if not timeout_s > 0:
            raise InputError(f"timeout_s={timeout_s}: must be a positive number of seconds")
        _quiet_tweepy()
        self.base_url = base_url.rstrip("/")
        self.timeout_s = float(timeout_s)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._tweepy = tweepy
        self._clients: dict[str, tuple[Any, _RewriteAdapter]] = {}
        for key, value in tokens.items():
            client = tweepy.Client(
                bearer_token=value, return_type=requests.Response, wait_on_rate_limit=False
            )
            adapter = _RewriteAdapter(self.base_url, self.timeout_s)
            client.session.mount(_REAL_HOST + "/", adapter)
            self._clients[key] = (client, adapter)
        self.token_keys: Sequence[str] = tuple(self._clients)

    @classmethod
    def from_settings(
        cls,
        api: Any,
        environ: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
    ) -> XSource:
        """Build from :class:`~botsweep.config.ApiSettings`; tokens from the environment."""
        from botsweep.tokens import resolve_tokens

        tokens = resolve_tokens(api, dict(environ) if environ is not None else None)
        return cls(tokens, base_url=api.base_url, timeout_s=api.timeout_s, clock=clock)

    # -- the four reads ---------------------------------------------------------------
    def lookup_users(self, ids: Sequence[int], *, token_key: str) -> Page:
        _check_batch(ids, "lookup_users ids")
        wanted = _unique([check_account_id(i) for i in ids])
        return self._call(
            token_key, ENDPOINTS["users"], len(wanted),
            lambda c: c.get_users(ids=wanted, user_fields=USER_FIELDS),
        )

    def lookup_usernames(self, names: Sequence[str], *, token_key: str) -> Page:
        _check_batch(names, "lookup_usernames names")
        wanted = _unique([check_username(n) for n in names], fold=True)
        return self._call(
            token_key, ENDPOINTS["users_by"], len(wanted),
            lambda c: c.get_users(usernames=wanted, user_fields=USER_FIELDS),
        )

    def followers(
        self, account_id: int, cursor: str | None, *, token_key: str, max_results: int = 1000
    ) -> Page:
        return self._list("followers", account_id, cursor, token_key, max_results)

    def following(
        self, account_id: int, cursor: str | None, *, token_key: str, max_results: int = 1000
    ) -> Page:
        return self._list("following", account_id, cursor, token_key, max_results)

    def _list(
        self, which: str, account_id: int, cursor: str | None, token_key: str, max_results: int
    ) -> Page:
        uid = check_account_id(account_id)
        token = _check_cursor(cursor)
        size = _check_max(max_results)
        params: dict[str, Any] = {"max_results": size, "user_fields": USER_FIELDS}
        if token is not None:
            params["pagination_token"] = token

        def fetch(client: Any) -> Any:
            method = client.get_users_followers if which == "followers" else (
                client.get_users_following
            )
            return method(uid, **params)

        return self._call(token_key, ENDPOINTS[which], size, fetch, account_id=int(uid))

    # -- one request ------------------------------------------------------------------
    def _call(
        self,
        token_key: str,
        endpoint: str,
        max_items: int,
        fetch: Callable[[Any], Any],
        *,
        account_id: int | None = None,
    ) -> Page:
        if token_key not in self._clients:
            raise InputError(f"unknown token key {token_key!r}; known: {list(self._clients)}")
        client, adapter = self._clients[token_key]
        adapter.last.response = None
        host = self.base_url
        started = time.monotonic()
        try:
            response = fetch(client)
        except self._tweepy.errors.HTTPException as exc:
            response = exc.response
        except requests.RequestException as exc:
            # Unreachable when no reply came at all (refused, reset, DNS), else Transient
            raise no_reply_error(exc, endpoint, host, self.timeout_s) from None
        except (AttributeError, TypeError, ValueError, KeyError):
            # tweepy choked building its exception from an odd error body: parse it ourselves.
            response = getattr(adapter.last, "response", None)
            if response is None:
                raise
        now = self._clock.now()
        try:
            page = parse_reply(
                response.status_code, response.headers, response.content,
                endpoint=endpoint, token_key=token_key, now=now, max_items=max_items,
                account_id=account_id,
            )
        except Exception as exc:
            log.debug(
                "%s via %s -> %s %s (%.0f ms)", endpoint, token_key, response.status_code,
                type(exc).__name__, (time.monotonic() - started) * 1000,
            )
            raise
        log.debug(
            "%s via %s -> %s, %d users, remaining %s (%.0f ms)", endpoint, token_key,
            response.status_code, len(page.items),
            page.rate.remaining if page.rate else "?", (time.monotonic() - started) * 1000,
        )
        return page

    def close(self) -> None:
        """Close every client's HTTP session."""
        for client, _ in self._clients.values():
            client.session.close()

    def __enter__(self) -> XSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"XSource(base_url={self.base_url!r}, token_keys={list(self.token_keys)})"
