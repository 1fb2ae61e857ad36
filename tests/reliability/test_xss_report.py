"""Crawled strings carrying script payloads give a report that, in Chromium, runs none.

The payloads go into a world's profiles (name, bio, location, url, the bio's link
entities, and one username), are crawled through the sim and tweepy into the DB, and the
report is written by the CLI from the DB, so every step between the API and the page is
the real one.  Each payload, if it ran, would set ``window.__xss``.  The Chromium driver
set-up is the one in tests/viz/test_browser.py (skipped there, and so here, when Debian's
chromium and chromium-driver are absent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from botsweep.cli import main
from botsweep.sim.server import SimServer
from tests.reliability.kit import crawl_in_process, small_world, write_config
from tests.viz.test_browser import _errors, _open, _search, browser  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAYLOADS = {
    "name": '<img src=x onerror="window.__xss=1">',
    "description": ('<script>window.__xss=2</script> "><img src=x onerror=window.__xss=3> '
                    "href=javascript:window.__xss=13 </textarea></script><svg onload=x=1>"),
    "location": "\"'><svg onload=window.__xss=4>{{7*7}}${window.__xss=14}",
    "url": "javascript:window.__xss=5",
}
HOSTILE_USERNAME = "<b onmouseover=window.__xss=6>x"
ENTITY_URL = "javascript:window.__xss=7//<img src=x onerror=window.__xss=8>"


def _poison(record: dict[str, Any], username: str | None = None) -> None:
    record.update(PAYLOADS)
    record["entities"] = {"description": {"urls": [{
        "start": 0, "end": 8, "url": "https://t.co/xss", "expanded_url": ENTITY_URL,
        "display_url": "<img src=x onerror=window.__xss=9>"}]}}
    if username is not None:
        record["username"] = username


@pytest.fixture(scope="module")
def crawled_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    tmp = tmp_path_factory.mktemp("xss")
    world = small_world(accounts_n=250, seed=8)
    targets = list(world.seeds[:3])
    for n, uid in enumerate(targets):
        _poison(world.accounts[uid], HOSTILE_USERNAME if n == 0 else None)
    usernames = [str(world.accounts[uid]["username"]) for uid in targets]
    with SimServer(world, tokens=("sim-token",), rate_limits={"*": 1_000_000}) as url:
        crawl_in_process(world, tmp / "xss.db", url)
    config = write_config(tmp / "config.yaml", db=tmp / "xss.db", base_url=url)
    out = tmp / "report.html"
    code = main(["--config", str(config), "report", "--out", str(out),
                 "--title", "<script>window.__xss=10</script>"])
    assert code == 0
    return out, usernames


def test_the_report_html_carries_no_live_markup(crawled_report: tuple[Path, list[str]]
                                                ) -> None:
    html = crawled_report[0].read_text(encoding="utf-8")
    for needle in ("<img src=x", "<svg onload", "<script>window.__xss", "<b onmouseover"):
        assert needle not in html, needle


def test_crawled_payloads_show_as_text_and_never_run(
    browser: Any, crawled_report: tuple[Path, list[str]]  # noqa: F811
) -> None:
    path, usernames = crawled_report
    _open(browser, path)
    assert browser.execute_script("return document.title") == (
        "<script>window.__xss=10</script>")
    for username in usernames:
        _search(browser, username)
        text, live, links = browser.execute_script(
            "var d = document.getElementById('details');"
            "return [d.textContent, d.querySelectorAll('img,svg,script,iframe,b').length,"
            " Array.from(d.querySelectorAll('a')).map(function (a) { return a.href; })];")
        assert username in text
        assert PAYLOADS["name"] in text and PAYLOADS["location"] in text, text
        assert live == 0
        assert not any(link.lower().startswith("javascript:") for link in links), links
    live_attributes = browser.execute_script(
        "return document.querySelectorAll('[onerror],[onload],[onmouseover]').length")
    assert live_attributes == 0
    assert browser.execute_script("return window.__xss === undefined")
    assert _errors(browser) == []
