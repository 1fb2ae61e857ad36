"""`generate_world(bot_share=...)` and `botsweep sim generate --bot-share`, as a user sees them."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

from botsweep.cli import main
from botsweep.errors import InputError
from botsweep.sim.generate import generate_world
from botsweep.sim.world import load_world, save_world

# sha256 over (file name, bytes) of the saved world below, drawn by the generator before the
# bot share existed (commit 25a2a78): the default worlds must stay byte for byte the same,
# because the demo, the realism test and the benchmarks' old figures rely on them.
_DEFAULT_WORLD_SHA = "4d151a3f287d080882ed3cd1287be72bbfa410a6a667a5a90d1eca53bd190949"


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for file in sorted(directory.iterdir()):
        h.update(file.name.encode())
        h.update(file.read_bytes())
    return h.hexdigest()


def test_default_world_is_unchanged(tmp_path: Path) -> None:
    world = generate_world(accounts=400, bot_networks=2, rng_seed=5, tweets_per_account=1)
    assert _digest(save_world(world, tmp_path / "w")) == _DEFAULT_WORLD_SHA
    same = generate_world(accounts=400, bot_networks=2, rng_seed=5, tweets_per_account=1,
                          bot_share=None)
    assert _digest(save_world(same, tmp_path / "n")) == _DEFAULT_WORLD_SHA


@pytest.mark.parametrize(("accounts", "networks", "share"),
                         [(4000, 3, 0.02), (6000, 6, 0.05), (3000, 1, 0.01)])
def test_share_is_honoured(accounts: int, networks: int, share: float) -> None:
    world = generate_world(accounts=accounts, bot_networks=networks, rng_seed=3,
                           bot_share=share)
    bots = len(world.bots())
    assert abs(bots / accounts - share) <= 0.05 * share, (bots, accounts, share)
    assert len(world.campaigns()) == networks and len(world.seeds) == 12
    assert f"bot share {share:g}" in world.description


def test_networks_keep_their_style_weights() -> None:
    world = generate_world(accounts=20000, bot_networks=3, rng_seed=2, bot_share=0.02)
    sizes = {name: len(members) for name, members in world.campaigns().items()}
    assert sizes["flower-1"] > sizes["farm-2"] > sizes["mimic-3"] >= 6
    # the weights are 1 : 0.7 : 0.25, each drawn with a +-20% spread
    assert 0.7 * 0.8 / 1.2 <= sizes["farm-2"] / sizes["flower-1"] <= 0.7 * 1.2 / 0.8
    # a default world of the same size has many more bots, and far fewer after the share
    default = generate_world(accounts=20000, bot_networks=3, rng_seed=2)
    assert len(default.bots()) > 4 * len(world.bots())


def test_fewer_humans_follow_bots_when_bots_are_few() -> None:
    """A bot keeps about as many human fans as in a default world, not 10x more."""
    def fans_per_bot(share: float | None) -> float:
        world = generate_world(accounts=6000, bot_networks=3, rng_seed=4, bot_share=share)
        bots = np.array(sorted(world.bots()), dtype=np.int64)
        leaves = np.array([i for i, r in world.accounts.items() if r["_role"] == "leaf"])
        by_human = ~np.isin(world.follower, bots)  # flower leaves: only hubs and fans follow
        return int(np.isin(world.followee[by_human], leaves).sum()) / leaves.shape[0]

    assert fans_per_bot(0.02) < 2.5 * fans_per_bot(None)


@pytest.mark.parametrize(("share", "networks", "message"), [
    (0.0, 3, "--bot-share 0 must be above 0 and at most 0.45"),
    (-0.1, 3, "--bot-share -0.1 must be above 0"),
    (0.6, 3, "--bot-share 0.6 must be above 0 and at most 0.45"),
    (math.nan, 3, "--bot-share nan must be above 0"),
    (0.001, 3, "below the mimic minimum of 6; use --bot-share 0.0117 or more"),
    (0.02, 0, "--bot-share 0.02 needs --bot-networks 1 or more"),
])
def test_bad_shares_are_refused(share: float, networks: int, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        generate_world(accounts=4000, bot_networks=networks, bot_share=share)


def test_cli_bot_share(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "generate", "--out", str(tmp_path / "w"), "--accounts", "3000",
                 "--bot-networks", "3", "--bot-share", "0.03", "--rng-seed", "1"]) == 0
    world = load_world(tmp_path / "w")
    assert abs(len(world.bots()) - 90) <= 5 and "bot share 0.03" in world.description
    capsys.readouterr()
    assert main(["sim", "generate", "--out", str(tmp_path / "x"), "--accounts", "3000",
                 "--bot-share", "0.001"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("botsweep: error: --bot-share 0.001 would give") and "\n" not in err
    assert not (tmp_path / "x").exists()
