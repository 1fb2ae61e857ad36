"""Fault injection: each kind does what a client would meet, deterministically."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from botsweep.errors import InputError
from botsweep.sim.faults import FaultInjector, FaultSpec
from botsweep.sim.server import SimServer
from botsweep.sim.world import World, load_world
from tests.sim.worldkit import write_world

AUTH = {"Authorization": "Bearer sim-token"}


@pytest.fixture()
def tiny(tmp_path: Path) -> World:
    return load_world(write_world(tmp_path / "w"))


def _outcome(base: str, path: str, timeout: float = 3.0) -> str:
    try:
        reply = requests.get(base + path, headers=AUTH, timeout=timeout)
    except requests.Timeout:
        return "timeout"
    except requests.ConnectionError:
        return "reset"
    try:
        reply.json()
    except ValueError:
        return "malformed"
    return str(reply.status_code)


def test_spec_parsing_and_refusals() -> None:
    spec = FaultSpec.parse("5xx=0.03, timeout=0.01,reset=0.01,malformed=0.01")
    assert spec.rates == {"5xx": 0.03, "timeout": 0.01, "reset": 0.01, "malformed": 0.01}
    assert str(spec) == "5xx=0.03,timeout=0.01,reset=0.01,malformed=0.01"
    assert not FaultSpec.parse("none") and not FaultSpec.parse("")
    with pytest.raises(InputError, match="unknown fault kind 'slow'"):
        FaultSpec.parse("slow=0.1")
    with pytest.raises(InputError, match="5xx=2 must be a rate between 0 and 1"):
        FaultSpec.parse("5xx=2")
    with pytest.raises(InputError, match="add up to more than 1"):
        FaultSpec.parse("5xx=0.6,reset=0.6")


def test_draws_are_deterministic_and_near_their_rates() -> None:
    spec = FaultSpec.parse("5xx=0.1,reset=0.05")
    targets = [f"/2/users/{i % 50}/followers" for i in range(20_000)]
    a = [FaultInjector(spec, 7).draw(t)[0] for t in targets[:10]]
    one, two, other = FaultInjector(spec, 7), FaultInjector(spec, 7), FaultInjector(spec, 8)
    first = [one.draw(t)[0] for t in targets]
    assert first == [two.draw(t)[0] for t in targets]
    assert first != [other.draw(t)[0] for t in targets]
    assert first[:10] == a  # a fresh injector replays the same fates
    assert 0.085 < first.count("5xx") / len(first) < 0.115
    assert 0.04 < first.count("reset") / len(first) < 0.06
    # the n-th request for a URL meets the same fate whatever other URLs do meanwhile
    three = FaultInjector(spec, 7)
    for _ in range(5):
        three.draw("/other")
    assert [three.draw(t)[0] for t in targets] == first


def test_5xx_replies_spend_no_budget(tiny: World) -> None:
    with SimServer(tiny, faults="5xx=0.5", rng_seed=3, rate_limits={"followers": 4}) as base:
        seen = []
        ok = 0
        for _ in range(40):
            reply = requests.get(f"{base}/2/users/3/followers", headers=AUTH)
            seen.append(reply.status_code)
            if reply.status_code == 200:
                ok += 1
                assert reply.headers["x-rate-limit-remaining"] == str(4 - ok)
            elif reply.status_code >= 500:
                assert reply.json()["status"] == reply.status_code
                assert "x-rate-limit-remaining" not in reply.headers
        stats = requests.get(f"{base}/_sim/stats").json()
    assert ok == 4 and 429 in seen and any(s >= 500 for s in seen)
    assert stats["faults"]["5xx"] == sum(s >= 500 for s in seen) == stats["faults_total"]


def test_reset_timeout_and_malformed(tiny: World) -> None:
    with SimServer(tiny, faults="reset=1") as base:
        assert _outcome(base, "/2/users/1") == "reset"
        assert requests.get(f"{base}/_sim/stats").json()["faults"] == {"reset": 1}
    with SimServer(tiny, faults="malformed=1") as base:
        reply = requests.get(f"{base}/2/users/1/followers", headers=AUTH)
        assert reply.status_code == 200
        assert int(reply.headers["Content-Length"]) == len(reply.content)
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.content)
        assert reply.headers["x-rate-limit-remaining"] == "15"  # nothing spent
    server = SimServer(tiny, faults="timeout=1", timeout_fault_s=5.0)
    base = server.start()
    assert _outcome(base, "/2/users/1", timeout=0.3) == "timeout"
    started = time.monotonic()
    server.stop()  # does not wait for the held connection
    assert time.monotonic() - started < 2.0


def test_same_seed_same_faults_across_runs(tiny: World) -> None:
    spec = "5xx=0.2,reset=0.1,malformed=0.1"
    runs = []
    for _ in range(2):
        with SimServer(tiny, faults=spec, rng_seed=11, rate_limits={"*": 1000}) as base:
            runs.append([_outcome(base, f"/2/users/{1 + i % 3}") for i in range(40)])
    assert runs[0] == runs[1]
    assert {"200", "reset", "malformed"} <= set(runs[0])


def test_faults_never_hide_401_or_400(tiny: World) -> None:
    with SimServer(tiny, faults="5xx=1") as base:
        assert requests.get(f"{base}/2/users/1").status_code == 401
        reply = requests.get(f"{base}/2/users/1/followers?max_results=0", headers=AUTH)
        assert reply.status_code == 400
