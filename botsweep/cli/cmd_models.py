"""``botsweep train``, ``botsweep evaluate`` and ``botsweep score``: the bot model's commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from botsweep.cli.app import example, get_context
from botsweep.logs import plural

if TYPE_CHECKING:
    from botsweep.models.dataset import LabelledData
    from botsweep.models.extra import ExtraData
    from botsweep.models.train import CVResult

__all__ = ["register"]

DataOption = Annotated[
    list[Path],
    typer.Option("--data", metavar="PATH",
                 help="A labelled .jsonl[.gz] profile file, or a directory of them. "
                      "Repeat for several."),
]
FoldsOption = Annotated[int, typer.Option("--folds", help="Cross-validation folds.")]
WeightingOption = Annotated[
    str,
    typer.Option("--weighting",
                 help="dataset: each dataset weighs sqrt(size), classes balanced within it; "
                      "none: every account counts once."),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", metavar="FEATURE",
                 help="Leave a feature out (repeat), e.g. --exclude like_count."),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed for folds and trees.")]
BoostersOption = Annotated[
    int | None,
    typer.Option("--boosters",
                 help="Boosters with different bagging seeds, averaged into the model: less "
                      "variance, that many times the predict time. Default: 4 below 10,000 "
                      "accounts, else 1."),
]


ExtraDataOption = Annotated[
    list[Path] | None,
    typer.Option("--extra-data", metavar="PATH",
                 help="Other labelled profiles (file or directory; repeat) that join every "
                      "training part but never the folds, the threshold or the figures: "
                      "they help a small --data set without imposing their idea of a bot."),
]
ExtraWeightOption = Annotated[
    float | None,
    typer.Option("--extra-weight", show_default=False,
                 help="The --extra-data accounts' total weight, as a share of --data's "
                      "(default 0.05)."),
]


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _check_options(folds: int, weighting: str, exclude: list[str] | None,
                   boosters: int | None = None, extra_weight: float | None = None) -> None:
    """Refuse bad options before the data is read (reading it can take a while), with the
    checks that training itself makes."""
    from botsweep.models.dataset import check_weighting
    from botsweep.models.ensemble import choose_boosters
    from botsweep.models.extra import check_extra_weight
    from botsweep.models.train import check_folds, select_features

    check_folds(folds)
    check_weighting(weighting)
    select_features(exclude or [])
    choose_boosters(boosters, 0)
    if extra_weight is not None:
        check_extra_weight(extra_weight)


def _load(data: list[Path]) -> LabelledData:
    from botsweep.errors import InputError
    from botsweep.models.dataset import load_labelled

    if not data:
        raise InputError("--data is required: a labelled .jsonl[.gz] file or a directory")
    labelled = load_labelled(data)
    for line in _load_summary(labelled.summary):
        _say(line)
    return labelled


def _load_summary(summary: dict[str, Any]) -> list[str]:
    """What ``load_labelled`` kept, and what it left out and why, in one or two lines."""
    repeats = summary.get("repeats_dropped_from") or {}
    where = ", ".join(f"{name}: {count}" for name, count in sorted(repeats.items()))
    lines = [
        f"{plural(summary['accounts'], 'account')} ({plural(summary['bots'], 'bot')}, "
        f"{plural(summary['humans'], 'human')}) in {plural(len(summary['datasets']), 'dataset')}"
        f"; {plural(summary.get('repeated_ids', 0), 'repeated id')} kept once"
        + (f" (first copy kept; later copies dropped from {where})" if where else "")
        + f"; {plural(summary['dropped_conflicting_ids'], 'id')} dropped for conflicting labels"
    ]
    files = summary.get("unlabelled_files") or []
    if files:
        lines.append(f"skipped {plural(len(files), 'file')} without a labelled record "
                     f"(\"_label\": \"bot\" or \"human\"): {', '.join(files)}")
    return lines


def _extra(labelled: LabelledData, paths: list[Path] | None,
           weight: float | None) -> ExtraData | None:
    from botsweep.errors import InputError
    from botsweep.models.dataset import load_labelled
    from botsweep.models.extra import DEFAULT_EXTRA_WEIGHT, prepare_extra

    if not paths:
        if weight is not None:
            raise InputError("--extra-weight needs --extra-data")
        return None
    weight = DEFAULT_EXTRA_WEIGHT if weight is None else weight
    extra = prepare_extra(labelled, load_labelled(paths), weight)
    _say(f"extra data: {plural(len(extra.data), 'account')} in "
         f"{plural(len(extra.data.dataset_names()), 'dataset')}, weighing {weight:g} x --data "
         f"in all; {extra.dropped} dropped as already in --data")
    return extra


def _cv(labelled: LabelledData, folds: int, weighting: str, exclude: list[str] | None,
        seed: int, boosters: int | None = None, extra: ExtraData | None = None) -> CVResult:
    from botsweep.models.metrics import markdown_table
    from botsweep.models.train import cross_validate, select_features

    features = select_features(exclude or [])
    cv = cross_validate(labelled, features=features, folds=folds, weighting=weighting, seed=seed,
                        progress=_say, boosters=boosters, extra=extra)
    typer.echo(f"\n{folds}-fold cross-validation (out-of-fold, threshold cross-fitted):\n")
    typer.echo(markdown_table(cv.metrics))
    return cv


def _top_features(importance: dict[str, Any], count: int = 10) -> str:
    return ", ".join(f"{name} {share:.1%}" for name, share in list(importance.items())[:count])


def train(
    data: DataOption = [],  # noqa: B006 (typer reads the default, never mutates it)
    out: Annotated[Path, typer.Option("--out", dir_okay=False,
                                      help="Where to write the model file (JSON).")] =
    Path("model.json"),
    folds: FoldsOption = 5,
    weighting: WeightingOption = "dataset",
    exclude: ExcludeOption = None,
    seed: SeedOption = 0,
    boosters: BoostersOption = None,
    extra_data: ExtraDataOption = None,
    extra_weight: ExtraWeightOption = None,
) -> None:
    """Train a LightGBM bot model: k-fold CV table per dataset, calibration, threshold, file."""
    from botsweep.errors import InputError
    from botsweep.models.train import train_model

    if not out.parent.exists():
        raise InputError(f"--out {out}: directory {out.parent} does not exist; create it first")
    _check_options(folds, weighting, exclude, boosters, extra_weight)
    labelled = _load(data)
    extra = _extra(labelled, extra_data, extra_weight)
    cv = _cv(labelled, folds, weighting, exclude, seed, boosters, extra)
    scorer, _ = train_model(labelled, folds=folds, weighting=weighting, seed=seed, cv=cv)
    scorer.save(out)
    typer.echo(f"\nthreshold {scorer.threshold:.4f} (maximises balanced accuracy, out-of-fold)")
    typer.echo(f"top features by gain: {_top_features(scorer.meta['feature_importance_gain'])}")
    typer.echo(f"wrote {out} ({scorer.version}, {out.stat().st_size / 1e6:.1f} MB)")


def evaluate(
    data: DataOption = [],  # noqa: B006
    folds: FoldsOption = 5,
    weighting: WeightingOption = "dataset",
    exclude: ExcludeOption = None,
    seed: SeedOption = 0,
) -> None:
    """Cross-validate per dataset, then leave each dataset out in turn (generalisation)."""
    from botsweep.models.evaluate import check_datasets, leave_one_dataset_out
    from botsweep.models.metrics import markdown_table
    from botsweep.models.train import select_features

    _check_options(folds, weighting, exclude)
    labelled = _load(data)
    check_datasets(labelled)
    _cv(labelled, folds, weighting, exclude, seed)
    lodo = leave_one_dataset_out(labelled, features=select_features(exclude or []),
                                 weighting=weighting, seed=seed, progress=_say)
    typer.echo("\nLeave-one-dataset-out (trained on the other datasets, threshold from them):\n")
    typer.echo(markdown_table(lodo.rows, first="held out"))


def score(
    ctx: typer.Context,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", dir_okay=False,
                     help="Score this .jsonl[.gz] profile file instead of the database. "
                          "One row per id: a line repeating an earlier record exactly is "
                          "skipped; the same id with other fields is refused (exit 2)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", dir_okay=False,
                     help="The CSV to write with --input: id,bot_probability,label,"
                          "display_score."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", dir_okay=False,
                     help="A model file (default: scorer.model in the config, else the "
                          "shipped model)."),
    ] = None,
) -> None:
    """Score accounts: new or changed profiles in the database, or a profile file."""
    from botsweep.errors import InputError
    from botsweep.models.scorer import BotScorer, load_scorer

    if (input_path is None) != (output is None):
        raise InputError("--input and --output go together: "
                         "botsweep score --input FILE.jsonl.gz --output FILE.csv")
    app_ctx = get_context(ctx)
    if model is not None:
        if not model.is_file():
            raise InputError(f"--model {model}: no such file")
        scorer = BotScorer.load(model)
    else:
        scorer = load_scorer(app_ctx.settings())
    if input_path is not None and output is not None:
        from botsweep.models.scorefile import missing_warning, score_file

        result = score_file(scorer, input_path, output)
        typer.echo(f"scored {plural(result['scored'], 'account')} ({result['bots']} labelled "
                   f"bot at threshold {scorer.threshold:.4f}) with {scorer.version}; "
                   f"wrote {output}")
        if result["repeated"]:
            typer.echo(f"skipped {plural(result['repeated'], 'line')} repeating an earlier "
                       "line's record exactly: one row per id")
        warning = missing_warning(scorer, result["missing_counts"], result["scored"])
        if warning:
            typer.echo(warning, err=True)
        return
    from botsweep.storage.scores import score_pending

    scored = score_pending(app_ctx.db(), scorer)
    typer.echo(f"scored {plural(scored, 'new or changed account')} with {scorer.version}")


def register(app: typer.Typer) -> None:
    app.command(epilog=example(
        "botsweep train --data ../shared/data/profiles --out model.json\n"
        "botsweep train --data mine.jsonl.gz --data theirs.jsonl.gz --exclude like_count\n"
        "botsweep train --data mine.jsonl.gz --extra-data ../shared/data/profiles"
    ))(train)
    app.command(epilog=example(
        "botsweep evaluate --data ../shared/data/profiles\n"
        "botsweep evaluate --data a.jsonl.gz --data b.jsonl.gz --weighting none"
    ))(evaluate)
    app.command(epilog=example(
        "botsweep score\n"
        "botsweep score --input profiles.jsonl.gz --output scores.csv"
    ))(score)
