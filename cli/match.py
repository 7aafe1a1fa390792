"""`skuflow match train|score` and `skuflow dedupe`: matching on plain CSV files, no store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.console import console

app = typer.Typer(
    no_args_is_help=True,
    help="Train a pair model on labelled pairs, or score a pair file.",
)


def _columns(value: str) -> list[str]:
    columns = [c.strip() for c in value.split(",") if c.strip()]
    if not columns:
        raise typer.BadParameter("give at least one column")
    return columns


@app.command()
def train(
    pairs: Annotated[
        Path,
        typer.Option(
            "--pairs",
            help="Labelled pairs CSV: pair_id,label, then <name>_left / <name>_right columns.",
        ),
    ],
    model: Annotated[Path, typer.Option("--model", help="Where to save the model.")],
    seed: Annotated[int, typer.Option(help="Seed for folds and trees.")] = 0,
) -> None:
    """Train a calibrated pair model (held-out folds) and save it to MODEL."""
    from matching.files import train_from_pairs
    from matching.model import TrainParams

    summary = train_from_pairs(pairs_path=pairs, model_path=model, params=TrainParams(seed=seed))
    folds = "held-out products" if summary.folds_by == "product" else "held-out pairs"
    candidates = (
        f" Dedupes are scored by trees that also learned from {summary.candidate_pairs} "
        "blocking candidates among the file's records, labelled by product."
        if summary.candidate_pairs
        else ""
    )
    merging = (
        f"{candidates} Clustering merges at {summary.cluster_threshold:.2f} (pairwise F1 "
        f"{summary.cv_cluster_f1:.3f} deduping held-out products)."
        if summary.cluster_threshold is not None and summary.cv_cluster_f1 is not None
        else ""
    )
    console.print(
        f"Trained on {summary.pairs} pairs ({summary.matches} matches) in {summary.seconds:.1f} s. "
        f"Out-of-fold ({folds}) at the chosen threshold {summary.threshold:.3f}: precision "
        f"{summary.cv_precision:.3f}, recall {summary.cv_recall:.3f}, F1 {summary.cv_f1:.3f}; "
        f"calibration error {summary.cv_ece:.3f} (on the folds it was fitted to, so a floor). "
        f"Model {summary.version} saved to {summary.path}.{merging}"
    )


@app.command()
def score(
    model: Annotated[Path, typer.Option("--model", help="Model saved by 'match train'.")],
    pairs: Annotated[Path, typer.Option("--pairs", help="Pairs CSV to score (label optional).")],
    output: Annotated[Path, typer.Option("--output", help="Output CSV: pair_id,score,match.")],
    threshold: Annotated[
        float | None, typer.Option(help="Match at or above this score; default: the model's.")
    ] = None,
) -> None:
    """Score every pair: calibrated P(match) and the match call."""
    from matching.files import score_pairs
    from matching.model import load_model

    summary = score_pairs(
        model=load_model(model), pairs_path=pairs, output_path=output, threshold=threshold
    )
    line = (
        f"Scored {summary.pairs} pairs ({summary.matches} matches) into {output} in "
        f"{summary.seconds:.1f} s ({summary.pairs / max(summary.seconds, 1e-9):,.0f} pairs/s)."
    )
    if summary.f1 is not None:
        line += (
            f" Against the file's labels: precision {summary.precision:.3f}, "
            f"recall {summary.recall:.3f}, F1 {summary.f1:.3f}."
        )
    console.print(line)


def dedupe(
    input_path: Annotated[Path, typer.Option("--input", help="Offers CSV.")],
    text: Annotated[
        str,
        typer.Option(
            "--text",
            help="Columns to compare, title first: title,brand,... (roles are read from the "
            "names: brand/manufacturer, mpn/model no, upc/ean/gtin, price, category).",
        ),
    ],
    id_column: Annotated[str, typer.Option("--id", help="Column identifying each offer.")],
    output: Annotated[Path, typer.Option("--output", help="Output CSV: id,cluster_id,confidence.")],
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Pair model from 'match train'; default: unsupervised."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Cluster-merge threshold; default: the model's.")
    ] = None,
    neighbours: Annotated[
        int, typer.Option(help="Nearest neighbours per offer on the title (blocking).")
    ] = 10,
) -> None:
    """Find duplicate offers: block, score, cluster; write each offer's cluster."""
    from matching.blocking import BlockingParams
    from matching.files import dedupe_csv
    from matching.model import load_model

    result = dedupe_csv(
        input_path=input_path,
        text_columns=_columns(text),
        id_column=id_column,
        output_path=output,
        model=load_model(model) if model else None,
        blocking=BlockingParams(k=neighbours),
        threshold=threshold,
    )
    labels = result.clusters.labels
    n = len(labels)
    clusters = len(set(labels.tolist()))
    t = result.timings
    console.print(
        f"{n} offers → {clusters} clusters ({n - clusters} duplicates) into {output}; "
        f"{result.left.size} candidate pairs ({result.candidates_per_record:.1f} per offer), "
        f"{result.model.kind} model; blocking {t['blocking']:.1f} s, scoring {t['scoring']:.1f} s, "
        f"clustering {t['clustering']:.1f} s."
    )
