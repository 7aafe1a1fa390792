"""`skuflow classify train|predict`: classification on plain CSV files, no store needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.console import console

app = typer.Typer(
    no_args_is_help=True, help="Train a classifier on a labelled CSV, or classify a CSV."
)

TextOption = Annotated[
    str,
    typer.Option("--text", help="Text column(s), comma-separated, title first: Name,Description."),
]


def _columns(value: str) -> list[str]:
    columns = [c.strip() for c in value.split(",") if c.strip()]
    if not columns:
        raise typer.BadParameter("give at least one column")
    return columns


@app.command()
def train(
    input_path: Annotated[Path, typer.Option("--input", help="Labelled CSV file.")],
    text: TextOption,
    label: Annotated[
        str, typer.Option("--label", help="Column with the category path, 'A > B > C'.")
    ],
    model: Annotated[Path, typer.Option("--model", help="Where to save the model.")],
    taxonomy: Annotated[
        Path | None,
        typer.Option(help="Taxonomy file the labels belong to; else built from the labels."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for folds and solver order.")] = 0,
) -> None:
    """Train a calibrated classifier and save it (with its taxonomy) to MODEL."""
    from taxonomy.files import train_from_csv
    from taxonomy.importers import load_taxonomy

    summary = train_from_csv(
        input_path=input_path,
        text_columns=_columns(text),
        label_column=label,
        model_path=model,
        taxonomy=load_taxonomy(taxonomy) if taxonomy else None,
        seed=seed,
    )
    console.print(
        f"Trained on {summary.texts} rows, {summary.categories} categories: held-out accuracy "
        f"{summary.cv_accuracy:.3f} (out-of-fold), calibration error {summary.cv_ece:.3f} "
        "(on the folds it was fitted to, so a floor). "
        f"Model {summary.version} saved to {summary.path}."
    )


@app.command()
def predict(
    input_path: Annotated[Path, typer.Option("--input", help="CSV file to classify.")],
    text: TextOption,
    id_column: Annotated[str, typer.Option("--id", help="Column identifying each row.")],
    output: Annotated[
        Path, typer.Option("--output", help="Output CSV: id,category_path,confidence.")
    ],
    model: Annotated[
        Path | None, typer.Option("--model", help="Model saved by 'classify train'.")
    ] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option("--taxonomy", help="Zero-shot: classify into this taxonomy, no model."),
    ] = None,
    self_train: Annotated[
        bool,
        typer.Option(
            "--self-train",
            help="With --taxonomy: train on the file's own surest zero-shot answers, then "
            "predict again (slower; confidences stay below auto-apply).",
        ),
    ] = False,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="Ask the LLM (SKUFLOW_LLM_BASE_URL, SKUFLOW_LLM_MODEL) about unsure rows.",
        ),
    ] = False,
    llm_below: Annotated[
        float, typer.Option(help="With --llm: rows under this confidence go to the LLM.")
    ] = 0.9,
) -> None:
    """Classify every row; write id, full category path and calibrated confidence."""
    from taxonomy.files import classifier_for, predict_csv

    if self_train and taxonomy is None:
        raise typer.BadParameter("--self-train needs --taxonomy (a model is already trained)")
    classifier, tree = classifier_for(
        model_path=model,
        taxonomy_path=taxonomy,
        self_train_on=(input_path, _columns(text)) if self_train else None,
    )
    cascade = None
    if llm:
        from llm.client import LLMClient
        from taxonomy.cascade import LLMCascade

        cascade = LLMCascade(classifier, tree, LLMClient(), below=llm_below)
        classifier = cascade
    rows = predict_csv(
        classifier=classifier,
        taxonomy=tree,
        input_path=input_path,
        text_columns=_columns(text),
        id_column=id_column,
        output_path=output,
    )
    console.print(f"Classified {rows} rows into {output}.")
    if cascade is not None:
        used = cascade.usage
        console.print(
            f"LLM: {used.asked} asked ({used.cached} from cache, {used.failed} failed), "
            f"{used.changed} changed, {used.prompt_tokens + used.completion_tokens} tokens "
            f"= {used.credits:.2f} credits."
        )
