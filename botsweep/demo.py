"""``botsweep demo``: the whole product on a generated world, with no API key and no network.

It generates a small world with planted bot networks, serves it with the sim on a free
loopback port (time compressed, the real rate limits), seeds a dozen known bots as Patel
did, crawls until no work is left, scores, writes the report, and prints what it found
against the world's ground truth.
"""

from __future__ import annotations

import shlex
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy.engine import URL

from botsweep.config import Settings, load_settings
from botsweep.errors import InputError

__all__ = ["DemoResult", "run_demo", "check_out", "DEMO_TOKEN_ENV"]

DEMO_TOKEN_ENV = "BOTSWEEP_DEMO_TOKEN"
_TOKEN = "demo-token"  # the sim's token, not a secret: the config tells users to reuse it


@dataclass
class DemoResult:
    """What the demo did and found."""

    out: Path
    world_dir: Path
    database: Path
    report: Path | None
    seconds: float
    follows_requests: int
    lookup_requests: int
    rate_limited: int
    accounts: int
    profiled: int
    expanded: int
    coverage: float
    bots_in_world: int
    bots_found: int
    campaign_recall: dict[str, float]
    likely_bots: int
    likely_precision: float | None
    skipped: list[str] = field(default_factory=list)
    campaign: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        recall = ", ".join(f"{k} {v:.0%}" for k, v in sorted(self.campaign_recall.items()))
        precision = (f", {self.likely_precision:.0%} of them bots in truth"
                     if self.likely_precision is not None else "")
        out = [
            f"requests: {self.follows_requests} follows (followers/following pages), "
            f"{self.lookup_requests} profile lookups, {self.rate_limited} rate-limited (429)",
            f"accounts: {self.accounts} discovered, {self.profiled} profiled, "
            f"{self.expanded} expanded (coverage {self.coverage:.0%})",
            f"bots found: {self.bots_found} of the world's {self.bots_in_world} planted bots "
            f"profiled; recall by network: {recall}",
            f"likely bots (scored at or above the model's threshold): {self.likely_bots}"
            f"{precision}",
        ]
        if self.campaign is not None:
            c = self.campaign
            truth = (f", {c['precision']:.0%} of them in it in truth, {c['recall']:.0%} of its "
                     f"profiled members" if c["flagged"] else "")
            out.append(f"campaign model {c['name']} (learned from the 12 seeds): "
                       f"{c['flagged']} accounts flagged{truth}")
        if self.report is not None:
            out.append(f"report: {self.report}")
        out += [f"note: {item}" for item in self.skipped]
        out.append(f"database: {self.database} (try: botsweep --config "
                   f"{self.out / 'config.yaml'} status)")
        return out


_MARK = "# Written by `botsweep demo`"
_DB = "demo.db"
_OUTPUTS = ("config.yaml", _DB, f"{_DB}-wal", f"{_DB}-shm", "report.html", "world")


def check_out(out: Path) -> None:
    """Refuse ``out`` (InputError) unless it is new, empty or an earlier demo's.

    An earlier demo is known by the first line of the config.yaml it wrote.  The CLI calls
    this before it prints anything, so a refusal is the only line the user sees.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: not a directory")
    present = sorted(p.name for p in out.iterdir())
    if not present:
        return
    config = out / "config.yaml"
    earlier = config.is_file() and config.read_text(encoding="utf-8",
                                                    errors="replace").startswith(_MARK)
    from botsweep.storage.crawl_lock import lock_path

    foreign = [name for name in present
               if name not in _OUTPUTS and name != lock_path(out / _DB).name]
    if not earlier or foreign:
        listed = foreign or present
        shown = ", ".join(listed[:3]) + (", ..." if len(listed) > 3 else "")
        raise InputError(f"--out {out}: holds files that an earlier demo did not write "
                         f"({shown}); give a new or empty directory")


def _clear(out: Path) -> None:
    """Remove an earlier demo's files from ``out``; refuse a directory holding anything else,
    or one whose database a crawl (the restart steps in its config.yaml) is using."""
    from botsweep.storage.crawl_lock import hold_crawl_lock

    check_out(out)
    if not out.exists():
        return
    with hold_crawl_lock(out / _DB, "demo"):
        for name in _OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()


def _write_config(out: Path, db_path: Path, base_url: str, time_scale: float) -> Path:
    path = out / "config.yaml"
    port = urlsplit(base_url).port
    quote = shlex.quote
    comment = (
        f"{_MARK}: the demo's database. The sim it crawled has stopped; to crawl on,\n"
        "# serve the world again on the same port, then give the crawl the sim's token:\n"
        f"#   botsweep sim serve --world {quote(str(out / 'world'))} --port {port} "
        f"--token {_TOKEN} --time-scale {time_scale:g} &\n"
        f"#   export {DEMO_TOKEN_ENV}={_TOKEN}\n"
        f"#   botsweep --config {quote(str(path))} crawl\n"
    )
    settings = {  # safe_dump quotes what YAML would misread (a '#', a ': ')
        # URL-quoted: a '?' or '%' in the folder's name would name another file
        "database": {"url": URL.create("sqlite", database=str(db_path)).render_as_string()},
        "api": {"base_url": base_url, "bearer_token_env": [DEMO_TOKEN_ENV]},
        "report": {"out": str(out / "report.html")},
    }
    path.write_text(comment + yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def run_demo(
    out: Path,
    *,
    accounts: int = 3000,
    bot_networks: int = 3,
    rng_seed: int = 7,
    time_scale: float = 600.0,
    max_seconds: float = 75.0,
    on_engine: Callable[[Any], Any] | None = None,
    stop: threading.Event | None = None,
) -> DemoResult:
    """Run the demo into ``out`` (replacing an earlier demo there) and return its result.

    ``out`` must be new, empty or an earlier demo's: anything else raises InputError."""
    from botsweep.crawler.run import open_crawl
    from botsweep.crawler.source import XSource
    from botsweep.models.scorer import load_scorer
    from botsweep.seeding import AccountRef, add_seeds
    from botsweep.sim.generate import generate_world
    from botsweep.sim.server import SimServer
    from botsweep.sim.world import save_world
    from botsweep.status import coverage
    from botsweep.storage.db import Database

    started = time.monotonic()
    out = out.resolve()
    _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    world = generate_world(accounts=accounts, bot_networks=bot_networks, rng_seed=rng_seed)
    world_dir = out / "world"
    save_world(world, world_dir)
    db_path = out / _DB
    with SimServer(world, time_scale=time_scale, tokens=(_TOKEN,), rng_seed=rng_seed) as base_url:
        config_path = _write_config(out, db_path, base_url, time_scale)
        settings: Settings = load_settings(config_path)
        db = Database(settings.database)
        campaign = str(world.accounts[world.seeds[0]].get("_campaign") or "")
        add_seeds(db, [AccountRef(id=i) for i in world.seeds], label="bot",
                  campaign=campaign, source="demo")
        source = XSource({DEMO_TOKEN_ENV: _TOKEN}, base_url=base_url, timeout_s=5.0)
        scorer = load_scorer(settings)  # one model for the crawl, the rescore and the fit
        with open_crawl(settings, db, source=source, bot_model=scorer, stop=stop) as engine:
            if on_engine is not None:
                context = on_engine(engine)
                with context:
                    stats = engine.run(max_seconds=max_seconds)
            else:
                stats = engine.run(max_seconds=max_seconds)
        source.close()
    skipped: list[str] = []
    if stats.outcome == "time":
        skipped.append(f"the crawl stopped after {max_seconds:.0f} s with work left; the "
                       f"first lines of {shlex.quote(str(out / 'config.yaml'))} say how to "
                       "carry on (serve the world again, export the token, then crawl with "
                       "that config)")
    report_path, fit = _report(settings, db, scorer, out / "report.html", campaign, skipped)
    result = _summarise(db, world, stats, coverage, out, world_dir, db_path, report_path,
                        skipped, started, fit)
    db.dispose()
    return result


