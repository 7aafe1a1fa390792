"""The validate stage's suite: derived from the schema, run in batches, reported by name and id."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from catalog.schema import CatalogSchema
from catalog.validation import ExpectationResult, SuiteRunner, expectations_for, validate_frame
from tests.conftest import shared_path

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "acme-mro",
        "id": "sku",
        "text": ["title"],
        "attributes": [
            {"name": "sku", "required": True, "pattern": r"^[A-Z]{2}-\d+$"},
            {"name": "title", "required": True},
            {"name": "price", "type": "number", "min": 0, "max": 100000},
            {"name": "pack_size", "type": "integer", "min": 1},
            {"name": "material", "type": "enum", "enum": ["steel", "brass", "nylon"]},
            {"name": "finishes", "type": "array", "items": "enum", "enum": ["zinc", "black"]},
            {"name": "gtin", "pattern": r"^\d{13}$", "severity": "warning"},
            {"name": "category", "type": "reference", "derive": "classify", "required": True},
        ],
    }
)


def record(sku: str, **values: Any) -> dict[str, Any]:
    """A record that passes every rule, with `values` overriding its attributes."""
    good = {
        "external_id": sku,
        "sku": sku,
        "title": f"Hex bolt {sku}",
        "price": 1.25,
        "pack_size": 100,
        "material": "steel",
        "finishes": ["zinc"],
        "gtin": "4006381333931",
        "category": "Hardware > Fasteners",
    }
    return good | values


def frame(*records: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(records))


def result(report: Any, name: str) -> ExpectationResult:
    return next(r for r in report.results if r.spec.name == name)


def failing_ids(report: Any, name: str) -> list[str]:
    return [e["id"] for e in result(report, name).examples]


def test_expectations_are_derived_from_the_schema() -> None:
    specs = {s.name: s for s in expectations_for(SCHEMA)}

    assert list(specs) == [
        "sku_not_null",
        "sku_match_regex",
        "sku_unique",
        "title_not_null",
        "price_is_number",
        "price_between_0_and_100000",
        "pack_size_is_integer",
        "pack_size_at_least_1",
        "material_in_set",
        "finishes_is_array",
        "finishes_items_in_set",
        "gtin_match_regex",
        "category_not_null",
    ]
    assert specs["price_between_0_and_100000"].kwargs == {"min_value": 0, "max_value": 100000}
    assert specs["finishes_items_in_set"].kwargs["value_set"] == ["zinc", "black"]
    assert specs["gtin_match_regex"].blocking is False
    # `required` keeps its meaning for a model-filled attribute: unfilled means not ready.
    assert specs["category_not_null"].blocking is True
    assert all(specs[n].blocking for n in ("sku_not_null", "sku_unique"))


def test_good_records_pass() -> None:
    report = validate_frame(
        frame(record("AB-1"), record("AB-2", price=None, finishes=[]), record("AB-3", price=0)),
        SCHEMA,
    )

    assert report.success
    assert report.records == 3
    assert report.failed(blocking_only=False) == []


def test_a_missing_required_value_fails_naming_attribute_and_record() -> None:
    report = validate_frame(
        frame(record("AB-1"), record("AB-2", title=None), record("AB-3", title="  ")), SCHEMA
    )

    assert not report.success
    assert [r.spec.name for r in report.failed()] == ["title_not_null"]
    failure = result(report, "title_not_null")
    assert failure.spec.attribute == "title"
    assert failure.unexpected_count == 2
    assert failure.examples == [{"id": "AB-2", "value": None}, {"id": "AB-3", "value": "  "}]


def test_an_attribute_never_provided_counts_as_missing_everywhere() -> None:
    rows = frame(record("AB-1"), record("AB-2")).drop(columns=["category", "price"])

    report = validate_frame(rows, SCHEMA)

    assert result(report, "category_not_null").unexpected_count == 2
    assert result(report, "price_is_number").success  # absent and optional: nothing to check


def test_enum_values_and_array_elements_outside_the_set_fail() -> None:
    report = validate_frame(
        frame(
            record("AB-1", material="titanium"),
            record("AB-2", finishes=["zinc", "gold"]),
            record("AB-3", finishes=["black"], material=None),
        ),
        SCHEMA,
    )

    assert result(report, "material_in_set").examples == [{"id": "AB-1", "value": "titanium"}]
    assert result(report, "finishes_items_in_set").examples == [{"id": "AB-2", "value": "gold"}]
    assert {r.spec.name for r in report.failed()} == {"material_in_set", "finishes_items_in_set"}


def test_values_not_matching_the_pattern_fail() -> None:
    report = validate_frame(frame(record("AB-1"), record("ab-2"), record("AB-3x")), SCHEMA)

    assert failing_ids(report, "sku_match_regex") == ["ab-2", "AB-3x"]
    assert not report.success


def test_out_of_range_and_wrong_type_values_fail_with_the_row_named() -> None:
    report = validate_frame(
        frame(
            record("AB-1", price=-0.5),
            record("AB-2", price=250000),
            record("AB-3", price="call us"),
            record("AB-4", price=None, pack_size=2.5),
            record("AB-5", pack_size=True),
            record("AB-6", pack_size=12.0),  # JSON integers may arrive as floats
        ),
        SCHEMA,
    )

    assert result(report, "price_between_0_and_100000").examples == [
        {"id": "AB-1", "value": -0.5},
        {"id": "AB-2", "value": 250000},
    ]
    assert result(report, "price_is_number").examples == [{"id": "AB-3", "value": "call us"}]
    assert failing_ids(report, "pack_size_is_integer") == ["AB-4", "AB-5"]
    assert result(report, "pack_size_at_least_1").success


def test_a_duplicate_id_across_batches_fails_uniqueness() -> None:
    runner = SuiteRunner(SCHEMA, rows_per_check=1)  # every batch goes to GX on its own
    runner.validate(frame(record("AB-1"), record("AB-2")))
    runner.validate(frame(record("AB-3"), record("AB-1")))
    report = runner.report()

    assert not report.success
    uniqueness = result(report, "sku_unique")
    assert uniqueness.unexpected_count == 2  # both rows with AB-1, as within one batch
    assert uniqueness.examples == [{"id": "AB-1", "value": "AB-1"}]
    assert report.records == 4


def test_pooling_batches_does_not_change_the_outcome() -> None:
    batches = [
        frame(record("AB-1"), record("AB-2", price="x")),
        frame(record("AB-1"), record("AB-3"), record("AB-3")),
        frame(record("AB-1", title=None)),
    ]
    outcomes = []
    for rows_per_check in (1, 1_000):
        runner = SuiteRunner(SCHEMA, rows_per_check=rows_per_check)
        for batch in batches:
            runner.validate(batch)
        report = runner.report()
        outcomes.append({r.spec.name: r.unexpected_count for r in report.failed()})

    assert (
        outcomes[0] == outcomes[1] == {"sku_unique": 5, "title_not_null": 1, "price_is_number": 1}
    )


def test_a_warning_rule_is_reported_but_does_not_fail_the_run() -> None:
    report = validate_frame(frame(record("AB-1"), record("AB-2", gtin="12345")), SCHEMA)

    assert report.success
    assert report.failed() == []
    assert [r.spec.name for r in report.failed(blocking_only=False)] == ["gtin_match_regex"]
    assert failing_ids(report, "gtin_match_regex") == ["AB-2"]


def test_examples_are_capped_while_counts_keep_adding_up() -> None:
    runner = SuiteRunner(SCHEMA, max_examples=3, rows_per_check=1)
    for start in (0, 10, 20):
        runner.validate(
            frame(*(record(f"AB-{i}", material="wood") for i in range(start, start + 10)))
        )
    failure = result(runner.report(), "material_in_set")

    assert failure.unexpected_count == 30
    assert failing_ids(runner.report(), "material_in_set") == ["AB-0", "AB-1", "AB-2"]


def test_markdown_and_dict_name_expectations_rows_and_ids() -> None:
    report = validate_frame(
        frame(record("AB-1", title=None), record("AB-2", price=-3.5), record("AB-3", gtin="1")),
        SCHEMA,
    )

    text = report.to_markdown()
    assert "FAILED" in text
    assert "`title_not_null`" in text and "`price_between_0_and_100000`" in text
    assert "- `AB-1`: `null`" in text
    assert "- `AB-2`: `-3.5`" in text
    assert "| `gtin_match_regex` |" in text and "| warning | 1 |" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["success"] is False and data["records"] == 3 and data["failed_blocking"] == 2
    assert {r["name"] for r in data["results"] if not r["success"]} == {
        "title_not_null",
        "price_between_0_and_100000",
        "gtin_match_regex",
    }


def test_a_frame_without_record_ids_is_refused() -> None:
    runner = SuiteRunner(SCHEMA)

    with pytest.raises(ValueError, match="external_id.*'sku'"):
        runner.validate(pd.DataFrame({"title": ["Hex bolt"]}))


def test_the_id_attribute_may_be_held_only_as_the_external_id() -> None:
    rows = frame(record("AB-1"), record("AB-1")).drop(columns=["sku"])

    report = validate_frame(rows, SCHEMA)

    assert result(report, "sku_unique").unexpected_count == 2
    assert result(report, "sku_not_null").success


def test_real_company_list_fails_where_founding_years_are_not_integers() -> None:
    schema = CatalogSchema.from_dict(
        {
            "name": "sp500",
            "kind": "suppliers",
            "id": "symbol",
            "attributes": [
                {"name": "symbol", "pattern": r"^[A-Z]+(\.[A-Z])?$"},
                {"name": "security", "required": True},
                {
                    "name": "sector",
                    "type": "enum",
                    "enum": [
                        "Communication Services",
                        "Consumer Discretionary",
                        "Consumer Staples",
                        "Energy",
                        "Financials",
                        "Health Care",
                        "Industrials",
                        "Information Technology",
                        "Materials",
                        "Real Estate",
                        "Utilities",
                    ],
                },
                {"name": "cik", "type": "integer", "min": 1},
                {"name": "founded", "type": "integer", "min": 1600, "max": 2030},
            ],
        }
    )
    source = pd.read_csv(shared_path("companies/sp500_constituents.csv"), dtype=str)
    founded = pd.to_numeric(source["Founded"], errors="coerce")
    records = pd.DataFrame(
        {
            "external_id": source["Symbol"],
            "security": source["Security"],
            "sector": source["GICS Sector"],
            "cik": source["CIK"].astype(int),
            # as a normaliser would store it: numbers where they parse, the text where not
            "founded": [
                f if f == f else raw for f, raw in zip(founded, source["Founded"], strict=True)
            ],
        }
    )

    runner = SuiteRunner(schema, rows_per_check=200)
    for start in range(0, len(records), 100):
        runner.validate(records.iloc[start : start + 100])
    report = runner.report()

    assert report.records == len(source)
    assert [r.spec.name for r in report.failed()] == ["founded_is_integer"]
    failure = result(report, "founded_is_integer")
    assert failure.unexpected_count == int(founded.isna().sum()) > 0
    assert {"id": "ABBV", "value": "2013 (1888)"} in failure.examples


def test_rule_breaks_names_exactly_the_rows_the_suite_counts() -> None:
    """Held rows come from `rule_breaks`; the report's counts from GX. They must agree."""
    from catalog.validation import rule_breaks

    schema = CatalogSchema.from_dict(
        {
            "name": "agree",
            "id": "sku",
            "attributes": [
                {"name": "sku", "required": True},
                {"name": "title", "required": True},
                {"name": "price", "type": "number", "min": 0, "max": 100},
                {"name": "colour", "type": "enum", "enum": ["Red", "Blue"]},
                {"name": "code", "pattern": "^A\\d+$"},
                {"name": "tags", "type": "array", "items": "enum", "enum": ["x", "y"]},
                {"name": "pack", "type": "integer"},
            ],
        }
    )
    frame = pd.DataFrame(
        {
            "sku": ["1", "2", "3", "4", "5"],
            "title": ["a", "  ", None, "d", "e"],
            "price": [1.0, -1.0, None, "abc", 101],
            "colour": ["Red", "Green", None, "Blue", "red"],
            "code": ["A1", "B2", None, "A3", "xA4"],
            "tags": [["x"], ["x", "z"], None, [], ["q", "r"]],
            "pack": [1, 2.5, None, 3, True],
        },
        dtype=object,
    )
    specs = [s for s in expectations_for(schema) if s.kind != "unique"]
    breaks = rule_breaks(frame, schema, specs)
    report = validate_frame(frame.assign(external_id=frame["sku"]), schema)
    for result in report.results:
        if result.spec.kind == "unique":
            continue
        rows = sorted(
            r for r, found in breaks.items() if any(b.rule == result.spec.name for b in found)
        )
        counted = result.unexpected_count if not result.spec.each_item else len(rows)
        assert len(rows) == counted, result.spec.name
    assert [b.rule for b in breaks[4]] == [
        "price_between_0_and_100",
        "colour_in_set",
        "code_match_regex",
        "tags_items_in_set",
        "pack_is_integer",
    ]
