"""The crawl's closing line counts faults as a researcher reads them, not as a Python dict."""

from __future__ import annotations

import pytest

from botsweep.cli.cmd_crawl import _faults


def test_faults_are_a_total_with_each_kind() -> None:
    assert _faults({}) == "0"
    assert _faults({"timeout": 2, "reset": 5}) == "7 (reset 5, timeout 2)"


def test_counts_of_one_are_singular() -> None:
    from botsweep.logs import plural as _n  # what the crawl's closing line counts with

    assert (_n(1, "handle lookup"), _n(0, "page"), _n(2, "page")) == (
        "1 handle lookup", "0 pages", "2 pages")


def test_no_progress_line_when_the_output_is_not_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    from botsweep.cli.cmd_crawl import progress_display

    with progress_display(object(), True):  # type: ignore[arg-type]
        pass  # the engine is never touched when no line is drawn
    assert capsys.readouterr() == ("", "")
