"""Units of measure: canonical spellings, dimensions, conversion and parsing quantities from text.

Catalogue feeds spell one unit many ways (`millimetres`, `MM`, `mm.`) and quote the same
quantity in different units (`12.7mm` for a ½" bolt), so ingest and extraction both reduce every
quantity to the schema attribute's canonical unit here. One table drives everything: each
canonical unit has a dimension, a linear factor (and, for temperature, an offset) to the
dimension's base, and the spellings that mean it.

Numbers — decimal comma versus thousands separator, decided per number:
    * both `,` and `.` present: the last one is the decimal mark (`1.200,5` → 1200.5,
      `1,200.5` → 1200.5);
    * only commas, every group after the first exactly three digits (`1,200`, `12,000,000`):
      thousands separators — English catalogues are the common case, so `1,200 W` is 1200 W;
    * a single comma followed by one, two or four-plus digits (`2,5 mm`, `2,55`): decimal comma,
      as European files write it;
    * dots only: a single dot is the decimal mark (`1.200` is 1.2); several dots with
      three-digit groups (`1.200.000`) are thousands separators.
    * fractions and mixed numbers: `1/2` → 0.5, `1-1/2` and `1 1/2` → 1.5.

Text matching is stricter than `canonical_unit`: a bare `C`/`F` is accepted as a unit column
value (°C/°F) but never read from free text, and single letters that are ordinary words or
prefixes elsewhere (`K`, `B`, `A`, `g`) are matched in text only in their exact case.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import SupportsFloat, cast


class UnitError(ValueError):
    """A unit is unknown, or a conversion crosses dimensions; the message names both sides."""


@dataclass(frozen=True)
class _Unit:
    canonical: str
    dimension: str
    factor: float
    """Multiply by this to reach the dimension's base unit."""
    offset: float = 0.0
    """Add after multiplying (temperature only)."""


