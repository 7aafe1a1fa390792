"""The normalise step: raw values cleaned and read the same way, whatever file they came from.

Everything downstream compares values exactly — ids to find the stored record, content hashes to
skip unchanged rows, enum values against the schema — so invisible differences (a trailing
non-breaking space, a zero-width joiner pasted from a web page, full-width letters, curly quotes)
are removed here, once, before any of that happens.

All functions are pure and work on a whole column at a time: strings go through pyarrow compute
kernels (RE2 regexes, NFKC), and only values that need individual attention (numbers written in
an unusual way, non-string cells from JSON or XLSX) fall back to Python, each distinct value once.

Missing values: `None`, NaN, and text that is empty after cleaning. Numbers, booleans and enums
also read the common null tokens (`NULL_TOKENS`: n/a, na, null, none, -, --, nan, #n/a) as
missing; free text keeps them, because `None` or `-` can be a real title or finish.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from catalog import units
from catalog.gtin import gtin14

NULL_TOKENS = frozenset({"", "n/a", "na", "null", "none", "-", "--", "nan", "#n/a"})
"""Cell contents that mean "no value" in numeric, boolean and enum columns (compared casefolded)."""

TRUE_TOKENS = frozenset({"yes", "y", "true", "t", "1", "1.0", "x", "on", "✓", "✔"})
FALSE_TOKENS = frozenset({"no", "n", "false", "f", "0", "0.0", "off", ""})
"""How booleans are written. `x` marks yes and an empty string no, as in a checkbox column; a
cell that is absent altogether (`None`, which is how the CSV reader delivers an empty cell) is
missing, not no."""

CURRENCIES = {"$": "usd", "€": "eur", "£": "gbp", "¥": "jpy", "₹": "inr"}
CURRENCY_CODES = frozenset({"usd", "eur", "gbp", "jpy", "inr", "chf", "cad", "aud"})
_CURRENCY_WORDS = frozenset(CURRENCIES) | CURRENCY_CODES

_STRING = pa.large_string()
_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

# Smart quotes and primes become ASCII before NFKC (which would turn ″ into two primes).
_SINGLE_QUOTES = "[\u2018\u2019\u201a\u201b\u2032\u2035]"
_DOUBLE_QUOTES = "[\u201c\u201d\u201e\u201f\u2033\u2036]"
_HYPHENS = "[\u2010\u2011]"  # hyphen, non-breaking hyphen: the same '-' (dashes are kept)
# Format characters that render as nothing: soft hyphen, zero-width space/joiners, direction
# marks and embeddings, word joiner, BOM; and the C1 control block.
_INVISIBLE = (
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\x80-\x84\x86-\x9f]"
)
_UNICODE_SPACE = "[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_CONTROL = r"[\x00-\x08\x0e-\x1f\x7f]"
_NEEDS_SQUEEZE = r"[\x00-\x1f\x7f]|  "
_WHITESPACE_RUN = r"[\t\n\x0b\x0c\r ]+"

# Numbers. A plain number that pyarrow can cast directly (the common case):
_PLAIN = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
# Otherwise: an optional sign and currency, the digits, and whatever follows (a unit or currency).
_QUANTITY = (
    r"^(?P<sign>[-+]?) ?"
    r"(?P<cur>[$€£¥₹]|(?i:usd|eur|gbp|jpy|inr|chf|cad|aud) ?)?"
    r" ?(?P<sign2>[-+]?)"
    r"(?P<num>\d(?:[\d,. ]*\d)?|[.,]\d+)"
    r" ?(?P<unit>[^\d ].*)?$"
)
QUANTITY_HINT = r"\d ?-? ?[^\d ]|^[-+]?[\d.,]"
"""Cleaned text that could be a number or quantity `catalog.units` reads: it starts like a
number, or has a digit followed by a unit. Text without it (`heavy`, `size 5`) is not worth
asking `units` about, one value at a time."""
# The digits, read by the rules of `units.parse_number` (see there): a comma followed by groups
# of exactly three digits is a thousands separator, any other single comma a decimal comma.
_SPACE_GROUPED = r"^\d{1,3}( \d{3})+([.,]\d+)?$"
_COMMA_THOUSANDS = r"^\d{1,3}(,\d{3})+(\.\d+)?$"
_DOT_THOUSANDS_COMMA_DECIMAL = r"^\d{1,3}(\.\d{3})+,\d+$"
_COMMA_DECIMAL = r"^\d*,\d+$"
_DOT_THOUSANDS = r"^\d{1,3}(\.\d{3}){2,}$"


def normalize_text(series: pd.Series) -> pd.Series:
    """Text as it should be compared and stored.

    NFKC (full-width letters, ligatures, non-breaking and other odd spaces become plain ones),
    zero-width and control characters removed, curly quotes and primes made ASCII, runs of
    whitespace (newlines included) collapsed to one space, ends stripped; case is kept. A value
    that is empty afterwards is missing. Non-string cells (numbers and dates from XLSX or JSON)
    are written as text first: `12` and `12.0` both become `"12"`, so a numeric SKU reads the same
    from every format.

    Returns:
        A `str` Series on the same index, NaN where the value is missing.
    """
    text = _as_text(series)
    return _to_series(_blank_to_null(_clean(text)), series.index)


def normalize_id(series: pd.Series) -> pd.Series:
    """External ids, normalised exactly like text (case and inner single spaces are kept).

    Ids are compared exactly after this, so `'AB-12 '`, `'AB-12'`, `'AB-12\\u200b'` (a trailing
    zero-width space) and `'AB\\u201112'` (a non-breaking hyphen) are the same record, while
    `'ab-12'` and `'AB 12'` are not.
    """
    return normalize_text(series)


def null_mask(series: pd.Series) -> pd.Series:
    """True where a value is missing: None, NaN, blank text, or one of `NULL_TOKENS`."""
    values = series.to_numpy(dtype=object)
    text, native = _split(values)
    token = _in(pc.utf8_lower(_clean(text)), NULL_TOKENS)
    absent = pc.is_null(text).to_numpy(zero_copy_only=False) & ~native
    return pd.Series(absent | token, index=series.index)


def normalize_units(series: pd.Series, unit: str | None) -> tuple[pd.Series, pd.Series]:
    """Numbers as catalogues write them, converted to `unit`.

    Reads `12.5`, `1,200`, `1.200,50`, `€12,50`, `$49.99`, `-3`, `1 200`, `1/2` and quantities
    with units (`52mm`, `5.2 cm`, `2 lbs`), which are converted to `unit` with `catalog.units`
    (results rounded to 12 significant digits, as `units.convert` does). A bare number is taken as
    already in `unit`. Currency symbols and codes are accepted when `unit` is None (a price) or
    the same currency; a physical unit on a value of a unit-less attribute is not.

    Args:
        series: Raw values: strings, or native numbers from XLSX/JSON.
        unit: The attribute's canonical unit, a label `units` does not know (`%`, `USD`; then
            only that exact label is accepted), or None.

    Returns:
        `(values, failed)`: float values (NaN where missing or unreadable) and a mask of values
        that are present but could not be read as a number in `unit`.
    """
    raw = series.to_numpy(dtype=object)
    n = len(raw)
    values = np.full(n, np.nan)
    failed = np.zeros(n, dtype=bool)
    text, native = _split(raw)
    for position in np.flatnonzero(native):
        number = _native_number(raw[position])
        if number is None:
            failed[position] = True
        else:
            values[position] = number
    cleaned = _number_text(_clean(text))
    folded = pc.utf8_lower(cleaned)
    present = ~_in(folded, NULL_TOKENS) & cleaned.is_valid().to_numpy(zero_copy_only=False)
    plain = _mask(pc.match_substring_regex(cleaned, _PLAIN))
    at = np.flatnonzero(plain & present)
    if len(at):
        values[at] = pc.cast(cleaned.take(pa.array(at)), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    at = np.flatnonzero(present & ~plain)
    if len(at):
        rest = cleaned.take(pa.array(at))
        read, ok, settled = _read_quantities(rest, unit)
        slow = np.flatnonzero(~ok & ~settled)
        if len(slow):  # only text that could hold a quantity is worth reading one by one
            leftovers = rest.take(pa.array(slow))
            hinted = _mask(pc.match_substring_regex(leftovers, QUANTITY_HINT))
            strings = leftovers.filter(pa.array(hinted)).to_pylist()
            read[slow[hinted]] = [_read_one(s, unit) for s in strings]
        values[at] = read
        failed[at] = np.isnan(read)
    infinite = np.isinf(values)
    values[infinite] = np.nan
    failed |= infinite
    return pd.Series(values, index=series.index), pd.Series(failed, index=series.index)


def normalize_boolean(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no values: see `TRUE_TOKENS` and `FALSE_TOKENS` (compared casefolded).

    Native booleans pass through; native 1 and 0 are yes and no. Null tokens other than the empty
    string are missing.

    Returns:
        `(values, failed)`: an object Series of True/False/None and a mask of unreadable values.
    """
    raw = series.to_numpy(dtype=object)
    n = len(raw)
    out = np.full(n, None, dtype=object)
    failed = np.zeros(n, dtype=bool)
    text, native = _split(raw)
    for position in np.flatnonzero(native):
        value = raw[position]
        if isinstance(value, bool | np.bool_):
            out[position] = bool(value)
        elif _native_number(value) in (0.0, 1.0):
            out[position] = _native_number(value) == 1.0
        else:
            failed[position] = True
    folded = pc.utf8_lower(_clean(text))
    is_true = _in(folded, TRUE_TOKENS)
    is_false = _in(folded, FALSE_TOKENS)
    is_null = _in(folded, NULL_TOKENS) & ~is_false
    given = ~pc.is_null(folded).to_numpy(zero_copy_only=False)
    out[is_true] = True
    out[is_false] = False
    failed |= given & ~is_true & ~is_false & ~is_null
    return pd.Series(out, index=series.index, dtype=object), pd.Series(failed, index=series.index)


