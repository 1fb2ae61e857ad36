"""The counters of one crawl run, as listeners (progress, logs, the runs table) see them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["CrawlStats", "describe_crawl"]


@dataclass
class CrawlStats:
    """Counters of one run; a snapshot is sent to listeners after every step."""

    follows_requests: int = 0
    lookup_requests: int = 0
    resolve_requests: int = 0
    pages: int = 0
    edges: int = 0
    profiled: int = 0
    likely_bots: int = 0
    rate_limited: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    failed_tasks: int = 0
    skipped_tasks: int = 0
    waiting_until: float | None = None
    outcome: str = "running"

    def fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def describe_crawl(stats: CrawlStats) -> str:
    """One line summing up a crawl tick's counters (the daemon's job log)."""
    text = (f"{stats.follows_requests} follows requests, {stats.lookup_requests} lookups, "
            f"{stats.pages} pages, {stats.edges} edges, {stats.profiled} profiled, "
            f"{stats.likely_bots} likely bots")
    if stats.rate_limited:
        text += f", {stats.rate_limited} 429s"
    if stats.faults:
        text += ", faults " + ", ".join(f"{k} {v}" for k, v in sorted(stats.faults.items()))
    if stats.failed_tasks:
        text += f", {stats.failed_tasks} failed tasks"
    return text
