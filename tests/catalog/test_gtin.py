"""GTIN checks: lengths, GS1 check digits, spreadsheet-dropped zeros, restricted ranges."""

from __future__ import annotations

import pytest

from catalog.gtin import check_digit, gtin_problem, is_valid_gtin, normalize_gtin


@pytest.mark.parametrize(
    "value",
    ["4006381333931", "036000291452", "36000291452", 36000291452, "96385074", "10036000291459",
     "0 36000 29145 2", "4006381-333931", 4006381333931.0],
)  # fmt: skip
def test_valid_gtins_of_every_length_and_spelling(value: object) -> None:
    assert gtin_problem(value) is None
    assert is_valid_gtin(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("4006381333932", "check digit 2, it should be 1"),
        ("12345", "has 5 digits"),
        ("400638133393A", "not all digits"),
        ("2012345678903", "in-store code (prefix 20–29)"),
        ("212345678909", "prefix 02"),
        ("412345678903", "prefix 04"),
        ("9812345678902", "coupon code (prefix 98)"),
        ("0000000000000", "all zeros"),
        (1.5, "not all digits"),
    ],
)
def test_invalid_gtins_say_why(value: object, reason: str) -> None:
    problem = gtin_problem(value)
    assert problem is not None and reason in problem
    assert not is_valid_gtin(value)


def test_no_value_is_not_a_problem_and_zeros_come_back() -> None:
    assert gtin_problem(None) is None and gtin_problem("") is None and not is_valid_gtin("")
    assert normalize_gtin(36000291452) == "036000291452"
    assert check_digit("400638133393") == 1


def test_the_upc_a_ean_13_and_gtin_14_of_one_product_are_one_gtin_14() -> None:
    from catalog.gtin import gtin14

    forms = ["036000291452", "0036000291452", "00036000291452", 36000291452, "0 36000 29145 2"]
    assert {gtin14(f) for f in forms} == {"00036000291452"}
    assert gtin14("036000291453") is None  # check digit
    assert gtin14("0400000000008") is None  # in-store
    assert gtin14("9800000000007") is None  # coupon


def test_the_gtin_attribute_type_stores_gtin_14_and_its_rule_names_the_reason() -> None:
    import pandas as pd

    from catalog.mapping import map_batch, resolve_columns
    from catalog.rows import RowBatch
    from catalog.schema import CatalogSchema
    from catalog.validation import expectations_for, rule_breaks, validate_frame

    schema = CatalogSchema.from_dict(
        {
            "name": "g",
            "id": "sku",
            "attributes": [{"name": "sku"}, {"name": "gtin", "type": "gtin"}],
        }
    )
    mapping = resolve_columns(["sku", "gtin"], schema, source="feed")
    rows = [
        {"sku": "A", "gtin": "036000291452"},
        {"sku": "B", "gtin": "0036000291452"},
        {"sku": "C", "gtin": "036000291453"},
        {"sku": "D", "gtin": "0512345000107"},
        {"sku": "E", "gtin": None},
    ]
    mapped = map_batch(
        RowBatch(rows=rows, row_numbers=[2, 3, 4, 5, 6], source="feed"), mapping, schema
    )
    assert not mapped.problems  # readable: whether it is a usable GTIN is a rule
    assert mapped.frame["gtin"].tolist()[:2] == ["00036000291452", "00036000291452"]
    frame = mapped.frame.reset_index()
    report = validate_frame(frame, schema)
    [result] = [r for r in report.results if r.spec.kind == "gtin"]
    assert not report.success and result.unexpected_count == 2
    breaks = rule_breaks(frame, schema, [s for s in expectations_for(schema) if s.kind == "gtin"])
    assert sorted(breaks) == [2, 3]
    assert "it should be 2" in breaks[2][0].message and "coupon" in breaks[3][0].message
    assert pd.isna(frame["gtin"][4])