def normalize_enum(series: pd.Series, lookup: Mapping[str, str]) -> pd.Series:
    """Enum values mapped to their canonical spelling, case- and space-insensitively.

    `lookup` maps casefolded spellings (values and synonyms) to the canonical value, as
    `Attribute.canonical_enum()` returns it. A value not in it is kept as normalised text: the
    validation stage reports it, with the rule it breaks. A null token that is not itself an enum
    value is missing.
    """
    folded_lookup = {_fold(key): value for key, value in lookup.items()}
    text = normalize_text(series)
    codes, uniques = pd.factorize(text)
    mapped = np.array(
        [folded_lookup.get(_fold(u), None if _fold(u) in NULL_TOKENS else u) for u in uniques],
        dtype=object,
    )
    out = np.full(len(text), None, dtype=object)
    known = codes >= 0
    out[known] = mapped[codes[known]]
    return pd.Series(out, index=series.index).astype(_STR_DTYPE)


def normalize_gtins(series: pd.Series) -> pd.Series:
    """GTINs in their 14-digit form (`catalog.gtin.gtin14`): the UPC-A, EAN-13 and GTIN-14 of
    one product become one value. A value that is not a usable GTIN is kept as normalised text,
    so the validation stage reports it with the reason (check digit, length, prefix)."""
    text = normalize_text(series)
    codes, uniques = pd.factorize(text)
    mapped = np.array([gtin14(u) or u for u in uniques], dtype=object)
    out = np.full(len(text), None, dtype=object)
    known = codes >= 0
    out[known] = mapped[codes[known]]
    return pd.Series(out, index=series.index).astype(_STR_DTYPE)


