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
