"""A sim world: accounts, follows and (optionally) tweets; load, validate and save.

A world directory holds ``world.json``, ``accounts.jsonl``, ``follows.csv`` and an
optional ``tweets.jsonl`` (see FORMATS.md).  :func:`load_world` checks everything a
server or a benchmark relies on and raises :class:`~botsweep.errors.WorldError` naming the
file and the line: bad JSON, a duplicate id, a follow that names an unknown account.

Follows are kept as two parallel int64 arrays, ``follower`` and ``followee``, in file
order (the server serves the newest follow, the last row, first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from botsweep.crawler.replies import user_fields_problem
from botsweep.errors import WorldError
from botsweep.jsonl import json_lines
from botsweep.sim.follows import account_id as _account_id
from botsweep.sim.follows import lookup, read_follows, write_follows

__all__ = [
    "World",
    "STATES",
    "HIDDEN_STATES",
    "load_world",
    "save_world",
    "world_edges",
    "visible_edges",
    "parse_time",
    "format_time",
]

STATES = ("active", "protected", "suspended", "deleted")
HIDDEN_STATES = frozenset({"suspended", "deleted"})
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")  # whole: fullmatch


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 time (``Z`` or an offset) into an aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; write it like 2018-06-01T12:00:00Z")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the X API writes ``created_at``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass
class World:
    """A world in memory.  ``accounts`` maps the int id to the full record (``_`` keys too)."""

    name: str
    now: datetime
    seeds: list[int]
    description: str
    accounts: dict[int, dict[str, Any]]
    follower: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    followee: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tweets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_follows(self) -> int:
        return int(self.follower.shape[0])

    def state(self, account_id: int) -> str:
        """``active``, ``protected``, ``suspended`` or ``deleted`` (``_state`` wins)."""
        record = self.accounts[account_id]
        state = record.get("_state") or "active"
        if state == "active" and record.get("protected"):
            return "protected"
        return str(state)

    def campaigns(self) -> dict[str, list[int]]:
        """Ground truth: campaign name -> member ids, in account order."""
        found: dict[str, list[int]] = {}
        for account_id, record in self.accounts.items():
            name = record.get("_campaign")
            if name:
                found.setdefault(str(name), []).append(account_id)
        return found

    def bots(self) -> set[int]:
        """Ids whose ``_label`` is ``bot``."""
        return {i for i, r in self.accounts.items() if r.get("_label") == "bot"}

    def summary(self) -> dict[str, Any]:
        """Counts a person checks first: accounts, follows, labels, states, campaigns."""
        states: dict[str, int] = {}
        labels: dict[str, int] = {}
        for account_id, record in self.accounts.items():
            state = self.state(account_id)
            states[state] = states.get(state, 0) + 1
            label = str(record.get("_label") or "unknown")
            labels[label] = labels.get(label, 0) + 1
        return {
            "name": self.name,
            "now": format_time(self.now),
            "accounts": len(self.accounts),
            "follows": self.n_follows,
            "tweets": len(self.tweets),
            "seeds": len(self.seeds),
            "labels": labels,
            "states": states,
            "campaigns": {k: len(v) for k, v in sorted(self.campaigns().items())},
        }


def world_edges(world: World) -> set[tuple[int, int]]:
    """Every follow as ``(follower, followee)``."""
    return set(zip(world.follower.tolist(), world.followee.tolist(), strict=True))


def _hidden_ids(world: World) -> np.ndarray:
    hidden = [i for i in world.accounts if world.state(i) in HIDDEN_STATES]
    return np.array(sorted(hidden), dtype=np.int64)


def visible_edges(world: World) -> set[tuple[int, int]]:
    """The follows a crawler can see: neither end is suspended or deleted."""
    hidden = _hidden_ids(world)
    keep = ~(lookup(hidden, world.follower)[0] | lookup(hidden, world.followee)[0])
    return set(zip(world.follower[keep].tolist(), world.followee[keep].tolist(), strict=True))


# ----------------------------------------------------------------------------- loading


def _read_world_json(path: Path) -> dict[str, Any]:
    file = path / "world.json"
    if not file.is_file():
        raise WorldError(
            f"{file}: not found; a world directory needs world.json, accounts.jsonl and "
            "follows.csv (make one with `botsweep sim generate --out DIR`)"
        )
    raw = file.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a byte order mark is fine
    try:
        data = json.loads(raw.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise WorldError(f"world.json line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise WorldError(f"world.json line {line}: not valid UTF-8") from None
    if not isinstance(data, dict):
        raise WorldError("world.json line 1: expected an object with name, now, seeds")
    for key in ("name", "now"):
        if not isinstance(data.get(key), str):
            raise WorldError(f"world.json: {key!r} is missing or not a string")
    if not isinstance(data.get("seeds", []), list):
        raise WorldError("world.json: 'seeds' must be a list of account ids")
    return data


def _iter_jsonl(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; a bad line raises naming it."""
    name = file.name
    with file.open("rb") as handle:
        for lineno, line, record in json_lines(handle, lambda n: f"{name} line {n}", WorldError):
            if not isinstance(record, dict):
                raise WorldError(f"{name} line {lineno}: expected a JSON object")
            if "\\u" in line:  # an escape: a lone surrogate cannot be served as UTF-8
                try:
                    json.dumps(record, ensure_ascii=False).encode("utf-8")
                except UnicodeEncodeError:
                    raise WorldError(f"{name} line {lineno}: a \\u escape is half of a "
                                     "surrogate pair (not valid Unicode)") from None
            yield lineno, record


