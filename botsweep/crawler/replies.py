"""Pure parsing of X API v2 user replies: status, headers and body bytes in, a Page out.

No I/O and no tweepy: :func:`parse_reply` can be fed anything (the tests feed it arbitrary
JSON and bytes) and either returns a :class:`Page` or raises a
:class:`~botsweep.errors.SourceError`.  Everything in a reply is untrusted: user objects are
checked for the types botsweep relies on, and text copied into error messages is cut short,
stripped of control characters and redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from botsweep.crawler.ratelimit import RateSnapshot
from botsweep.errors import (
    Fatal,
    NotFound,
    Protected,
    RateLimited,
    SourceError,
    Suspended,
    Transient,
)
from botsweep.logs import redact

__all__ = [
    "ENDPOINTS",
    "USER_FIELDS",
    "MAX_LOOKUP",
    "AccountError",
    "Page",
    "Users",
    "classify",
    "parse_reply",
    "user_fields_problem",
    "parse_rate",
    "parse_date",
]

ENDPOINTS: dict[str, str] = {
    "users": "/2/users",
    "users_by": "/2/users/by",
    "followers": "/2/users/:id/followers",
    "following": "/2/users/:id/following",
}
# Every v2 user field botsweep stores (verified_type exists in the real API since 2023).
USER_FIELDS: list[str] = [
    "created_at", "description", "entities", "location", "name", "pinned_tweet_id",
    "profile_image_url", "protected", "public_metrics", "url", "username", "verified",
    "verified_type",
]
MAX_LOOKUP = 100
DEFAULT_WAIT_S = 900.0  # a 429 without x-rate-limit-reset: wait one documented window

_LISTS = {ENDPOINTS["followers"], ENDPOINTS["following"]}
_STR_FIELDS = ("username", "name", "description", "location", "url", "profile_image_url",
               "created_at", "pinned_tweet_id", "verified_type")
_BOOL_FIELDS = ("protected", "verified")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_NUMBER = re.compile(r"^[0-9]{1,12}(\.[0-9]{0,6})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
State = Literal["suspended", "not_found", "protected"]


@dataclass(frozen=True)
class AccountError:
    """A per-account problem inside a 200 reply: ``value`` is the id or username asked."""

    value: str
    state: State
    detail: str


class Users(list[dict[str, Any]]):
    """A reply's user objects, with ``ids``: their ids as ints, in the same order.

    The parser converts every id once when it checks it; the page write takes the ints from
    here rather than parsing the strings again.  It is a list, so it reads like one.
    """

    ids: list[int]

    def __init__(self, users: list[dict[str, Any]], ids: list[int]) -> None:
        super().__init__(users)
        self.ids = ids


@dataclass
class Page:
    """One reply: the user objects, where to continue, and what the reply said about limits."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    rate: RateSnapshot | None
    fetched_at: datetime
    endpoint: str
    token_key: str
    errors: list[AccountError] = field(default_factory=list)
    status: int = 200


def _clean(value: object, limit: int = 200) -> str:
    text = _CONTROL.sub(" ", str(value)).strip()
    return redact(text[:limit] + ("…" if len(text) > limit else ""))