def split_lists(series: pd.Series, separator: str) -> pd.Series:
    """The elements of array cells, one per entry, indexed by the cell's position in `series`.

    A list (from JSON or XLSX) keeps its elements as they are; a string is split on `separator`;
    any other value is a one-element list. String elements that are blank are dropped, so
    `"a; ;b;"` has two elements. Missing cells have no entries.
    """
    if not separator:
        raise ValueError("an array separator must not be empty")
    raw = series.to_numpy(dtype=object)
    text, native = _split(raw)
    lists = pc.split_pattern(text, pattern=separator)
    elements = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    keep = pc.not_equal(pc.utf8_trim_whitespace(elements), "").to_numpy(zero_copy_only=False)
    element_values = elements.filter(pa.array(keep)).to_numpy(zero_copy_only=False)
    parents = parents[keep]
    if native.any():
        extra_values: list[Any] = []
        extra_parents: list[int] = []
        for position in np.flatnonzero(native):
            value = raw[position]
            items = list(value) if isinstance(value, list | tuple) else [value]
            for item in items:
                if item is None or (isinstance(item, str) and not item.strip()):
                    continue
                if isinstance(item, float) and math.isnan(item):
                    continue
                extra_values.append(item)
                extra_parents.append(int(position))
        extra = np.empty(len(extra_values), dtype=object)
        for i, item in enumerate(extra_values):  # item by item: nested lists stay objects
            extra[i] = item
        element_values = np.concatenate([element_values.astype(object), extra])
        parents = np.concatenate([parents, np.array(extra_parents, dtype=parents.dtype)])
        order = np.argsort(parents, kind="stable")
        element_values, parents = element_values[order], parents[order]
    return pd.Series(element_values, index=pd.Index(parents, dtype=np.int64), dtype=object)


