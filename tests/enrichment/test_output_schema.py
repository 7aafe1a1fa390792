"""Output schema (seed 003 shape): coercion, unit conversion, enums, arrays, field issues."""

from __future__ import annotations

import pytest

from catalog.errors import InputError
from enrichment.output_schema import OutputField, OutputSchema


def test_lengths_are_converted_to_the_field_unit() -> None:
    bore = OutputField(name="bore", type="number", unit="mm", description="Bore")
    assert bore.coerce("52mm") == (52.0, None)
    assert bore.coerce("5.2 cm") == (52.0, None)
    assert bore.coerce("2 in") == (50.8, None)
    assert bore.coerce(52) == (52.0, None)


def test_a_string_field_with_a_unit_in_its_description_reads_as_a_quantity() -> None:
    outer = OutputField(name="outer", type="string", description="Outer diameter in mm")
    value, issue = outer.coerce("5.2 cm")
    assert issue is None and outer.render(value) == "52 mm"


def test_a_quantity_of_the_wrong_dimension_is_rejected_with_an_issue() -> None:
    weight = OutputField(name="weight", type="number", unit="kg")
    value, issue = weight.coerce("30 mm")
    assert value is None
    assert issue is not None and issue.field == "weight" and issue.severity == "error"
    assert "30 mm" in issue.message


def test_integers_must_be_whole() -> None:
    count = OutputField(name="count", type="integer")
    assert count.coerce("12") == (12, None)
    value, issue = count.coerce("2.5")
    assert value is None and "whole" in issue.message


def test_enum_values_are_matched_case_insensitively_and_others_rejected() -> None:
    color = OutputField(name="color", enum=["Red", "Blue"])
    assert color.coerce("red") == ("Red", None)
    value, issue = color.coerce("green")
    assert value is None and issue.validator == "enum" and "Red, Blue" in issue.message


def test_booleans() -> None:
    flag = OutputField(name="waterproof", type="boolean")
    assert flag.coerce("Yes") == (True, None)
    assert flag.coerce("no") == (False, None)
    assert flag.coerce("maybe")[0] is None


def test_arrays_split_dedupe_and_check_items_enum() -> None:
    certs = OutputField(name="certs", type="array", items_enum=["CE", "UL", "RoHS"])
    value, issue = certs.coerce("CE; ul; CE; ISO9001")
    assert value == ["CE", "UL"]
    assert issue is not None and issue.severity == "warning" and "ISO9001" in issue.message
    images = OutputField(name="images", type="array", array_element_type="image_url")
    value, issue = images.coerce(["https://x.example/a.jpg", "not a url"])
    assert value == ["https://x.example/a.jpg"] and issue is not None


def test_schema_parse_names_the_bad_field() -> None:
    with pytest.raises(InputError) as raised:
        OutputSchema.parse([{"name": "ok"}, {"name": "bad", "type": "float"}])
    assert "field 2 ('bad')" in str(raised.value)
    with pytest.raises(InputError, match="parsecs"):
        OutputSchema.parse([{"name": "x", "type": "number", "unit": "parsecs"}])
    with pytest.raises(InputError, match="twice"):
        OutputSchema.parse([{"name": "x"}, {"name": "x"}])


def test_schema_coerce_keeps_fitting_values_and_reports_the_rest() -> None:
    schema = OutputSchema.parse(
        [
            {"name": "weight_kg", "type": "number", "unit": "kg"},
            {"name": "color", "enum": ["Red"]},
        ]
    )
    values, issues = schema.coerce({"weight_kg": "1200 g", "color": "Green", "other": 1})
    assert values == {"weight_kg": 1.2}
    assert [(i.field, i.validator) for i in issues] == [("color", "enum")]


@pytest.mark.parametrize(
    "description",
    ["(a" + " " * 3990 + "!", "in" + " " * 3990 + "mm!", "[" * 4000, "x " * 2000],
)
def test_a_hostile_description_costs_no_time(description: str) -> None:
    """The unit-in-description pattern never backtracks (it sees the last words only)."""
    import time

    field = OutputField(name="size", type="number", description=description)
    started = time.perf_counter()
    assert field.effective_unit is None
    assert time.perf_counter() - started < 0.05


def test_descriptions_have_a_length_limit() -> None:
    with pytest.raises(ValueError, match="at most 4000 characters"):
        OutputField(name="size", description="x" * 4001)


@pytest.mark.parametrize("raw", ["a" + " " * 100_000 + ",b", "a" + " " * 100_000 + "b;"])
def test_splitting_a_hostile_array_value_is_linear(raw: str) -> None:
    import time

    field = OutputField(name="tags", type="array")
    started = time.perf_counter()
    values, _ = field.coerce(raw)
    assert time.perf_counter() - started < 0.05
    assert values[0] == "a" or values[0].startswith("a ")
