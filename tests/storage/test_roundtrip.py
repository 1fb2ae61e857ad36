"""What goes into the database comes back out the same, on SQLite and on PostgreSQL: seeds,
labels, the frontier, profiles with their raw JSON and state, follow pages, scores with the
model version, and the log of API calls; and a locked SQLite database says so clearly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from botsweep.config import DatabaseSettings
from botsweep.errors import DatabaseLocked, InputError
from botsweep.seeding import SEED_PRIORITY, AccountRef, add_labels, add_seeds
from botsweep.status import collect_status
from botsweep.storage.db import Database
from botsweep.storage.pages import log_call, mark_accounts, write_follow_page, write_profiles
from botsweep.storage.schema import accounts, api_calls, follows, frontier, labels, runs, scores
from botsweep.storage.schema import seeds as seeds_table
from botsweep.storage.scores import record_model, store_scores

BIG = 2**63 - 1  # X ids are below 2^63: the largest must survive on both backends


def _rows(db: Database, query: Any) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _user(account_id: int, **extra: Any) -> dict[str, Any]:
    return {"id": str(account_id), "username": f"u{account_id % 10**6}", "name": "Ünïcode 🤖",
            "description": "bio with 'quotes' and \"more\"; DROP TABLE accounts; --",
            "created_at": "2012-05-01T00:00:00.000Z", "protected": False, "verified": False,
            "public_metrics": {"followers_count": 19, "following_count": 0, "tweet_count": 43,
                               "listed_count": 0, "like_count": 1}, **extra}


def test_seeds_by_id_and_handle_round_trip_with_their_work(db: Database) -> None:
    refs = [AccountRef(id=12), AccountRef(id=BIG), AccountRef(handle="Jane_Doe")]
    assert add_seeds(db, refs, label="bot", campaign="pron", source="file:seeds.txt",
                     now=100.0) == 3
    got = _rows(db, select(seeds_table.c.account_key, seeds_table.c.account_id,
                           seeds_table.c.handle, seeds_table.c.label, seeds_table.c.campaign,
                           seeds_table.c.source, seeds_table.c.added_at)
                .order_by(seeds_table.c.id))
    assert got == [
        ("12", 12, None, "bot", "pron", "file:seeds.txt", 100.0),
        (str(BIG), BIG, None, "bot", "pron", "file:seeds.txt", 100.0),
        ("@jane_doe", None, "Jane_Doe", "bot", "pron", "file:seeds.txt", 100.0),
    ]
    work = _rows(db, select(frontier.c.kind, frontier.c.account_id, frontier.c.handle,
                            frontier.c.state, frontier.c.priority))
    assert sorted(work, key=repr) == sorted([
        ("followers", 12, None, "pending", SEED_PRIORITY),
        ("following", 12, None, "pending", SEED_PRIORITY),
        ("followers", BIG, None, "pending", SEED_PRIORITY),
        ("following", BIG, None, "pending", SEED_PRIORITY),
        ("resolve", None, "jane_doe", "pending", SEED_PRIORITY),
    ], key=repr)
    # Seeds by id are known accounts from the start (not yet profiled).
    assert _rows(db, select(accounts.c.id, accounts.c.state).order_by(accounts.c.id)) == [
        (12, None), (BIG, None)]


def test_seeding_again_changes_nothing(db: Database) -> None:
    add_seeds(db, [AccountRef(id=12), AccountRef(handle="jane")], label="bot", now=1.0)
    tables = (seeds_table, frontier, accounts)
    before = [sorted(_rows(db, select(t)), key=repr) for t in tables]
    assert add_seeds(db, [AccountRef(handle="JANE"), AccountRef(id=12)], label="human",
                     campaign="other", now=2.0) == 0
    assert [sorted(_rows(db, select(t)), key=repr) for t in tables] == before


def test_labels_round_trip_and_a_new_label_replaces_the_old(db: Database) -> None:
    add_labels(db, [(AccountRef(id=7), "bot", ""), (AccountRef(handle="Ann"), "human", "pron"),
                    (AccountRef(id=7), "human", "pron")], source="file:l.csv", now=5.0)
    add_labels(db, [(AccountRef(id=7), "human", "")], source="cli", now=6.0)
    got = _rows(db, select(labels.c.account_key, labels.c.account_id, labels.c.handle,
                           labels.c.label, labels.c.campaign, labels.c.source,
                           labels.c.added_at))
    assert sorted(got, key=repr) == sorted([
        ("7", 7, None, "human", "", "cli", 6.0),
        ("@ann", None, "Ann", "human", "pron", "file:l.csv", 5.0),
        ("7", 7, None, "human", "pron", "file:l.csv", 5.0),
    ], key=repr)


def test_the_last_of_two_labels_for_one_account_in_one_batch_wins(db: Database) -> None:
    add_labels(db, [(AccountRef(id=7), "bot", "pron"), (AccountRef(id=7), "human", "pron")],
               now=1.0)
    assert _rows(db, select(labels.c.account_key, labels.c.label)) == [("7", "human")]


def test_a_campaign_name_that_fits_on_neither_backend_is_refused(db: Database) -> None:
    with pytest.raises(InputError, match="at most 64"):
        add_seeds(db, [AccountRef(id=1)], campaign="c" * 65)
    with pytest.raises(InputError, match="at most 64"):
        add_labels(db, [(AccountRef(id=1), "bot", "c" * 65)])
    add_seeds(db, [AccountRef(id=1)], campaign="  " + "c" * 64 + " ", now=1.0)
    assert _rows(db, select(seeds_table.c.campaign)) == [("c" * 64,)]
    assert _rows(db, select(labels)) == []


def test_profiles_keep_their_raw_json_and_state(db: Database) -> None:
    users = [_user(BIG), _user(31, protected=True), _user(32)]
    with db.begin() as conn:
        write_profiles(conn, db, users, 1_700_000_000.5)
        mark_accounts(conn, {32: "suspended", 33: "not_found"}, 1_700_000_001.0)
    got = {row[0]: row[1:] for row in _rows(db, select(
        accounts.c.id, accounts.c.state, accounts.c.raw, accounts.c.followers_count,
        accounts.c.fetched_at))}
    assert got[BIG][0] == "active" and json.loads(got[BIG][1]) == users[0]
    assert got[BIG][2:] == (19, 1_700_000_000.5)
    assert got[31][0] == "protected"
    assert got[32][0] == "suspended"  # the profile stays; the state says what happened
    assert 33 not in got  # an id never stored is not invented by mark_accounts


def test_a_profile_holding_what_no_database_takes_is_stored_scrubbed(db: Database) -> None:
    """Valid JSON from the API can hold a lone surrogate (not UTF-8), a NUL (PostgreSQL
    text refuses it), an over-long username or created_at, or a count beyond a BIGINT.
    Each stopped every crawl whose page or lookup held it; now the profile is stored."""
    users = [_user(41, location="a\ud800b"), _user(42, description="a\x00b"),
             _user(43, username="u" * 65), _user(44, created_at="x" * 41),
             _user(45, public_metrics={"followers_count": 2**70, "tweet_count": 3}),
             _user(46, entities={"description": {"urls": [{"url\udc00": "\x00"}]}})]
    with db.begin() as conn:
        write_profiles(conn, db, users, 1_700_000_000.0)
    got = {row[0]: row[1:] for row in _rows(db, select(
        accounts.c.id, accounts.c.location, accounts.c.description, accounts.c.username,
        accounts.c.created_at, accounts.c.followers_count, accounts.c.tweet_count,
        accounts.c.raw))}
    assert sorted(got) == [41, 42, 43, 44, 45, 46]
    assert got[41][0] == "a\ufffdb" and json.loads(got[41][6])["location"] == "a\ufffdb"
    assert got[42][1] == "ab" and json.loads(got[42][6])["description"] == "ab"
    assert got[43][2] is None and json.loads(got[43][6])["username"] == "u" * 65
    assert got[44][3] is None
    assert got[45][4:6] == (None, 3)
    assert json.loads(got[46][6])["entities"] == {"description": {"urls": [{"url\ufffd": ""}]}}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec=None, exclude_categories=())),
       count=st.integers(min_value=0, max_value=2**80))
def test_any_string_and_count_in_a_profile_can_be_stored(db: Database, text: str,
                                                        count: int) -> None:
    user = _user(50, name=text, description=text, location=text, url=text,
                 public_metrics={"followers_count": count})
    with db.begin() as conn:
        write_profiles(conn, db, [user], 1_700_000_000.0)
    (name, raw), = _rows(db, select(accounts.c.name, accounts.c.raw)
                         .where(accounts.c.id == 50))
    assert json.loads(raw)["name"] == name
    assert name == "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch
                           for ch in text if ch != "\x00")


def test_states_outside_the_list_are_refused(db: Database) -> None:
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(accounts.insert().values(id=1, first_seen=1.0, state="banned"))
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(frontier.insert().values(kind="likes", account_id=1, enqueued_at=1.0))


def test_follow_pages_and_cursors_round_trip_and_reapplying_changes_nothing(
    db: Database,
) -> None:
    add_seeds(db, [AccountRef(id=BIG)], now=1.0)
    with db.connect() as conn:
        task = conn.execute(select(frontier.c.id).where(
            frontier.c.kind == "followers", frontier.c.account_id == BIG)).scalar_one()
    page: dict[str, Any] = {"task_id": task, "account_id": BIG, "direction": "followers",
                            "items": [{"id": str(i)} for i in (5, BIG - 1, 3)],
                            "next_cursor": "7140dibdnow9c7btw3z", "fetched_at": 10.0,
                            "max_list_size": 1000}
    for _ in range(2):  # a crash after the commit replays the page
        with db.begin() as conn:
            write_follow_page(conn, db, **page)
        assert sorted(_rows(db, select(follows.c.followee_id, follows.c.follower_id))) == [
            (BIG, 3), (BIG, 5), (BIG, BIG - 1)]
    assert _rows(db, select(frontier.c.cursor, frontier.c.state, frontier.c["items"])
                 .where(frontier.c.id == task)) == [("7140dibdnow9c7btw3z", "pending", 6)]


def test_scores_keep_the_model_version_and_are_replaced(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(accounts.insert(), [{"id": i, "first_seen": 1.0} for i in (1, BIG)])
        store_scores(conn, db, "bot", "lgbm-2026.11-a", {1: 0.25, BIG: 0.875}, {1: 9.0})
    query = select(scores.c.account_id, scores.c.scorer, scores.c.model_version,
                   scores.c.probability, scores.c.profile_fetched_at).order_by(scores.c.account_id)
    assert _rows(db, query) == [(1, "bot", "lgbm-2026.11-a", 0.25, 9.0),
                                (BIG, "bot", "lgbm-2026.11-a", 0.875, None)]
    with db.begin() as conn:
        store_scores(conn, db, "bot", "lgbm-2026.12-b", {1: 0.5}, {1: 10.0})
        store_scores(conn, db, "campaign:pron", "camp-1", {1: 0.75}, {})
    assert _rows(db, query)[:2] == [(1, "bot", "lgbm-2026.12-b", 0.5, 10.0),
                                    (1, "campaign:pron", "camp-1", 0.75, None)]


def test_api_calls_are_logged_per_run(db: Database) -> None:
    with db.begin() as conn:
        run_id = conn.execute(runs.insert().values(
            worker_id="host-1", command="crawl", started_at=50.0)).inserted_primary_key[0]
        log_call(conn, run_id=run_id, at=51.0, endpoint="/2/users/:id/followers",
                 token_key="X_BEARER_TOKEN", status=200, outcome="ok", items=1000, seconds=0.25)
        log_call(conn, run_id=run_id, at=52.0, endpoint="/2/users", token_key="X_BEARER_TOKEN",
                 status=429, outcome="rate_limited")
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            ended_at=60.0, outcome="done"))
    got = _rows(db, select(api_calls.c.run_id, api_calls.c.at, api_calls.c.endpoint,
                           api_calls.c.token_key, api_calls.c.status, api_calls.c.outcome,
                           api_calls.c["items"], api_calls.c.seconds).order_by(api_calls.c.id))
    assert got == [
        (run_id, 51.0, "/2/users/:id/followers", "X_BEARER_TOKEN", 200, "ok", 1000, 0.25),
        (run_id, 52.0, "/2/users", "X_BEARER_TOKEN", 429, "rate_limited", 0, None),
    ]
    assert _rows(db, select(runs.c.worker_id, runs.c.command, runs.c.started_at,
                            runs.c.ended_at, runs.c.outcome)) == [
        ("host-1", "crawl", 50.0, 60.0, "done")]
    with pytest.raises(IntegrityError), db.engine.begin() as conn:  # no such run
        log_call(conn, run_id=run_id + 1, at=1.0, endpoint="/2/users", token_key="T",
                 status=200, outcome="ok")


def test_a_locked_sqlite_database_is_reported_and_nothing_is_half_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crawl.db"
    db = Database(DatabaseSettings(url=f"sqlite:///{path}", busy_timeout_s=0.2))
    other = sqlite3.connect(path, isolation_level=None)  # e.g. an open sqlite3 shell
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseLocked, match="busy_timeout_s"):
            add_seeds(db, [AccountRef(id=12), AccountRef(handle="jane")], now=1.0)
        other.execute("ROLLBACK")
        assert _rows(db, select(seeds_table)) == [] and _rows(db, select(frontier)) == []
        assert add_seeds(db, [AccountRef(id=12), AccountRef(handle="jane")], now=1.0) == 2
    finally:
        other.close()
        db.dispose()


def test_a_handle_and_its_id_are_one_seed_once_known(db: Database) -> None:
    add_seeds(db, [AccountRef(handle="Jane"), AccountRef(id=12)], now=1.0)
    # The crawler resolves @jane to 77 and profiles 12 as @bob.
    with db.begin() as conn:
        write_profiles(conn, db, [_user(77) | {"username": "Jane"},
                                  _user(12) | {"username": "bob"}], 2.0)
        conn.execute(update(seeds_table).where(seeds_table.c.account_key == "@jane")
                     .values(account_id=77))
    before = sorted(_rows(db, select(seeds_table)), key=repr)
    assert add_seeds(db, [AccountRef(id=77), AccountRef(handle="BOB")], now=3.0) == 0
    assert sorted(_rows(db, select(seeds_table)), key=repr) == before
    assert add_seeds(db, [AccountRef(handle="carol")], now=3.0) == 1


def test_status_counts_likely_bots_at_the_stored_models_threshold(db: Database) -> None:
    """``botsweep status`` must agree with the crawl and the report, which both count an
    account as a likely bot at or above the model's own threshold, not at one half."""
    users = [_user(i) for i in (41, 42, 43, 44)]
    with db.begin() as conn:
        write_profiles(conn, db, users, 1_700_000_000.5)
        store_scores(conn, db, "bot", "m1", {41: 0.49, 42: 0.51, 43: 0.527, 44: 0.9}, {})
    assert collect_status(db)["scores"]["likely_bots"] == 3  # no model recorded: one half
    with db.begin() as conn:
        record_model(conn, db, "m1", 0.528)
    status = collect_status(db)
    assert status["scores"]["likely_bots"] == 1
    assert status["scores"]["bot_threshold"] == 0.528