def _lower(headers: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.items():
        if isinstance(key, str) and isinstance(value, str):
            out[key.lower()] = value
    return out


def _number(headers: dict[str, str], name: str) -> float | None:
    raw = headers.get(name, "").strip()
    return float(raw) if _NUMBER.match(raw) else None


def parse_rate(headers: Mapping[str, Any]) -> RateSnapshot | None:
    """The ``x-rate-limit-*`` headers as a snapshot, or None if any is missing or garbled."""
    h = _lower(headers)
    limit = _number(h, "x-rate-limit-limit")
    remaining = _number(h, "x-rate-limit-remaining")
    reset = _number(h, "x-rate-limit-reset")
    if limit is None or remaining is None or reset is None:
        return None
    return RateSnapshot(limit=int(limit), remaining=int(remaining), reset=reset)


def parse_date(headers: Mapping[str, Any], fallback: float) -> datetime:
    """The reply's ``Date`` header as aware UTC; ``fallback`` (epoch s) when absent or bad."""
    raw = _lower(headers).get("date")
    if raw:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            try:
                return when.astimezone(UTC)
            except (OverflowError, ValueError):
                pass
    return datetime.fromtimestamp(fallback, tz=UTC)


def _tag(exc: SourceError, status: int, rate: RateSnapshot | None, endpoint: str,
         token_key: str) -> SourceError:
    exc.status = status  # type: ignore[attr-defined]
    exc.rate = rate  # type: ignore[attr-defined]
    exc.endpoint = endpoint  # type: ignore[attr-defined]
    exc.token_key = token_key  # type: ignore[attr-defined]
    return exc


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Malformed("the body is not valid JSON") from None


class _Malformed(Exception):
    pass


def _problem(body: bytes) -> str:
    """Title, detail and first error message of an error body, for a one-line message."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _clean(body[:120].decode("utf-8", "replace")) if body else "(empty body)"
    if not isinstance(doc, dict):
        return "(unexpected body)"
    parts = [_clean(doc[k]) for k in ("title", "detail") if isinstance(doc.get(k), str)]
    errors = doc.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message")
        if isinstance(message, str):
            parts.append(_clean(message))
    parts = list(dict.fromkeys(parts))  # a detail that repeats the title, said once
    return ": ".join(parts) or "(no title or detail)"


def classify(entry: Mapping[str, Any]) -> State | None:
    """suspended / not_found / protected from an ``errors`` entry's title and type, and
    only when they say nothing known, from its detail's words (a detail repeats the id or
    the handle asked for, so ``@notsuspended`` not found must not read as suspended)."""
    title = str(entry.get("title", "")).strip().lower()
    detail = str(entry.get("detail", "")).strip().lower()
    kind = str(entry.get("type", ""))
    if title == "not found error":
        return "not_found"
    if title == "authorization error" or kind.endswith("/not-authorized-for-resource"):
        return "protected"
    if detail.startswith("user has been suspended") or (
            title == "forbidden" and kind.endswith("/resource-not-found")):
        return "suspended"
    for words, state in (("could not find", "not_found"), ("not authorized", "protected"),
                         ("suspended", "suspended")):
        if words in detail:
            return state  # type: ignore[return-value]
    return None


def _usage_cap(body: bytes) -> str | None:
    """The problem's words when a 429 says the app's usage cap is spent (not a rate-limit
    window: waiting for the window's reset does not help)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(doc, dict) or not (
            str(doc.get("type", "")).endswith("/usage-capped")
            or doc.get("title") == "UsageCapExceeded"):
        return None
    return _problem(body)


def user_fields_problem(obj: Any) -> str | None:
    """What makes ``obj`` a user object the crawler would refuse (a field of the wrong
    type), in words; None when it is fine.  The sim checks its world with this."""
    try:
        _check_user(obj)
    except _Malformed as exc:
        return str(exc)
    return None


def _check_user(obj: Any) -> int:
    """The user object's id as an int, once its fields have the types botsweep relies on."""
    if not isinstance(obj, dict):
        raise _Malformed("a user entry is not an object")
    uid = obj.get("id")
    number = int(uid) if isinstance(uid, str) and _DIGITS.match(uid) else 2**63
    if number >= 2**63:
        raise _Malformed("a user entry has no decimal string id")
    for name in _STR_FIELDS:
        if name in obj and not isinstance(obj[name], str):
            raise _Malformed(f"user {uid}: field {name} is not a string")
    for name in _BOOL_FIELDS:
        if name in obj and not isinstance(obj[name], bool):
            raise _Malformed(f"user {uid}: field {name} is not true/false")
    metrics = obj.get("public_metrics", {})
    if not isinstance(metrics, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in metrics.values()
    ):
        raise _Malformed(f"user {uid}: public_metrics is not a map of counts")
    if "entities" in obj and not isinstance(obj["entities"], dict):
        raise _Malformed(f"user {uid}: entities is not an object")
    return number


def _raise_for_status(status: int, headers: dict[str, str], body: bytes, rate: RateSnapshot | None,
                      endpoint: str, token_key: str, now: float) -> None:
    if status == 429 and (cap := _usage_cap(body)) is not None:
        raise Fatal(f"{endpoint}: HTTP 429 {cap}; the app's usage cap is spent, so no request "
                    "succeeds until it renews (see the X developer portal)")
    if status == 429:
        until = rate.reset if rate else _number(headers, "x-rate-limit-reset")
        until = until if until is not None else now + DEFAULT_WAIT_S
        raise RateLimited(until, f"{endpoint}: rate limited on {token_key} until epoch {until:.0f}")
    if status >= 500:
        after = _number(headers, "retry-after")  # seconds (an HTTP date is not read)
        why = f"server error {status}: {_problem(body)}"
        raise Transient(f"{endpoint}: {why}", kind="5xx", reason=why,
                        retry_after=after if after is not None and 0 <= after <= 3600 else None)
    if status == 408:
        raise Transient(f"{endpoint}: the server timed out (408)", kind="timeout")
    if 400 <= status < 500:
        hints = {
            401: f"; check the token in ${token_key}",
            402: "; the X developer account has no credits left (see its billing)",
            403: "; this app's X API access does not include this endpoint",
            404: "; no such route: check api.base_url",
        }
        raise Fatal(f"{endpoint}: HTTP {status} {_problem(body)}{hints.get(status, '')}")
    if status != 200:
        raise _Malformed(f"unexpected HTTP status {status}")


