"""Recent tweets for a generated world (tweets.jsonl), drawn from the same vocabulary.

Bots post the spam of their campaign with t.co links; humans chat about their interests.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from botsweep.sim import vocab
from botsweep.sim.profiles import snowflake
from botsweep.sim.world import format_time

__all__ = ["draw_tweets"]

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
