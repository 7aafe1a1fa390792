"""GTINs (UPC, EAN, ITF-14): what a valid one looks like, in one place.

A marketplace refuses a listing whose GTIN is malformed or has a wrong check digit, and GS1
reserves some number ranges (in-store codes, coupons) that must never identify a trade item.
Everything that checks a GTIN — the Merchant Center feed, the schema's ``gtin`` attribute type —
calls `gtin_problem` here, so every door refuses the same values for the same reason.

Spreadsheets drop leading zeros (a UPC-A ``036000291452`` arrives as ``36000291452``). Leading
zeros do not change a GS1 check digit, so a 9–11-digit number is padded back to 12 digits before
it is checked; `normalize_gtin` returns that padded form.
"""

from __future__ import annotations

import re
from typing import Any

GTIN_LENGTHS = (8, 12, 13, 14)
_SEPARATORS = re.compile(r"[\s\-]")
RESTRICTED_PREFIXES = {
    "02": "a variable-measure or in-store code (prefix 02)",
    "04": "an in-store code (prefix 04)",
    "05": "a coupon code (prefix 05)",
    "2": "an in-store code (prefix 20–29)",
    "98": "a coupon code (prefix 98)",
    "99": "a coupon code (prefix 99)",
}
"""GS1 ranges for restricted circulation, as GTIN-13 prefixes (a GTIN-12 is read with a leading
zero): they identify nothing outside the shop that printed them."""


def check_digit(body: str) -> int:
    """The GS1 check digit of ``body`` (all digits but the last): weights 3, 1, 3, … from the
    right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalize_gtin(value: Any) -> str | None:
    """The GTIN as digits only (spaces and dashes removed, a 9–11-digit number padded to 12,
    a number read from a spreadsheet as its digits); None when there is no value at all."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():  # NaN, or a fraction: not a code
            return str(value)
        value = int(value)
    text = _SEPARATORS.sub("", str(value))
    if not text:
        return None
    if text.isdigit() and 9 <= len(text) <= 11:
        text = text.zfill(12)
    return text


def gtin_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable GTIN, or None when it is one.

    Checks, in order: digits only, a length of 8, 12, 13 or 14 (after padding a 9–11-digit
    number to 12), the check digit, and GS1's restricted-circulation ranges.

    Args:
        value: The GTIN as text or a number; None or empty is "no GTIN", not a problem here
            (whether one is required is the caller's rule).

    Returns:
        A short reason a person can act on ("check digit should be 5, not 3"), or None.
    """
    text = normalize_gtin(value)
    if text is None:
        return None
    if not text.isdigit():
        return f"'{value}' is not all digits"
    if len(text) not in GTIN_LENGTHS:
        return f"'{value}' has {len(text)} digits (a GTIN has 8, 12, 13 or 14)"
    expected = check_digit(text[:-1])
    if int(text[-1]) != expected:
        return f"'{value}' has check digit {text[-1]}, it should be {expected}"
    if len(text) == 8:
        return None
    thirteen = text[-13:].zfill(13) if len(text) == 14 and text[0] == "0" else text.zfill(13)
    if len(text) == 14 and text[0] != "0":
        return None  # a case or pallet code: its indicator digit leads, no retail prefix
    for prefix, what in RESTRICTED_PREFIXES.items():
        if thirteen.startswith(prefix):
            return f"'{value}' is {what}, not a trade item number"
    if set(text) == {"0"}:
        return f"'{value}' is all zeros"
    return None


def gtin14(value: Any) -> str | None:
    """The 14-digit form of a usable GTIN (zeros in front), None for anything else.

    UPC-A ``036000291452``, EAN-13 ``0036000291452`` and GTIN-14 ``00036000291452`` are one
    product: stored and compared in this form they are one value.
    """
    if gtin_problem(value) is not None:
        return None
    text = normalize_gtin(value)
    return None if text is None else text.zfill(14)


def is_valid_gtin(value: Any) -> bool:
    """Whether ``value`` is a usable GTIN (see `gtin_problem`)."""
    return normalize_gtin(value) is not None and gtin_problem(value) is None
