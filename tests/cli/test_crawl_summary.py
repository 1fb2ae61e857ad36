"""The crawl's closing line counts faults as a researcher reads them, not as a Python dict."""

from __future__ import annotations

from botsweep.cli.cmd_crawl import _faults


def test_faults_are_a_total_with_each_kind() -> None:
    assert _faults({}) == "0"
    assert _faults({"timeout": 2, "reset": 5}) == "7 (reset 5, timeout 2)"
