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
        it could not be made); `shared_codes`, `titles`, `brands`, `prices`, `gtins`,
        `part_numbers` (normalised MPN / model number): what the two records say.
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
    shared = sorted(set(table.codes[left]) & set(table.codes[right]))
    return {
        "agreed": agreed,
        "disagreed": disagreed,
        "values": values,
        "shared_codes": shared,
        "titles": [table.title[left], table.title[right]],
        "brands": [table.brand[left], table.brand[right]],
        "prices": [_price(table.price[left]), _price(table.price[right])],
        "gtins": [table.gtin[left], table.gtin[right]],
        "part_numbers": [table.code_value[left] or None, table.code_value[right] or None],
    }


_AGAINST: dict[str, str] = {
    "title_cosine_chars": "titles differ",
    "title_token_set_ratio": "title words differ",
    "code_best_similarity": "model codes differ",
    "code_value_equal": "part numbers differ",
    "gtin_equal": "GTINs differ",
    "brand_equal": "brands differ",
    "quantity_jaccard": "quantities differ",
    "quantity_unit_conflict": "quantities conflict",
    "number_jaccard": "numbers differ",
    "digit_jaccard": "digits differ",
    "code_in_other_text": "code not in the other's text",
    "category_cosine": "categories differ",
    "price_ratio": "prices differ",
}
"""How a reviewer says each disagreement; `_SIDES` adds the two values where they help."""

_SIDES: dict[str, str] = {
    "code_value_equal": "part_numbers",
    "gtin_equal": "gtins",
    "brand_equal": "brands",
    "price_ratio": "prices",
}


def sentence(found: dict[str, Any], probability: float) -> str:
    """One line a reviewer reads: what agreed, what did not (with both values where they are
    short: part numbers, GTINs, brands, prices), and how likely a match."""
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
    against = [_against(found, name) for name in found["disagreed"]]
    text = ", ".join(parts) or "little in common"
    if against:
        text += "; but " + ", ".join(against)
    return f"{text} (P(match) {probability:.2f})"


def _against(found: dict[str, Any], name: str) -> str:
    phrase = _AGAINST.get(name, name.replace("_", " "))
    sides = found.get(_SIDES.get(name, ""))
    if not sides or any(side is None for side in sides):
        return phrase
    shown = [f"{side:.2f}" if isinstance(side, float) else str(side).upper() for side in sides]
    if name == "brand_equal":
        shown = [str(side) for side in sides]
    return f"{phrase} ({shown[0]} / {shown[1]})"


def _price(value: float) -> float | None:
    return None if math.isnan(float(value)) else float(value)