# canonical: (dimension, factor to base, offset, other spellings). Base units: m, kg, V, A, W, Pa,
# l, Hz, K, B, pcs, N·m, rpm, m/s, l/min, Ah, Wh, Ω, F.
_INCH = 0.0254
_FOOT = 0.3048
_POUND = 0.45359237
_US_GALLON = 3.785411784
_FT_LBF = 1.3558179483314004
_UNITS: dict[str, tuple[str, float, float, tuple[str, ...]]] = {
    # length
    "µm": (
        "length",
        1e-6,
        0,
        ("um", "μm", "micron", "microns", "micrometre", "micrometer", "micrometres", "micrometers"),
    ),
    "mm": ("length", 1e-3, 0, ("millimetre", "millimeter", "millimetres", "millimeters", "mm.")),
    "cm": ("length", 1e-2, 0, ("centimetre", "centimeter", "centimetres", "centimeters", "cm.")),
    "m": ("length", 1.0, 0, ("metre", "meter", "metres", "meters", "mtr", "mtrs")),
    "km": ("length", 1e3, 0, ("kilometre", "kilometer", "kilometres", "kilometers")),
    "in": ("length", _INCH, 0, ("inch", "inches", "in.", '"', "″", "''", "”")),
    "ft": ("length", _FOOT, 0, ("foot", "feet", "ft.", "'", "′", "’")),
    "yd": ("length", 0.9144, 0, ("yard", "yards", "yds", "yd.")),
    "mi": ("length", 1609.344, 0, ("mile", "miles")),
    # mass
    "mg": ("mass", 1e-6, 0, ("milligram", "milligrams", "milligramme", "milligrammes")),
    "g": ("mass", 1e-3, 0, ("gram", "grams", "gramme", "grammes", "gr", "grs")),
    "kg": (
        "mass",
        1.0,
        0,
        ("kilogram", "kilograms", "kilogramme", "kilogrammes", "kgs", "kilo", "kilos"),
    ),
    "t": ("mass", 1e3, 0, ("tonne", "tonnes", "ton", "tons", "T", "metric ton", "metric tons")),
    "oz": ("mass", _POUND / 16, 0, ("ounce", "ounces", "oz.")),
    "lb": ("mass", _POUND, 0, ("lbs", "pound", "pounds", "lb.", "lbs.")),
    # voltage
    "mV": ("voltage", 1e-3, 0, ("millivolt", "millivolts")),
    "V": ("voltage", 1.0, 0, ("volt", "volts", "VAC", "VDC", "V AC", "V DC", "Vac", "Vdc", "V~")),
    "kV": ("voltage", 1e3, 0, ("kilovolt", "kilovolts")),
    # current
    "mA": ("current", 1e-3, 0, ("milliamp", "milliamps", "milliampere", "milliamperes")),
    "A": ("current", 1.0, 0, ("amp", "amps", "ampere", "amperes")),
    # power
    "mW": ("power", 1e-3, 0, ("milliwatt", "milliwatts")),
    "W": ("power", 1.0, 0, ("watt", "watts")),
    "kW": ("power", 1e3, 0, ("kilowatt", "kilowatts")),
    "MW": ("power", 1e6, 0, ("megawatt", "megawatts")),
    "hp": ("power", 745.6998715822702, 0, ("horsepower", "horse power", "bhp")),
    # pressure
    "Pa": ("pressure", 1.0, 0, ("pascal", "pascals")),
    "kPa": ("pressure", 1e3, 0, ("kilopascal", "kilopascals")),
    "MPa": ("pressure", 1e6, 0, ("megapascal", "megapascals")),
    "mbar": ("pressure", 100.0, 0, ("millibar", "millibars")),
    "bar": ("pressure", 1e5, 0, ("bars",)),
    "psi": ("pressure", 6894.757293168361, 0, ("lb/in²", "lbf/in2", "psig")),
    # volume
    "ml": ("volume", 1e-3, 0, ("mL", "millilitre", "milliliter", "millilitres", "milliliters")),
    "cl": ("volume", 1e-2, 0, ("centilitre", "centiliter", "centilitres", "centiliters")),
    "l": ("volume", 1.0, 0, ("L", "litre", "liter", "litres", "liters", "ltr", "ltrs")),
    "m³": ("volume", 1e3, 0, ("m3", "cubic metre", "cubic meter", "cubic metres", "cubic meters")),
    "gal": ("volume", _US_GALLON, 0, ("gallon", "gallons", "gal.", "US gal")),
    "fl oz": (
        "volume",
        _US_GALLON / 128,
        0,
        ("fl. oz", "fl. oz.", "fl.oz", "fl.oz.", "fluid ounce", "fluid ounces", "floz"),
    ),
    # frequency
    "Hz": ("frequency", 1.0, 0, ("hertz",)),
    "kHz": ("frequency", 1e3, 0, ("kilohertz",)),
    "MHz": ("frequency", 1e6, 0, ("megahertz",)),
    "GHz": ("frequency", 1e9, 0, ("gigahertz",)),
    # temperature (base kelvin)
    "°C": (
        "temperature",
        1.0,
        273.15,
        ("ºC", "℃", "degC", "deg C", "degrees C", "celsius", "degrees celsius", "C"),
    ),
    "°F": (
        "temperature",
        5 / 9,
        273.15 - 32 * 5 / 9,
        ("ºF", "℉", "degF", "deg F", "degrees F", "fahrenheit", "degrees fahrenheit", "F"),
    ),
    "K": ("temperature", 1.0, 0, ("kelvin",)),
    # data (decimal prefixes, as storage is sold; binary ones are their own units)
    "B": ("data", 1.0, 0, ("byte", "bytes")),
    "KB": ("data", 1e3, 0, ("kilobyte", "kilobytes", "kB")),
    "MB": ("data", 1e6, 0, ("megabyte", "megabytes")),
    "GB": ("data", 1e9, 0, ("gigabyte", "gigabytes")),
    "TB": ("data", 1e12, 0, ("terabyte", "terabytes")),
    "KiB": ("data", 2.0**10, 0, ()),
    "MiB": ("data", 2.0**20, 0, ()),
    "GiB": ("data", 2.0**30, 0, ()),
    "TiB": ("data", 2.0**40, 0, ()),
    # counts
    "pcs": (
        "count",
        1.0,
        0,
        (
            "pc",
            "pcs.",
            "pce",
            "pces",
            "piece",
            "pieces",
            "ea",
            "each",
            "unit",
            "units",
            "ct",
            "count",
        ),
    ),
    "dozen": ("count", 12.0, 0, ("doz", "dz")),
    # torque
    "N·m": (
        "torque",
        1.0,
        0,
        (
            "Nm",
            "N-m",
            "N.m",
            "N m",
            "N*m",
            "newton metre",
            "newton meter",
            "newton metres",
            "newton meters",
        ),
    ),
    "ft·lb": (
        "torque",
        _FT_LBF,
        0,
        (
            "ft-lb",
            "ft-lbs",
            "ft lb",
            "ft lbs",
            "ft.lb",
            "ft.lbs",
            "ftlb",
            "ftlbs",
            "ft-lbf",
            "lb-ft",
            "lb ft",
            "lbf-ft",
            "ft·lbf",
            "foot-pound",
            "foot-pounds",
            "foot pounds",
        ),
    ),
    "in·lb": (
        "torque",
        _FT_LBF / 12,
        0,
        ("in-lb", "in-lbs", "in lb", "in lbs", "in.lb", "inch-pound", "inch-pounds", "lb-in"),
    ),
    # rotational speed
    "rpm": ("speed", 1.0, 0, ("r/min", "rev/min", "revolutions per minute", "min-1", "min⁻¹")),
    # linear speed
    "m/s": ("velocity", 1.0, 0, ("metres per second", "meters per second")),
    "km/h": ("velocity", 1 / 3.6, 0, ("kph", "kmh", "km/hr")),
    "mph": ("velocity", 0.44704, 0, ("miles per hour",)),
    # flow
    "l/min": (
        "flow",
        1.0,
        0,
        ("L/min", "lpm", "LPM", "l/m", "litres per minute", "liters per minute"),
    ),
    "l/h": ("flow", 1 / 60, 0, ("L/h", "lph", "l/hr", "litres per hour", "liters per hour")),
    "m³/h": ("flow", 1000 / 60, 0, ("m3/h", "m3/hr", "cbm/h")),
    "cfm": (
        "flow",
        28.316846592,
        0,
        ("CFM", "ft³/min", "ft3/min", "cu ft/min", "cubic feet per minute"),
    ),
    "gpm": ("flow", _US_GALLON, 0, ("GPM", "gal/min", "gallons per minute")),
    # electric charge (battery capacity) and energy
    "mAh": ("charge", 1e-3, 0, ("mA·h", "milliamp hours", "milliampere-hours")),
    "Ah": ("charge", 1.0, 0, ("A·h", "amp hours", "amp-hours", "ampere-hours")),
    "Wh": ("energy", 1.0, 0, ("W·h", "watt hours", "watt-hours")),
    "kWh": ("energy", 1e3, 0, ("kW·h", "kilowatt hours", "kilowatt-hours")),
    "J": ("energy", 1 / 3600, 0, ("joule", "joules")),
    # resistance and capacitance (electronics)
    "Ω": ("resistance", 1.0, 0, ("ohm", "ohms", "Ohm", "Ohms")),
    "kΩ": ("resistance", 1e3, 0, ("kohm", "kohms", "k ohm", "kilohm", "kilohms")),
    "MΩ": ("resistance", 1e6, 0, ("Mohm", "Mohms", "M ohm", "megohm", "megohms")),
    "pF": ("capacitance", 1e-12, 0, ("picofarad", "picofarads")),
    "nF": ("capacitance", 1e-9, 0, ("nanofarad", "nanofarads")),
    "µF": ("capacitance", 1e-6, 0, ("uF", "μF", "microfarad", "microfarads", "mfd")),
}

