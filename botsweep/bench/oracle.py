"""A reference for the crawl benchmark: a crawler that knows the world's labels.

The ceiling the crawl benchmark prints (every planted bot found with smart's requests) is
a bound no crawler can reach: a request brings one page of one list, and even the richest
list holds only one network's part.  :func:`greedy_oracle` gives a bound that a crawler
*could* reach.  It starts from the same seeds and makes requests under the same rules as
the crawler: one page (``page_size`` ids, newest follow first, as the sim serves them) of a
followers or following list per request, lists read from their first page on, only lists of
accounts already discovered, never a protected or hidden account's lists, and no more than
``max_list_size`` ids of any list.  But it chooses with the truth: each request reads the
page that brings the most planted bots not yet discovered (counting, for a long list, the
pages after it: a page of humans may lead to one of bots).  A crawl that looks only at
profiles and counts cannot choose better request by request, so where the oracle is under
2x bfs, no policy of that kind is likely to reach 2x there.

Greedy is not optimal (a page of few bots can open a richer list), so the oracle can be
beaten in principle (smart beats it at one point of the benchmark), but on generated worlds
it is well ahead of the smart policy, which learns what a kind of list holds only by reading
some (docs/benchmarks.md, "Crawl efficiency").  A page's value only falls as
more accounts are discovered, so a heap with lazily refreshed values finds the best one.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from botsweep.sim.index import WorldIndex
from botsweep.sim.world import World

__all__ = ["greedy_oracle"]

_DIRECTIONS = ("followers", "following")


def greedy_oracle(
    world: World, seeds: Sequence[int], budgets: Sequence[int], *, page_size: int = 1000,
    max_list_size: int = 50_000,
) -> dict[int, tuple[int, int]]:
    """``{budget: (planted bots discovered, requests made)}`` at each budget (the seeds
    count, as in the benchmark; a hidden account is never discovered, since a lookup
    cannot profile it).  The oracle stops early when no page left brings a bot."""
    index = WorldIndex(world)  # the lists exactly as the sim serves them
    n = index.ids.shape[0]
    bot = np.zeros(n, dtype=bool)
    for account_id in world.bots():
        at = index.find(account_id)
        if at is not None and index.visible(at):
            bot[at] = True
    readable = np.array([state == "active" for state in index.states], dtype=bool)
    known = np.zeros(n, dtype=bool)
    wanted = bot.copy()  # planted bots not discovered yet
    heap: list[tuple[float, int, int, int]] = []  # (-rate, account, direction, page)

    def rest(at: int, direction: int, number: int) -> np.ndarray:
        members = index.neighbours(at, _DIRECTIONS[direction])[:max_list_size]
        return members[number * page_size:]

    def rate(ids: np.ndarray) -> float:
        """The most new bots per request that reading on from the first of ``ids`` can
        bring: the best mean over the next 1, 2, ... pages (a page of humans may lead to
        a page of bots)."""
        per_page = np.add.reduceat(wanted[ids], np.arange(0, ids.shape[0], page_size))
        return float((np.cumsum(per_page) / np.arange(1, per_page.shape[0] + 1)).max())

    def offer(at: int, direction: int, number: int) -> None:
        ids = rest(at, direction, number)
        if ids.shape[0]:
            heapq.heappush(heap, (-rate(ids), at, direction, number))

    def discover(ids: np.ndarray) -> None:
        fresh = ids[~known[ids]]
        known[fresh] = True
        wanted[fresh] = False
        for at in fresh[readable[fresh]].tolist():
            offer(at, 0, 0)
            offer(at, 1, 0)

    starts = [index.find(int(s)) for s in seeds]
    discover(np.array([s for s in starts if s is not None and index.visible(s)],
                      dtype=np.int64))
    found: dict[int, tuple[int, int]] = {}
    spent = 0
    for budget in sorted(set(budgets)):
        while spent < budget and heap:
            value, at, direction, number = heapq.heappop(heap)
            ids = rest(at, direction, number)
            now = rate(ids)
            if now < -value and heap and now < -heap[0][0]:
                heapq.heappush(heap, (-now, at, direction, number))  # stale: try again
                continue
            if now <= 0:  # no list left brings a bot: stop spending
                heap.clear()
                break
            spent += 1
            discover(ids[:page_size])
            offer(at, direction, number + 1)
        found[budget] = (int((known & bot).sum()), spent)
    return found
