"""``botsweep bench crawl`` on a tiny generated world: it runs both policies and compares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botsweep.bench.crawl_bench import pick_seeds
from botsweep.cli import main
from botsweep.errors import InputError
from botsweep.sim.generate import generate_world
from botsweep.sim.world import save_world


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    world = generate_world(accounts=600, bot_networks=3, rng_seed=5)
    return save_world(world, tmp_path_factory.mktemp("bench") / "world")


def _rows(out: str) -> dict[tuple[int, str], list[str]]:
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 9 and parts[0].isdigit() and parts[1] in ("smart", "bfs"):
            rows[(int(parts[0]), parts[1])] = parts
    return rows


def test_bench_crawl_prints_both_policies_and_the_ratio(
        world_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "crawl", "--world", str(world_dir), "--seeds", "4",
                 "--budget", "3", "--budget", "8"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = _rows(out)
    assert set(rows) == {(3, "smart"), (3, "bfs"), (8, "smart"), (8, "bfs")}
    for (budget, _), parts in rows.items():
        follows, lookups, profiled, bots = (int(x) for x in parts[2:6])
        assert 1 <= follows <= budget
        assert lookups >= 1
        assert 4 <= bots <= profiled  # the 4 seeds are bots and are looked up
        assert float(parts[7]) == pytest.approx(bots / follows, abs=0.01)
        assert int(parts[8]) == 0  # no 429
    # A crawl only grows: the bigger budget finds at least as many bots.
    for policy in ("smart", "bfs"):
        assert int(rows[(8, policy)][5]) >= int(rows[(3, policy)][5])
    # Each budget's ratio line gives the oracle's ratio (a crawler that chose every
    # request knowing the labels) and the ceiling: every planted bot found, against bfs.
    oracle = {int(line.split()[0]): [int(x) for x in line.split()[2:3] + line.split()[5:6]]
              for line in out.splitlines()
              if line.split()[:2] and line.split()[0].isdigit() and line.split()[1] == "oracle"}
    assert set(oracle) == {3, 8}
    for budget, (spent, bots) in oracle.items():
        assert 1 <= spent <= budget
        assert bots >= 4
    assert oracle[8][1] >= oracle[3][1]
    ratio_lines = [line for line in out.splitlines()
                   if line.split()[:2] and line.split()[0].isdigit() and line.split()[1] == "ratio"]
    assert len(ratio_lines) == 2
    for line in ratio_lines:
        found = re.search(r"request: (\d+\.\d\d)x \(oracle \d+\.\d\dx; "
                          r"ceiling (\d+\.\d\d)x: all (\d+) planted", line)
        assert found, line
        assert float(found[1]) <= float(found[2]) + 0.01
        assert int(found[3]) >= int(rows[(int(line.split()[0]), "smart")][5])
    last = out.strip().splitlines()[-1]
    assert re.match(r"ratio smart/bfs bots per follows request: min \d+\.\d\dx", last), last
    assert "recall by network" in out and "flower-1" in out


def test_bench_crawl_bad_world_exits_2(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "world.json").write_text("{not json", encoding="utf-8")
    assert main(["bench", "crawl", "--world", str(tmp_path), "--budget", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("botsweep: error:") and "world.json" in err
    assert len(err.splitlines()) == 1
    assert main(["bench", "crawl", "--world", str(tmp_path / "missing")]) == 2


def test_bench_crawl_bad_policy_exits_2(world_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "crawl", "--world", str(world_dir), "--policy", "dfs"]) == 2
    assert "--policy" in capsys.readouterr().err


def test_seeds_are_planted_bots_and_fixed(world_dir: Path) -> None:
    from botsweep.sim.world import load_world

    world = load_world(world_dir)
    seeds = pick_seeds(world, 5, rng_seed=1)
    assert seeds == pick_seeds(world, 5, rng_seed=1)
    assert all(world.accounts[s]["_label"] == "bot" for s in seeds)
    assert all(world.state(s) == "active" for s in seeds)
    with pytest.raises(InputError, match="--seeds"):
        pick_seeds(world, 100_000)