_TABLE: dict[str, _Unit] = {
    canonical: _Unit(canonical, dimension, factor, offset)
    for canonical, (dimension, factor, offset, _aliases) in _UNITS.items()
}

# Spellings read from unit columns and schema files, where no surrounding words compete.
_EXACT: dict[str, str] = {}
for _canonical, (_d, _f, _o, _aliases) in _UNITS.items():
    for _alias in (_canonical, *_aliases):
        _EXACT[_alias] = _canonical

_folded: dict[str, set[str]] = {}
for _alias, _canonical in _EXACT.items():
    _folded.setdefault(_alias.casefold(), set()).add(_canonical)
_CASEFOLD_UNSAFE = {"k"}  # `k` is kilo, never kelvin
_FOLDED: dict[str, str] = {
    key: next(iter(values))
    for key, values in _folded.items()
    if len(values) == 1 and key not in _CASEFOLD_UNSAFE
}
"""Case-insensitive spellings that mean one unit only (`mw` is left out: mW or MW?)."""

_squeezed: dict[str, set[str]] = {}
for _alias, _canonical in _EXACT.items():
    _squeezed.setdefault("".join(_alias.casefold().split()), set()).add(_canonical)
_SQUEEZED: dict[str, str] = {
    key: next(iter(values))
    for key, values in _squeezed.items()
    if len(values) == 1 and key not in _CASEFOLD_UNSAFE
}
"""Spellings with their spaces dropped, as text writes them (`degreesC`, `ftlbs`)."""

