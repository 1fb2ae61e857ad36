"""The world loader: round trips, and a clear error naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from botsweep.errors import WorldError
from botsweep.sim.generate import generate_world
from botsweep.sim.world import load_world, save_world, visible_edges, world_edges
from tests.sim.worldkit import user, write_world


def test_generated_world_round_trips(tmp_path: Path) -> None:
    world = generate_world(accounts=300, bot_networks=1, rng_seed=3, tweets_per_account=2)
    save_world(world, tmp_path / "w")
    loaded = load_world(tmp_path / "w")
    assert loaded.accounts == world.accounts
    assert np.array_equal(loaded.follower, world.follower)
    assert np.array_equal(loaded.followee, world.followee)
    assert loaded.seeds == world.seeds and loaded.now == world.now
    assert loaded.tweets == world.tweets and loaded.tweets


def test_hand_made_world_loads(tmp_path: Path) -> None:
    world = load_world(write_world(tmp_path / "w", seeds=[1]))
    assert world.seeds == [1]
    assert world_edges(world) == {(1, 3), (2, 3)}
    assert world.now.isoformat() == "2018-06-01T12:00:00+00:00"


def test_visible_edges_leave_out_suspended_and_deleted(tmp_path: Path) -> None:
    accounts = [user(1, "alice", _state="suspended"), user(2, "bob"), user(3, "carol"),
                user(4, "dave", _state="deleted"), user(5, "erin", _state="protected")]
    follows = [(1, 3), (2, 3), (3, 4), (5, 2), (2, 5)]
    world = load_world(write_world(tmp_path / "w", accounts, follows))
    assert visible_edges(world) == {(2, 3), (5, 2), (2, 5)}
    assert world.state(5) == "protected"


def _error(tmp_path: Path) -> str:
    with pytest.raises(WorldError) as caught:
        load_world(tmp_path / "w")
    return str(caught.value)


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w")
    lines = (root / "accounts.jsonl").read_text().splitlines()
    lines[1] = lines[1][:-3]
    (root / "accounts.jsonl").write_text("\n".join(lines) + "\n")
    assert _error(tmp_path).startswith("accounts.jsonl line 2: not valid JSON")


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    write_world(tmp_path / "w", [user(1, "alice"), user(2, "bob"), user(1, "carol")], [])
    assert _error(tmp_path) == "accounts.jsonl line 3: duplicate id 1 (first on line 1)"


def test_unknown_id_in_follows_names_line(tmp_path: Path) -> None:
    write_world(tmp_path / "w", follows=[(1, 3), (2, 3), (2, 999)])
    message = _error(tmp_path)
    assert message.startswith("follows.csv line 4: followee_id 999 is not an account")


def test_non_numeric_follow_names_line(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w")
    with (root / "follows.csv").open("a") as handle:
        handle.write("2,@carol\n")
    message = _error(tmp_path)
    assert message.startswith("follows.csv line 4: followee_id '@carol'"), message


@pytest.mark.parametrize(
    ("follows", "expected"),
    [([(1, 3), (1, 1)], "follows.csv line 3: account 1 follows itself"),
     ([(1, 3), (2, 3), (1, 3)], "follows.csv line 4: duplicate follow 1 -> 3 (first on line 2)")],
)
def test_self_and_duplicate_follows(tmp_path: Path, follows: list, expected: str) -> None:
    write_world(tmp_path / "w", follows=follows)
    assert _error(tmp_path) == expected


def test_bad_header_seed_username_and_state(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w")
    (root / "follows.csv").write_text("a,b\n1,3\n")
    assert "follows.csv line 1: header" in _error(tmp_path)

    write_world(tmp_path / "w", seeds=[42])
    assert _error(tmp_path) == "world.json: seed 42 is not an account in accounts.jsonl"

    write_world(tmp_path / "w", [user(1, "has space")], [])
    assert "accounts.jsonl line 1: username 'has space'" in _error(tmp_path)

    write_world(tmp_path / "w", [user(1, "a", _state="banned")], [])
    assert "_state 'banned' is not one of" in _error(tmp_path)

    write_world(tmp_path / "w", [user(1, "a"), user(2, "A")], [])
    assert "line 2: duplicate username 'A'" in _error(tmp_path)


def test_missing_directory_and_world_json(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match="botsweep sim generate"):
        load_world(tmp_path / "nowhere")
    (tmp_path / "w").mkdir()
    assert "world.json: not found" in _error(tmp_path)
    (tmp_path / "w" / "world.json").write_text('{"name": "x",\n "now": }')
    assert _error(tmp_path).startswith("world.json line 2: not valid JSON")
    (tmp_path / "w" / "world.json").write_bytes(b'{"name": "x",\n\n "now": "\xff"}')
    assert _error(tmp_path) == "world.json line 3: not valid UTF-8"


def test_tweet_with_unknown_author(tmp_path: Path) -> None:
    tweets = [{"id": "10", "text": "hi", "author_id": "1"},
              {"id": "11", "text": "hi", "author_id": "77"}]
    write_world(tmp_path / "w", tweets=tweets)
    assert _error(tmp_path) == (
        "tweets.jsonl line 2: author_id 77 is not an account in accounts.jsonl")


def test_save_writes_the_documented_files(tmp_path: Path) -> None:
    world = load_world(write_world(tmp_path / "w", seeds=[2]))
    out = save_world(world, tmp_path / "copy")
    meta = json.loads((out / "world.json").read_text())
    assert meta == {"name": "tiny", "now": "2018-06-01T12:00:00.000Z", "seeds": ["2"],
                    "description": "hand-made"}
    assert (out / "follows.csv").read_text() == "follower_id,followee_id\n1,3\n2,3\n"
    assert not (out / "tweets.jsonl").exists()


def test_extra_column_and_negative_id_name_their_line(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w")
    (root / "follows.csv").write_text("follower_id,followee_id\n1,3\n2,3,1\n")
    assert _error(tmp_path) == "follows.csv line 3: expected follower_id,followee_id, got '2,3,1'"
    (root / "follows.csv").write_text("follower_id,followee_id\n1,3\n-2,3\n")
    assert _error(tmp_path).startswith("follows.csv line 3: follower_id '-2' is not a decimal")


def test_blank_lines_are_skipped_and_lines_still_counted(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w")
    (root / "follows.csv").write_text("follower_id,followee_id\r\n\r\n1,3\r\n\r\n2,3\r\n\r\n")
    assert world_edges(load_world(root)) == {(1, 3), (2, 3)}
    (root / "follows.csv").write_text("follower_id,followee_id\n\n1,3\n\n\n2,9\n")
    assert _error(tmp_path) == (
        "follows.csv line 6: followee_id 9 is not an account in accounts.jsonl")
    (root / "follows.csv").write_text("follower_id,followee_id\n1,3\n\n1,3\n")
    assert _error(tmp_path) == "follows.csv line 4: duplicate follow 1 -> 3 (first on line 2)"


def test_cli_names_the_bad_line_and_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from botsweep.cli import main

    write_world(tmp_path / "w", follows=[(1, 3), (2, 77)])
    for command in (["sim", "check"], ["sim", "serve"]):
        assert main([*command, "--world", str(tmp_path / "w")]) == 2
        err = capsys.readouterr().err
        assert err == ("botsweep: error: follows.csv line 3: followee_id 77 is not an account "
                       "in accounts.jsonl\n")


def test_bytes_that_are_not_utf8_are_blamed_on_their_line(tmp_path: Path) -> None:
    long_bio = "x" * 9000  # past the 8 KB a text reader decodes at once
    accounts = [user(i, f"user{i}", description=long_bio) for i in range(1, 6)]
    root = write_world(tmp_path / "w", accounts, [])
    with (root / "accounts.jsonl").open("ab") as handle:
        handle.write(b'{"id": "9", "username": "bad\xff"}\n' + json.dumps(user(10, "ok")).encode()
                     + b"\n")
    assert _error(tmp_path) == "accounts.jsonl line 6: not valid UTF-8 (byte 29)"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"description": 5}, "accounts.jsonl line 2: user 2: field description is not a string"),
     ({"protected": "false"}, "accounts.jsonl line 2: user 2: field protected is not"),
     ({"public_metrics": {"followers_count": "many"}},
      "accounts.jsonl line 2: user 2: public_metrics is not a map of counts"),
     ({"entities": []}, "accounts.jsonl line 2: user 2: entities is not an object"),
     ({"_label": "Bot"}, "accounts.jsonl line 2: _label 'Bot' is not \"bot\" or \"human\""),
     ({"username": "bob\n"}, "accounts.jsonl line 2: username 'bob\\n' is not 1-15"),
     ({"id": "0002"}, "accounts.jsonl line 2: id '0002' is not a decimal string")],
)
def test_fields_the_crawler_would_refuse_are_refused_when_the_world_loads(
        tmp_path: Path, fields: dict, expected: str) -> None:
    """One bad field served by the sim would make the crawler refuse the whole page it is
    on (a list of thousands lost for one description); the world is refused instead."""
    bob = user(2, "bob")
    bob.update(fields)
    accounts = [user(1, "alice"), bob, user(3, "carol")]
    write_world(tmp_path / "w", accounts, [(1, 3)] if fields.get("id") else [(1, 3), (2, 3)])
    assert _error(tmp_path).startswith(expected), _error(tmp_path)


def test_a_lone_surrogate_is_refused_and_deep_nesting_is_one_line(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w")
    lines = (root / "accounts.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"name": "', '"name": "trunc \\ud83d ', 1)
    assert "\\ud83d" in lines[1]
    (root / "accounts.jsonl").write_text("\n".join(lines) + "\n")
    assert _error(tmp_path).startswith("accounts.jsonl line 2: a \\u escape is half of a")
    lines[1] = "[" * 100_000 + "]" * 100_000
    (root / "accounts.jsonl").write_text("\n".join(lines) + "\n")
    assert _error(tmp_path) == "accounts.jsonl line 2: JSON nested too deeply"


@pytest.mark.parametrize("row", ["3.0,1", "+3,1", "1e0,3", "2,1234567890123456789.0"])
def test_a_follow_id_that_is_not_plain_digits_is_refused_not_rounded(
        tmp_path: Path, row: str) -> None:
    root = write_world(tmp_path / "w")
    with (root / "follows.csv").open("a") as handle:
        handle.write(row + "\n")
    assert _error(tmp_path).startswith("follows.csv line 4: "), _error(tmp_path)


def test_an_unknown_label_may_be_null_as_in_a_partly_labelled_profile_file(
        tmp_path: Path) -> None:
    write_world(tmp_path / "w", [user(1, "alice", _label=None), user(2, "bob"),
                                 user(3, "carol", _label="bot")], [(1, 3)])
    assert load_world(tmp_path / "w").bots() == {3}


def test_a_byte_order_mark_is_fine_in_every_world_file(tmp_path: Path) -> None:
    root = write_world(tmp_path / "w", seeds=[1])
    for name in ("world.json", "accounts.jsonl", "follows.csv"):
        path = root / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    world = load_world(root)
    assert world.seeds == [1] and world_edges(world) == {(1, 3), (2, 3)}
