"""The campaign panel of the HTML report: fingerprint, flags, precision, review list, escaped."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from botsweep.campaign.report import report_panel
from botsweep.campaign.store import fit_campaign
from botsweep.viz.graph import load_graph
from botsweep.viz.report import build_report, render_report
from tests.campaign.synth import FakeBotScorer, build_db, population

HOSTILE_NAME = '<img src=x onerror="window.__xss=1">'
HOSTILE_BIO = '</script><script>window.__xss=2</script> chat with me'
HOSTILE_DOMAIN = 'x"onmouseover=__xss=3<b>.example'


def _hostile_db(tmp_path: Path) -> Any:
    people = population()
    pron = [aid for aid, (kind, _) in people.items() if kind == "pron"]
    for aid in pron[::2]:
        record = people[aid][1]
        record["name"] = HOSTILE_NAME
        record["description"] = HOSTILE_BIO + " https://t.co/abc"
        record["entities"] = {"description": {"urls": [
            {"start": 0, "end": 1, "url": "https://t.co/abc",
             "expanded_url": f"http://{HOSTILE_DOMAIN}/x", "display_url": "x"}]}}
    db = build_db(tmp_path, people, seeds=pron[:10])
    fit_campaign(db, "pron", bot_scorer=FakeBotScorer())
    return db, pron


def _report(db: Any, out: Path | None = None) -> tuple[str, dict]:
    graph = load_graph(db, campaign="pron")
    graph.graph.update(report_panel(db, "pron"))
    # Crawling no longer yields such a domain (it is no host name); the panel must still
    # show one as text, whatever a later change lets through.
    graph.graph["campaign"]["top_domains"].append([HOSTILE_DOMAIN, 0.01, 0.0])
    if out is not None:
        build_report(graph, out)
    return render_report(graph)


def test_campaign_panel_data_is_in_the_page_and_escaped(tmp_path: Path) -> None:
    db, pron = _hostile_db(tmp_path)
    page, payload = _report(db)
    panel = payload["meta"]["campaign"]
    assert panel["name"] == "pron"
    assert 30 <= panel["flagged"] <= len(pron)
    assert 0 < panel["precision"] <= 1 and "cross-validation" in panel["precision_source"]
    domains = [row[0] for row in panel["top_domains"]]
    assert "lovely42.example" in domains[:3]
    # a "host" holding quotes and markup is no host name: crawling gives no such domain
    assert [list(row) for row in report_panel(db, "pron")["campaign"]["top_domains"]] == [
        list(row) for row in panel["top_domains"][:-1]]
    assert domains[-1] == HOSTILE_DOMAIN
    assert any("chat with me" in row[0] for row in panel["top_phrases"])
    campaign_years = {int(y) for y, (share, _) in panel["years"].items() if share > 0}
    assert campaign_years <= {2011, 2012, 2013}
    review = payload["meta"]["review"]
    assert len(review) == 20
    assert all(r["command"].startswith(f"botsweep label {r['id']} --label bot --campaign pron")
               for r in review)
    assert all(r["reason"] for r in review)
    # Crawled strings never reach the page as markup.
    for raw in (HOSTILE_NAME, "<script>window.__xss", "<b>.example"):
        assert raw not in page
    embedded = page.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded)["meta"]["campaign"]["top_domains"] == panel["top_domains"]
    db.dispose()


def test_no_fitted_model_means_no_panel(tmp_path: Path) -> None:
    people = population()
    db = build_db(tmp_path, people)
    assert report_panel(db, "pron") == {}
    assert report_panel(db, None) == {}
    db.dispose()


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.mark.browser
def test_campaign_panel_renders_as_text_in_chromium(tmp_path: Path) -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver at /usr/bin/chromium and "
                    "/usr/bin/chromedriver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    db, _ = _hostile_db(tmp_path)
    out = tmp_path / "report.html"
    _, payload = _report(db, out)
    db.dispose()
    flagged_index = next(j for j, p in enumerate(payload["nodes"]["cp"]) if p and p >= 0.5)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--window-size=1300,850"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(out.as_uri())
        deadline = time.monotonic() + 30
        while not driver.execute_script("return document.documentElement.dataset.drawn === '1'"):
            assert time.monotonic() < deadline, "the report never drew"
            time.sleep(0.05)
        time.sleep(0.3)
        text, markup = driver.execute_script(
            "var s = document.getElementById('summary');"
            "return [s.textContent, s.querySelectorAll('img,script,b,svg').length];")
        assert "Campaign: pron" in text and "estimated precision" in text
        # the count says which stored score it counts, as status and export do
        assert re.search(r"flagged\s*\d+ \(campaign score ≥ 0\.50\)", text), text
        assert "lovely42.example" in text and HOSTILE_DOMAIN in text
        assert "botsweep label " in text and "--campaign pron" in text
        assert "--label human --campaign pron" in text
        assert markup == 0
        card = driver.execute_script(
            "window.botsweepReport.focusAccount(arguments[0]);"
            "return document.getElementById('details').textContent;", flagged_index)
        assert re.search(r"campaign score\s*\d\.\d\d \(flagged\)", card), card
        assert driver.execute_script("return window.__xss === undefined")
    finally:
        driver.quit()


def test_the_daemons_report_label_commands_name_its_config_file(tmp_path: Path) -> None:
    from botsweep.config import load_settings
    from botsweep.daemon_jobs import SUBPROCESS_JOBS

    db, _ = _hostile_db(tmp_path)
    out = tmp_path / "daemon-report.html"
    settings = load_settings(None, report={"out": str(out)}, crawler={"campaign": "pron"})
    config = tmp_path / "etc" / "botsweep.yaml"
    assert SUBPROCESS_JOBS["report"](settings, db, config).outcome == "ok"
    page = out.read_text(encoding="utf-8")
    review = json.loads(re.search(r'<script id="botsweep-data" type="application/json">(.*?)'
                                  r'</script>', page, re.S).group(1))["meta"]["review"]
    assert review and all(item["command"].startswith(f"botsweep --config {config} label ")
                          for item in review)