# Free text: spellings never read from prose, and those read only in their exact case.
_TEXT_EXCLUDED = {
    "C",
    "F",
    "unit",
    "units",
    "count",
    "ct",
    "each",
    "ea",
    "'",
    "’",
    "”",
    "T",
    "kilo",
    "kilos",
    "gr",
    "grs",
    "l/m",
    "J",
    "min-1",
}
_TEXT_EXACT_CASE = {"K", "B", "A", "g", "t"}


def _atoms(alias: str) -> list[str]:
    """Regex pieces, one per character: `[mM]` where case may vary, `\\s*` for a space.

    Single-character classes rather than a case-insensitive flag keep the regex engine's fast
    first-character test on every branch, which is what makes a 400-spelling alternation cheap.
    """
    insensitive = alias not in _TEXT_EXACT_CASE and len(_folded[alias.casefold()]) == 1
    atoms = []
    for char in alias:
        if char.isspace():
            atoms.append(r"\s*")
            continue
        lower, upper = char.lower(), char.upper()
        if insensitive and lower != upper and len(lower) == len(upper) == 1:
            atoms.append(f"[{re.escape(lower)}{re.escape(upper)}]")
        else:
            atoms.append(re.escape(char))
    return atoms


def _terminal(alias: str, lookarounds: bool = True) -> str:
    if not lookarounds:
        return ""
    # A unit ending in a letter must not run on into a word ("5 inks" is not 5 in).
    suffix = r"(?!\w)" if alias[-1].isalnum() else ""
    if alias.casefold() == "in":  # "5 in stock", "3 in 1", "2 in a pack" are not inches
        suffix += r"(?!\s*(?:stock|\d|a|an|the|one|each|total|pack|box|set|case|and|or)\b)"
    return suffix


def _trie_regex(aliases: list[str], lookarounds: bool = True) -> str:
    """One alternation as a trie: shared prefixes once, longer spellings tried first."""
    root: dict = {}
    for alias in aliases:
        node = root
        for atom in _atoms(alias):
            node = node.setdefault(atom, {})
        node[""] = _terminal(alias, lookarounds)

    def render(node: dict) -> str:
        branches = [
            atom + render(child)
            for atom, child in sorted(
                ((a, c) for a, c in node.items() if a != ""), key=lambda item: item[0]
            )
        ]
        if "" in node:
            branches.append(node[""])
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return render(root)


