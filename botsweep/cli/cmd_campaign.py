"""``botsweep campaign fit|show`` and ``botsweep review``: learn and check a campaign model.

Output is plain text (never rich markup): usernames and phrases come from the crawl.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from botsweep.cli.app import example, get_context
from botsweep.logs import plural
from botsweep.textsafe import printable

__all__ = ["register"]

campaign_app = typer.Typer(
    name="campaign",
    help="Learn one bot network's fingerprint from its seeds and labels, and score for it.",
    no_args_is_help=True,
    epilog=example("botsweep campaign fit --campaign pron\nbotsweep campaign show --campaign pron"),
    rich_markup_mode=None,
)

_CampaignOption = Annotated[
    str | None,
    typer.Option("--campaign", help="The campaign (default: crawler.campaign, else the only one)."),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _pct(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, int | float) else "-"


def _print_fit(summary: dict[str, Any]) -> None:
    training, metrics = summary["training"], summary["metrics"]
    name = summary["campaign"]
    typer.echo(f"campaign {name}: fitted {summary['version']}")
    others = training.get("labels_not_campaign", 0) + training.get("seeds_not_campaign", 0)
    typer.echo(
        f"  learned from {plural(training['positives'], 'campaign account')} "
        f"({plural(training['seeds'], 'seed')}, {plural(training['labels_bot'], 'label')}), "
        f"{plural(others, 'labelled outsider')} and "
        f"{plural(training['background'], 'background account')} the bot model scores as human"
    )
    threshold = summary["threshold"]
    typer.echo(f"  flagged means campaign_probability >= {threshold:.2f} (as stored, exported "
               "and counted by status and the report)")
    if metrics.get("cv_folds"):
        cut = f"{metrics['cut']:.2f}"
        moved = ("is the stored threshold" if cut == f"{threshold:.2f}"
                 else f"is shifted to {threshold:.2f}")
        typer.echo(
            f"  {metrics['cv_folds']}-fold cross-validation on the accounts it learned from: "
            f"precision {_pct(metrics['precision'])}, recall {_pct(metrics['recall'])} for that "
            f"flag (the best cut of the model's raw score, {cut}, {moved})")
        typer.echo("  (recall is of the labelled campaign accounts, not of the campaign in the "
                   "crawl; background accounts that belong to it unlabelled count against "
                   "precision: label what `review` lists to sharpen both)")
    else:
        typer.echo("  too few rows to cross-validate: label more accounts")
    if summary["scored"]:
        typer.echo(f"  scored {plural(summary['scored'], 'account')}: "
                   f"{summary['flagged']} flagged")
    if summary["fingerprint"]:
        learned = plural(training["positives"], "campaign account")
        typer.echo(f"  fingerprint (share of the {learned} it learned from): " + "; ".join(
            f"{printable(text)} ({_pct(share)})"
            for _, _, share, text in summary["fingerprint"][:6]))
    typer.echo(f"next: botsweep review --campaign {name}")


@campaign_app.command(
    "fit",
    epilog=example("botsweep campaign fit --campaign pron\n"
                   "botsweep label 1234 --label human --campaign pron && "
                   "botsweep campaign fit"),
)
def fit(
    ctx: typer.Context,
    campaign: _CampaignOption = None,
    score: Annotated[
        bool, typer.Option("--score/--no-score", help="Score every profiled account after.")
    ] = True,
    max_background: Annotated[
        int, typer.Option(min=0, help="At most this many background accounts (sampled).")
    ] = 20_000,
    as_json: _JsonOption = False,
) -> None:
    """Fit the campaign model from its bot seeds, your labels and the crawled background."""
    from botsweep.campaign.store import LazyBotScorer, fit_campaign, resolve_campaign

    app_ctx = get_context(ctx)
    settings = app_ctx.settings()
    db = app_ctx.db()
    name = resolve_campaign(db, campaign, settings.crawler.campaign)
    result = fit_campaign(db, name, bot_scorer=LazyBotScorer(settings), score=score,
                          max_background=max_background)
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_fit(summary)


@campaign_app.command(
    "show", epilog=example("botsweep campaign show --campaign pron\nbotsweep campaign show --json"),
)
def show(
    ctx: typer.Context,
    campaign: _CampaignOption = None,
    top: Annotated[int, typer.Option(min=1, max=100, help="Rows per list.")] = 10,
    as_json: _JsonOption = False,
) -> None:
    """Show the campaign's fingerprint (domains, phrases, creation years) against the background."""
    from botsweep.campaign.report import campaign_report_data, status_line
    from botsweep.campaign.store import resolve_campaign

    app_ctx = get_context(ctx)
    db = app_ctx.db()
    name = resolve_campaign(db, campaign, app_ctx.settings().crawler.campaign)
    data = campaign_report_data(db, name, top=top)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(status_line(data))
    _print_shares(data)


def _print_shares(data: dict[str, Any]) -> None:
    """The fingerprint table, saying which accounts each column's percentages are of."""
    sample = data["sample"]
    if data["flagged"]:
        group, column = plural(sample["flagged"], "flagged account"), "% of flagged"
    else:  # nothing scored yet: the report data compares the campaign's labelled bots
        group, column = (plural(sample["flagged"], "account") + " labelled bot in the "
                         "campaign (none is flagged yet)"), "% of labelled"
    typer.echo(f"shares of the {group}, beside those of the "
               f"{plural(sample['background'], 'background account')} (the bot model scores "
               "them as human and the campaign model does not flag them; `campaign fit` counts "
               "its background before flagging, less the labelled accounts):")
    typer.echo(f"  {'':<32} {column:>13} {'% of background':>16}")
    for title, rows in (("link domains", data["top_domains"]), ("phrases", data["top_phrases"])):
        typer.echo(f"{title}:")
        for key, share, background in rows:
            typer.echo(f"  {printable(key[:32]):<32} {share:>13.0%} {background:>16.0%}")
        if not rows:
            typer.echo("  (none stands out)")
    typer.echo("created:")
    for year, (share, background) in data["years"].items():
        if share or background >= 0.01:
            typer.echo(f"  {year:<32} {share:>13.0%} {background:>16.0%}")


def review(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", min=1, max=1000, help="How many accounts.")] = 20,
    campaign: _CampaignOption = None,
    as_json: _JsonOption = False,
) -> None:
    """List the accounts whose label would teach the campaign model most, with the reason."""
    from botsweep.campaign.review import review_candidates, with_config
    from botsweep.campaign.store import resolve_campaign

    app_ctx = get_context(ctx)
    db = app_ctx.db()
    name = resolve_campaign(db, campaign, app_ctx.settings().crawler.campaign)
    items = with_config(review_candidates(db, name, n), app_ctx.config_path)
    if as_json:
        typer.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    if not items:
        typer.echo(f"campaign {name}: nothing left to review")
        return
    these = "this account" if len(items) == 1 else f"these {len(items)} accounts"
    typer.echo(f"campaign {name}: label {these} (most useful first), "
               "then run `botsweep campaign fit` again")
    for item in items:
        who = f"@{printable(item['username'])}" if item["username"] else item["id"]
        typer.echo(f"\n{who} ({item['id']}): {printable(item['reason'])}")
        typer.echo(f"  {item['command']}")
        typer.echo(f"  {item['human_command']}")


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app)
    app.command(
        epilog=example("botsweep review --n 20 --campaign pron\nbotsweep review --json"),
    )(review)
