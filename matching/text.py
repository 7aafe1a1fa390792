"""Normalising product text and reading identifiers out of it.

Two listings of one product rarely agree on spelling ("KX-TG1032S" / "kxtg1032s",
`24 '` / `24"`), so everything the matcher compares goes through here first: lower-cased,
accents folded, punctuation dropped; model codes with their separators removed; numbers kept
with the unit written after them; GTINs (UPC, EAN) reduced to their 14-digit form with the
check digit verified.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from catalog.gtin import gtin14

_SPLIT = re.compile(r"[^\w.%/'\"+-]+|_")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_NUMBER_UNIT = re.compile(
    r"(?<![a-z0-9.])(\d+(?:[.,]\d+)?)\s*(\"|''|'|inch(?:es)?|in|cm|mm|m|km|ft|feet|"
    r"tb|gb|mb|kb|ghz|mhz|hz|mp|w|kw|v|mah|ah|a|lbs?|kg|g|oz|ml|l|gal|x|pcs?|pack|pk|"
    r"psi|rpm|hp|cfm|btu|db|k|p|bit)?(?![a-z0-9])"
)
_UNIT_ALIASES = {
    '"': "in",
    "''": "in",
    "'": "in",
    "inch": "in",
    "inches": "in",
    "feet": "ft",
    "lbs": "lb",
    "pcs": "pc",
    "pk": "pack",
}
_CODE_CHARS = re.compile(r"[^a-z0-9]")
_DIGIT_RUN = re.compile(r"\d+(?:[.,]\d+)?")


def fold(text: str) -> str:
    """Lower-case `text` and strip accents, so "Café" and "cafe" compare equal."""
    if not text:
        return ""
    if text.isascii():  # NFKD leaves ASCII as it is and no ASCII character is combining
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """The word tokens of already-folded text: letters and digits, decimals kept whole."""
    return _WORD.findall(text)


def _has_digit_and_letter(token: str) -> bool:
    if token.isascii() and token.isalnum():  # the codes' case: both iff neither only
        return not token.isdigit() and not token.isalpha()
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def model_codes(text: str) -> set[str]:
    """Model codes / part numbers in folded text, separators removed.

    A code is a run of letters and digits (both present, at least 4 characters) once hyphens,
    slashes and dots inside it are dropped, so "KX-TG1032S" and "kxtg1032s" give the same
    code. Two adjacent tokens that only make a code together ("dvd 2930ci", "ST 4000") are
    joined as well, because suppliers space codes differently.
    """
    codes: set[str] = set()
    raw = [t for t in _SPLIT.split(text) if t]
    compact = [_CODE_CHARS.sub("", t) for t in raw]
    for token in compact:
        if len(token) >= 4 and _has_digit_and_letter(token):
            codes.add(token)
        elif len(token) >= 6 and token.isdigit():
            codes.add(token)  # long pure numbers are part numbers too (Canon 0884B001 → 0884)
    for first, second in zip(compact, compact[1:], strict=False):
        joined = first + second
        if 4 <= len(joined) <= 20 and _has_digit_and_letter(joined) and first and second:
            if not (first.isalpha() and len(first) > 4):  # "printer 4000" is no code
                codes.add(joined)
    return codes


def code_key(value: str) -> str:
    """One identifier value (an MPN or model-number column) in comparable form."""
    return _CODE_CHARS.sub("", fold(value))


def quantities(text: str) -> set[str]:
    """Numbers with their unit, as `value|unit` strings (`4|tb`, `24|in`, `6|` for a bare 6).

    Decimal commas become points and trailing zeros go (`6.0` → `6`), so the same quantity
    written two ways compares equal.
    """
    found: set[str] = set()
    for number, unit in _NUMBER_UNIT.findall(text):
        value = number.replace(",", ".")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        unit = _UNIT_ALIASES.get(unit, unit)
        found.add(f"{value}|{unit}")
    return found


def number_runs(text: str) -> set[str]:
    """Every number in `text`, wherever it stands: inside codes and next to units too
    (`cs-m8000` → 8000, `i7-9700f` → 7 and 9700, `2,5"` → 2.5, `dgs-1210-28p` → 1210 and 28).

    Tokens and codes compare whole, so `cs-m8000` / `m8000` or `250gb` / `250 gb` share
    nothing there; the numbers they carry are what says which model or size a listing is.
    Decimal commas become points, leading and trailing zeros go (`06.50` → `6.5`).
    """
    found: set[str] = set()
    for number in _DIGIT_RUN.findall(text):
        value = number.replace(",", ".")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        head, dot, tail = value.partition(".")
        found.add(f"{head.lstrip('0') or '0'}{dot}{tail}")
    return found


def gtin(value: str) -> str | None:
    """A UPC/EAN/GTIN as 14 digits when it is a usable GTIN, else None.

    Leading zeros are not meaningful (a UPC-A is an EAN-13 with a 0 in front), so every valid
    code is padded to GTIN-14 and two spellings of one code become equal: the same form the
    schema's `gtin` type stores (`catalog.gtin.gtin14`), so a stored value and a raw one agree.
    In-store and coupon codes identify nothing across suppliers and never match.
    """
    return gtin14(value)


def join_text(parts: Iterable[str | None]) -> str:
    """Non-empty parts joined by a space."""
    return " ".join(p for p in parts if p)