# --- text internals ----------------------------------------------------------------------------


def _split(values: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """The string cells as an arrow array (null elsewhere), and a mask of non-string values."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return pa.array(values, type=_STRING, from_pandas=True), np.zeros(len(values), bool)
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    native = ~is_str & ~pd.isna(values)
    strings = values.copy()
    strings[~is_str] = None
    return pa.array(strings, type=_STRING), native


def _as_text(series: pd.Series) -> pa.Array:
    values = series.to_numpy(dtype=object)
    text, native = _split(values)
    if not native.any():
        return text
    merged = text.to_numpy(zero_copy_only=False).astype(object)
    merged[native] = [_stringify(v) for v in values[native]]
    return pa.array(merged, type=_STRING)


def _stringify(value: Any) -> str:
    """A non-string cell as text: integral floats without `.0`, booleans and dates as JSON does."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _clean(text: pa.Array) -> pa.Array:
    """The text pipeline, keeping empty strings (booleans read `''` as no)."""
    if pc.all(pc.string_is_ascii(text)).as_py() is False:
        text = pc.replace_substring_regex(text, _SINGLE_QUOTES, "'")
        text = pc.replace_substring_regex(text, _DOUBLE_QUOTES, '"')
        text = pc.replace_substring_regex(text, _HYPHENS, "-")
        text = pc.utf8_normalize(text, "NFKC")
        text = pc.replace_substring_regex(text, _INVISIBLE, "")
        text = pc.replace_substring_regex(text, _UNICODE_SPACE, " ")
    if pc.any(pc.match_substring_regex(text, _NEEDS_SQUEEZE)).as_py():
        text = pc.replace_substring_regex(text, _CONTROL, "")
        text = pc.replace_substring_regex(text, _WHITESPACE_RUN, " ")
    return pc.utf8_trim_whitespace(text)


def _blank_to_null(text: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, _STRING), text)


def _to_series(text: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(text, dtype=_STR_DTYPE, index=index)


def _in(text: pa.Array, tokens: frozenset[str]) -> np.ndarray:
    return _mask(pc.is_in(text, value_set=pa.array(sorted(tokens), _STRING)))


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# --- number internals --------------------------------------------------------------------------


def _number_text(text: pa.Array) -> pa.Array:
    """Cleaned text with the unicode minus made ASCII, so `−5` reads as a number."""
    return pc.replace_substring(text, "\u2212", "-")


def _native_number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating | Decimal):
        number = float(value)
        return None if math.isnan(number) else number
    return None


