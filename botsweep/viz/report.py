"""``build_report``: the crawled graph as one offline, self-contained HTML page.

The page is built on vis-network (the copy bundled with pyvis) with positions computed in
Python and physics off.  A large graph opens as an overview, one dot per Louvain cluster
sized like the cluster's disc; clicking a cluster expands it in place.  On a 22k-node
graph the first frame comes in well under a second of a static pyvis page's ~5 s
(``benchmarks/bench_report.py`` measures both).

The file is written to a temporary name beside ``out`` and renamed over it, so a reader
(or a scheduled rebuild) never sees half a report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from botsweep.atomic import replaced
from botsweep.errors import InputError, StorageError
from botsweep.viz.report_data import build_payload
from botsweep.viz.report_page import render_page

__all__ = ["ReportSummary", "build_report", "check_report_path", "render_report"]

log = logging.getLogger("botsweep.viz.report")


@dataclass
class ReportSummary:
    """What :func:`build_report` wrote."""

    nodes: int
    edges: int
    clusters: int
    path: Path
    seconds: float
    left_out: int = 0
    bots: int = 0

    def describe(self) -> str:
        """One line for the CLI and the logs."""
        extra = f", {self.left_out:,} left out" if self.left_out else ""
        counts = ", ".join(f"{n:,} {word if n == 1 else word + 's'}" for n, word in (
            (self.nodes, "account"), (self.edges, "follow"), (self.clusters, "cluster"),
            (self.bots, "likely bot")))
        return f"{counts}{extra}; built in {self.seconds:.1f}s"


def _check(min_score: float, max_nodes: int) -> None:
    if not 0.0 <= min_score <= 1.0:
        raise InputError(f"--min-score {min_score}: expected a probability between 0 and 1")
    if max_nodes < 1:
        raise InputError(f"--max-nodes {max_nodes}: expected a positive number of accounts")


def render_report(
    graph: nx.DiGraph, *, min_score: float = 0.0, max_nodes: int = 30_000,
    title: str = "botsweep report", expand_up_to: int = 2000,
) -> tuple[str, dict]:
    """The page as a string, and the payload it embeds (for tests and benchmarks)."""
    _check(min_score, max_nodes)
    payload = build_payload(graph, min_score=min_score, max_nodes=max_nodes, title=title,
                            expand_up_to=expand_up_to)
    return render_page(payload, title), payload


def check_report_path(out: Path, name: str = "report file") -> None:
    """InputError, naming the setting ``name`` that gave ``out``, unless a report can be
    written there: a file name (not a directory) in a folder that exists."""
    if out.is_dir():
        raise InputError(
            f"{name} {out}: is a directory; give a file name such as {out / 'report.html'}")
    if not out.parent.exists():
        raise InputError(f"{name} {out}: directory {out.parent} does not exist; create it first")


def build_report(
    graph: nx.DiGraph,
    out: Path,
    *,
    min_score: float = 0.0,
    max_nodes: int = 30_000,
    title: str = "botsweep report",
    expand_up_to: int = 2000,
) -> ReportSummary:
    """Write the report for ``graph`` to ``out`` and say what is in it.

    ``min_score`` leaves out accounts scored below it (unscored accounts and seeds stay);
    over ``max_nodes`` accounts, the seeds and the highest-scoring, best-connected ones
    are kept and the page says how many were left out.  A graph of at most
    ``expand_up_to`` accounts opens fully expanded.
    """
    started = time.perf_counter()
    out = Path(out)
    check_report_path(out)
    page, payload = render_report(graph, min_score=min_score, max_nodes=max_nodes, title=title,
                                  expand_up_to=expand_up_to)
    _write_atomically(out, page)
    meta = payload["meta"]
    summary = ReportSummary(
        nodes=meta["totals"]["accounts"], edges=meta["totals"]["follows"],
        clusters=meta["totals"]["clusters"], path=out, seconds=time.perf_counter() - started,
        left_out=sum(meta["left_out"].values()), bots=meta["totals"]["bots"],
    )
    log.info("report %s: %s", out, summary.describe())
    return summary


def _write_atomically(out: Path, text: str) -> None:
    with replaced(out, StorageError) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
