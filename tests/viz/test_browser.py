"""The report in headless Chromium: it draws, it is not blank, no JS errors, no XSS.

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver);
skipped with that reason where they are absent.  Nothing here touches the network: the
page is opened from file://.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botsweep.viz.report import build_report
from botsweep.viz.synthetic import XSS_PAYLOADS, XSS_USERNAMES, flower_graph

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1300,850")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver at /usr/bin/chromium and "
                    "/usr/bin/chromedriver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def overview_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    summary = build_report(flower_graph(4000, 3700, seed=2, xss=True), path)
    return path, summary.clusters


def _open(driver: Any, path: Path) -> None:
    driver.get("about:blank")
    driver.get_log("browser")  # start with an empty console
    driver.get(path.as_uri())
    deadline = time.monotonic() + 30
    while not driver.execute_script("return document.documentElement.dataset.drawn === '1'"):
        assert time.monotonic() < deadline, "the network never drew"
        time.sleep(0.05)
    time.sleep(0.2)  # the panels are filled just after the first frame


def _errors(driver: Any) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _coloured_pixels_in_network(driver: Any) -> int:
    """Decode a real screenshot in the browser; count saturated pixels over the network."""
    shot = driver.get_screenshot_as_base64()
    box = driver.execute_script(
        "var r = document.getElementById('network').getBoundingClientRect(),"
        " l = document.getElementById('legend').getBoundingClientRect();"
        "return [r.left, r.top, r.width, l.top - r.top, window.devicePixelRatio];")
    return driver.execute_async_script(
        """
        var done = arguments[arguments.length - 1], box = arguments[1], img = new Image();
        img.onload = function () {
          var ratio = box[4], c = document.createElement('canvas');
          c.width = img.width; c.height = img.height;
          var ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
          var d = ctx.getImageData(box[0] * ratio, box[1] * ratio,
                                   box[2] * ratio, box[3] * ratio).data;
          var count = 0;
          for (var i = 0; i < d.length; i += 4) {
            var hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
            if (hi - lo > 60) count++;
          }
          done(count);
        };
        img.onerror = function () { done(-1); };
        img.src = 'data:image/png;base64,' + arguments[0];
        """,
        shot, box,
    )


def _search(driver: Any, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys(username, Keys.ENTER)


def test_overview_draws_every_cluster_without_errors(browser: Any, overview_page) -> None:
    path, clusters = overview_page
    _open(browser, path)
    counts = browser.execute_script("return window.botsweepReport.counts()")
    assert counts["nodes"] == clusters  # one dot per cluster, all drawn in the first frame
    assert _coloured_pixels_in_network(browser) > 2000, "the network area is blank"
    assert _errors(browser) == []
    headline = browser.execute_script("return document.getElementById('headline').textContent")
    assert "4,000 accounts" in headline
    rows = browser.execute_script("return document.querySelectorAll('#summary tbody tr').length")
    assert rows >= 10  # the cluster table (and the review table) are filled


def test_xss_payloads_show_as_text_and_never_run(browser: Any, overview_page) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    path, _ = overview_page
    _open(browser, path)
    for username in XSS_USERNAMES:
        _search(browser, username)
        details = browser.execute_script(
            "var d = document.getElementById('details');"
            "return [d.textContent, d.querySelectorAll('img,svg,script,iframe').length,"
            " Array.from(d.querySelectorAll('a')).map(function (a) { return a.href; })];")
        assert XSS_PAYLOADS["name"] in details[0]
        assert XSS_PAYLOADS["description"] in details[0]
        assert XSS_PAYLOADS["location"] in details[0] and XSS_PAYLOADS["url"] in details[0]
        assert details[1] == 0
        assert details[2] == [f"https://x.com/{username}"]  # javascript: is not a link
    # hover the account's node: the card shows the same strings as text
    index = browser.execute_script(
        "return JSON.parse(document.getElementById('botsweep-data').textContent)"
        ".nodes.u.indexOf(arguments[0])", XSS_USERNAMES[0])
    browser.execute_script("window.botsweepReport.focusAccount(arguments[0])", index)
    spot = browser.execute_script("return window.botsweepReport.domPosition(arguments[0])",
                                  f"n{index}")
    ActionChains(browser).move_by_offset(0, 0).perform()
    body = browser.find_element("tag name", "body")
    ActionChains(browser).move_to_element_with_offset(
        body, int(spot["x"] - body.rect["width"] / 2), int(spot["y"] - body.rect["height"] / 2)
    ).perform()
    deadline = time.monotonic() + 5
    while browser.execute_script("return document.getElementById('card').hidden"):
        assert time.monotonic() < deadline, "no hover card"
        time.sleep(0.05)
    card = browser.execute_script(
        "var c = document.getElementById('card');"
        "return [c.textContent, c.querySelectorAll('img,svg,script,a').length];")
    assert XSS_PAYLOADS["name"] in card[0] and card[1] == 0
    assert browser.execute_script("return window.__xss === undefined")
    assert _errors(browser) == []


def test_clicking_a_cluster_expands_it(browser: Any, overview_page) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    path, clusters = overview_page
    _open(browser, path)
    data = json.loads(browser.execute_script(
        "return document.getElementById('botsweep-data').textContent"))
    biggest = data["clusters"][0]
    spot = browser.execute_script("return window.botsweepReport.domPosition('c0')")
    body = browser.find_element("tag name", "body")
    ActionChains(browser).move_to_element_with_offset(
        body, int(spot["x"] - body.rect["width"] / 2), int(spot["y"] - body.rect["height"] / 2)
    ).click().perform()
    counts = browser.execute_script("return window.botsweepReport.counts()")
    assert counts["nodes"] == clusters - 1 + biggest["size"]
    details = browser.execute_script("return document.getElementById('details').textContent")
    assert "C1" in details and f"{biggest['size']:,}" in details
    assert _errors(browser) == []


def test_score_filter_and_cluster_picker(browser: Any, overview_page) -> None:
    path, _ = overview_page
    _open(browser, path)
    browser.execute_script(
        "var s = document.getElementById('threshold'); s.value = '0.9';"
        "s.dispatchEvent(new Event('input'));")
    deadline = time.monotonic() + 5
    status = ""
    while "score ≥ 0.90" not in status:
        assert time.monotonic() < deadline, f"filter not applied: {status!r}"
        time.sleep(0.05)
        status = browser.execute_script("return document.getElementById('status').textContent")
    browser.execute_script(
        "var p = document.getElementById('picker'); p.value = '1';"
        "p.dispatchEvent(new Event('change'));")
    status = browser.execute_script("return document.getElementById('status').textContent")
    assert status.startswith("1 of ")  # the picked cluster is expanded
    assert _errors(browser) == []


def test_a_small_graph_opens_expanded(browser: Any, tmp_path: Path) -> None:
    summary = build_report(flower_graph(300, 280, seed=9), tmp_path / "small.html")
    _open(browser, tmp_path / "small.html")
    assert browser.execute_script("return window.botsweepReport.counts()")["nodes"] == 300
    assert summary.nodes == 300
    assert _coloured_pixels_in_network(browser) > 500
    assert _errors(browser) == []