def _report(settings: Settings, db: Any, scorer: Any, path: Path, campaign: str,
            skipped: list[str]) -> tuple[Path, Any]:
    """Score what is new, fit the seeds' campaign model, and write the report."""
    from botsweep.campaign.store import fit_campaign
    from botsweep.errors import BotsweepError
    from botsweep.storage.scores import score_pending
    from botsweep.viz.graph import load_report_graph
    from botsweep.viz.report import build_report

    score_pending(db, scorer)
    fit = None
    if campaign:
        try:
            fit = fit_campaign(db, campaign, bot_scorer=scorer)
        except BotsweepError as exc:
            skipped.append(f"the campaign model for {campaign}: {exc}")
    graph = load_report_graph(db, campaign or None, config=path.parent / "config.yaml")
    build_report(graph, path, min_score=settings.report.min_score,
                 max_nodes=settings.report.max_nodes, title="botsweep demo")
    return path, fit


def _summarise(db: Any, world: Any, stats: Any, coverage: Any, out: Path, world_dir: Path,
               db_path: Path, report: Path | None, skipped: list[str],
               started: float, fit: Any) -> DemoResult:
    from sqlalchemy import select

    from botsweep.campaign.store import scorer_name
    from botsweep.storage.schema import accounts, meta, scores

    with db.connect() as conn:
        cov = coverage(conn)
        profiled = set(conn.execute(
            select(accounts.c.id).where(accounts.c.fetched_at.is_not(None))).scalars())
        threshold_rows = conn.execute(
            select(scores.c.account_id, scores.c.probability).where(scores.c.scorer == "bot")
        ).all()
        stored = conn.execute(
            select(meta.c.value).where(meta.c.key == "bot_threshold")).scalar()
        flagged = set() if fit is None else set(conn.execute(
            select(scores.c.account_id).where(scores.c.scorer == scorer_name(fit.model.name),
                                              scores.c.probability >= fit.model.threshold)
        ).scalars())
    threshold = float(stored) if stored is not None else 0.5
    truth = world.bots()
    likely = {aid for aid, p in threshold_rows if p >= threshold}
    recall = {
        name: len(profiled & set(members)) / len(members)
        for name, members in world.campaigns().items() if members
    }
    return DemoResult(
        out=out, world_dir=world_dir, database=db_path, report=report,
        seconds=time.monotonic() - started,
        follows_requests=stats.follows_requests, lookup_requests=stats.lookup_requests,
        rate_limited=stats.rate_limited, accounts=cov["discovered"], profiled=cov["profiled"],
        expanded=cov["expanded"], coverage=cov["ratio"], bots_in_world=len(truth),
        bots_found=len(truth & profiled), campaign_recall=recall, likely_bots=len(likely),
        likely_precision=(len(likely & truth) / len(likely)) if likely else None,
        skipped=skipped,
        campaign=None if fit is None else _campaign_truth(world, fit.model.name, flagged,
                                                          profiled),
    )


def _campaign_truth(world: Any, name: str, flagged: set[int],
                    profiled: set[int]) -> dict[str, Any]:
    """How the fitted campaign model's flags compare with the world's ground truth."""
    members = set(world.campaigns().get(name, ())) & profiled
    hits = len(flagged & members)
    return {"name": name, "flagged": len(flagged),
            "precision": hits / len(flagged) if flagged else 0.0,
            "recall": hits / len(members) if members else 0.0}
