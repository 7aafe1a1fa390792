"""Catalogue schemas from YAML: types, rules, thresholds and their per-attribute overrides, and
clear errors for a schema that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.schema import AttributeType, CatalogSchema, SchemaError
from tests.conftest import EXAMPLES

YAML = """
name: parts
id: sku
text: [title]
thresholds: {auto_apply: 0.95, reject: 0.4}
attributes:
  - {name: sku, required: true, source: "Item #"}
  - {name: title, required: true}
  - {name: weight, type: number, unit: kg, min: 0, max: 500}
  - {name: pack, type: integer, min: 1}
  - {name: cordless, type: boolean}
  - name: colour
    type: enum
    enum: [Black, Stainless Steel]
    synonyms: {Black: [blk], Stainless Steel: [ss, inox]}
  - {name: tags, type: array, items: text, separator: "|"}
  - {name: category, type: reference, derive: classify, auto_apply: 0.8}
  - {name: upc, pattern: '^\\d{12}$', severity: warning}
"""


def test_a_schema_yaml_loads_with_types_rules_and_thresholds(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(YAML)
    schema = CatalogSchema.from_yaml(path)
    by_name = schema.by_name
    assert [a.type for a in schema.attributes] == [
        AttributeType.TEXT,
        AttributeType.TEXT,
        AttributeType.NUMBER,
        AttributeType.INTEGER,
        AttributeType.BOOLEAN,
        AttributeType.ENUM,
        AttributeType.ARRAY,
        AttributeType.REFERENCE,
        AttributeType.TEXT,
    ]
    assert by_name["sku"].source_columns == ["Item #"]
    assert by_name["title"].source_columns == ["title"]
    assert by_name["weight"].unit == "kg" and by_name["weight"].max == 500
    assert by_name["colour"].canonical_enum()["inox"] == "Stainless Steel"
    assert schema.category_attribute.name == "category"
    assert schema.thresholds_for("weight").auto_apply == 0.95
    assert schema.thresholds_for("category").auto_apply == 0.8
    assert schema.thresholds_for("category").reject == 0.4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("id: nope", "id names unknown attribute"),
        ("thresholds: {auto_apply: 0.3, reject: 0.6}", "reject (0.6) must not be above"),
        ("attributes: [{name: sku, type: enum}]", "an enum needs"),
        ("attributes: [{name: sku, type: number, min: 10, max: 1}]", "min (10.0) is above max"),
        ("attributes: [{name: sku, derive: guess}]", "derive must be classify"),
        ("attributes: [{name: sku, derive: firmographics.shoe_size}]", "unknown firmographic"),
        ("attributes: [{name: sku, pattern: '(['}]", "pattern"),
        ("attributes: [{name: sku, colour: red}]", "colour"),
    ],
)
def test_a_broken_schema_names_the_file_and_the_problem(
    tmp_path: Path, change: str, message: str
) -> None:
    base = {"name": "parts", "id": "sku", "attributes": "[{name: sku}]"}
    key, _, value = change.partition(": ")
    lines = {**base, key: value}
    path = tmp_path / "broken.yaml"
    path.write_text("\n".join(f"{k}: {v}" for k, v in lines.items()))
    with pytest.raises(SchemaError) as failure:
        CatalogSchema.from_yaml(path)
    assert "broken.yaml" in str(failure.value)
    assert message in str(failure.value)


def test_missing_and_unparsable_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="not found"):
        CatalogSchema.from_yaml(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(SchemaError, match="not valid YAML"):
        CatalogSchema.from_yaml(bad)


def test_the_bundled_example_schema_loads() -> None:
    schema = CatalogSchema.from_yaml(EXAMPLES / "catalog.yaml")
    assert schema.id_attribute.required
    assert schema.derived("extract") and schema.derived("firmographics")