def unit_regex(*, lookarounds: bool = True) -> str:
    """Every text spelling of every unit as one trie-shaped alternation (no groups).

    With `lookarounds=False` the word-boundary checks are left out, giving a pattern RE2 (and
    so `pyarrow.compute`) accepts: a superset of the matches, for cheap pre-filtering.
    """
    return _trie_regex([a for a in _EXACT if a not in _TEXT_EXCLUDED], lookarounds)


NUMBER_PATTERN = r"(?<!\d)(?<!\d[.,])\d++(?:[.,]\d++)*+(?:[\s-]\d+/\d+|/\d+)?"
"""A number as catalogues write it: `52`, `1,200`, `2,5`, `1/2`, `1-1/2`, `1 1/2` (no groups,
no sign; `.5` is not read — catalogues write `0.5`). It starts only where a number starts and
never gives digits back (possessive), so a long run of digits costs linear time, not quadratic."""

UNIT_PATTERN = f"(?:{unit_regex()})"
"""Every text spelling of every unit as one trie-shaped alternation (no groups)."""

QUANTITY_PATTERN = (
    r"(?P<number>[-−\d]"  # first a sign or digit: lets the regex engine skip ahead fast
    r"(?<![\d.,/]\d)"  # a digit must not continue a longer number ("1.5" is not "5")
    r"(?<![^\s(:~][-−])"  # a sign only after space, "(", ":" or "~" ("XR-20V" is 20 V)
    r"(?:(?<=\d)|\d)"  # after a sign, its first digit
    r"\d*(?:[.,]\d+)*(?:[\s-]\d+/\d+|/\d+)?)"
    r"\s?-?\s?"
    r"(?P<unit>" + UNIT_PATTERN + r")"
)
"""A number followed by a unit, with named groups `number` and `unit`.

Use with `re.finditer` or `Series.str.extractall(QUANTITY_PATTERN)`; map `unit` through
`canonical_unit` and `number` through `parse_number`. A leading minus counts only after a space,
`(`, `:` or `~`, so the `-` of `5-10mm` or `XR-20V` is not a sign.
"""

_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
_WHOLE_RE = re.compile(
    r"^\s*+(?P<number>[-−]?(?:" + NUMBER_PATTERN + r"|[.,]\d+))\s*+-?\s*+(?P<unit>\S(?:.*\S)?)\s*$"
)
_BARE_NUMBER_RE = re.compile(r"^\s*[-−+]?(?:" + NUMBER_PATTERN + r"|[.,]\d+)\s*$")


def canonical_unit(unit: str) -> str:
    """The canonical spelling of a unit: `millimetres`/`MM` → `mm`, `VAC` → `V`, `HP` → `hp`.

    Raises:
        UnitError: the spelling is not a known unit.
    """
    if not isinstance(unit, str):
        raise UnitError(f"unit must be text, not {type(unit).__name__} {unit!r}")
    cleaned = " ".join(unit.strip().split())
    found = _EXACT.get(cleaned) or _FOLDED.get(cleaned.casefold())
    if found is None:
        found = _SQUEEZED.get("".join(cleaned.casefold().split()))
    if found is None and cleaned.endswith(".") and len(cleaned) > 1:
        stripped = cleaned[:-1]
        found = _EXACT.get(stripped) or _FOLDED.get(stripped.casefold())
    if found is None:
        raise UnitError(f"unknown unit '{unit}'")
    return found


