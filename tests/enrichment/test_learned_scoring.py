"""The Mannheim papers' scoring rule (NN/NV/VN/VC/VW, micro-F1) on a hand-made example."""

from __future__ import annotations

import pytest

from enrichment.learned.scoring import classify, score


def test_each_gold_row_lands_in_exactly_one_class() -> None:
    gold = [
        ("o1", "Brand", ["Acme"]),  # VC
        ("o1", "Color", ["Red", " Dark Red "]),  # VC: gold strings are stripped
        ("o1", "Size", []),  # NN: nothing predicted
        ("o2", "Brand", ["Acme"]),  # VW: case-sensitive
        ("o2", "Color", []),  # NV
        ("o2", "Size", ["12"]),  # VW: the number 12 is not the string "12"
        ("o3", "Brand", ["Borton"]),  # VN: "n/a" is no value
        ("o3", "Color", ["Blue"]),  # VN: missing key
        ("o3", "Size", ["9"]),  # VW: the prediction is not stripped
    ]
    predictions = {
        "o1": {"Brand": "Acme", "Color": "Dark Red", "Material": "Leather"},  # ignored: no row
        "o2": {"Brand": "acme", "Color": "Blue", "Size": 12},
        "o3": {"Brand": "n/a", "Size": " 9"},
    }
    counts = score(gold, predictions)
    assert vars(counts) == {"nn": 1, "nv": 1, "vn": 2, "vc": 2, "vw": 3}
    assert counts.precision == pytest.approx(2 / 6)
    assert counts.recall == pytest.approx(2 / 7)
    p, r = 2 / 6, 2 / 7
    assert counts.f1 == pytest.approx(2 * p * r / (p + r))


def test_none_and_the_string_none_are_no_value() -> None:
    assert classify([], None) == "nn"
    assert classify([], "None") == "nn"
    assert classify(["x"], "None") == "vn"
    assert classify([], "") == "nv"  # an empty string is a value
