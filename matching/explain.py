"""Why two records were matched: the comparisons that agreed and disagreed, with the values.

A reviewer deciding on a merge needs to see "same model code KXTG1032S, same brand, titles
0.82 similar, prices 61.14 / 64.99", not a probability alone. The agreement rules here are fixed
and readable (they say what a person would call agreement), separate from how much the model
weighs each comparison.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from matching.features import FEATURES
from matching.records import RecordTable

# feature → (agree at or above, disagree at or below); None: that side has no rule
_RULES: dict[str, tuple[float | None, float | None]] = {
    "title_cosine_chars": (0.75, 0.4),
    "title_token_set_ratio": (0.85, 0.5),
    "code_best_similarity": (1.0, 0.99),
    "code_value_equal": (1.0, 0.0),
    "gtin_equal": (1.0, 0.0),
    "brand_equal": (1.0, 0.0),
    "quantity_jaccard": (1.0, 0.0),
    "quantity_unit_conflict": (None, 1.0),
    "number_jaccard": (1.0, 0.0),
    "digit_jaccard": (1.0, 0.0),
    "code_in_other_text": (1.0, 0.0),
    "category_cosine": (0.7, 0.2),
    "price_ratio": (0.85, 0.5),
}


def evidence(table: RecordTable, left: int, right: int, features: np.ndarray) -> dict[str, Any]:
    """The evidence for one pair, JSON-ready.

    Args:
        table: The records the pair indexes into.
        left, right: The pair's rows.
        features: That pair's feature row (`FEATURES` order).

    Returns:
        `agreed` / `disagreed`: comparison names; `values`: each comparison's value (None where
        it could not be made); `shared_codes`, `titles`, `brands`, `prices`, `gtins`: what the
        two records say.
    """
    values = {
        name: (None if math.isnan(float(v)) else round(float(v), 4))
        for name, v in zip(FEATURES, features, strict=True)
    }
    agreed, disagreed = [], []
    for name, (agree, disagree) in _RULES.items():
        value = values.get(name)
        if value is None:
            continue
        if name == "quantity_unit_conflict":
            if value >= 1.0:
                disagreed.append(name)
            elif value == 0:
                agreed.append(name)
            continue
        if agree is not None and value >= agree:
            agreed.append(name)
        elif disagree is not None and value <= disagree:
            disagreed.append(name)
    shared = sorted(table.codes[left] & table.codes[right])
    return {
        "agreed": agreed,
        "disagreed": disagreed,
        "values": values,
        "shared_codes": shared,
        "titles": [table.title[left], table.title[right]],
        "brands": [table.brand[left], table.brand[right]],
        "prices": [_price(table.price[left]), _price(table.price[right])],
        "gtins": [table.gtin[left], table.gtin[right]],
    }


def sentence(found: dict[str, Any], probability: float) -> str:
    """One line a reviewer reads: what agreed, what did not, and how likely a match."""
    parts = []
    if found["shared_codes"]:
        parts.append(f"same code {found['shared_codes'][0].upper()}")
    if "gtin_equal" in found["agreed"]:
        parts.append("same GTIN")
    if "brand_equal" in found["agreed"]:
        parts.append("same brand")
    title = found["values"].get("title_cosine_chars")
    if title is not None:
        parts.append(f"titles {title:.2f} similar")
    against = [d.replace("_", " ") for d in found["disagreed"]]
    text = ", ".join(parts) or "little in common"
    if against:
        text += "; but " + ", ".join(against)
    return f"{text} (P(match) {probability:.2f})"


def _price(value: float) -> float | None:
    return None if math.isnan(float(value)) else float(value)
