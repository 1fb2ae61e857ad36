"""Pages the real API can send that a full sim page never is: an empty page in the middle of
a list (its users hidden) must not end the list, and a next_token that repeats must not
make the crawler read the same page until the list cap."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from botsweep.config import Settings
from botsweep.crawler.clock import FakeClock
from botsweep.crawler.decide import ScoringContext
from botsweep.crawler.engine import CrawlEngine
from botsweep.crawler.policy import make_policy
from botsweep.seeding import AccountRef, add_seeds
from botsweep.storage.db import Database
from botsweep.storage.schema import follows, frontier
from tests.crawler.fakes import FakeSource, FakeWorld, NameScorer

HUB = 1
LEAVES = list(range(2, 12))


class OddPages(FakeSource):
    """The hub's following list with an empty page after its first, or (``repeat``) a
    second page whose next_token is its own."""

    def __init__(self, world: FakeWorld, clock: FakeClock, repeat: bool = False) -> None:
        super().__init__(world, clock)
        self.repeat = repeat

    def following(self, account_id: int, cursor: str | None, *, token_key: str,
                  max_results: int = 1000) -> object:
        served = "3" if cursor == "3b" else cursor  # 3b: the page after the empty one
        page = super().following(account_id, served, token_key=token_key, max_results=3)
        if account_id != HUB or cursor is None:
            return page
        if self.repeat and cursor == "3":
            page.next_cursor = cursor  # the same token again
        elif not self.repeat and cursor == "3":
            page.items.clear()  # every user on it hidden; the list goes on
            page.next_cursor = "3b"
        return page


def _crawl(tmp_path: Path, repeat: bool) -> tuple[OddPages, Database]:
    clock = FakeClock()
    world = FakeWorld.build({HUB: "bothub", **{i: f"botleaf{i}" for i in LEAVES}},
                            {(HUB, leaf) for leaf in LEAVES})
    db = Database(f"sqlite:///{tmp_path / 'odd.db'}")
    add_seeds(db, [AccountRef(id=HUB)], label="bot", now=clock.now())
    source = OddPages(world, clock, repeat)
    scoring = ScoringContext(policy=make_policy("bfs"), bot=NameScorer(), threshold=0.5)
    CrawlEngine(db, source, Settings(), scoring, clock=clock, worker_id="w1").run()
    return source, db


def _hub_following(db: Database) -> set[int]:
    with db.connect() as conn:
        return set(conn.execute(select(follows.c.followee_id)
                                .where(follows.c.follower_id == HUB)).scalars())


def test_an_empty_page_in_the_middle_of_a_list_does_not_end_it(tmp_path: Path) -> None:
    # (parsing such a reply keeps its next_token: tests/crawler/test_source_parse.py)
    _, db = _crawl(tmp_path, repeat=False)
    assert _hub_following(db) == set(LEAVES)
    db.dispose()


def test_a_repeated_next_token_ends_the_list_after_one_read(tmp_path: Path) -> None:
    source, db = _crawl(tmp_path, repeat=True)
    hub_pages = [c for c in source.calls if c[0] == "following" and c[1] == HUB]
    assert hub_pages == [("following", HUB, None), ("following", HUB, "3")]
    with db.connect() as conn:
        state = conn.execute(select(frontier.c.state).where(
            frontier.c.account_id == HUB, frontier.c.kind == "following")).scalar_one()
    assert state == "done" and _hub_following(db) == set(LEAVES[-6:])  # newest first
    db.dispose()