def _read_quantities(text: pa.Array, unit: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised reading of `[sign][currency]digits[unit]`.

    Returns `(values, ok, settled)`: `settled` marks values read cleanly but unusable (a price
    where a length is asked, a known unit of another dimension), which no slower reading could
    rescue; the rest of `~ok` is worth a look by `catalog.units`.

    Regexes run on the whole column once (the split into parts); the digit rules only on the
    few values with commas or several dots, and units are resolved once per distinct spelling.
    """
    n = len(text)
    parts = pc.extract_regex(text, _QUANTITY)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)

    def field(name: str) -> pa.Array:
        return pc.fill_null(pc.struct_field(parts, name), "")

    digits = field("num")
    ok = matched.copy()
    spaced = _mask(pc.match_substring(digits, " "))
    if spaced.any():
        at = np.flatnonzero(spaced)
        ok[at] &= _mask(pc.match_substring_regex(digits.take(pa.array(at)), _SPACE_GROUPED))
        digits = pc.replace_substring(digits, " ", "")
    tricky = _mask(pc.match_substring(digits, ",")) | (
        pc.count_substring(digits, ".").to_numpy(zero_copy_only=False) > 1
    )
    number = np.full(n, np.nan)
    at = np.flatnonzero(matched & ~tricky)
    if len(at):
        number[at] = _float(pc.cast(digits.take(pa.array(at)), pa.float64()))
    at = np.flatnonzero(matched & tricky)
    if len(at):
        number[at] = _read_grouped(digits.take(pa.array(at)))
    ok &= ~np.isnan(number)
    negative = _mask(pc.equal(field("sign"), "-")) | _mask(pc.equal(field("sign2"), "-"))
    number = np.where(negative, -number, number)

    prefix = _currencies(pc.utf8_trim_whitespace(field("cur")))
    unit_codes, unit_names = _encode(pc.utf8_trim_whitespace(field("unit")))
    unit_currency = np.array([_currency(u) or "" for u in unit_names] + [""], dtype=object)
    suffix = unit_currency[unit_codes]
    conflicting = (prefix != "") & (suffix != "") & (prefix != suffix)
    currency = np.where(prefix != "", prefix, suffix)
    priced = currency != ""
    parsed = ok.copy()
    target_kind, target = _target(unit)
    if target_kind == "none":
        ok &= ~conflicting
    elif target_kind == "currency":
        ok &= ~conflicting & (~priced | (currency == target))
    else:  # a price is neither a length nor a percentage
        ok &= ~priced

    # One conversion per distinct unit spelling: a factor, NaN if impossible, or an offset.
    settled = parsed & ~ok
    factors = np.ones(len(unit_names) + 1)
    offset = np.zeros(len(unit_names) + 1, dtype=bool)
    known = np.zeros(len(unit_names) + 1, dtype=bool)
    for code, name in enumerate(unit_names):
        if name == "" or unit_currency[code]:
            continue
        known[code] = _is_unit(name)
        conversion = _conversion(name, target_kind, target)
        if conversion is None:
            factors[code] = np.nan
        elif conversion == "offset":
            offset[code] = True
        else:
            factors[code] = conversion
    factor = factors[unit_codes]
    settled |= ok & np.isnan(factor) & known[unit_codes]
    ok &= ~np.isnan(factor)
    values = number * factor
    scaled = ok & (factor != 1.0)
    values[scaled] = _round_significant(values[scaled])
    for position in np.flatnonzero(ok & offset[unit_codes]):  # temperatures: rare, exact
        values[position] = units.convert(
            number[position], unit_names[unit_codes[position]], target or ""
        )
    values[~ok] = np.nan
    return values, ok, settled


def _read_grouped(digits: pa.Array) -> np.ndarray:
    """Digits with commas or several dots, read by `units.parse_number`'s rules (else NaN)."""
    out = np.full(len(digits), np.nan)
    decided = np.zeros(len(digits), dtype=bool)
    rules = [
        (_COMMA_THOUSANDS, lambda d: pc.replace_substring(d, ",", "")),
        (
            _DOT_THOUSANDS_COMMA_DECIMAL,
            lambda d: pc.replace_substring(pc.replace_substring(d, ".", ""), ",", "."),
        ),
        (_COMMA_DECIMAL, lambda d: pc.replace_substring(d, ",", ".")),
        (_DOT_THOUSANDS, lambda d: pc.replace_substring(d, ".", "")),
    ]
    for pattern, rewrite in rules:
        hit = np.flatnonzero(_mask(pc.match_substring_regex(digits, pattern)) & ~decided)
        if len(hit):
            out[hit] = _float(pc.cast(rewrite(digits.take(pa.array(hit))), pa.float64()))
            decided[hit] = True
    return out


def _mask(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _float(array: pa.Array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False).astype(float)


def _encode(text: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Each value's code into the list of distinct values (code -1 for null)."""
    encoded = pc.dictionary_encode(text)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return codes, encoded.dictionary.to_pylist()


def _target(unit: str | None) -> tuple[str, str | None]:
    """What kind of unit an attribute asks for: none, a currency, a known unit, or a label."""
    if unit is None:
        return "none", None
    if unit.casefold() in _CURRENCY_WORDS:
        return "currency", _currency(unit)
    try:
        return "unit", units.canonical_unit(unit)
    except units.UnitError:
        return "label", unit


def _currencies(text: pa.Array) -> np.ndarray:
    """The currency code each value names (`$` → `usd`), or `""`."""
    codes, names = _encode(text)
    named = np.array([_currency(u) or "" for u in names] + [""], dtype=object)
    return named[codes]  # code -1 (missing) picks the trailing ""


def _currency(text: str) -> str | None:
    folded = text.strip().casefold()
    if folded in CURRENCIES:
        return CURRENCIES[folded]
    return folded if folded in CURRENCY_CODES else None


@lru_cache(maxsize=4096)
def _is_unit(text: str) -> bool:
    try:
        units.canonical_unit(text)
    except units.UnitError:
        return False
    return True


@lru_cache(maxsize=4096)
def _conversion(suffix: str, target_kind: str, target: str | None) -> float | str | None:
    """The factor from a written unit to the target, `"offset"` for temperatures, or None."""
    if target_kind == "label":
        return 1.0 if suffix.casefold() == (target or "").casefold() else None
    if target_kind != "unit" or target is None:
        return None
    try:
        if units.convert(0.0, suffix, target) != 0.0:
            return "offset"
        return 1.0 if units.canonical_unit(suffix) == target else units.convert(1.0, suffix, target)
    except units.UnitError:
        return None


@lru_cache(maxsize=65536)
def _read_one(text: str, unit: str | None) -> float:
    """One value the vectorised reading could not place, read by `catalog.units` (NaN if not)."""
    target_kind, target = _target(unit)
    try:
        if target_kind == "unit" and target is not None:
            value = units.to_unit(text, target)
        else:
            value = units.parse_number(text)
    except units.UnitError:
        return math.nan
    return math.nan if value is None else value


def _round_significant(values: np.ndarray, digits: int = 12) -> np.ndarray:
    """Round to `digits` significant digits, like `units.convert` (`1.1 kg` is 1100 g, not
    1100.0000000000002)."""
    out = values.copy()
    finite = np.isfinite(values) & (values != 0)
    v = values[finite]
    shift = digits - 1 - np.floor(np.log10(np.abs(v))).astype(int)
    up = shift >= 0
    scale = 10.0 ** np.abs(shift)
    rounded = np.where(up, np.round(v * scale) / scale, np.round(v / scale) * scale)
    out[finite] = rounded
    return out
