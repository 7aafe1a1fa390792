"""The normalise step: text cleaned once, numbers read as catalogues write them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from catalog import units
from catalog.normalize import (
    normalize_boolean,
    normalize_enum,
    normalize_id,
    normalize_text,
    normalize_units,
    null_mask,
    split_lists,
)


def texts(*values: object) -> list[object]:
    out = normalize_text(pd.Series(list(values), dtype=object)).tolist()
    return [None if isinstance(v, float) and math.isnan(v) else v for v in out]


# --- text ------------------------------------------------------------------------------------


def test_text_unicode_mess_becomes_plain_text() -> None:
    assert texts("Ｐｏｗｅｒ\u00a0Drill\u200b") == ["Power Drill"]
    assert texts("\ufeffBosch\u2009GSR\u202f18V\u00ad") == ["Bosch GSR 18V"]


def test_text_quotes_whitespace_and_controls() -> None:
    assert texts("“Pro” 23″ monitor, it’s ‘new’") == ["\"Pro\" 23\" monitor, it's 'new'"]
    assert texts("  two\t\tspaces\n\nand\r\nlines  ") == ["two spaces and lines"]
    assert texts("bell\x07 and nul\x00 gone") == ["bell and nul gone"]


def test_text_keeps_case_and_plain_ascii() -> None:
    assert texts("Drill BIT set", "a-b_c/d") == ["Drill BIT set", "a-b_c/d"]


def test_text_blank_is_missing() -> None:
    assert texts("", "   ", "\u200b", None, float("nan"), "x") == [None] * 5 + ["x"]


def test_text_from_native_values_reads_like_the_csv_would() -> None:
    assert texts(12, 12.0, 12.5, True, dt.date(2024, 5, 1)) == [
        "12",
        "12",
        "12.5",
        "true",
        "2024-05-01",
    ]


def test_text_keeps_the_index() -> None:
    series = pd.Series([" a ", "b"], index=["x", "y"])
    assert normalize_text(series).to_dict() == {"x": "a", "y": "b"}


def test_ids_compare_exactly_after_normalisation() -> None:
    raw = ["AB-12 ", "AB-12", "AB-12\u200b", "ab-12", "AB  12", "ＡＢ-12", "AB\u201112"]
    ids = normalize_id(pd.Series(raw))
    assert ids.tolist() == ["AB-12", "AB-12", "AB-12", "ab-12", "AB 12", "AB-12", "AB-12"]


def test_null_mask_knows_the_common_tokens() -> None:
    raw = ["a", "N/A", "na", "NULL", "None", "-", "--", " ", None, 0, "0"]
    series = pd.Series(raw, dtype=object)
    assert null_mask(series).tolist() == [False] + [True] * 8 + [False, False]


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "unit", "expected"),
    [
        ("12.5", None, 12.5),
        ("1,200", None, 1200.0),
        ("$49.99", None, 49.99),
        ("€12,50", None, 12.5),
        ("12,50 €", None, 12.5),
        ("1.200,50", None, 1200.5),
        ("1.200.000", None, 1200000.0),
        ("1 200", None, 1200.0),
        ("1\u00a0200,5", None, 1200.5),
        ("USD 5", None, 5.0),
        ("$-22,355.0", None, -22355.0),
        ("-3", None, -3.0),
        ("−4", None, -4.0),
        ("1/2", None, 0.5),
        (" 7 ", None, 7.0),
        ("１２", None, 12.0),
        ("$49.99", "USD", 49.99),
        ("2.8%", "%", 2.8),
        ("-32.4%", "%", -32.4),
        ("52mm", "mm", 52.0),
        ("5.2 cm", "mm", 52.0),
        ("2,5 cm", "mm", 25.0),
        ("23″", "mm", 584.2),
        ("1-1/2 in", "mm", 38.1),
        ("1,200 g", "kg", 1.2),
        ("1.1 kg", "g", 1100.0),
        ("2 lbs", "kg", 0.90718474),
        ("212 °F", "°C", 100.0),
        ("12", "kg", 12.0),
        (7, "kg", 7.0),
        (np.float64(2.5), None, 2.5),
    ],
)
def test_numbers_as_catalogues_write_them(raw: object, unit: str | None, expected: float) -> None:
    values, failed = normalize_units(pd.Series([raw], dtype=object), unit)
    assert not failed.iat[0]
    assert values.iat[0] == pytest.approx(expected, rel=1e-12)


def test_converted_values_have_no_float_noise() -> None:
    values, _ = normalize_units(pd.Series(["1.1 kg", "0.3 kg"]), "g")
    assert values.tolist() == [1100.0, 300.0]


@pytest.mark.parametrize(
    ("raw", "unit"),
    [
        ("heavy", "kg"),
        ("heavy", None),
        ("5 V", "kg"),  # another dimension
        ("52mm", None),  # a unit on a unit-less attribute
        ("$12", "mm"),  # a price is not a length
        ("€12", "USD"),  # another currency
        ("5 mm", "%"),
        ("1,2,3", None),
        ("12.5.3", None),
        ("inf", None),
        (True, None),
        (["1"], None),
    ],
)
def test_values_that_are_not_numbers_fail(raw: object, unit: str | None) -> None:
    values, failed = normalize_units(pd.Series([raw], dtype=object), unit)
    assert failed.iat[0]
    assert math.isnan(values.iat[0])


def test_null_tokens_are_missing_not_failures() -> None:
    raw = pd.Series(["", "N/A", "na", "NULL", "none", "-", "--", None, float("nan")], dtype=object)
    values, failed = normalize_units(raw, "kg")
    assert values.isna().all()
    assert not failed.any()


def test_number_reading_agrees_with_units_module() -> None:
    """The vectorised path and `units.to_unit` must never disagree on a value both can read."""
    raw = ["52 mm", "5.2cm", "2,5 m", "1,200 mm", "3 ft", "12 in", "0.5 km", "1.200,5 mm", "7"]
    values, failed = normalize_units(pd.Series(raw), "mm")
    assert not failed.any()
    for text, value in zip(raw, values, strict=True):
        assert value == pytest.approx(units.to_unit(text, "mm"), rel=1e-11), text


def test_numbers_keep_the_index_and_mix_native_and_text() -> None:
    raw = pd.Series([5, "6 kg", None, "x"], index=[10, 11, 12, 13], dtype=object)
    values, failed = normalize_units(raw, "kg")
    assert values.index.tolist() == [10, 11, 12, 13]
    assert values.iloc[:2].tolist() == [5.0, 6.0]
    assert failed.tolist() == [False, False, False, True]


# --- booleans, enums, lists ------------------------------------------------------------------


def test_booleans() -> None:
    raw = ["yes", "No", "Y", "n", "TRUE", "false", "1", "0", "x", "", None, "N/A", 1, 0, True]
    values, failed = normalize_boolean(pd.Series(raw, dtype=object))
    assert values.tolist() == [
        True, False, True, False, True, False, True, False, True, False, None, None,
        True, False, True,
    ]  # fmt: skip
    assert not failed.any()


def test_unreadable_booleans_fail() -> None:
    _, failed = normalize_boolean(pd.Series(["maybe", 2, "yes"], dtype=object))
    assert failed.tolist() == [True, True, False]


def test_enum_values_and_synonyms_map_to_the_canonical_spelling() -> None:
    lookup = {"stainless steel": "Stainless Steel", "ss": "Stainless Steel",
              "inox": "Stainless Steel", "brass": "Brass", "none": "None"}  # fmt: skip
    raw = pd.Series(["SS", " inox ", "STAINLESS  steel", "brass", "Wood", "N/A", None, "none"])
    out = normalize_enum(raw, lookup)
    assert out.iloc[:5].tolist() == ["Stainless Steel"] * 3 + ["Brass", "Wood"]
    assert out.iloc[5:7].isna().all()  # a null token that is not an enum value
    assert out.iat[7] == "None"  # ... unless it is one


def test_split_lists() -> None:
    raw = pd.Series(["a; b;;c", None, ["x", 2], 5, " ; ", "solo"], dtype=object)
    elements = split_lists(raw, ";")
    assert elements.index.tolist() == [0, 0, 0, 2, 2, 3, 5]
    assert elements.tolist() == ["a", " b", "c", "x", 2, 5, "solo"]


def test_split_lists_with_another_separator() -> None:
    assert split_lists(pd.Series(["a|b", "c;d"]), "|").tolist() == ["a", "b", "c;d"]
