"""The pair model: calibrated, monotone, deterministic, and honest about having no labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from catalog.errors import InputError
from matching.model import best_threshold, load_model, save_model, train_supervised
from matching.pairs import read_pairs
from matching.unsupervised import UNSUPERVISED_CAP


def test_training_is_deterministic_and_survives_saving(pairs_csv: Path, tmp_path: Path) -> None:
    pairs = read_pairs(pairs_csv)
    first = train_supervised(pairs.records, pairs.left, pairs.right, pairs.labels)
    second = train_supervised(pairs.records, pairs.left, pairs.right, pairs.labels)
    assert first.version == second.version
    a = first.score(pairs.records, pairs.left, pairs.right)
    b = second.score(pairs.records, pairs.left, pairs.right)
    assert np.array_equal(a, b)
    loaded = load_model(save_model(first, tmp_path / "m.joblib"))
    assert np.array_equal(loaded.score(pairs.records, pairs.left, pairs.right), a)
    # the relistings are easy: held-out folds find nearly all of them
    assert first.stats["cv_f1"] > 0.9


def test_calibration_is_monotone(pairs_csv: Path) -> None:
    pairs = read_pairs(pairs_csv)
    model = train_supervised(pairs.records, pairs.left, pairs.right, pairs.labels)
    raw = np.linspace(0, 1, 501)
    calibrated = model.calibrator(raw)
    assert np.all(np.diff(calibrated) >= 0)
    assert calibrated.min() >= 0 and calibrated.max() <= 1


def test_too_few_labels_is_refused(pairs_csv: Path) -> None:
    pairs = read_pairs(pairs_csv)
    labels = np.zeros_like(pairs.labels)
    labels[:2] = 1
    with pytest.raises(InputError, match="at least 5 matches"):
        train_supervised(pairs.records, pairs.left, pairs.right, labels, source="x.csv")


def test_best_threshold_maximises_f1() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    y = np.array([1, 1, 0, 1, 0, 0])
    threshold, precision, recall, f1 = best_threshold(p, y)
    assert threshold == 0.4 and precision == 0.75 and recall == 1.0
    assert f1 == pytest.approx(6 / 7)


def test_loading_something_else_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.joblib"
    bogus.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a skuflow matching model"):
        load_model(bogus)
    with pytest.raises(InputError, match="no such model file"):
        load_model(tmp_path / "missing.joblib")


def test_unsupervised_scores_stay_below_auto_merge() -> None:
    from matching.dedupe import find_duplicates
    from matching.records import assign_roles, prepare
    from tests.matching.conftest import listings

    rows, _ = listings(2000)
    columns = ["Product Name", "Brand", "MFR Part No", "UPC"]
    table = prepare({c: [r[c] for r in rows] for c in columns}, assign_roles(columns))
    result = find_duplicates(table)
    assert result.model.kind == "unsupervised"
    assert result.probability.max() <= UNSUPERVISED_CAP < 0.9


def test_unsupervised_lookalikes_with_different_part_numbers_are_not_one_product() -> None:
    """The bundled example lists some products twice (same MPN) and sells lookalikes: same
    title and brand, their own MPN. Without labels, only the relistings are proposed."""
    import csv

    from matching.dedupe import find_duplicates
    from matching.records import assign_roles, prepare
    from tests.conftest import EXAMPLES

    with (EXAMPLES / "acme_supplier_catalog.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = ["Product Name", "Brand", "MFR Part No", "UPC", "Unit Price"]
    table = prepare({c: [r[c] for r in rows] for c in columns}, assign_roles(columns))
    groups = find_duplicates(table).clusters.groups()
    part_numbers = [{rows[i]["MFR Part No"].strip().upper() for i in g} - {""} for g in groups]
    assert groups and all(len(found) == 1 for found in part_numbers), part_numbers
    relisted = {
        mpn.upper()
        for mpn in {r["MFR Part No"].strip() for r in rows} - {""}
        if sum(r["MFR Part No"].strip() == mpn for r in rows) > 1
    }
    assert relisted <= set().union(*part_numbers)  # every relisting found
