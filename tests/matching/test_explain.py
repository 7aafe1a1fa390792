"""Evidence for a proposed match names what agreed and what did not, with the values."""

from __future__ import annotations

import numpy as np

from matching.explain import evidence, sentence
from matching.features import FeatureSpace
from matching.records import assign_roles, prepare


def test_evidence_names_agreeing_and_disagreeing_comparisons() -> None:
    columns = ["title", "brand", "mpn", "price"]
    table = prepare(
        {
            "title": [
                "Panasonic KX-TG1032S cordless phone",
                "panasonic kxtg1032s dect phone",
                "Panasonic KX-TG1033S cordless phone",
            ],
            "brand": ["Panasonic", "panasonic", "Panasonic"],
            "mpn": ["KX-TG1032S", "KXTG1032S", "KX-TG1033S"],
            "price": ["61.14", "$64.99", "61.14"],
        },
        assign_roles(columns),
    )
    space = FeatureSpace.build(table)
    features = space.features(np.array([0, 0]), np.array([1, 2]))
    same = evidence(table, 0, 1, features[0])
    assert same["shared_codes"] == ["kxtg1032s"]
    assert {"code_value_equal", "brand_equal", "price_ratio"} <= set(same["agreed"])
    assert same["prices"] == [61.14, 64.99]
    assert "same code KXTG1032S" in sentence(same, 0.97)

    sibling = evidence(table, 0, 2, features[1])
    assert "code_value_equal" in sibling["disagreed"]
    assert sibling["values"]["code_best_similarity"] > 0.8  # a sibling model, not the same
    said = sentence(sibling, 0.2)
    assert "part numbers differ (KXTG1032S / KXTG1033S)" in said, said
    assert "code value equal" not in said  # a comparison's name is not what a reviewer reads
