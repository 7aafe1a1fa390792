"""`skuflow extract train|predict` on small CSV files: the round trip, and bad input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
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


def _random_csv(rng, path: Path) -> None:
    """A CSV with quotes, commas, newlines and odd characters in its cells, sometimes a BOM,
    a blank line or no final newline; sometimes rows of another width, a bare CR, or raw
    text with quotes left open."""
    alphabet = list("ab ,\"\r\n\t'\\;é日\u00a0\u2028\x85\x0b\x0c#") + ["NA", "nan", "null"]
    width = rng.randint(2, 4)
    rows = [[f"c{i}" for i in range(width)]]
    for _ in range(rng.randint(0, 6)):
        cells = width if rng.random() < 0.9 else rng.randint(1, width + 1)
        rows.append(["".join(rng.choices(alphabet, k=rng.randint(0, 6))) for _ in range(cells)])
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=rng.choice(["\r\n", "\n"])).writerows(rows)
    text = buffer.getvalue()
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")
    if rng.random() < 0.3:
        lines = text.split("\n")
        lines.insert(rng.randint(1, len(lines)), "")
        text = "\n".join(lines)
    if rng.random() < 0.2:
        text = "\ufeff" + text
    if rng.random() < 0.3:  # raw text after the header: quotes left open, stray quotes
        raw = list("ab ,\"\n\r\t'\\é#") + ['""', '","', "\r\n"]
        text = ",".join(rows[0]) + "\n" + "".join(rng.choices(raw, k=rng.randint(1, 40)))
    path.write_text(text, encoding="utf-8", newline="")


def test_plain_files_are_read_as_pandas_reads_them(tmp_path: Path) -> None:
    """Prediction reads a plain CSV with the csv module (no pandas import): for every file
    it accepts, the header and rows are pandas' own strings; the others (rows of another
    width, a bare CR ending a line, a quote left open or followed by other than a comma,
    duplicate names, not UTF-8) it hands to pandas."""
    import random

    from enrichment.learned.files import _frame_chunks, _NotPlain, _plain_chunks

    rng = random.Random(7)
    plain = handed = 0
    for k in range(2500):
        path = tmp_path / f"f{k % 10}.csv"
        _random_csv(rng, path)
        try:
            chunks = list(_plain_chunks(path))
        except _NotPlain:
            handed += 1
            continue
        plain += 1
        try:
            expected = list(_frame_chunks(path))
        except Exception as exc:  # noqa: BLE001 - pandas must read what the fast path reads
            raise AssertionError(f"pandas cannot read {path.read_bytes()!r}: {exc}") from exc
        assert chunks == expected, path.read_bytes()
    assert plain > 500 and handed > 100
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,title\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(_NotPlain):
        list(_plain_chunks(latin))


def test_an_irregular_file_is_predicted_as_pandas_reads_it(tmp_path: Path) -> None:
    """A file the csv module would read differently (a short row, a bare CR) is predicted
    through pandas, row for row what pandas reads (a short row's missing cell as pandas
    fills it)."""
    from enrichment.learned.files import _frame_chunks, _NotPlain, _plain_chunks, predict_csv
    from enrichment.learned.model import train_extractor
    from tests.enrichment.learned_data import FAST

    model, _ = train_extractor(records(n=60, seed=4), text_fields=["title"], params=FAST)
    held_out = records(n=20, seed=21)
    lines = ["id,category,title"] + [f"{r.id},{r.group},{r.texts['title']}" for r in held_out]
    for name, text in (
        ("short", "\n".join(lines[:5] + ["x1,shoes"] + lines[5:]) + "\n"),
        ("cr", "\r".join(lines) + "\r"),
    ):
        path, out = tmp_path / f"{name}.csv", tmp_path / f"{name}.out.csv"
        path.write_text(text, encoding="utf-8", newline="")
        with pytest.raises(_NotPlain):
            list(_plain_chunks(path))
        written = predict_csv(
            model=model,
            input_path=path,
            text_columns=["title"],
            id_column="id",
            output_path=out,
            group_column="category",
        )
        ((header, rows),) = list(_frame_chunks(path))
        expected = model.predict(
            [{"title": row[header.index("title")]} for row in rows],
            [row[header.index("category")] for row in rows],
        )
        with out.open(newline="", encoding="utf-8") as handle:
            got = list(csv.reader(handle))[1:]
        assert got == [
            [row[0], v.attribute, v.value, str(v.confidence)]
            for row, values in zip(rows, expected, strict=True)
            for v in values
        ]
        assert written == len(got) > 0