def _load_accounts(path: Path) -> dict[int, dict[str, Any]]:
    file = path / "accounts.jsonl"
    if not file.is_file():
        raise WorldError(f"{file}: not found")
    accounts: dict[int, dict[str, Any]] = {}
    first_line: dict[int, int] = {}
    usernames: dict[str, int] = {}
    for lineno, record in _iter_jsonl(file):
        where = f"accounts.jsonl line {lineno}"
        account_id = _account_id(record.get("id"), where)
        if account_id in accounts:
            raise WorldError(
                f"{where}: duplicate id {account_id} (first on line {first_line[account_id]})"
            )
        username = record.get("username")
        if not isinstance(username, str) or not _USERNAME.fullmatch(username):
            raise WorldError(f"{where}: username {username!r} is not 1-15 letters, digits or _")
        if username.lower() in usernames:
            raise WorldError(
                f"{where}: duplicate username {username!r} (first on line "
                f"{usernames[username.lower()]})"
            )
        if not isinstance(record.get("name"), str):
            raise WorldError(f"{where}: name is missing or not a string")
        problem = user_fields_problem(record)  # what the crawler would refuse, said now
        if problem:
            raise WorldError(f"{where}: {problem}")
        if record.get("_label") not in (None, "bot", "human"):
            raise WorldError(f"{where}: _label {record['_label']!r} is not \"bot\" or "
                             "\"human\" (leave it out, or null, when unknown)")
        state = record.get("_state", "active")
        if state not in STATES:
            raise WorldError(f"{where}: _state {state!r} is not one of {', '.join(STATES)}")
        created = record.get("created_at")
        if created is not None:
            try:
                parse_time(str(created))
            except ValueError:
                raise WorldError(f"{where}: created_at {created!r} is not RFC 3339") from None
        accounts[account_id] = record
        first_line[account_id] = lineno
        usernames[username.lower()] = lineno
    return accounts


def _load_tweets(path: Path, accounts: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    file = path / "tweets.jsonl"
    if not file.is_file():
        return []
    tweets: list[dict[str, Any]] = []
    seen: set[int] = set()
    for lineno, record in _iter_jsonl(file):
        where = f"tweets.jsonl line {lineno}"
        tweet_id = _account_id(record.get("id"), where)
        if tweet_id in seen:
            raise WorldError(f"{where}: duplicate tweet id {tweet_id}")
        seen.add(tweet_id)
        author = _account_id(record.get("author_id"), where, "author_id")
        if author not in accounts:
            raise WorldError(f"{where}: author_id {author} is not an account in accounts.jsonl")
        if not isinstance(record.get("text"), str):
            raise WorldError(f"{where}: text is missing or not a string")
        tweets.append(record)
    return tweets


def load_world(path: str | Path) -> World:
    """Load and validate a world directory; raise WorldError naming the file and line."""
    root = Path(path)
    if not root.is_dir():
        raise WorldError(
            f"{root}: not a directory; make a world with `botsweep sim generate --out {root}`"
        )
    meta = _read_world_json(root)
    try:
        now = parse_time(meta["now"])
    except ValueError as exc:
        raise WorldError(f"world.json: now {meta['now']!r} is not RFC 3339: {exc}") from None
    accounts = _load_accounts(root)
    seeds: list[int] = []
    for raw in meta.get("seeds", []):
        seed = _account_id(str(raw), "world.json", "seed")
        if seed not in accounts:
            raise WorldError(f"world.json: seed {seed} is not an account in accounts.jsonl")
        seeds.append(seed)
    known = np.array(sorted(accounts), dtype=np.int64)
    follower, followee = read_follows(root / "follows.csv", known)
    return World(
        name=meta["name"],
        now=now,
        seeds=seeds,
        description=str(meta.get("description", "")),
        accounts=accounts,
        follower=follower,
        followee=followee,
        tweets=_load_tweets(root, accounts),
    )


# ----------------------------------------------------------------------------- saving


def save_world(world: World, path: str | Path) -> Path:
    """Write ``world`` as a world directory (created if needed); return the directory."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    meta = {
        "name": world.name,
        "now": format_time(world.now),
        "seeds": [str(s) for s in world.seeds],
        "description": world.description,
    }
    (root / "world.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    with (root / "accounts.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
        handle.writelines(dumps(record) + "\n" for record in world.accounts.values())
    write_follows(root / "follows.csv", world.follower, world.followee)
    tweets_file = root / "tweets.jsonl"
    if world.tweets:
        with tweets_file.open("w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in world.tweets)
    elif tweets_file.exists():
        tweets_file.unlink()
    return root
