"""Crawl policies: which accounts to expand, and in what order.

Both policies sit behind one interface, :class:`Policy`: given what is known of a freshly
profiled and scored account (a :class:`Candidate`), return the lists to read with their
priorities (higher is sooner), or a reason to skip one.  Both skip what cannot succeed:
a protected account's lists, and a list whose count is 0 (FORMATS.md: a count of 0 means
an empty list).

* ``bfs`` is the pronbot_search baseline: every account marked as a bot (a seed, or a score
  at or above the threshold) is expanded, in discovery order (FIFO).
* ``smart`` orders by expected new *bots* per request: the square root of the ids a request
  brings back (a page, or the whole list if shorter), times the share of ids that were new
  on the pages read lately of the same direction and size class (``novelty``, kept by
  :mod:`botsweep.crawler.decide` from the counts that ``absorb_discovered`` records), times
  the share of hunted accounts among the new ids that lists of the same kind brought in
  once they were scored (``bot_yield``, kept by :mod:`botsweep.crawler.bot_yield`; the kind
  is the direction, size class, the owner's band and its follow shape, so that a hub that
  follows 150 accounts and is followed by none is counted apart from an account following
  and followed by 150).  Until a kind has been scored, its share leans on the owner's own
  evidence (hunted probability plus links to known bots).  The square root, rather than the
  size itself, keeps cheap lists of likely bots in play: on generated worlds ranking by the
  full size sent the crawl to big audience lists of mostly humans first and reached the
  bot networks behind small lists late (docs/benchmarks.md, "Crawl efficiency").  Until a
  list of its kind has been scored, a list's size counts only up to 128 ids, and a seed's
  following list's not at all, nor the followers list of a seed that passes for a human
  (:meth:`SmartPolicy.size_factor`): an unscored kind's share is a prior, the same for any
  length, a long list of whom a bot follows is as likely to be its cover as its network,
  and a mimic's followers are the humans it followed back.  Seeds'
  lists are weighted up, and a seed counts as sure evidence, except for the following list
  of a seed that the model scores under the threshold: a bot built to pass for a human
  (a mimic) follows humans for its cover, so that list's prior share is the model's
  (:meth:`SmartPolicy.seed_evidence`).  An account's own hunted probability is the model's,
  adjusted by where the account was found (:meth:`SmartPolicy.hunted`,
  :mod:`botsweep.crawler.found_on`): on worlds where bots are 1-3% of accounts, humans the
  model misreads as bots otherwise drew a third of smart's early requests to their big
  lists.  A list's expected rate is lowered, never raised, by what the same direction's
  lists of the owner's list-mates (the accounts first found on the same list) brought
  lately (:mod:`botsweep.crawler.list_mates`): the hubs of one flower cluster follow the
  same leaves, so once one hub's following list has brought them the others' bring nothing
  new.  It also expands accounts that are not scored as bots but are tied to several known
  bots (mimics), after the likely bots, and never reads the huge lists of likely humans
  such as celebrities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from botsweep.storage.pages import novelty_key

__all__ = ["Candidate", "Decision", "Policy", "BfsPolicy", "SmartPolicy", "make_policy"]

DIRECTIONS = ("followers", "following")
_CLIP = 1e-4  # the model's probability is kept off 0 and 1 before taking odds
_SHARE_CLIP = 0.02  # a list's share counts for at most 49:1 either way


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
    found_on: tuple[int, int] | None = None  # (hunted, scored) on the list that brought it
    mates: tuple[tuple[str, float, float], ...] = ()  # (direction, hunted new, ids read)

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


@dataclass
class SmartPolicy:
    """Expected new bots per request first; skips huge lists of likely humans.

    ``novelty`` maps :func:`~botsweep.storage.pages.novelty_key` to the recent share of new
    ids on such pages (1.0, the optimistic prior, for a class not read yet).  ``bot_yield``
    maps :meth:`yield_key` to (ids scored as the hunted kind, ids scored) among the new ids
    that lists of that kind brought in.
    """

    page_size: int = 1000
    skip_human_lists_over: int = 5000
    link_weight: float = 0.1
    min_links: int = 3
    seed_weight: float = 5.0
    tied_weight: float = 0.2
    prior_ids: float = 20.0
    prior_share: float = 0.5
    size_power: float = 0.5
    name: str = "smart"
    novelty: dict[str, float] = field(default_factory=dict)
    bot_yield: dict[str, tuple[float, float]] = field(default_factory=dict)
    source_ids: float = 5.0
    mate_ids: float = 20.0
    unscored_size_cap: int = 128

    def hunted(self, candidate: Candidate) -> float:
        """The owner's hunted probability given where it was found: the model's odds times
        the odds of the hunted share of the list that first brought it
        (:mod:`botsweep.crawler.found_on`).  The share is shrunk towards one half (odds 1,
        the balanced classes the model was calibrated on) by ``source_ids`` pseudo-ids, so
        an account with no scored company on its list, a seed, or an account with no known
        source is ranked by the model alone."""
        p = candidate.target_probability
        if candidate.found_on is None or candidate.is_seed:
            return p
        bots, scored = candidate.found_on
        share = (bots + 0.5 * self.source_ids) / (scored + self.source_ids)
        p = min(max(p, _CLIP), 1.0 - _CLIP)
        share = min(max(share, _SHARE_CLIP), 1.0 - _SHARE_CLIP)
        odds = p / (1.0 - p) * share / (1.0 - share)
        return odds / (1.0 + odds)

    def per_request(self, candidate: Candidate, direction: str) -> int:
        """Ids one request of this list brings back: a full page, unless it is shorter."""
        count = candidate.count(direction)
        return self.page_size if count is None else max(1, min(count, self.page_size))

    def evidence(self, candidate: Candidate, base: float | None = None) -> float:
        """``base`` (by default 1 for a seed, else its hunted probability) plus the weight
        of its links to known bots."""
        if base is None:
            base = 1.0 if candidate.is_seed else self.hunted(candidate)
        return base + self.link_weight * min(candidate.bot_links, 10)

    def seed_evidence(self, candidate: Candidate, direction: str, threshold: float) -> float:
        """The owner's evidence for the prior share of one of its lists: a seed is sure
        (:meth:`evidence`), but not for its following list when the model scores it under
        the threshold.  Such a seed is a bot that passes for a human, and it passes by
        following humans: on generated worlds the mimic seeds' following lists (110-517
        accounts, 1-3% of their new ids bots) took first requests ahead of smaller lists of
        bots.  Its followers list keeps the seed's evidence: others choose to follow it, and
        a flower leaf the model misreads is followed by the hubs of its flower."""
        if (candidate.is_seed and direction == "following"
                and candidate.target_probability < threshold):
            return self.evidence(candidate, candidate.target_probability)
        return self.evidence(candidate)

    def passes_for_human(self, candidate: Candidate, threshold: float) -> bool:
        """A seed the model scores under the threshold that follows about as many accounts
        as follow it, or more: a bot built to pass for a human (a mimic), whose followers
        are the humans that followed it back.  A flower leaf the model misreads follows
        nobody (the ``followed`` shape), and its followers are the hubs of its flower."""
        return (candidate.is_seed and candidate.target_probability < threshold
                and self.shape(candidate) != "followed")

    def band(self, candidate: Candidate, threshold: float) -> str:
        """The owner's kind: a seed, a sure bot, a likely bot, or an account tied to bots."""
        if candidate.is_seed:
            return "seed"
        p = self.hunted(candidate)
        if p >= max(threshold, 0.9):
            return "sure"
        return "likely" if p >= threshold else "tied"

    @staticmethod
    def shape(candidate: Candidate) -> str:
        """The owner's follow shape: follows far more than it is followed (a hub or a
        follow-bot), the reverse (an audience), or neither."""
        followers, following = candidate.followers_count, candidate.following_count
        if followers is None or following is None:
            return "unknown"
        if following >= 10 * (followers + 1):
            return "follows"
        return "followed" if followers >= 10 * (following + 1) else "even"

    def yield_key(self, candidate: Candidate, direction: str, threshold: float) -> str:
        """The kind of list whose bot yield is counted: direction, size class, owner band
        and follow shape."""
        size = self.per_request(candidate, direction)
        return (f"{novelty_key(direction, size)}:{self.band(candidate, threshold)}:"
                f"{self.shape(candidate)}")

    def yielded(self, candidate: Candidate, direction: str,
                threshold: float) -> tuple[float, float]:
        """(ids scored as hunted, ids scored) among the new ids that lists of this list's
        kind (:meth:`yield_key`) brought in; (0, 0) for a kind not scored yet."""
        return self.bot_yield.get(self.yield_key(candidate, direction, threshold), (0.0, 0.0))

    def bot_share(self, candidate: Candidate, direction: str, threshold: float,
                  yielded: tuple[float, float]) -> float:
        """Expected share of hunted accounts among the new ids of this list: what lists of
        its kind yielded once their ids were scored (``yielded``, from :meth:`yielded`),
        shrunk towards a prior from the owner's own evidence while few ids of that kind have
        been scored."""
        prior = self.prior_share * min(1.0, self.seed_evidence(candidate, direction, threshold))
        bots, scored = yielded
        return (bots + self.prior_ids * prior) / (scored + self.prior_ids)

    def rate(self, candidate: Candidate, direction: str, threshold: float,
             yielded: tuple[float, float]) -> float:
        """Expected new hunted ids per id read: the size class's novelty times the kind's
        bot share, shrunk by ``mate_ids`` pseudo-ids towards what the same direction's lists
        of the owner's list-mates brought (:mod:`botsweep.crawler.list_mates`)."""
        size = self.per_request(candidate, direction)
        prior = (self.novelty.get(novelty_key(direction, size), 1.0)
                 * self.bot_share(candidate, direction, threshold, yielded))
        for kind, bots, ids in candidate.mates:
            if kind == direction:
                return min(prior, (bots + self.mate_ids * prior) / (ids + self.mate_ids))
        return prior

    def size_factor(self, candidate: Candidate, direction: str, threshold: float,
                    yielded: tuple[float, float]) -> float:
        """What a list's size adds to its priority: the ids one request brings, to the power
        ``size_power``.  While no list of its kind has been scored, the size counts only up
        to ``unscored_size_cap`` ids, and a seed's following list gets 1.

        Until a kind has been scored its bot share is a prior (:meth:`bot_share`), the same
        for a list of 60 ids as for one of 1,000, so length alone would decide: on generated
        worlds the first requests went to a farm's 1,400 followees (3 bots) and to the big
        lists of a human found on a list of bots, ahead of hubs' followers lists of 120-150
        that are whole farms.  A seed's following list gets no credit for its length at
        all: whom a bot follows, it chooses: its network (a hub's leaves), but also cover
        and custom (ordinary accounts, a farm's paying customers, a mimic's community),
        while who follows a seed, others chose (a leaf's hubs, a hub's farm).  Once a list
        of the kind has been scored, the kind's yield speaks and size counts in full.
        The followers list of a seed that passes for a human (:meth:`passes_for_human`)
        gets 1 too: who follows a mimic are mostly the people it followed back."""
        size = self.per_request(candidate, direction)
        if yielded[1] <= 0:
            if candidate.is_seed and (direction == "following"
                                      or self.passes_for_human(candidate, threshold)):
                return 1.0
            size = min(size, self.unscored_size_cap)
        return float(size ** self.size_power)

    def weight(self, candidate: Candidate, likely: bool) -> float:
        """Seeds first: they are known bots, and each may open a part of the network not
        reached yet.  Accounts only tied to bots come last: their lists mostly bring back
        the very bots that tied them (a farm's customers are followed by the whole farm)."""
        if candidate.is_seed:
            return self.seed_weight
        return 1.0 if likely else self.tied_weight

    def decide(self, candidate: Candidate, threshold: float) -> list[Decision]:
        likely = self.hunted(candidate) >= threshold
        tied = (candidate.bot_links >= self.min_links
                and self.evidence(candidate) >= threshold)
        if not (candidate.is_seed or likely or tied):
            return []
        weight = self.weight(candidate, likely)
        decisions = []
        for direction in DIRECTIONS:
            count = candidate.count(direction)
            skip = _known_useless(candidate, direction)
            if (skip is None and not likely and not candidate.is_seed and count is not None
                    and count > self.skip_human_lists_over):
                skip = f"likely human with {count} {direction}: too costly to read"
            priority = 0.0
            if skip is None:
                yielded = self.yielded(candidate, direction, threshold)  # once: both need it
                priority = (weight * self.size_factor(candidate, direction, threshold, yielded)
                            * self.rate(candidate, direction, threshold, yielded))
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
