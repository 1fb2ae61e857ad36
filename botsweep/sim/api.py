"""The sim's request logic, free of sockets: a request in, a :class:`Reply` out.

Order of checks for ``/2/`` routes, and what each costs:

1. route (404) and method (405);
2. ``Authorization: Bearer <token>`` (401);
3. parameters (400, with the real Invalid Request body);
4. fault draw (see :mod:`botsweep.sim.faults`): a faulted request spends no budget;
5. rate limit for (token, endpoint) (429, with the real body and headers);
6. the reply (200; suspended, protected and missing accounts go in ``errors``).

``GET /_sim/stats`` needs no token and returns the counters as JSON.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote

import numpy as np

from botsweep.sim.apispec import (
    ID_PATTERN,
    TOO_MANY,
    UNAUTHORIZED,
    USERNAME_PATTERN,
    ApiError,
    Query,
    check_int,
    check_list,
    check_query,
    resource_error,
    server_error,
)
from botsweep.sim.faults import FaultInjector, FaultSpec
from botsweep.sim.index import WorldIndex, dumps, join_items
from botsweep.sim.limits import RateLimiter, Verdict, parse_rate_limits
from botsweep.sim.lists import ListQueries, PageTokens, parse_qs
from botsweep.sim.tweets import tweets_page
from botsweep.sim.world import World

__all__ = ["Reply", "SimApp", "Stats"]

_JSON = "application/json; charset=utf-8"
_LISTS = frozenset({"followers", "following"})


@dataclass
class Reply:
    """What the HTTP layer sends: status, headers, body; or an action (timeout, reset)."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str | None = None


