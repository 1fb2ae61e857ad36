"""Crawl policies: which accounts to expand, and in what order.

Both policies sit behind one interface, :class:`Policy`: given what is known of a freshly
profiled and scored account (a :class:`Candidate`), return the lists to read with their
priorities (higher is sooner), or a reason to skip one.  Both skip what cannot succeed:
a protected account's lists, and a list whose count is 0 (FORMATS.md: a count of 0 means
an empty list).

* ``bfs`` is the pronbot_search baseline: every account marked as a bot (a seed, or a score
  at or above the threshold) is expanded, in discovery order (FIFO).
* ``smart`` orders by evidence and yield: the hunted probability (bot, or campaign) plus
  links to known bots, times the ids one request brings back, so that a hub bot's 900-id
  following list comes before a leaf's list of 3.  It also expands accounts that are not
  scored as bots but are tied to several known bots (mimics), and never reads the huge lists
  of likely humans such as celebrities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Candidate", "Decision", "Policy", "BfsPolicy", "SmartPolicy", "make_policy"]

DIRECTIONS = ("followers", "following")


@dataclass(frozen=True)
class Candidate:
    """What a policy knows of an account when deciding on its lists."""

    account_id: int
    followers_count: int | None
    following_count: int | None
    target_probability: float
    is_seed: bool = False
    bot_links: int = 0
    protected: bool = False

    def count(self, direction: str) -> int | None:
        return self.followers_count if direction == "followers" else self.following_count


@dataclass(frozen=True)
class Decision:
    """Read ``kind`` of ``account_id`` at ``priority``, or skip it for ``skip``."""

    account_id: int
    kind: str
    priority: float
    skip: str | None = None


class Policy(Protocol):
    name: str

    def decide(self, candidate: Candidate, threshold: float) -> list[Decision]: ...


def _known_useless(candidate: Candidate, direction: str) -> str | None:
    if candidate.protected:
        return "protected: lists cannot be read"
    if candidate.count(direction) == 0:
        return "empty list (count 0)"
    return None


@dataclass(frozen=True)
class BfsPolicy:
    """pronbot_search's order: FIFO, every seed or scored bot expanded."""

    name: str = "bfs"

    def decide(self, candidate: Candidate, threshold: float) -> list[Decision]:
        if not (candidate.is_seed or candidate.target_probability >= threshold):
            return []
        return [
            Decision(candidate.account_id, d, 0.0, _known_useless(candidate, d))
            for d in DIRECTIONS
        ]


@dataclass(frozen=True)
class SmartPolicy:
    """Evidence × yield first; skips huge lists of likely humans."""

    page_size: int = 1000
    skip_human_lists_over: int = 5000
    link_weight: float = 0.1
    min_links: int = 3
    name: str = "smart"

    def evidence(self, candidate: Candidate) -> float:
        base = 1.0 if candidate.is_seed else candidate.target_probability
        return base + self.link_weight * min(candidate.bot_links, 10)

    def decide(self, candidate: Candidate, threshold: float) -> list[Decision]:
        evidence = self.evidence(candidate)
        likely = candidate.target_probability >= threshold
        tied = candidate.bot_links >= self.min_links and evidence >= threshold
        if not (candidate.is_seed or likely or tied):
            return []
        decisions = []
        for direction in DIRECTIONS:
            count = candidate.count(direction)
            skip = _known_useless(candidate, direction)
            if (skip is None and not likely and not candidate.is_seed and count is not None
                    and count > self.skip_human_lists_over):
                skip = f"likely human with {count} {direction}: too costly to read"
            # Expected ids per request: a full page, unless the list is shorter.
            per_request = self.page_size if count is None else min(count, self.page_size)
            priority = evidence * (1.0 + per_request) if skip is None else 0.0
            decisions.append(Decision(candidate.account_id, direction, priority, skip))
        return decisions


def make_policy(name: str, *, page_size: int = 1000, skip_human_lists_over: int = 5000) -> Policy:
    """The policy called ``name`` (``smart`` or ``bfs``)."""
    if name == "bfs":
        return BfsPolicy()
    if name == "smart":
        return SmartPolicy(page_size=page_size, skip_human_lists_over=skip_human_lists_over)
    from botsweep.errors import InputError

    raise InputError(f"--policy {name!r}: expected smart or bfs")
