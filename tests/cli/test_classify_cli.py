"""`skuflow classify train|predict` on plain CSV files (MWPD2020 offers, a small sample)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from catalog.errors import InputError
from cli.main import app
from tests.conftest import SHARED_DATA, shared_path

MWPD = SHARED_DATA / "products" / "mwpd2020" / "mwpd2020_train_validation.csv"
GOOGLE_TXT = SHARED_DATA / "taxonomies" / "google-2021-09-21" / "taxonomy-with-ids.en-US.txt"
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    frame = pd.read_csv(shared_path(MWPD), dtype=str, keep_default_na=False).sample(
        n=900, random_state=1
    )
    frame["path"] = frame["category_path"]
    folder = tmp_path_factory.mktemp("classify-cli")
    labelled, unlabelled = folder / "labelled.csv", folder / "offers.csv"
    frame.iloc[:700].to_csv(labelled, index=False)
    frame.iloc[700:].drop(columns=["path", "category_path"]).to_csv(unlabelled, index=False)
    return labelled, unlabelled, frame.iloc[700:]


def test_train_then_predict_writes_full_paths_and_confidences(
    files: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    labelled, unlabelled, truth = files
    model = tmp_path / "model.joblib"
    trained = runner.invoke(
        app,
        [
            "classify",
            "train",
            "--input",
            str(labelled),
            "--text",
            "Name,Description",
            "--label",
            "path",
            "--model",
            str(model),
        ],
    )
    assert trained.exit_code == 0, trained.output
    assert "Trained on 700 rows" in trained.output and model.is_file()

    out = tmp_path / "out" / "predictions.csv"
    predicted = runner.invoke(
        app,
        [
            "classify",
            "predict",
            "--model",
            str(model),
            "--input",
            str(unlabelled),
            "--text",
            "Name,Description",
            "--id",
            "ID",
            "--output",
            str(out),
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "category_path", "confidence"]
    assert [r["id"] for r in rows] == truth["ID"].tolist()
    known = set(pd.read_csv(labelled, dtype=str)["path"])
    assert all(r["category_path"] in known for r in rows)  # full A > B > C paths
    assert all(0.0 <= float(r["confidence"]) <= 1.0 for r in rows)
    right = sum(r["category_path"] == t for r, t in zip(rows, truth["category_path"], strict=True))
    assert right / len(rows) > 0.5


def test_zero_shot_predict_uses_a_taxonomy_file(
    files: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, unlabelled, _ = files
    out = tmp_path / "zero.csv"
    result = runner.invoke(
        app,
        [
            "classify",
            "predict",
            "--taxonomy",
            str(shared_path(GOOGLE_TXT)),
            "--input",
            str(unlabelled),
            "--text",
            "Name",
            "--id",
            "ID",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(rows) == 200
    assert rows["category_path"].str.contains(" > ").mean() > 0.5
    assert rows["confidence"].astype(float).max() < 0.9  # zero-shot never auto-applies


def test_bad_input_names_the_missing_column(
    files: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    labelled, _, _ = files
    result = runner.invoke(
        app,
        [
            "classify",
            "train",
            "--input",
            str(labelled),
            "--text",
            "Title",
            "--label",
            "path",
            "--model",
            str(tmp_path / "m.joblib"),
        ],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert "no column 'Title'" in str(result.exception)
    both = runner.invoke(
        app,
        [
            "classify",
            "predict",
            "--input",
            str(labelled),
            "--text",
            "Name",
            "--id",
            "ID",
            "--output",
            str(tmp_path / "o.csv"),
        ],
    )
    assert isinstance(both.exception, InputError) and "--model or --taxonomy" in str(both.exception)


def test_self_training_on_the_input_file_never_auto_applies(
    files: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, unlabelled, _ = files
    out = tmp_path / "self.csv"
    args = ["--input", str(unlabelled), "--text", "Name", "--id", "ID", "--output", str(out)]
    result = runner.invoke(
        app,
        ["classify", "predict", "--taxonomy", str(shared_path(GOOGLE_TXT)), "--self-train", *args],
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(rows) == 200 and (rows["category_path"] != "").mean() > 0.9
    assert rows["confidence"].astype(float).max() < 0.9
    refused = runner.invoke(
        app, ["classify", "predict", "--model", "m.joblib", "--self-train", *args]
    )
    assert refused.exit_code != 0 and "--self-train needs --taxonomy" in refused.output
