"""``botsweep export``: the crawled graph as CSV (accounts.csv + edges.csv), GEXF or GraphML.

Columns follow FORMATS.md.  A value not computed yet is empty in CSV and absent from the
node in GEXF/GraphML (neither format has a null).  Names come from the accounts under
investigation, so a CSV text cell that a spreadsheet would run as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a CR) is written with a leading ``'``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import networkx as nx

from botsweep.atomic import replaced
from botsweep.errors import InputError, StorageError
from botsweep.storage.db import Database
from botsweep.viz.communities import detect_communities
from botsweep.viz.graph import only_campaign

__all__ = ["export_graph", "export_campaign", "campaign_threshold_note", "ACCOUNT_COLUMNS",
           "FORMATS"]

FORMATS = ("csv", "gexf", "graphml")
ACCOUNT_COLUMNS = (
    "id", "username", "name", "created_at", "followers_count", "following_count",
    "tweet_count", "state", "bot_probability", "campaign_probability", "community",
    "is_seed", "expanded",
)


# Characters XML 1.0 cannot carry at all (C0 controls but tab, newline and CR; surrogates;
# U+FFFE/U+FFFF).  A crawled display name may hold them; written raw, they make the whole
# GEXF/GraphML file unreadable, so each becomes U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell_safe(value: Any) -> Any:
    """A CSV cell that Excel or LibreOffice will show as text, never run as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _xml_safe(value: Any) -> Any:
    return _NOT_XML.sub("\ufffd", value) if isinstance(value, str) else value


def _rows(graph: nx.DiGraph, community: dict[int, int]) -> list[dict[str, Any]]:
    rows = []
    for node, data in graph.nodes(data=True):
        row: dict[str, Any] = {"id": str(node)}
        for column in ACCOUNT_COLUMNS[1:]:
            if column == "community":
                value: Any = community.get(node)
            elif column in ("is_seed", "expanded"):
                value = int(bool(data.get(column)))
            else:
                value = data.get(column)
            row[column] = value
        rows.append(row)
    return rows


def _fitted_epoch(db: Database, name: str) -> float:
    """When campaign ``name``'s model was fitted (0 if it does not say, or cannot be read)."""
    from botsweep.campaign.store import load_campaign_model
    from botsweep.errors import BotsweepError

    try:
        return float(load_campaign_model(db, name).meta.get("fitted_epoch") or 0.0)
    except (BotsweepError, ValueError, TypeError):
        return 0.0


def _unfitted(what: str, name: str) -> str:
    return (f"{what} has no fitted campaign model, so campaign_probability is empty; fit it "
            f"with `botsweep campaign fit --campaign {name}`")


def export_campaign(db: Database, given: str | None = None,
                    configured: str | None = None) -> tuple[str | None, str | None]:
    """The campaign whose probability fills ``campaign_probability``, and a note to show
    when it was picked among several.

    ``--campaign`` (it must have a fitted model), else ``crawler.campaign``, else the only
    campaign that seeds and labels name, else the only fitted campaign model, else the
    latest fitted of several (with the note saying so); None when no model was fitted.
    """
    from botsweep.campaign.store import campaign_names, fitted_campaigns

    fitted = fitted_campaigns(db)
    if given:
        if given not in fitted:
            known = f" (fitted: {', '.join(fitted)})" if fitted else ""
            raise InputError(f"--campaign {given!r}: no fitted campaign model of that name"
                             f"{known}; fit it with `botsweep campaign fit --campaign {given}`")
        return given, None
    if configured:
        if configured not in fitted:
            return configured, _unfitted(f"crawler.campaign {configured!r}", configured)
        return configured, None
    named = only_campaign(db)
    if named and named not in fitted:
        return named, _unfitted(f"campaign {named!r} (the only one seeds and labels name)", named)
    if not fitted and not named:
        several = campaign_names(db)
        if several:  # named by seeds or labels, none fitted: say why the column is empty
            return None, (f"campaigns {', '.join(several)} have no fitted campaign model, so "
                          "campaign_probability is empty; fit one with `botsweep campaign "
                          "fit --campaign NAME`")
    if named or not fitted:
        return named, None
    if len(fitted) == 1:
        return fitted[0], None
    latest = max(fitted, key=lambda name: _fitted_epoch(db, name))
    return latest, (f"campaign_probability is for campaign {latest}, the latest fitted of "
                    f"{', '.join(fitted)}; choose with --campaign NAME "
                    "(or crawler.campaign)")


def campaign_threshold_note(db: Database, name: str | None) -> str | None:
    """Where ``campaign_probability`` flags an account for campaign ``name``: the fitted
    model's threshold on its stored probability (what status counts); None when unfitted."""
    from botsweep.campaign.store import load_campaign_model
    from botsweep.errors import BotsweepError

    if not name:
        return None
    try:
        threshold = load_campaign_model(db, name).threshold
    except BotsweepError:  # no model of that name (or none a name can have), or unreadable
        return None
    return (f"campaign_probability is for campaign {name}; it flags an account at "
            f">= {threshold:.2f}, as status and the report count them")


def _make_dir(out: Path, path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot make the directory {path} "
                         f"({exc.strerror or exc})") from None


def export_graph(graph: nx.DiGraph, fmt: str, out: Path) -> list[Path]:
    """Write ``graph`` as ``fmt`` to ``out`` (a directory for csv, a file otherwise)."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    community = detect_communities(graph) if graph.number_of_nodes() else {}
    rows = _rows(graph, community)
    if fmt == "csv":
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out}: csv export writes a directory; this is a file")
        _make_dir(out, out)
        accounts_csv, edges_csv = out / "accounts.csv", out / "edges.csv"
        # both written in full before either replaces the last export: they stay a pair
        with replaced(accounts_csv, StorageError) as tmp_accounts:
            with tmp_accounts.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=ACCOUNT_COLUMNS)
                writer.writeheader()
                writer.writerows({k: _cell_safe(v) for k, v in r.items()} for r in rows)
            with replaced(edges_csv, StorageError) as tmp_edges, \
                    tmp_edges.open("w", newline="", encoding="utf-8") as handle:
                writer_ = csv.writer(handle)
                writer_.writerow(("follower_id", "followee_id"))
                writer_.writerows((str(a), str(b)) for a, b in graph.edges())
        return [accounts_csv, edges_csv]
    if out.is_dir():
        raise InputError(f"--out {out}: {fmt} export writes one file; this is a directory")
    _make_dir(out, out.parent)
    plain = nx.DiGraph()
    for row in rows:
        plain.add_node(
            row["id"], **{k: _xml_safe(v) for k, v in row.items() if v is not None and k != "id"}
        )
    plain.add_edges_from((str(a), str(b)) for a, b in graph.edges())
    with replaced(out, StorageError) as tmp:
        if fmt == "gexf":
            nx.write_gexf(plain, tmp)
        else:
            nx.write_graphml(plain, tmp)
    return [out]
