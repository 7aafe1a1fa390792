"""`skuflow extract train|predict` on small CSV files: the round trip, and bad input."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.enrichment.learned_data import records

runner = CliRunner()


def _write_training(path: Path, extra: list[list[str]] | None = None) -> None:
    attributes = ["Brand", "Color", "Size", "Roast", "Net content"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "category", "title", *attributes])
        for r in records(60):
            writer.writerow(
                [
                    r.id,
                    r.group,
                    r.texts["title"],
                    *((r.values.get(a) or [""])[0] for a in attributes),
                ]
            )
        for row in extra or []:
            writer.writerow(row)


def test_train_then_predict_writes_long_rows(tmp_path: Path) -> None:
    labelled, model = tmp_path / "labelled.csv", tmp_path / "model.skx"
    _write_training(
        labelled, [["bad-1", "Shoes", "Fjord Men's Running Shoe, Red", "Nike", "Red", "", "", ""]]
    )
    trained = runner.invoke(
        app,
        [
            "extract",
            "train",
            "--input",
            str(labelled),
            "--text",
            "title",
            "--group",
            "category",
            "--model",
            str(model),
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert "Skipped 1 labelled value" in trained.output
    assert "bad-1" in trained.output and "'Nike'" in trained.output
    assert model.is_file()

    offers = tmp_path / "offers.csv"
    offers.write_text(
        "sku,category,name\n"
        'n1,Shoes,"Zorvex Women\'s Leather Boot, Grey, Size 7"\n'
        'n2,Coffee,"Granite Espresso Beans, Dark Roast, 1kg bag"\n'
        "n3,Shoes,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out" / "values.csv"
    predicted = runner.invoke(
        app,
        [
            "extract",
            "predict",
            "--model",
            str(model),
            "--input",
            str(offers),
            "--text",
            "name",
            "--id",
            "sku",
            "--group",
            "category",
            "--output",
            str(out),
            "--min-confidence",
            "0.2",
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "attribute", "value", "confidence"]
    found = {(r["id"], r["attribute"]): r["value"] for r in rows}
    assert found[("n1", "Brand")] == "Zorvex"
    assert found[("n1", "Color")] == "Grey"
    assert found[("n2", "Roast")] == "Dark Roast"
    assert found[("n2", "Net content")] == "1kg"
    assert not any(r["id"] == "n3" for r in rows)
    assert all(0 <= float(r["confidence"]) <= 1 for r in rows)


def test_no_labelled_values_is_a_clear_message(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,title,Brand\n1,Acme shoe,\n2,Borton boot,\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "extract",
            "train",
            "--input",
            str(labelled),
            "--text",
            "title",
            "--model",
            str(tmp_path / "m.skx"),
        ],
    )
    assert result.exit_code == 1
    assert "no labelled values to learn from" in str(result.exception)
    assert not (tmp_path / "m.skx").exists()


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("id,title,Brand\n1,Acme shoe,Acme\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "extract",
            "train",
            "--input",
            str(labelled),
            "--text",
            "name",
            "--model",
            str(tmp_path / "m.skx"),
        ],
    )
    assert result.exit_code == 1
    assert "text column(s) ['name'] not in the header" in str(result.exception)
