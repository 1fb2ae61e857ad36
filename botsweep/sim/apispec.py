"""What the X API v2 accepts, and the exact bodies it sends when something is wrong.

Every ``user.fields``, ``tweet.fields``, ``expansions``, ``media.fields``,
``place.fields`` and ``poll.fields`` value the real API accepts is listed here, so that
real clients, which ask for many, work; anything else gets the real 400 body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError", "USER_FIELDS", "TWEET_FIELDS", "USER_EXPANSIONS", "TWEET_EXPANSIONS",
    "MEDIA_FIELDS", "PLACE_FIELDS", "POLL_FIELDS", "ROUTE_PARAMS", "Query",
    "check_query", "invalid", "UNAUTHORIZED", "TOO_MANY", "server_error", "resource_error",
    "ID_PATTERN", "USERNAME_PATTERN", "check_list", "check_int",
]

USER_FIELDS = (
    "affiliation", "confirmed_email", "connection_status", "created_at", "description",
    "entities", "id", "is_identity_verified", "location", "most_recent_tweet_id", "name", "parody",
    "pinned_tweet_id", "profile_banner_url", "profile_image_url", "protected",
    "public_metrics", "receives_your_dm", "subscription", "subscription_type", "url",
    "username", "verified", "verified_followers_count", "verified_type", "withheld",
)
TWEET_FIELDS = (
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "suggested_source_links", "text", "withheld",
)
USER_EXPANSIONS = ("affiliation.user_id", "most_recent_tweet_id", "pinned_tweet_id")
TWEET_EXPANSIONS = (
    "article.cover_media", "article.media_entities", "attachments.media_keys",
    "attachments.media_source_tweet", "attachments.poll_ids", "author_id",
    "edit_history_tweet_ids", "entities.mentions.username", "entities.note.mentions.username",
    "geo.place_id", "in_reply_to_user_id", "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys", "referenced_tweets.id.author_id",
)
MEDIA_FIELDS = (
    "alt_text", "duration_ms", "height", "media_key", "non_public_metrics", "organic_metrics",
    "preview_image_url", "promoted_metrics", "public_metrics", "type", "url", "variants",
    "width",
)
PLACE_FIELDS = ("contained_within", "country", "country_code", "full_name", "geo", "id",
                "name", "place_type")
POLL_FIELDS = ("duration_minutes", "end_datetime", "id", "options", "voting_status")

ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")

_USER_OPTS: dict[str, tuple[str, ...] | None] = {
    "user.fields": USER_FIELDS, "expansions": USER_EXPANSIONS, "tweet.fields": TWEET_FIELDS,
}
_LIST_OPTS = {**_USER_OPTS, "max_results": None, "pagination_token": None}
_TWEET_OPTS: dict[str, tuple[str, ...] | None] = {
    "expansions": TWEET_EXPANSIONS, "tweet.fields": TWEET_FIELDS, "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS, "place.fields": PLACE_FIELDS, "poll.fields": POLL_FIELDS,
    "exclude": ("replies", "retweets"), "max_results": None, "pagination_token": None,
    "since_id": None, "until_id": None, "start_time": None, "end_time": None,
}
ROUTE_PARAMS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "users": {"ids": None, **_USER_OPTS},
    "users_by": {"usernames": None, **_USER_OPTS},
    "user_by_username": dict(_USER_OPTS),
    "user": dict(_USER_OPTS),
    "followers": dict(_LIST_OPTS),
    "following": dict(_LIST_OPTS),
    "tweets": _TWEET_OPTS,
}
_REQUIRED = {"users": "ids", "users_by": "usernames"}
_COMMA = frozenset({"ids", "usernames"})


@dataclass
class ApiError(Exception):
    """A reply other than 200: its status and its JSON body (and whether to add limits)."""

    status: int
    body: dict[str, Any]


UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                "detail": "Unauthorized"}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
            "status": 429}
_TITLES = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def server_error(status: int) -> dict[str, Any]:
    """The body of a 5xx reply."""
    title = _TITLES.get(status, "Service Unavailable")
    return {"title": title, "detail": title, "type": "about:blank", "status": status}


def invalid(errors: list[dict[str, Any]]) -> ApiError:
    """A 400 with the real Invalid Request body around ``errors``."""
    return ApiError(400, {
        "errors": errors, "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    })


def _bad(name: str, values: list[str], message: str) -> dict[str, Any]:
    return {"parameters": {name: values}, "message": message}


def resource_error(kind: str, value: str, parameter: str) -> dict[str, Any]:
    """An entry of a 200 reply's ``errors``: ``suspended``, ``not_found`` or ``protected``."""
    if kind == "suspended":
        detail, title = f"User has been suspended: [{value}].", "Forbidden"
        problem = "resource-not-found"
    elif kind == "protected":
        detail = f"Sorry, you are not authorized to see the user with id: [{value}]."
        title, problem = "Authorization Error", "not-authorized-for-resource"
    else:
        detail = f"Could not find user with {parameter}: [{value}]."
        title, problem = "Not Found Error", "resource-not-found"
    return {"value": value, "detail": detail, "title": title, "resource_type": "user",
            "parameter": parameter, "resource_id": value,
            "type": f"https://api.twitter.com/2/problems/{problem}"}


class Query(dict[str, list[str]]):
    """Checked query parameters: name -> comma-split values."""

    def one(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None

    def fields(self, name: str) -> tuple[str, ...]:
        return tuple(sorted(set(self.get(name, ()))))


def check_query(route: str, raw: dict[str, list[str]]) -> Query:
    """Validate ``raw`` (from parse_qs) for ``route``; raise the real 400 on any problem."""
    allowed = ROUTE_PARAMS[route]
    problems: list[dict[str, Any]] = []
    query = Query()
    for name, values in raw.items():
        if name not in allowed:
            problems.append(_bad(name, values, f"The query parameter [{name}] is not one of "
                                 f"[{','.join(allowed)}]"))
            continue
        if len(values) > 1:
            problems.append(_bad(name, values, "Duplicate parameters are not allowed: the "
                                 f"`{name}` query parameter"))
            continue
        value = values[0]
        choices = allowed[name]
        parts = value.split(",") if choices is not None or name in _COMMA else [value]
        if value == "":
            problems.append(_bad(name, [], f"The `{name}` query parameter can not be empty"))
            continue
        if choices is not None:
            for part in parts:
                if part not in choices:
                    problems.append(_bad(name, [part], f"The `{name}` query parameter value "
                                         f"[{part}] is not one of [{','.join(choices)}]"))
        query[name] = parts
    required = _REQUIRED.get(route)
    if required and required not in raw:
        problems.append(_bad(required, [], f"The `{required}` query parameter can not be empty"))
    if problems:
        raise invalid(problems)
    return query


def check_list(name: str, values: list[str], pattern: re.Pattern[str], most: int) -> list[str]:
    """Check a comma list such as ``ids``: 1..most values, each matching ``pattern``."""
    if not 1 <= len(values) <= most:
        raise invalid([_bad(name, [",".join(values)], f"The number of values in the `{name}` "
                            f"query parameter list [{len(values)}] is not between 1 and {most}")])
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        raise invalid([_bad(name, [v], f"The `{name}` query parameter value [{v}] does not "
                            f"match {pattern.pattern}") for v in bad])
    return values


def check_int(name: str, value: str | None, low: int, high: int, default: int) -> int:
    """An integer query parameter within [low, high] (the real message when it is not)."""
    if value is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,9}", value) or not low <= int(value) <= high:
        raise invalid([_bad(name, [value], f"The `{name}` query parameter value [{value}] is "
                            f"not between {low} and {high}")])
    return int(value)

