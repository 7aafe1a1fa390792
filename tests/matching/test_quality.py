"""What the pair model learns from: title features that tell sibling models apart, folds that
hold out whole products, and the merge threshold measured by clustering unseen products."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from catalog.errors import InputError
from cli.main import app
from matching.dedupe import find_duplicates
from matching.features import FEATURES, FeatureSpace
from matching.files import train_from_pairs
from matching.model import CLUSTER_CUTS, fold_splits, load_model
from matching.pairs import read_pairs
from matching.records import assign_roles, prepare
from tests.matching.conftest import write_pairs


def _features(titles: list[str], pairs: list[tuple[int, int]], descriptions=None) -> dict:
    columns = {"title": titles}
    if descriptions is not None:
        columns["description"] = descriptions
    table = prepare(columns, assign_roles(list(columns)))
    left = np.array([a for a, _ in pairs])
    right = np.array([b for _, b in pairs])
    matrix = FeatureSpace.build(table).features(left, right)
    swapped = FeatureSpace.build(table).features(right, left)
    np.testing.assert_array_equal(matrix, swapped)  # a pair scores the same either way round
    return {name: matrix[:, i] for i, name in enumerate(FEATURES)}


def test_digit_tokens_tell_capacities_and_generations_apart() -> None:
    f = _features(
        [
            "Crucial BX500 120GB 2.5 SSD",
            "Crucial BX500 480GB 2.5 SSD",
            "Crucial BX500 120GB SATA SSD",
            "Crucial SSD",
        ],
        [(0, 1), (0, 2), (0, 3)],
    )
    # 120gb against 480gb: each side has a digit token the other lacks
    assert f["digit_unmatched_min"][0] == 1 and f["digit_jaccard"][0] == pytest.approx(2 / 4)
    # the same capacity: nothing conflicts, even though the wording differs
    assert f["digit_unmatched_min"][1] == 0
    # one side has no digits at all: it is less specific, not in conflict
    assert f["digit_unmatched_min"][2] == 0 and f["digit_unmatched_max"][2] == 3


def test_number_runs_compare_numbers_inside_codes_and_units() -> None:
    f = _features(
        [
            "Shimano Deore XT CS-M8000 cassette 11-speed",
            "Shimano XT M8000 11 speed cassette",
            "Shimano XT M7000 11 speed cassette",
            "D-Link DGS-1210-24 switch",
            "D-Link DGS-1210-28P 24-port switch",
            'Crucial MX500 2,5" 250GB',
            "Crucial MX500 250 GB 2.50 inch",
            "Shimano cassette",
        ],
        [(0, 1), (0, 2), (3, 4), (5, 6), (7, 0)],
    )
    # cs-m8000 / m8000 and 11-speed / 11 speed: the same numbers, however they are written
    assert f["number_run_jaccard"][0] == 1.0 and f["number_run_unmatched_max"][0] == 0
    # m8000 / m7000: each side has a number the other lacks, and it is rare
    assert f["number_run_unmatched_min"][1] == 1 and f["number_run_unmatched_rarest_min"][1] > 0
    # dgs-1210-28p names a 28 the other lacks; the 24 of "24-port" is the other's 24
    assert f["number_run_unmatched_min"][2] == 0 and f["number_run_unmatched_max"][2] == 1
    # a decimal comma and trailing zeros do not make 2,5 and 2.50 different numbers
    assert f["number_run_jaccard"][3] == 1.0
    # no number on one side: less specific, not in conflict
    assert f["number_run_unmatched_min"][4] == 0 and f["number_run_unmatched_max"][4] == 2


def test_rarest_one_sided_word_and_codes_found_in_the_other_text() -> None:
    f = _features(
        [
            "Ubiquiti UniFi G3 Flex camera",
            "Ubiquiti UniFi G3 Bullet camera",
            "Manfrotto MHXPRO-2W fluid head",
            "Manfrotto XPRO video fluid head",
            "Ubiquiti UniFi camera",
        ],
        [(0, 1), (2, 3), (0, 4), (2, 1)],
        descriptions=["", "", "", "two-way head, model mhxpro 2w, aluminium", ""],
    )
    # "flex" / "bullet" each on one record only: the rarest unmatched word on both sides
    assert f["title_unmatched_rarest_min"][0] == 1.0
    # a title inside the other has nothing unmatched on its own side
    assert f["title_unmatched_rarest_min"][2] == 0 and f["title_unmatched_rarest"][2] == 1.0
    # the code on one side is spelled, spaced differently, in the other's description
    assert f["code_in_other_text"][1] > 0
    assert f["code_in_other_text"][3] == 0  # ... and is not in an unrelated listing
    assert f["title_first_word_equal"][0] == 1.0


def test_product_folds_never_fit_on_a_held_out_product() -> None:
    rng = np.random.default_rng(0)
    left = rng.integers(0, 40, 600)
    right = rng.integers(0, 40, 600)
    labels = (left == right).astype(np.int8)
    labels[:20] = 1  # both classes in every fold
    splits = fold_splits(labels, 5, 0, (left, right))
    assert len(splits) == 5
    held_anywhere = np.zeros(labels.size, dtype=int)
    for fit, held in splits:
        held_products = set(left[held].tolist())
        assert not held_products & (set(left[fit].tolist()) | set(right[fit].tolist()))
        held_anywhere[held] += 1
    assert (held_anywhere == 1).all()  # every pair is held out exactly once
    again = fold_splits(labels, 5, 0, (left, right))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))


def _with_clusters(plain: Path, out: Path) -> Path:
    """The fixture's pair file with each side's product as `cluster_id_*` (as WDC has):
    a listing's product is its `Item #` stem shared by relistings, so take it from the
    pairs: matches share one product, and each record is its own product otherwise."""
    frame = pd.read_csv(plain, dtype=str, keep_default_na=False).drop_duplicates("pair_id")
    frame.to_csv(plain, index=False)  # the generator can draw one random non-match twice
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b, label in zip(frame["id_left"], frame["id_right"], frame["label"], strict=True):
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        if label == "1":
            parent[find(a)] = find(b)
    frame["cluster_id_left"] = frame["id_left"].map(find)
    frame["cluster_id_right"] = frame["id_right"].map(find)
    frame.to_csv(out, index=False)
    return out


def test_pairs_with_products_train_on_product_folds_and_measure_a_merge_threshold(
    tmp_path: Path,
) -> None:
    pairs_path = _with_clusters(write_pairs(tmp_path / "p.csv", n=2500), tmp_path / "wc.csv")
    pairs = read_pairs(pairs_path)
    assert pairs.groups is not None
    assert "cluster_id" not in pairs.attributes  # the answer is never evidence
    left_product, right_product = pairs.groups
    assert np.all((left_product == right_product) == (pairs.labels == 1))

    trained = CliRunner().invoke(
        app, ["match", "train", "--pairs", str(pairs_path), "--model", str(tmp_path / "m.joblib")]
    )
    assert trained.exit_code == 0, trained.output
    assert "held-out products" in trained.output and "Clustering merges at" in trained.output
    assert "blocking candidates" in " ".join(trained.output.split())
    model = load_model(tmp_path / "m.joblib")
    assert model.stats["folds_by"] == "product"
    assert model.cluster_threshold in {*CLUSTER_CUTS, round(model.threshold, 4)}
    assert model.merge_threshold == model.cluster_threshold
    assert model.stats["cv_cluster_f1"] > 0.8  # relistings are easy to cluster

    table = prepare(
        pd.read_csv(pairs_path, dtype=str, keep_default_na=False)
        .filter(regex="_left$")
        .rename(columns=lambda c: c[: -len("_left")])
        .drop(columns=["id", "cluster_id"])
        .drop_duplicates()
        .to_dict("list"),
        assign_roles(["title", "brand", "mpn", "price"]),
    )
    result = find_duplicates(table, model=model)
    again = find_duplicates(table, model=model)
    assert np.array_equal(result.clusters.labels, again.clusters.labels)

    # without products the folds are over pairs, and clustering merges at the pair threshold
    plain = train_from_pairs(pairs_path=tmp_path / "p.csv", model_path=tmp_path / "plain.joblib")
    plain_model = load_model(plain.path)
    assert plain_model.stats["folds_by"] == "pair" and plain_model.cluster_threshold is None
    assert plain_model.merge_threshold == plain_model.threshold


def test_a_model_saved_in_the_old_format_asks_for_retraining(tmp_path: Path) -> None:
    old = tmp_path / "old.joblib"
    joblib.dump({"format": 1, "kind": "skuflow.matching", "model": None}, old)
    with pytest.raises(InputError, match="retrain"):
        load_model(old)


def test_a_model_reads_only_the_roles_it_was_trained_on(pairs_csv: Path) -> None:
    from matching.model import train_supervised
    from tests.matching.conftest import listings

    pairs = read_pairs(pairs_csv)  # title, brand, part number, price: no description
    model = train_supervised(pairs.records, pairs.left, pairs.right, pairs.labels)
    assert "description" not in model.roles and "title" in model.roles
    rows, _ = listings(300, seed=5)
    columns = ["Product Name", "Brand", "MFR Part No", "Unit Price"]
    plain = prepare({c: [r[c] for r in rows] for c in columns}, assign_roles(columns))
    with_text = prepare(
        {c: [r[c] for r in rows] for c in [*columns, "Description"]},
        assign_roles([*columns, "Description"]),
    )
    left, right = np.arange(0, 299), np.arange(1, 300)
    # the descriptions it never saw in training change nothing
    np.testing.assert_array_equal(
        model.score(plain, left, right), model.score(with_text, left, right)
    )


def test_products_named_add_blocking_candidates_labelled_by_product(tmp_path: Path) -> None:
    from matching.model import _with_candidates

    pairs_path = _with_clusters(write_pairs(tmp_path / "p.csv", n=1500), tmp_path / "wc.csv")
    pairs = read_pairs(pairs_path)
    assert pairs.groups is not None and pairs.labels is not None
    left, right, labels, (left_product, right_product) = _with_candidates(
        pairs.records, pairs.left, pairs.right, pairs.labels, pairs.groups
    )
    n = pairs.labels.size
    assert left.size > n  # blocking found pairs the file does not hold
    assert np.array_equal(labels[:n], pairs.labels)  # the file's pairs come first, unchanged
    lo, hi = np.minimum(pairs.left, pairs.right), np.maximum(pairs.left, pairs.right)
    in_file = set(zip(lo.tolist(), hi.tolist(), strict=True))
    added = list(zip(left[n:].tolist(), right[n:].tolist(), strict=True))
    assert not in_file & set(added) and len(set(added)) == len(added)
    assert np.array_equal(labels[n:], (left_product[n:] == right_product[n:]).astype(np.int8))

    model = load_model(
        train_from_pairs(pairs_path=pairs_path, model_path=tmp_path / "m.joblib").path
    )
    assert model.dedupe is not None and model.stats["candidate_pairs"] == left.size - n
    assert model.stats["pairs"] == n  # figures and threshold are those of the labelled pairs
    # a pair file is read by the model fitted on labelled pairs; a dedupe by the other one
    space = model.feature_space(pairs.records)
    as_file = model.score(pairs.records, pairs.left, pairs.right)
    assert np.array_equal(
        as_file, model.score_features(space, pairs.left, pairs.right, candidates=False)[0]
    )
    assert not np.array_equal(as_file, model.score_features(space, pairs.left, pairs.right)[0])
