"""What ``status`` says about seeds and accounts that turned out not to exist: a typo'd seed is
named as such, and gone or protected accounts never count as profiled or expanded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from botsweep.seeding import AccountRef, add_seeds
from botsweep.status import collect_status
from botsweep.storage.db import Database
from botsweep.storage.pages import mark_accounts, write_follow_page, write_profiles
from botsweep.storage.schema import frontier, seeds
from tests.storage.crawled import task_id

NOW = 1_700_000_000.0
LIVE, GONE, LOCKED, TYPO = 11, 12, 13, 14


def _user(aid: int, protected: bool = False) -> dict:
    return {"id": str(aid), "username": f"u{aid}", "name": "n", "protected": protected,
            "created_at": "2015-01-01T00:00:00.000Z",
            "public_metrics": {"followers_count": 1, "following_count": 0, "tweet_count": 1,
                               "listed_count": 0, "like_count": 0}}


def test_status_names_what_became_of_each_seed(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    add_seeds(db, [AccountRef(id=i) for i in (LIVE, GONE, LOCKED, TYPO)]
              + [AccountRef(handle="NoSuchUser99"), AccountRef(handle="later")],
              label="bot", now=NOW)
    with db.begin() as conn:
        write_follow_page(conn, db, task_id=task_id(db, "followers", LIVE), account_id=LIVE,
                          direction="followers", items=[{"id": "99"}], next_cursor=None,
                          fetched_at=NOW, max_list_size=1000)
        write_profiles(conn, db, [_user(LIVE), _user(LOCKED, protected=True)], NOW)
        mark_accounts(conn, {GONE: "suspended", TYPO: "not_found"}, NOW)
        # every list the crawler chose is finished: read, or skipped as unreadable
        conn.execute(update(frontier).where(frontier.c.kind != "resolve",
                                            frontier.c.state == "pending")
                     .values(state="skipped", done_at=NOW))
        conn.execute(update(frontier).where(frontier.c.handle == "nosuchuser99")
                     .values(state="skipped", last_error="handle not_found"))
    status = collect_status(db)
    db.dispose()
    states = {s["account"]: s["state"] for s in status["seeds"]["items"]}
    assert states == {str(LIVE): "active", str(GONE): "suspended", str(LOCKED): "protected",
                      str(TYPO): "not_found", "@nosuchuser99": "not_found", "@later": "pending"}
    cov = status["coverage"]
    assert cov["profiled"] == 2  # the live and the protected one returned a profile
    assert cov["expanded"] == 1  # only the live one's lists could be read


def test_a_list_the_policy_chose_not_to_read_leaves_its_account_unexpanded(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    add_seeds(db, [AccountRef(id=LIVE), AccountRef(id=GONE)], label="bot", now=NOW)
    big = {**_user(GONE), "public_metrics": {**_user(GONE)["public_metrics"],
                                             "followers_count": 9000}}
    with db.begin() as conn:
        write_profiles(conn, db, [_user(LIVE), big], NOW)
        for aid in (LIVE, GONE):  # both read their followers list
            write_follow_page(conn, db, task_id=task_id(db, "followers", aid), account_id=aid,
                              direction="followers", items=[{"id": "99"}], next_cursor=None,
                              fetched_at=NOW, max_list_size=1000)
        # LIVE follows nobody (count 0); GONE's 9000 followers were too costly to read
        conn.execute(update(frontier).where(frontier.c.kind == "following")
                     .values(state="skipped", done_at=NOW, last_error="empty list (count 0)"))
        conn.execute(update(frontier).where(frontier.c.kind == "followers",
                                            frontier.c.account_id == GONE)
                     .values(state="skipped", done_at=NOW,
                             last_error="likely human with 9000 followers: too costly to read"))
    status = collect_status(db)
    db.dispose()
    assert status["coverage"]["expanded"] == 1


def test_an_account_seeded_by_id_and_by_handle_is_one_seed(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    add_seeds(db, [AccountRef(id=LIVE), AccountRef(handle="u11"), AccountRef(id=GONE)],
              label="bot", now=NOW)
    assert collect_status(db)["seeds"]["total"] == 3  # @u11 is not resolved yet
    with db.begin() as conn:  # the crawl resolves @u11 to LIVE
        conn.execute(update(seeds).where(seeds.c.account_key == "@u11")
                     .values(account_id=LIVE))
    status = collect_status(db)
    db.dispose()
    assert status["seeds"]["total"] == 2
    first = status["seeds"]["items"][0]
    assert (first["account"], first["also"]) == (str(LIVE), ["@u11"])
