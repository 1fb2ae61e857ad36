"""Benchmark: report build time and time to first frame in headless Chromium.

Builds the report for a synthetic flower graph (default 22k accounts, 20k follows) and
opens it, and the same graph as pyvis pages, from file:// in headless Chromium:

- botsweep overview: our page as shipped (one dot per cluster; expand on click);
- botsweep expanded: our page drawing every account at once (the alternative);
- pyvis static: pyvis 0.3.2, physics off, the same positions (the baseline);
- pyvis defaults: pyvis 0.3.2 with its defaults, physics on (``--skip-physics`` skips it;
  it is given ``--physics-wait`` seconds, 120 by default, and usually draws nothing).

"First frame" is ``performance.now()`` (from navigation start) at the first vis-network
``afterDrawing``.  Our page records it itself, after setting the view and the data, so its
first frame shows every cluster.  The pyvis pages are measured by wrapping
``vis.Network.prototype.emit`` in a script added to their <head>; their first frame is
drawn before vis-network's own ``fit``, which if anything flatters pyvis.

Usage:  python benchmarks/bench_report.py [--nodes 22000] [--edges 20000] [--runs 3]
                                          [--skip-physics] [--keep DIR]
Ends with one line: pyvis static first frame / botsweep first frame (same run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from botsweep.viz.report import build_report, render_report
from botsweep.viz.synthetic import flower_graph

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
_HOOK = (
    "<script>(function(){var emit=vis.Network.prototype.emit;"
    "vis.Network.prototype.emit=function(name){if(name==='afterDrawing'&&!window.__firstFrame)"
    "{window.__firstFrame=performance.now();}return emit.apply(this,arguments);};})();</script>"
)


def _driver(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _pyvis_page(payload: dict[str, Any], path: Path, *, physics: bool) -> float:
    """Write a pyvis page of the same graph; return its build time in seconds."""
    from pyvis.network import Network

    started = time.perf_counter()
    cols = payload["nodes"]
    net = Network(height="900px", width="100%", directed=True, cdn_resources="in_line")
    if not physics:
        net.toggle_physics(False)
    for i, node_id in enumerate(cols["id"]):
        score = cols["s"][i]
        node = {"id": node_id, "label": cols["u"][i] or node_id, "shape": "dot", "size": 8,
                "title": f"{cols['u'][i]} score {score}",
                "color": "#d12f2f" if score is not None and score >= 0.5 else "#2e9d4a"}
        if not physics:
            node.update(x=cols["x"][i], y=cols["y"][i])
        net.nodes.append(node)  # add_node is quadratic (DESIGN.md): fill the list directly
    edges = payload["edges"]
    net.edges.extend({"from": cols["id"][edges[j]], "to": cols["id"][edges[j + 1]], "arrows": "to"}
                     for j in range(0, len(edges), 2))
    html = net.generate_html().replace("</head>", _HOOK + "</head>", 1)
    path.write_text(html, encoding="utf-8")  # write_html has no encoding (DESIGN.md)
    return time.perf_counter() - started


def _first_frame(driver: Any, path: Path, variable: str, wait_s: float) -> float | None:
    driver.get("about:blank")
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return window.{variable} || null")
        if value:
            return float(value)
        time.sleep(0.05)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=22_000)
    parser.add_argument("--edges", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-physics", action="store_true", help="skip pyvis with physics on")
    parser.add_argument("--physics-wait", type=float, default=120.0)
    parser.add_argument("--keep", type=Path, help="write the pages here and keep them")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    graph = flower_graph(args.nodes, args.edges, seed=0)
    pages: dict[str, Path] = {}
    build: dict[str, list[float]] = {}
    for _ in range(args.runs):
        pages["botsweep overview"] = work / "botsweep.html"
        summary = build_report(graph, pages["botsweep overview"])
        build.setdefault("botsweep overview", []).append(summary.seconds)
        pages["botsweep expanded"] = work / "botsweep-expanded.html"
        summary = build_report(graph, pages["botsweep expanded"], expand_up_to=args.nodes)
        build.setdefault("botsweep expanded", []).append(summary.seconds)
    _, payload = render_report(graph)
    pages["pyvis static"] = work / "pyvis-static.html"
    build["pyvis static"] = [_pyvis_page(payload, pages["pyvis static"], physics=False)
                             for _ in range(args.runs)]
    if not args.skip_physics:
        pages["pyvis defaults"] = work / "pyvis-defaults.html"
        build["pyvis defaults"] = [_pyvis_page(payload, pages["pyvis defaults"], physics=True)]

    frames: dict[str, list[float | None]] = {name: [] for name in pages}
    profile = Path(tempfile.mkdtemp(prefix="bench-chromium-"))
    driver = _driver(profile)
    try:
        for run in range(args.runs):
            names = [n for n in pages if n != "pyvis defaults"]
            for name in names if run % 2 == 0 else reversed(names):
                variable = "botsweepFirstFrame" if name.startswith("botsweep") else "__firstFrame"
                frames[name].append(_first_frame(driver, pages[name], variable, 60.0))
        if "pyvis defaults" in pages:
            frames["pyvis defaults"].append(
                _first_frame(driver, pages["pyvis defaults"], "__firstFrame", args.physics_wait))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

    print(f"graph: {graph.number_of_nodes():,} accounts, {graph.number_of_edges():,} follows; "
          f"{args.runs} runs, medians; Chromium headless 1400x900")
    print(f"{'page':<20} {'build s':>8} {'size MB':>8} {'first frame s':>14}  runs (s)")
    medians: dict[str, float | None] = {}
    for name, path in pages.items():
        done = [f for f in frames[name] if f is not None]
        medians[name] = statistics.median(done) / 1000 if len(done) == len(frames[name]) else None
        shown = f"{medians[name]:.2f}" if medians[name] is not None else "none drawn"
        runs = ", ".join("-" if f is None else f"{f / 1000:.2f}" for f in frames[name])
        print(f"{name:<20} {statistics.median(build[name]):>8.2f} "
              f"{path.stat().st_size / 1e6:>8.1f} {shown:>14}  {runs}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    ours, theirs = medians["botsweep overview"], medians["pyvis static"]
    if ours and theirs:
        print(f"ratio: pyvis static first frame / botsweep first frame = {theirs / ours:.2f}x "
              f"({theirs:.2f} s vs {ours:.2f} s)")
    else:
        print("ratio: unavailable (a page did not draw)")


if __name__ == "__main__":
    main()
