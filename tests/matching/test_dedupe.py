"""Dedupe end to end on plain CSV: known duplicates found, edge cases that must just work."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from matching.dedupe import find_duplicates
from matching.records import assign_roles, prepare
from tests.matching.conftest import listings

runner = CliRunner()
TEXT = "Product Name,Brand,MFR Part No,UPC,Unit Price"


def _table(titles: list[str]):
    return prepare({"title": titles}, assign_roles(["title"]))


def test_one_record_is_one_cluster() -> None:
    result = find_duplicates(_table(["Bosch GSR 12V-15 drill"]))
    assert result.clusters.labels.tolist() == [0] and result.left.size == 0
    assert result.clusters.confidence.tolist() == [1.0]


def test_identical_records_form_one_cluster() -> None:
    titles = ["Makita DHP482Z 18V combi drill body only"] * 6 + ["LG OLED55C3 55 inch TV"]
    result = find_duplicates(_table(titles))
    labels = result.clusters.labels.tolist()
    assert labels[:6] == [0] * 6 and labels[6] == 6


def test_empty_titles_do_not_crash() -> None:
    result = find_duplicates(_table(["", "", ""]))
    assert sorted(set(result.clusters.labels.tolist())) in ([0], [0, 1, 2])


def _write_offers(path: Path, n: int) -> pd.DataFrame:
    rows, products = listings(n, seed=5)
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    frame["product"] = products
    return frame


def test_dedupe_cli_finds_the_relisted_products(tmp_path: Path) -> None:
    offers = tmp_path / "offers.csv"
    truth = _write_offers(offers, 3000)
    out = tmp_path / "clusters.csv"
    done = runner.invoke(
        app,
        ["dedupe", "--input", str(offers), "--text", TEXT, "--id", "Item #", "--output", str(out)],
    )
    assert done.exit_code == 0, done.output
    clusters = pd.read_csv(out, dtype=str)
    assert list(clusters.columns) == ["id", "cluster_id", "confidence"]
    assert len(clusters) == len(truth)
    merged = clusters.assign(product=truth["product"].to_numpy())
    true_groups = merged.groupby("product")["cluster_id"].nunique()
    relisted = true_groups[merged.groupby("product").size() > 1]
    # nearly every relisted product's listings share one cluster, and clusters hold one product
    assert (relisted == 1).mean() > 0.9
    assert (merged.groupby("cluster_id")["product"].nunique() == 1).mean() > 0.99
    # the cluster id is a member's id: the first one in file order
    first = merged.groupby("cluster_id")["id"].first()
    assert (first.index == first.to_numpy()).all()


def test_dedupe_is_deterministic(tmp_path: Path) -> None:
    offers = tmp_path / "offers.csv"
    _write_offers(offers, 800)
    outputs = []
    for name in ("a.csv", "b.csv"):
        out = tmp_path / name
        done = runner.invoke(
            app,
            [
                "dedupe",
                "--input",
                str(offers),
                "--text",
                TEXT,
                "--id",
                "Item #",
                "--output",
                str(out),
            ],
        )
        assert done.exit_code == 0, done.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("sku,title", [["a", "x"], ["a", "y"]], "row 3, column 'sku': id 'a' repeats"),
        ("sku,title", [["", "x"]], "row 2, column 'sku': empty id"),
        ("sku,name", [["a", "x"]], "column 'title': column is missing"),
    ],
)
def test_bad_offer_files_are_refused_by_row(
    tmp_path: Path, header: str, rows: list[list[str]], message: str
) -> None:
    offers = tmp_path / "offers.csv"
    offers.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    out = tmp_path / "out.csv"
    from catalog.errors import InputError
    from matching.files import dedupe_csv

    with pytest.raises(InputError, match=message):
        dedupe_csv(input_path=offers, text_columns=["title"], id_column="sku", output_path=out)
    assert not out.exists()


def test_train_score_and_dedupe_with_a_model(pairs_csv: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.joblib"
    trained = runner.invoke(
        app, ["match", "train", "--pairs", str(pairs_csv), "--model", str(model)]
    )
    assert trained.exit_code == 0, trained.output
    assert "Trained on" in trained.output and model.is_file()
    scored_path = tmp_path / "scores.csv"
    scored = runner.invoke(
        app,
        [
            "match",
            "score",
            "--model",
            str(model),
            "--pairs",
            str(pairs_csv),
            "--output",
            str(scored_path),
        ],
    )
    assert scored.exit_code == 0, scored.output
    scores = pd.read_csv(scored_path)
    assert list(scores.columns) == ["pair_id", "score", "match"]
    labels = pd.read_csv(pairs_csv)["label"].to_numpy()
    assert ((scores["match"].to_numpy() == labels).mean()) > 0.95
    assert np.all((scores["score"] >= 0) & (scores["score"] <= 1))

    offers = tmp_path / "offers.csv"
    _write_offers(offers, 1500)
    out = tmp_path / "clusters.csv"
    done = runner.invoke(
        app,
        [
            "dedupe",
            "--input",
            str(offers),
            "--text",
            "Product Name,Brand,MFR Part No,Unit Price",
            "--id",
            "Item #",
            "--model",
            str(model),
            "--output",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "supervised model" in done.output


def test_a_bad_pairs_file_fails_the_cli_with_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.csv"
    bad.write_text("pair_id,label,title_left,title_right\na#b,maybe,x,y\n")
    done = runner.invoke(
        app, ["match", "train", "--pairs", str(bad), "--model", str(tmp_path / "m")]
    )
    assert done.exit_code != 0
    assert "row 2, column 'label'" in str(done.exception)