class Stats:
    """Counters for ``/_sim/stats``: by endpoint and status, 429s, faults, per token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, dict[str, int]] = {}
        self.faults: dict[str, int] = {}
        self.tokens: dict[str, int] = {}
        self.rate_limited = 0

    def count(self, endpoint: str, status: int | str, token: str | None = None) -> None:
        with self._lock:
            row = self.requests.setdefault(endpoint, {})
            row[str(status)] = row.get(str(status), 0) + 1
            if status == 429:
                self.rate_limited += 1
            if token:
                self.tokens[token] = self.tokens.get(token, 0) + 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {k: dict(v) for k, v in sorted(self.requests.items())},
                "requests_total": sum(sum(v.values()) for v in self.requests.values()),
                "rate_limited": self.rate_limited,
                "faults": dict(sorted(self.faults.items())),
                "faults_total": sum(self.faults.values()),
                "tokens": dict(sorted(self.tokens.items())),
            }


def _route(path: str) -> tuple[str, str | None] | None:
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1] != "2" or parts[2] != "users":
        return None
    rest = [unquote(p) for p in parts[3:]] if "%" in path else parts[3:]
    if not rest:
        return "users", None
    if rest == ["by"]:
        return "users_by", None
    if len(rest) == 3 and rest[:2] == ["by", "username"]:
        return "user_by_username", rest[2]
    if len(rest) == 1:
        return "user", rest[0]
    if len(rest) == 2 and rest[1] in ("followers", "following", "tweets"):
        return rest[1], rest[0]
    return None


class SimApp:
    """Serves one world; thread-safe.  ``clock`` is the wall clock (epoch seconds)."""

    def __init__(self, world: World, *, time_scale: float = 1.0,
                 tokens: tuple[str, ...] | list[str] = ("sim-token",),
                 rate_limits: dict[str, int] | list[str] | None = None,
                 faults: str | FaultSpec | None = None, rng_seed: int = 0,
                 clock: Callable[[], float]) -> None:
        self.world = world
        self.index = WorldIndex(world)
        self.clock = clock
        self.time_scale = float(time_scale)
        self.limiter = RateLimiter(parse_rate_limits(rate_limits), time_scale, clock)
        spec = faults if isinstance(faults, FaultSpec) else FaultSpec.parse(faults)
        self.faults = FaultInjector(spec, rng_seed)
        self._tokens = [(t.encode(), f"token-{i + 1}") for i, t in enumerate(tokens)]
        self.tokens = PageTokens(rng_seed)
        self.list_queries = ListQueries()
        self._date_cache: tuple[int, str] = (-1, "")
        self.stats = Stats()
        self.started = clock()
        self._now = world.now.timestamp()

    # ------------------------------------------------------------------ time

    def world_epoch(self) -> float:
        """World time now (epoch seconds): world.now + elapsed wall time x time_scale."""
        return self._now + (self.clock() - self.started) * self.time_scale

    def world_time(self) -> datetime:
        return datetime.fromtimestamp(self.world_epoch(), UTC)

    def _date(self) -> str:
        """The Date header (world time, RFC 7231), formatted once per world second."""
        second = int(self.world_epoch())
        cached = self._date_cache
        if cached[0] != second:
            cached = (second, formatdate(second, usegmt=True))
            self._date_cache = cached
        return cached[1]

    def _reply(self, status: int, body: bytes, extra: list[tuple[str, str]] | None = None,
               action: str | None = None) -> Reply:
        headers = [("Date", self._date()), ("Content-Type", _JSON)]
        return Reply(status, body, headers + (extra or []), action)

    # ------------------------------------------------------------------ entry

    def handle(self, method: str, target: str, authorization: str | None) -> Reply:
        """Answer one request; ``target`` is the path with its query string."""
        path, _, qs = target.partition("?")
        if path == "/_sim/stats":
            return self._reply(200, dumps(self.stats_snapshot()))
        route = _route(path)
        if route is None:
            self.stats.count("unknown", 404)
            return self._reply(404, dumps({
                "title": "Not Found Error", "type": "about:blank", "status": 404,
                "detail": f"The sim does not serve {path}; it serves /2/users, /2/users/by, "
                          "/2/users/by/username/:username, /2/users/:id and "
                          "/2/users/:id/followers|following|tweets"}))
        endpoint, arg = route
        if method != "GET":
            self.stats.count(endpoint, 405)
            return self._reply(405, dumps({"title": "Method Not Allowed", "type": "about:blank",
                                           "status": 405, "detail": f"{method} is not allowed"}))
        token = self._token(authorization)
        if token is None:
            self.stats.count(endpoint, 401)
            return self._reply(401, dumps(UNAUTHORIZED))
        try:
            if endpoint in _LISTS:
                build = self._prepare_list(endpoint, arg, qs)  # type: ignore[arg-type]
            else:
                build = self._prepare(endpoint, arg, check_query(endpoint, parse_qs(qs)))
        except ApiError as exc:
            self.stats.count(endpoint, exc.status, token)
            return self._reply(exc.status, dumps(exc.body),
                               self.limiter.peek(token, endpoint).headers())
        return self._serve(endpoint, token, target, build)

    def _serve(self, endpoint: str, token: str, target: str,
               build: Callable[[], bytes]) -> Reply:
        kind, extra = self.faults.draw(target)
        if kind is not None:
            self.stats.fault(kind)
        if kind == "5xx":
            status = (503, 500, 502, 503)[extra % 4]
            self.stats.count(endpoint, status, token)
            return self._reply(status, dumps(server_error(status)))
        if kind in ("timeout", "reset"):
            self.stats.count(endpoint, kind, token)
            return Reply(0, action=kind)
        verdict: Verdict
        if kind == "malformed":
            verdict = self.limiter.peek(token, endpoint)
        else:
            verdict = self.limiter.take(token, endpoint)
            if not verdict.allowed:
                self.stats.count(endpoint, 429, token)
                return self._reply(429, dumps(TOO_MANY), verdict.headers())
        body = build()
        if kind == "malformed":
            body = body[: max(1, len(body) // 2)]
        self.stats.count(endpoint, 200, token)
        return self._reply(200, body, verdict.headers())

    def _token(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        given = authorization[7:].strip().encode()
        found = None
        for secret, label in self._tokens:
            if hmac.compare_digest(secret, given):
                found = label
        return found

    def stats_snapshot(self) -> dict[str, Any]:
        snap = self.stats.snapshot()
        snap["world_time"] = self.world_time().strftime("%Y-%m-%dT%H:%M:%SZ")
        snap["uptime_s"] = round(self.clock() - self.started, 3)
        snap["faults_spec"] = str(self.faults.spec)
        return snap

    # ------------------------------------------------------------------ endpoints

    def _prepare(self, endpoint: str, arg: str | None, query: Query) -> Callable[[], bytes]:
        fields = query.fields("user.fields")
        expansions = query.fields("expansions")
        tweet_fields = query.fields("tweet.fields")
        if endpoint == "users":
            ids = check_list("ids", query["ids"], ID_PATTERN, 100)
            return lambda: self._lookup(ids, "ids", fields, expansions, tweet_fields)
        if endpoint == "users_by":
            names = check_list("usernames", query["usernames"], USERNAME_PATTERN, 100)
            return lambda: self._lookup(names, "usernames", fields, expansions, tweet_fields)
        assert arg is not None
        if endpoint == "user_by_username":
            check_list("username", [arg], USERNAME_PATTERN, 1)
            return lambda: self._single(arg, "username", fields, expansions, tweet_fields)
        check_list("id", [arg], ID_PATTERN, 1)
        if endpoint == "user":
            return lambda: self._single(arg, "id", fields, expansions, tweet_fields)
        if endpoint == "tweets":
            if not self.index.has_tweets:
                raise ApiError(404, {"title": "Not Found Error", "type": "about:blank",
                                     "status": 404, "detail": "This world has no tweets.jsonl, "
                                     "so /2/users/:id/tweets is not served"})
            return tweets_page(self, arg, query)
        size = check_int("max_results", query.one("max_results"), 1, 1000, 100)
        offset = self.tokens.offset(endpoint, int(arg), query.one("pagination_token"))
        return lambda: self._list(endpoint, arg, size, offset, fields, expansions, tweet_fields)

    def _prepare_list(self, endpoint: str, arg: str, qs: str) -> Callable[[], bytes]:
        """``_prepare`` for followers/following, with the checks memoised per query."""
        known = self.list_queries.get(endpoint, qs)
        if known is None:
            return self._prepare(endpoint, arg, check_query(endpoint, parse_qs(qs)))
        check_list("id", [arg], ID_PATTERN, 1)
        (size, fields, expansions, tweet_fields), token = known
        offset = self.tokens.offset(endpoint, int(arg), token)
        return lambda: self._list(endpoint, arg, size, offset, fields, expansions, tweet_fields)

    def _resolve(self, value: str, parameter: str) -> tuple[int | None, str]:
        """(dense index or None, error kind or '') for an id or a username."""
        if parameter in ("ids", "id"):
            index = self.index.find(int(value))
        else:
            index = self.index.find_username(value)
        if index is None or self.index.state(index) == "deleted":
            return None, "not_found"
        if self.index.state(index) == "suspended":
            return None, "suspended"
        return index, ""

    def _lookup(self, values: list[str], parameter: str, fields: tuple[str, ...],
                expansions: tuple[str, ...], tweet_fields: tuple[str, ...]) -> bytes:
        found: list[int] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for value in values:
            if value.lower() in seen:
                continue
            seen.add(value.lower())
            index, problem = self._resolve(value, parameter)
            if index is None:
                errors.append(resource_error(problem, value, parameter))
            else:
                found.append(index)
        items = self.index.users_bytes(found, fields)
        return self._envelope(items, None, self._includes(found, expansions, tweet_fields),
                              errors, None)

    def _single(self, value: str, parameter: str, fields: tuple[str, ...],
                expansions: tuple[str, ...], tweet_fields: tuple[str, ...]) -> bytes:
        index, problem = self._resolve(value, parameter)
        if index is None:
            return self._envelope(None, None, None, [resource_error(problem, value, parameter)],
                                  None)
        return self._envelope(None, self.index.user_bytes(index, fields),
                              self._includes([index], expansions, tweet_fields), None, None)

    def _list(self, direction: str, arg: str, size: int, offset: int, fields: tuple[str, ...],
              expansions: tuple[str, ...], tweet_fields: tuple[str, ...]) -> bytes:
        index, problem = self._resolve(arg, "id")
        if index is None:
            return self._envelope(None, None, None, [resource_error(problem, arg, "id")], None)
        if self.index.state(index) == "protected":
            return self._envelope(None, None, None, [resource_error("protected", arg, "id")],
                                  None)
        members = self.index.neighbours(index, direction)
        page = members[offset: offset + size]
        count = page.shape[0]
        meta = b',"meta":{"result_count":%d' % count  # what dumps gives, made directly
        if offset + size < members.shape[0]:
            meta += b',"next_token":"%s"' % self.tokens.token(
                direction, int(arg), offset + size).encode()
        if offset > 0:
            meta += b',"previous_token":"%s"' % self.tokens.token(
                direction, int(arg), max(0, offset - size)).encode()
        includes = self._includes(page, expansions, tweet_fields)
        tail = (b',"includes":' + dumps(includes) if includes else b"") + meta + b"}}"
        if not count:
            return b"{" + tail[1:]
        return self.index.users_joined(page, fields, b'{"data":[', b"]" + tail)

    def _includes(self, indices: list[int] | np.ndarray, expansions: tuple[str, ...],
                  tweet_fields: tuple[str, ...]) -> dict[str, Any] | None:
        if not expansions or not self.index.has_tweets:
            return None
        tweets = self.index.pinned_tweets(np.asarray(indices).tolist(), expansions,
                                          tweet_fields)
        return {"tweets": tweets} if tweets else None

    @staticmethod
    def _tail(includes: dict[str, Any] | None, errors: list[dict[str, Any]] | None,
              meta: dict[str, Any] | None) -> bytes:
        """The small members after ``data``, each with its comma, and the closing brace."""
        tail: list[bytes] = []
        if includes:
            tail.append(b',"includes":' + dumps(includes))
        if errors:
            tail.append(b',"errors":' + dumps(errors))
        if meta is not None:
            tail.append(b',"meta":' + dumps(meta))
        return b"".join(tail) + b"}"

    @classmethod
    def _envelope(cls, items: tuple[bytes, ...] | list[bytes] | None, single: bytes | None,
                  includes: dict[str, Any] | None, errors: list[dict[str, Any]] | None,
                  meta: dict[str, Any] | None) -> bytes:
        end = cls._tail(includes, errors, meta)
        if items:
            # ``items`` is the caller's fresh list (a tuple is copied), changed in place.
            return join_items(items if isinstance(items, list) else list(items),
                              b'{"data":[', b"]" + end)
        if single is not None:
            return b'{"data":' + single + end
        return b"{" + end[1:] if len(end) > 1 else b"{}"
