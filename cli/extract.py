"""`skuflow extract train|predict`: attribute extraction on plain CSV files, no store needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.console import console

app = typer.Typer(
    no_args_is_help=True,
    help="Learn attribute values from a labelled CSV, or extract them from a CSV.",
)

TextOption = Annotated[
    str,
    typer.Option("--text", help="Text column(s), comma-separated, title first: title,description."),
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group", help="Column with each row's category (values depend on it)."),
]


def _columns(value: str | None) -> list[str]:
    columns = [c.strip() for c in (value or "").split(",") if c.strip()]
    if value is not None and not columns:
        raise typer.BadParameter("give at least one column")
    return columns


@app.command()
def train(
    input_path: Annotated[
        Path,
        typer.Option(
            "--input", help="Labelled CSV: one column per attribute, empty = not present."
        ),
    ],
    text: TextOption,
    model: Annotated[Path, typer.Option("--model", help="Where to save the model.")],
    group: GroupOption = None,
    attributes: Annotated[
        str | None,
        typer.Option(
            "--attributes",
            help="Attribute columns, comma-separated (default: every column that is not "
            "id, text or group).",
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id", help="Column naming each row in messages (default: 'id' if any)."),
    ] = None,
) -> None:
    """Train a calibrated extractor (gazetteer + CRF tagger) and save it to MODEL."""
    from enrichment.learned.files import train_from_csv

    summary = train_from_csv(
        input_path=input_path,
        text_columns=_columns(text),
        model_path=model,
        group_column=group,
        attributes=_columns(attributes) or None,
        id_column=id_column,
    )
    counts = summary.counts
    console.print(
        f"Trained on {counts.get('records', 0)} row(s), {counts.get('values_aligned', 0)} "
        f"value(s) in {summary.seconds:.1f} s; {summary.describe()}."
    )
    skipped = counts.get("skipped_values", 0)
    if skipped:
        console.print(
            f"Skipped {skipped} labelled value(s) that are not a span of their text "
            f"({counts.get('not_in_text', 0)} not in it, {counts.get('inside_word', 0)} only "
            f"inside a longer word, {counts.get('overlapping', 0)} overlapping a longer value), "
            "e.g.:",
            highlight=False,
        )
        for problem in summary.skipped[:5]:
            console.print(f"  {problem}", highlight=False)
    console.print(f"Model {summary.version} saved to {model}.")


@app.command()
def predict(
    model: Annotated[Path, typer.Option("--model", help="Model saved by 'extract train'.")],
    input_path: Annotated[Path, typer.Option("--input", help="CSV file to extract from.")],
    text: TextOption,
    id_column: Annotated[str, typer.Option("--id", help="Column identifying each row.")],
    output: Annotated[
        Path, typer.Option("--output", help="Output CSV: id,attribute,value,confidence.")
    ],
    group: GroupOption = None,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Leave out values below this confidence (default: the threshold with the "
            "best held-out F1 in training).",
        ),
    ] = None,
) -> None:
    """Extract attribute values; one row per value found, with its calibrated confidence."""
    from enrichment.learned.files import predict_csv
    from enrichment.learned.model import LearnedExtractor

    extractor = LearnedExtractor.load(model)
    rows = predict_csv(
        model=extractor,
        input_path=input_path,
        text_columns=_columns(text),
        id_column=id_column,
        output_path=output,
        group_column=group,
        min_confidence=min_confidence,
    )
    console.print(f"Wrote {rows} value(s) to {output}.")
