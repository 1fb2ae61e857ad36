"""The crawl benchmark's oracle: the best page first, under the crawler's own rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from botsweep.bench.oracle import greedy_oracle
from botsweep.sim.world import World

# (follower, followee), oldest follow first: the sim serves lists newest follow first.
_SEED = 1


def _world(accounts: dict[int, dict[str, Any]], follows: list[tuple[int, int]]) -> World:
    records = {}
    for aid, extra in accounts.items():
        records[aid] = {"id": str(aid), "username": f"u{aid}", "name": f"u{aid}",
                        "_label": "human", **extra}
    pairs = np.array(follows, dtype=np.int64).reshape(-1, 2)
    return World(name="hand", now=datetime(2024, 1, 1, tzinfo=UTC), seeds=[_SEED],
                 description="hand-made", accounts=records,
                 follower=pairs[:, 0].copy(), followee=pairs[:, 1].copy())


BOT = {"_label": "bot"}


def test_each_request_reads_the_page_with_the_most_new_bots() -> None:
    # The seed is followed by three humans and follows two bots, 10 and 11.  10 follows two
    # bots (20, 21), 11 three (30-32).  Whom the seed follows comes first (two bots against
    # none), then 11's following (three), then 10's (two).  After that no page brings a
    # bot, so the oracle stops.
    world = _world(
        {1: BOT, 2: {}, 3: {}, 4: {}, 10: BOT, 11: BOT, 20: BOT, 21: BOT, 30: BOT, 31: BOT,
         32: BOT},
        [(2, 1), (3, 1), (4, 1), (1, 10), (1, 11), (10, 20), (10, 21), (11, 30), (11, 31),
         (11, 32)])
    found = greedy_oracle(world, [1], [1, 2, 3, 4, 10])
    assert found[1] == (3, 1)  # the seed, 10 and 11
    assert found[2] == (6, 2)  # 11's three before 10's two
    assert found[3] == (8, 3)
    assert found[4] == (8, 3) and found[10] == (8, 3)  # nothing left worth a request


def test_it_reads_pages_in_order_and_no_further_than_max_list_size() -> None:
    # 10 follows five accounts; the sim serves them newest first: 34, 33, 32, 31, 30.
    # Only 30 and 31 are bots: pages of two ids are [34, 33], [32, 31], [30].  The first
    # page brings none, but the oracle reads on, as a crawler would, to reach the others.
    world = _world(
        {1: BOT, 10: BOT, 30: BOT, 31: BOT, 32: {}, 33: {}, 34: {}},
        [(1, 10)] + [(10, 30 + i) for i in range(5)])
    found = greedy_oracle(world, [1], [1, 2, 3, 4], page_size=2)
    assert [found[b] for b in (1, 2, 3, 4)] == [(2, 1), (2, 2), (3, 3), (4, 4)]
    capped = greedy_oracle(world, [1], [4], page_size=2, max_list_size=4)
    assert capped[4] == (3, 3)  # 30 is past the cap: never read, so no fourth request


def test_hidden_and_protected_accounts_keep_their_rules() -> None:
    # 10 is protected: it can be discovered (and counts) but its list cannot be read.
    # 11 is suspended: a list never shows it, so it is neither found nor read.
    world = _world(
        {1: BOT, 10: {**BOT, "protected": True}, 11: {**BOT, "_state": "suspended"},
         40: BOT, 41: BOT},
        [(1, 10), (1, 11), (10, 40), (11, 41)])
    found = greedy_oracle(world, [1], [5])
    assert found[5] == (2, 1)  # the seed and 10; 40 is behind a protected list