def dimension_of(unit: str) -> str:
    """What a unit measures: `length`, `mass`, `voltage`, `power`, `temperature`, `data`, …"""
    return _TABLE[canonical_unit(unit)].dimension


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert between two units of one dimension (temperature offsets included).

    Raises:
        UnitError: either unit is unknown, or they measure different things.
    """
    scale, shift = linear_conversion(from_unit, to_unit)
    if scale == 1.0 and shift == 0.0:
        return float(value)
    # 12 significant digits: 100 °C is 212 °F, not 211.99999999999997.
    return float(f"{float(value) * scale + shift:.12g}")


def linear_conversion(from_unit: str, to_unit: str) -> tuple[float, float]:
    """(scale, shift) with `value_in_to = value_in_from * scale + shift`, for vectorised use.

    Raises:
        UnitError: either unit is unknown, or they measure different things.
    """
    source = _TABLE[canonical_unit(from_unit)]
    target = _TABLE[canonical_unit(to_unit)]
    if source.dimension != target.dimension:
        raise UnitError(
            f"cannot convert {from_unit!r} ({source.dimension}) to {to_unit!r} ({target.dimension})"
        )
    return source.factor / target.factor, (source.offset - target.offset) / target.factor


@lru_cache(maxsize=65536)
def parse_number(text: str) -> float | None:
    """A number as written in a catalogue (see the module docstring for comma rules), or None."""
    s = text.strip().replace("−", "-").replace("\u00a0", "").replace("\u202f", "")
    sign = 1.0
    if s.startswith(("+", "-")):  # not `s[:1] in "+-"`: that is true of "" too
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:].strip()
    if not s:
        return None
    if "/" in s:
        match = re.fullmatch(r"(?:(\d+)(?:\s+|-))?(\d+)/(\d+)", s)
        if match is None or int(match.group(3)) == 0:
            return None
        whole = int(match.group(1) or 0)
        return sign * (whole + int(match.group(2)) / int(match.group(3)))
    if not re.fullmatch(r"\d*(?:[.,]\d+)*", s) or not re.search(r"\d", s):
        return None
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        head, _, tail = s.rpartition(decimal)
        if not re.fullmatch(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*", head):
            return None
        return sign * float(head.replace(thousands, "") + "." + tail)
    for mark in (",", "."):
        if mark not in s:
            continue
        grouped = re.fullmatch(r"\d{1,3}(?:" + re.escape(mark) + r"\d{3})+", s) is not None
        if s.count(mark) > 1:  # 1,200,000 or 1.200.000; anything else is not one number
            return sign * float(s.replace(mark, "")) if grouped else None
        if mark == "," and grouped:  # 1,200: thousands, the English catalogue default
            return sign * float(s.replace(",", ""))
        return sign * float(s.replace(mark, "."))  # 2,5 or 2.5 or .5
    return sign * float(s)


def parse_quantity(text: str) -> tuple[float, str] | None:
    """The one quantity a text states, as (value, canonical unit).

    A text that is just `<number> <unit>` is read with the lenient unit-column spellings
    (`40 C` is 40 °C); otherwise the text is searched, and a text stating several different
    quantities (`5HP 230V`) or none gives None.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    whole = _WHOLE_RE.match(text)
    if whole is not None:
        value = parse_number(whole.group("number"))
        try:
            unit = canonical_unit(whole.group("unit"))
        except UnitError:
            unit = None
        if value is not None and unit is not None:
            return value, unit
    found: set[tuple[float, str]] = set()
    for match in _QUANTITY_RE.finditer(text):
        value = parse_number(match.group("number"))
        if value is None:
            continue
        found.add((value, canonical_unit(match.group("unit"))))
    if len(found) != 1:
        return None
    return found.pop()


def to_unit(text_or_number: object, unit: str) -> float | None:
    """A value in `unit`: a bare number is taken as already in it, a quantity is converted.

    Returns None for empty input or text stating no single quantity.

    Raises:
        UnitError: the text's quantity measures something else (`5 kg` asked in `mm`).
    """
    target = canonical_unit(unit)
    if text_or_number is None or isinstance(text_or_number, bool):
        return None
    if isinstance(text_or_number, int | float):
        value = float(text_or_number)
        return None if math.isnan(value) else value
    if not isinstance(text_or_number, str):
        try:
            value = float(cast(SupportsFloat, text_or_number))  # numpy scalars, Decimal
        except (TypeError, ValueError):
            return None
        return None if math.isnan(value) else value
    if _BARE_NUMBER_RE.match(text_or_number):
        return parse_number(text_or_number)
    quantity = parse_quantity(text_or_number)
    if quantity is None:
        return None
    value, source = quantity
    return convert(value, source, target)


def known_units() -> list[str]:
    """Every canonical unit, in table order."""
    return list(_TABLE)
