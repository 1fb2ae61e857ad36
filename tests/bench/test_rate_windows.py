"""The rate benchmark's arithmetic: windows rebuilt from call times as the sim opens them."""

from __future__ import annotations

from pathlib import Path

import pytest

from botsweep.bench.rate_bench import EndpointUse, RateResult, endpoint_use
from botsweep.cli import main


def _result(use: EndpointUse) -> RateResult:
    return RateResult(time_scale=15.0, window_s=60.0, limit=15,
                      use={"followers": use, "following": use},
                      rejected={"followers": 0, "following": 0}, lookups=0, edges=0,
                      outcome="time")


def test_calls_at_each_reset_use_the_whole_rate() -> None:
    # 15 calls at the start of each window; each window starts at the previous reset.
    sent = [w * 60.0 + i * 0.01 for w in range(3) for i in range(15)]
    use = endpoint_use(sent, 60.0, windows=3)
    assert use.per_window == [15, 15, 15]
    assert use.span_s == pytest.approx(180.0)
    assert use.gaps_s == [0.0, 0.0]
    assert _result(use).share() == pytest.approx(1.0)


def test_late_starts_and_unspent_calls_lower_the_share() -> None:
    # The second window opens 30 s after the first reset and only 10 calls are made in it.
    sent = [i * 0.01 for i in range(15)] + [90.0 + i * 0.01 for i in range(10)]
    use = endpoint_use(sent, 60.0, windows=2)
    assert use.per_window == [15, 10]
    assert use.gaps_s == [30.0]
    assert use.span_s == pytest.approx(150.0)  # reset of the second window: 90 + 60
    assert _result(use).share() == pytest.approx(25 / (15 * 150 / 60))


def test_only_the_first_windows_are_measured() -> None:
    sent = [w * 60.0 for w in range(6)]
    assert endpoint_use(sent, 60.0, windows=4).windows == 4
    assert endpoint_use([], 60.0, windows=4).windows == 0


def test_bench_rate_bad_input_exits_2(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "rate", "--world", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["bench", "rate", "--world", str(tmp_path), "--time-scale", "60"]) == 2
