"""Tweets of a world: drawn for generated worlds, served by ``GET /2/users/:id/tweets``.

:func:`draw_tweets` writes recent tweets for a generated world (tweets.jsonl): bots post
the spam of their campaign with t.co links, humans chat about their interests.

:func:`tweets_page` serves a world that has a tweets.jsonl.  Newest first;
``max_results`` 5..100 (default 10); ``since_id``, ``until_id``, ``start_time``,
``end_time`` and ``exclude=replies,retweets`` filter; ``meta`` carries ``result_count``,
``newest_id``, ``oldest_id`` and ``next_token``.  The ``author_id`` expansion puts the
author in ``includes.users``; ``referenced_tweets.id`` puts the referenced tweets the
world holds in ``includes.tweets``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botsweep.sim import vocab
from botsweep.sim.apispec import ID_PATTERN, Query, check_int, invalid, resource_error
from botsweep.sim.index import dumps
from botsweep.sim.profiles import snowflake
from botsweep.sim.world import format_time, parse_time

if TYPE_CHECKING:
    from botsweep.sim.api import SimApp

__all__ = ["draw_tweets", "tweets_page"]

_SLUG = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def draw_tweets(accounts: list[dict[str, Any]], per_account: int, now: datetime,
                prng: random.Random) -> list[dict[str, Any]]:
    """Up to ``per_account`` tweets of the last 60 days for each visible account.

    Sets ``most_recent_tweet_id`` (and, for one in five, ``pinned_tweet_id``) on the
    records, so the user expansions have something to expand.
    """
    tweets: list[dict[str, Any]] = []
    end = now.timestamp()
    for record in accounts:
        if record.get("_state") in ("suspended", "deleted"):
            continue
        count = min(per_account, record["public_metrics"]["tweet_count"])
        if count <= 0:
            continue
        start = max(end - 60 * 86400, _to_epoch(record["created_at"]))
        bot = record.get("_label") == "bot"
        own: list[str] = []
        for _ in range(count):
            moment = prng.uniform(start, end)
            tweet_id = snowflake(moment, prng.getrandbits(22))
            fill = {"city": prng.choice(vocab.CITIES), "interest": prng.choice(vocab.INTERESTS),
                    "interest2": prng.choice(vocab.INTERESTS), "job": prng.choice(vocab.JOBS),
                    "link": "https://t.co/" + "".join(prng.choices(_SLUG, k=10))}
            text = prng.choice(vocab.BOT_TWEETS if bot else vocab.TWEET_TEXTS).format(**fill)
            tweets.append({
                "id": str(tweet_id), "text": text, "author_id": record["id"],
                "created_at": format_time(datetime.fromtimestamp(moment, UTC)),
                "conversation_id": str(tweet_id), "edit_history_tweet_ids": [str(tweet_id)],
                "lang": "en", "possibly_sensitive": bot, "reply_settings": "everyone",
                "public_metrics": {"retweet_count": prng.randint(0, 5), "reply_count": 0,
                                   "like_count": prng.randint(0, 20), "quote_count": 0},
            })
            own.append(str(tweet_id))
        record["most_recent_tweet_id"] = max(own, key=int)
        if prng.random() < 0.2:
            record["pinned_tweet_id"] = prng.choice(own)
    return tweets


def _to_epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _time(query: Query, name: str) -> float | None:
    value = query.one(name)
    if value is None:
        return None
    try:
        return parse_time(value).timestamp()
    except ValueError:
        raise invalid([{"parameters": {name: [value]},
                        "message": f"Invalid '{name}':'{value}'. '{name}' must be a "
                                   "YYYY-MM-DDTHH:mm:ssZ timestamp"}]) from None


def _id(query: Query, name: str) -> int | None:
    value = query.one(name)
    if value is None:
        return None
    if not ID_PATTERN.match(value):
        raise invalid([{"parameters": {name: [value]},
                        "message": f"The `{name}` query parameter value [{value}] does not "
                                   f"match {ID_PATTERN.pattern}"}])
    return int(value)


def _keep(tweet: dict[str, Any], since: int | None, until: int | None, start: float | None,
          end: float | None, exclude: set[str]) -> bool:
    tweet_id = int(tweet["id"])
    if (since is not None and tweet_id <= since) or (until is not None and tweet_id >= until):
        return False
    if start is not None or end is not None:
        moment = parse_time(tweet["created_at"]).timestamp() if "created_at" in tweet else None
        if moment is None or (start is not None and moment < start) or \
                (end is not None and moment > end):
            return False
    kinds = {ref.get("type") for ref in tweet.get("referenced_tweets", [])}
    if "retweets" in exclude and "retweeted" in kinds:
        return False
    return not ("replies" in exclude and ("replied_to" in kinds or "in_reply_to_user_id" in tweet))


def tweets_page(app: SimApp, arg: str, query: Query) -> Callable[[], bytes]:
    """Check the parameters (raising the real 400) and return the page builder."""
    size = check_int("max_results", query.one("max_results"), 5, 100, 10)
    since, until = _id(query, "since_id"), _id(query, "until_id")
    start, end = _time(query, "start_time"), _time(query, "end_time")
    exclude = set(query.get("exclude", ()))
    offset = app.tokens.offset("tweets", int(arg), query.one("pagination_token"))
    fields = query.fields("tweet.fields")
    user_fields = query.fields("user.fields")
    expansions = query.fields("expansions")

    def build() -> bytes:
        index, problem = app._resolve(arg, "id")
        if index is None or app.index.state(index) == "protected":
            kind = problem or "protected"
            return app._envelope(None, None, None, [resource_error(kind, arg, "id")], None)
        timeline = [t for t in app.index.tweets_by_author.get(int(arg), [])
                    if _keep(t, since, until, start, end, exclude)]
        page = timeline[offset: offset + size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if offset + size < len(timeline):
            meta["next_token"] = app.tokens.token("tweets", int(arg), offset + size)
        includes: dict[str, Any] = {}
        if "author_id" in expansions and page:
            includes["users"] = [app.index.user_object(index, user_fields)]
        if "referenced_tweets.id" in expansions:
            refs = [app.index.tweets_by_id.get(int(r["id"]))
                    for t in page for r in t.get("referenced_tweets", [])]
            found = [app.index.tweet_object(r, fields) for r in refs if r is not None]
            if found:
                includes["tweets"] = found
        items = [dumps(app.index.tweet_object(t, fields)) for t in page]
        return app._envelope(items or None, None, includes or None, None, meta)

    return build
