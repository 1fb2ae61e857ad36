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

from botsweep.errors import WorldError

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
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_DECIMAL = re.compile(r"^[0-9]{1,19}$")
_MAX_ID = 2**63 - 1


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
            label = str(record.get("_label", "unknown"))
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
    keep = ~(_lookup(hidden, world.follower)[0] | _lookup(hidden, world.followee)[0])
    return set(zip(world.follower[keep].tolist(), world.followee[keep].tolist(), strict=True))


# ----------------------------------------------------------------------------- loading


def _read_world_json(path: Path) -> dict[str, Any]:
    file = path / "world.json"
    if not file.is_file():
        raise WorldError(
            f"{file}: not found; a world directory needs world.json, accounts.jsonl and "
            "follows.csv (make one with `botsweep sim generate --out DIR`)"
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise WorldError(f"world.json line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise WorldError("world.json: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise WorldError("world.json line 1: expected an object with name, now, seeds")
    for key in ("name", "now"):
        if not isinstance(data.get(key), str):
            raise WorldError(f"world.json: {key!r} is missing or not a string")
    if not isinstance(data.get("seeds", []), list):
        raise WorldError("world.json: 'seeds' must be a list of account ids")
    return data


def _iter_jsonl(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    name = file.name
    with file.open("r", encoding="utf-8", newline="\n") as handle:
        lineno = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError:
                raise WorldError(f"{name} line {lineno + 1}: not UTF-8 text") from None
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WorldError(
                    f"{name} line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
                ) from None
            if not isinstance(record, dict):
                raise WorldError(f"{name} line {lineno}: expected a JSON object")
            yield lineno, record


def _account_id(value: Any, where: str, key: str = "id") -> int:
    if isinstance(value, str) and _DECIMAL.match(value) and int(value) <= _MAX_ID:
        return int(value)
    raise WorldError(f"{where}: {key} {value!r} is not a decimal string such as \"1234\"")


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
        if not isinstance(username, str) or not _USERNAME.match(username):
            raise WorldError(f"{where}: username {username!r} is not 1-15 letters, digits or _")
        if username.lower() in usernames:
            raise WorldError(
                f"{where}: duplicate username {username!r} (first on line "
                f"{usernames[username.lower()]})"
            )
        if not isinstance(record.get("name"), str):
            raise WorldError(f"{where}: name is missing or not a string")
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


def _slow_scan_follows(file: Path) -> None:
    """Find the first malformed row of follows.csv and raise naming its line."""
    with file.open("r", encoding="utf-8", errors="replace") as handle:
        next(handle, None)
        for lineno, line in enumerate(handle, start=2):
            text = line.rstrip("\r\n")
            parts = text.split(",")
            if len(parts) != 2:
                raise WorldError(
                    f"follows.csv line {lineno}: expected follower_id,followee_id, got {text!r}"
                )
            for key, part in zip(("follower_id", "followee_id"), parts, strict=True):
                _account_id(part.strip(), f"follows.csv line {lineno}", key)
    raise WorldError("follows.csv: cannot be parsed as two columns of decimal ids")


def _load_follows(path: Path, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    file = path / "follows.csv"
    if not file.is_file():
        raise WorldError(f"{file}: not found")
    with file.open("r", encoding="utf-8", errors="replace") as handle:
        header = handle.readline().strip()
    if header != "follower_id,followee_id":
        raise WorldError(
            f"follows.csv line 1: header must be follower_id,followee_id, got {header!r}"
        )
    import pandas as pd

    try:
        frame = pd.read_csv(
            file, dtype=np.int64, engine="c", skip_blank_lines=False,
            usecols=[0, 1], na_filter=False,
        )
    except (ValueError, pd.errors.ParserError, OverflowError):
        _slow_scan_follows(file)
        raise  # pragma: no cover - _slow_scan_follows always raises
    if frame.shape[1] != 2:
        _slow_scan_follows(file)
    follower = frame.iloc[:, 0].to_numpy(dtype=np.int64, copy=True)
    followee = frame.iloc[:, 1].to_numpy(dtype=np.int64, copy=True)
    dense = []
    for column, values in (("follower_id", follower), ("followee_id", followee)):
        found, position = _lookup(known, values)
        bad = np.flatnonzero(~found)
        if bad.size:
            row = int(bad[0])
            raise WorldError(
                f"follows.csv line {row + 2}: {column} {int(values[row])} is not an account in "
                "accounts.jsonl"
            )
        dense.append(position)
    loops = np.flatnonzero(follower == followee)
    if loops.size:
        row = int(loops[0])
        raise WorldError(f"follows.csv line {row + 2}: account {int(follower[row])} follows itself")
    key = dense[0] * np.int64(known.shape[0]) + dense[1]
    ordered = np.sort(key)
    if ordered.size and (ordered[1:] == ordered[:-1]).any():
        repeated = ordered[1:][ordered[1:] == ordered[:-1]][0]
        rows = np.flatnonzero(key == repeated)[:2]
        raise WorldError(
            f"follows.csv line {int(rows[1]) + 2}: duplicate follow "
            f"{int(follower[rows[1]])} -> {int(followee[rows[1]])} (first on line "
            f"{int(rows[0]) + 2})"
        )
    return follower, followee


def _lookup(known: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is each value in the sorted array ``known``, its position there).

    np.isin and np.unique are slow on numpy 2.x for int64, so use a binary search.
    """
    if known.shape[0] == 0:
        return np.zeros(values.shape, dtype=bool), np.zeros(values.shape, dtype=np.int64)
    position = np.minimum(np.searchsorted(known, values), known.shape[0] - 1)
    return known[position] == values, position.astype(np.int64)


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
    follower, followee = _load_follows(root, known)
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
    with (root / "follows.csv").open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("follower_id,followee_id\n")
        rows = zip(world.follower.tolist(), world.followee.tolist(), strict=True)
        chunk: list[str] = []
        for a, b in rows:
            chunk.append(f"{a},{b}\n")
            if len(chunk) >= 200_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))
    tweets_file = root / "tweets.jsonl"
    if world.tweets:
        with tweets_file.open("w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in world.tweets)
    elif tweets_file.exists():
        tweets_file.unlink()
    return root