def parse_reply(
    status: int,
    headers: Mapping[str, Any],
    body: bytes,
    *,
    endpoint: str,
    token_key: str,
    now: float,
    max_items: int,
    account_id: int | None = None,
) -> Page:
    """Turn one reply into a :class:`Page`, or raise the matching SourceError.

    ``max_items`` is the most users the request could return (``max_results`` for lists,
    the number of accounts asked for in a lookup); ``account_id`` is the list's owner.
    Errors raised carry ``status``, ``rate``, ``endpoint`` and ``token_key`` attributes.
    """
    h = _lower(headers)
    rate = parse_rate(h)
    try:
        _raise_for_status(status, h, body, rate, endpoint, token_key, now)
        items, cursor, errors = _parse_ok(body, endpoint, max_items, account_id)
    except _Malformed as exc:
        err: SourceError = Transient(
            f"{endpoint}: malformed reply ({_clean(exc)})", kind="malformed"
        )
        raise _tag(err, status, rate, endpoint, token_key) from None
    except SourceError as exc:
        raise _tag(exc, status, rate, endpoint, token_key) from None
    return Page(items=items, next_cursor=cursor, rate=rate, fetched_at=parse_date(h, now),
                endpoint=endpoint, token_key=token_key, errors=errors, status=status)


def _parse_ok(body: bytes, endpoint: str, max_items: int, account_id: int | None
              ) -> tuple[list[dict[str, Any]], str | None, list[AccountError]]:
    doc = _load(body)
    if not isinstance(doc, dict):
        raise _Malformed("the body is not a JSON object")
    raw_errors = doc.get("errors", [])
    if not isinstance(raw_errors, list) or not all(isinstance(e, dict) for e in raw_errors):
        raise _Malformed("errors is not a list of objects")
    is_list = endpoint in _LISTS
    owner_error: tuple[State, str] | None = None
    owner_other = ""  # an error about the list's owner that names no known state
    errors: list[AccountError] = []
    for entry in raw_errors:
        state = classify(entry)
        value = entry.get("value", entry.get("resource_id"))
        if is_list and state is None and entry.get("parameter") == "id" and not owner_other:
            owner_other = _clean(": ".join(str(entry[k]) for k in ("title", "detail", "type")
                                           if isinstance(entry.get(k), str)))
        if state is None or not isinstance(value, str) or entry.get("resource_type", "user") != (
            "user"
        ):
            continue  # e.g. a pinned tweet we may not see: not about an account
        if is_list and entry.get("parameter") == "id":
            owner_error = owner_error or (state, _clean(entry.get("detail", "")))
        else:
            errors.append(AccountError(value=_clean(value, 64), state=state,
                                       detail=_clean(entry.get("detail", ""))))
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise _Malformed("meta is not an object")
    if "data" not in doc:
        who = f"account {account_id}" if account_id is not None else "the account"
        what = "followers" if endpoint.endswith("followers") else "following"
        if is_list and owner_error is not None:
            state, detail = owner_error
            cls = {"suspended": Suspended, "not_found": NotFound, "protected": Protected}[state]
            raise cls(f"{who} is {state.replace('_', ' ')}: cannot read its {what} ({detail})")
        if is_list and not raw_errors and meta.get("result_count") == 0:
            # An empty page (the API leaves ``data`` out) may still have a next page: the
            # API can return short or empty pages in the middle of a list.
            return [], _next_token(meta), []
        if not is_list and errors:
            return [], None, errors
        if owner_other:  # the API refuses this list for a reason botsweep does not know:
            raise Fatal(f"{who}: the API gives no {what} list ({owner_other})")
        raise _Malformed("no data list and no account errors")
    data = doc["data"]
    if not isinstance(data, list):
        raise _Malformed("data is not a list")
    if len(data) > max_items:
        raise _Malformed(f"{len(data)} users in a page that asked for at most {max_items}")
    items = Users(data, [_check_user(obj) for obj in data])
    return items, _next_token(meta) if is_list else None, errors


def _next_token(meta: dict[str, Any]) -> str | None:
    """``meta.next_token``, checked to be a pagination token; None at the list's end."""
    cursor = meta.get("next_token")
    if cursor is not None and (not isinstance(cursor, str) or not cursor.isprintable()
                               or " " in cursor or len(cursor) > 1024):
        raise _Malformed("meta.next_token is not a pagination token")
    return cursor or None
