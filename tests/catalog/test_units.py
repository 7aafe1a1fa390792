"""Units: spellings, conversions and quantities read from catalogue text."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from catalog.units import (
    QUANTITY_PATTERN,
    UnitError,
    canonical_unit,
    convert,
    dimension_of,
    linear_conversion,
    parse_number,
    parse_quantity,
    to_unit,
)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("millimetres", "mm"),
        ("mm", "mm"),
        ("MM", "mm"),
        ("Millimeter", "mm"),
        ("volts", "V"),
        ("V", "V"),
        ("VAC", "V"),
        ("vdc", "V"),
        ("HP", "hp"),
        ("horsepower", "hp"),
        ("inches", "in"),
        ('"', "in"),
        ("ft.", "ft"),
        ("lbs", "lb"),
        ("ounces", "oz"),
        ("fl oz", "fl oz"),
        ("FL. OZ.", "fl oz"),
        ("litres", "l"),
        ("L", "l"),
        ("kW", "kW"),
        ("MW", "MW"),
        ("mW", "mW"),
        ("psi", "psi"),
        ("bar", "bar"),
        ("°C", "°C"),
        ("degrees C", "°C"),
        ("C", "°C"),
        ("℉", "°F"),
        ("kelvin", "K"),
        ("GB", "GB"),
        ("gigabytes", "GB"),
        ("pcs", "pcs"),
        ("Nm", "N·m"),
        ("ft-lbs", "ft·lb"),
        ("rpm", "rpm"),
        ("CFM", "cfm"),
        ("L/min", "l/min"),
        ("gpm", "gpm"),
        ("mAh", "mAh"),
        ("Wh", "Wh"),
        ("MHz", "MHz"),
        ("kPa", "kPa"),
    ],
)
def test_canonical_unit_reads_common_spellings(spelling: str, canonical: str) -> None:
    assert canonical_unit(spelling) == canonical


@pytest.mark.parametrize("spelling", ["furlongs", "", "mw", "k"])
def test_unknown_or_ambiguous_unit_is_an_error_naming_it(spelling: str) -> None:
    # "mw" could be milli- or megawatt; a bare "k" is a prefix, not kelvin.
    with pytest.raises(UnitError, match="unknown unit"):
        canonical_unit(spelling)


@pytest.mark.parametrize(
    ("unit", "dimension"),
    [
        ("mm", "length"),
        ("kg", "mass"),
        ("V", "voltage"),
        ("mA", "current"),
        ("hp", "power"),
        ("psi", "pressure"),
        ("gal", "volume"),
        ("GHz", "frequency"),
        ("°F", "temperature"),
        ("TB", "data"),
        ("pcs", "count"),
        ("ft-lb", "torque"),
        ("rpm", "speed"),
        ("cfm", "flow"),
        ("mAh", "charge"),
        ("kWh", "energy"),
    ],
)
def test_dimension_of(unit: str, dimension: str) -> None:
    assert dimension_of(unit) == dimension


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "in", "mm", 25.4),
        (12.7, "mm", "in", 0.5),
        (100, "°C", "°F", 212.0),
        (32, "°F", "K", 273.15),
        (-40, "°C", "°F", -40.0),
        (5, "hp", "W", 3728.49935791),
        (100, "ft·lb", "N·m", 135.581794833),
        (100, "psi", "bar", 6.894757293168),
        (1, "GB", "MB", 1000.0),
        (1, "gal", "l", 3.785411784),
        (1, "cfm", "l/min", 28.316846592),
        (2500, "mAh", "Ah", 2.5),
        (16, "oz", "lb", 1.0),
    ],
)
def test_convert(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, rel=1e-9)


def test_convert_across_dimensions_names_both_units() -> None:
    with pytest.raises(UnitError, match=r"'kg' \(mass\) to 'mm' \(length\)"):
        convert(1, "kg", "mm")


def test_linear_conversion_matches_convert() -> None:
    scale, shift = linear_conversion("°C", "°F")
    assert 37 * scale + shift == pytest.approx(convert(37, "°C", "°F"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52", 52.0),
        ("1,200", 1200.0),  # comma + three digits: thousands separator
        ("12,000,000", 12_000_000.0),
        ("2,5", 2.5),  # comma + one or two digits: decimal comma
        ("2,55", 2.55),
        ("1.200,5", 1200.5),  # both marks: the last one is the decimal mark
        ("1,200.5", 1200.5),
        ("1.5", 1.5),
        ("1.200.000", 1_200_000.0),
        ("1/2", 0.5),
        ("1-1/2", 1.5),
        ("1 1/2", 1.5),
        ("-20", -20.0),
        ("1,2,3", None),
        ("1/0", None),
        ("abc", None),
    ],
)
def test_parse_number_decimal_comma_and_thousands(text: str, expected: float | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52mm", (52.0, "mm")),
        ("5.2 cm", (5.2, "cm")),
        ("1,200 W", (1200.0, "W")),
        ('1/2"', (0.5, "in")),
        ("3.5kW", (3.5, "kW")),
        ("230V", (230.0, "V")),
        ("2,5 mm", (2.5, "mm")),
        ('1-1/2" pipe', (1.5, "in")),
        ("3/8 in drive", (0.375, "in")),
        ("-20°C", (-20.0, "°C")),
        ("40 C", (40.0, "°C")),  # a whole value may use unit-column spellings
        ("XR-20V", (20.0, "V")),  # a hyphen inside a model number is not a minus sign
        ("12v battery", (12.0, "V")),
        ("16 GB", (16.0, "GB")),
        ("5 fl oz", (5.0, "fl oz")),
        ("25 ft-lbs", (25.0, "ft·lb")),
        ("20 V DC", (20.0, "V")),
        ("Flow 100 cfm", (100.0, "cfm")),
    ],
)
def test_parse_quantity(text: str, expected: tuple[float, str]) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Industrial Air Compressor 5HP 230V",  # two quantities: not one
        "5 in stock",  # "in" followed by an ordinary word is not inches
        "3 in 1 tool",
        "available in 3 colours",
        "5 inks",
        "5 mw",  # mW or MW? not guessed
        "no numbers here",
        "",
    ],
)
def test_parse_quantity_none_without_a_single_quantity(text: str) -> None:
    assert parse_quantity(text) is None


def test_to_unit() -> None:
    assert to_unit("12.7mm", "in") == pytest.approx(0.5)
    assert to_unit("5.2 cm", "mm") == pytest.approx(52.0)
    assert to_unit(52, "mm") == 52.0
    assert to_unit("52", "mm") == 52.0
    assert to_unit("2,5", "mm") == 2.5
    assert to_unit(None, "mm") is None
    assert to_unit(float("nan"), "mm") is None
    assert to_unit("", "mm") is None
    assert to_unit("red", "mm") is None
    with pytest.raises(UnitError, match="mass"):
        to_unit("5 kg", "mm")


def test_quantity_pattern_works_vectorised_with_extractall() -> None:
    titles = pd.Series(
        ["Air Compressor 5HP 230V", "Bolt M8 x 2,5 mm", "Gloves, pack of 10", None, "-20°C"],
        dtype="str",
    )
    found = titles.str.extractall(QUANTITY_PATTERN)
    assert list(found.columns) == ["number", "unit"]
    rows = [
        (index[0], parse_number(number), canonical_unit(unit))
        for index, number, unit in zip(found.index, found["number"], found["unit"], strict=True)
    ]
    assert rows == [(0, 5.0, "hp"), (0, 230.0, "V"), (1, 2.5, "mm"), (4, -20.0, "°C")]


def test_every_canonical_unit_round_trips_through_its_base() -> None:
    from catalog.units import known_units

    for unit in known_units():
        assert math.isclose(convert(convert(3.0, unit, unit), unit, unit), 3.0)
        assert canonical_unit(unit) == unit
