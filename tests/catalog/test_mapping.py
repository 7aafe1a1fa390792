"""Mapping raw source rows onto the schema: columns, typed values, problems, hashes."""

from __future__ import annotations

import csv
import hashlib
import json
from typing import Any

import pandas as pd
import pytest

from catalog.errors import InputError
from catalog.mapping import (
    ColumnMapping,
    content_hashes,
    find_duplicate_ids,
    map_batch,
    resolve_columns,
)
from catalog.rows import RowBatch
from catalog.schema import CatalogSchema
from tests.conftest import shared_path


def make_schema(**changes: Any) -> CatalogSchema:
    raw: dict[str, Any] = {
        "name": "acme-mro",
        "id": "sku",
        "text": ["title"],
        "attributes": [
            {"name": "sku", "required": True, "source": ["SKU", "Item #"]},
            {"name": "title", "required": True, "source": ["Title", "Name"]},
            {"name": "weight_kg", "type": "number", "unit": "kg", "source": ["Weight"]},
            {"name": "price", "type": "number"},
            {"name": "qty", "type": "integer", "source": ["Qty"]},
            {"name": "in_stock", "type": "boolean", "source": ["In stock"]},
            {
                "name": "material",
                "type": "enum",
                "enum": ["Stainless Steel", "Brass"],
                "synonyms": {"Stainless Steel": ["ss", "inox"]},
            },
            {
                "name": "sizes_mm",
                "type": "array",
                "items": "number",
                "unit": "mm",
                "source": ["Sizes"],
            },  # fmt: skip
            {"name": "tags", "type": "array", "separator": "|"},
            {"name": "category", "type": "reference", "derive": "classify", "required": True},
        ],
    }
    raw.update(changes)
    return CatalogSchema.from_dict(raw)


HEADER = ["SKU", "Title", "Weight", "price", "Qty", "In stock", "material", "Sizes", "tags"]


def batch(rows: list[dict[str, Any]], first_row: int = 2, source: str = "feed.csv") -> RowBatch:
    return RowBatch(rows, list(range(first_row, first_row + len(rows))), source)


def row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(HEADER)
    base.update({"SKU": "AB-1", "Title": "Drill"})
    base.update(values)
    return base


def mapped(*rows: dict[str, Any], schema: CatalogSchema | None = None):
    schema = schema or make_schema()
    mapping = resolve_columns(HEADER, schema, source="feed.csv")
    return map_batch(batch(list(rows)), mapping, schema)


def messages(result) -> list[str]:
    return [str(p) for p in result.problems]


# --- resolve_columns -------------------------------------------------------------------------


def test_columns_match_case_space_underscore_and_hyphen_insensitively() -> None:
    header = ["item_#", "TITLE", "weight", "PRICE", "qty", "in-stock", "Material", "sizes", "Tags"]
    mapping = resolve_columns(header, make_schema(), source="feed.csv")
    assert mapping.attribute_for_column == {
        "item_#": "sku",
        "TITLE": "title",
        "weight": "weight_kg",
        "PRICE": "price",
        "qty": "qty",
        "in-stock": "in_stock",
        "Material": "material",
        "sizes": "sizes_mm",
        "Tags": "tags",
    }
    assert mapping.ignored == ()


def test_first_listed_source_column_wins() -> None:
    mapping = resolve_columns(
        ["Name", "Title", "SKU"], make_schema(unknown_columns="ignore"), source="f"
    )
    assert mapping.attribute_for_column == {"Title": "title", "SKU": "sku"}
    assert mapping.ignored == ("Name",)


def test_override_maps_a_column_and_takes_it_from_the_schema_source() -> None:
    mapping = resolve_columns(
        ["Part No", "Title", "Name"],
        make_schema(unknown_columns="ignore"),
        source="f",
        overrides={"part no": "sku", "Name": "title"},
    )
    assert mapping.attribute_for_column == {"Part No": "sku", "Name": "title"}
    assert mapping.ignored == ("Title",)


def test_missing_required_and_id_columns_are_reported_together() -> None:
    with pytest.raises(InputError) as caught:
        resolve_columns(["Weight", "Qty"], make_schema(), source="feed.csv")
    text = str(caught.value)
    assert len(caught.value.problems) == 2
    assert (
        "feed.csv: the id attribute 'sku' has no column; looked for 'SKU', 'Item #'; "
        "the file has: 'Weight', 'Qty'" in text
    )
    assert "required attribute 'title' has no column; looked for 'Title', 'Name'" in text
    assert "category" not in text  # a model derives it: no column needed


def test_id_attribute_needs_a_column_even_when_not_marked_required() -> None:
    schema = CatalogSchema.from_dict(
        {"name": "s", "id": "code", "attributes": [{"name": "code"}, {"name": "title"}]}
    )
    with pytest.raises(InputError, match="the id attribute 'code' has no column"):
        resolve_columns(["title"], schema, source="s.csv")


def test_a_column_two_attributes_claim_is_an_error() -> None:
    schema = CatalogSchema.from_dict(
        {
            "name": "s",
            "id": "sku",
            "attributes": [
                {"name": "sku"},
                {"name": "title", "source": ["Name"]},
                {"name": "brand", "source": ["name"]},
            ],
        }
    )
    with pytest.raises(InputError) as caught:
        resolve_columns(["sku", "Name"], schema, source="s.csv")
    (problem,) = caught.value.problems
    assert problem.column == "Name"
    assert "mapped by two attributes, 'title' and 'brand'" in problem.message


def test_unknown_columns_error_lists_them_and_the_fix() -> None:
    with pytest.raises(InputError) as caught:
        resolve_columns([*HEADER, "Colour", "Notes"], make_schema(), source="feed.csv")
    message = str(caught.value)
    assert "unknown columns 'Colour', 'Notes'" in message
    assert "`source:`" in message and "unknown_columns: ignore" in message


def test_unknown_columns_ignored_when_the_schema_says_so() -> None:
    mapping = resolve_columns(
        [*HEADER, "Colour"], make_schema(unknown_columns="ignore"), source="feed.csv"
    )
    assert mapping.ignored == ("Colour",)
    assert "Colour" not in mapping.attribute_for_column


def test_bad_overrides_name_the_column_and_attribute() -> None:
    with pytest.raises(InputError) as caught:
        resolve_columns(
            HEADER, make_schema(), source="f", overrides={"Nope": "title", "Qty": "quantity"}
        )
    message = str(caught.value)
    assert "--map names 'Nope' but the file has no column 'Nope'" in message
    assert "attribute 'quantity', which the schema does not define" in message


# --- map_batch: types ------------------------------------------------------------------------


def test_every_type_is_read_and_normalised() -> None:
    result = mapped(
        row(
            SKU="AB-12 ",
            Title="Ｐｏｗｅｒ\u00a0Drill\u200b",
            Weight="1,200 g",
            price="€12,50",
            Qty="10.0",
            **{"In stock": "x"},
            material="SS",
            Sizes="52mm; 5.2 cm;; 1/2 in",
            tags="Cordless | drills|",
        )
    )
    assert result.problems == []
    assert result.frame.index.tolist() == ["AB-12"]
    assert result.frame.index.name == "external_id"
    assert result.frame.loc["AB-12"].to_dict() == {
        "sku": "AB-12",
        "title": "Power Drill",
        "weight_kg": 1.2,
        "price": 12.5,
        "qty": 10,
        "in_stock": True,
        "material": "Stainless Steel",
        "sizes_mm": [52.0, 52.0, 12.7],
        "tags": ["Cordless", "drills"],
    }
    assert type(result.frame.at["AB-12", "qty"]) is int
    assert result.row_numbers == {"AB-12": 2}


def test_columns_follow_the_schema_and_missing_values_are_none() -> None:
    result = mapped(row(SKU="A", Weight="N/A", price="-", material=""))
    assert list(result.frame.columns) == [
        "sku", "title", "weight_kg", "price", "qty", "in_stock", "material", "sizes_mm", "tags",
    ]  # fmt: skip
    values = result.frame.loc["A"].to_dict()
    assert values["weight_kg"] is None and values["price"] is None
    assert values["qty"] is None and values["in_stock"] is None
    assert values["material"] is None and values["sizes_mm"] is None


def test_native_values_from_json_and_xlsx() -> None:
    result = mapped(
        row(
            SKU=12345,
            Title="Saw",
            Weight=2,
            price=9.5,
            Qty=3,
            Sizes=[10, "2 cm"],
            tags=["a", " b "],
            material="brass",
            **{"In stock": False},
        ),  # fmt: skip
        row(SKU=12346.0, Title="Saw 2", Qty=4.0, **{"In stock": 1}),
    )
    assert result.problems == []
    assert result.frame.to_dict("index") == {
        "12345": {"sku": "12345", "title": "Saw", "weight_kg": 2.0, "price": 9.5, "qty": 3,
                  "in_stock": False, "material": "Brass", "sizes_mm": [10.0, 20.0],
                  "tags": ["a", "b"]},
        "12346": {"sku": "12346", "title": "Saw 2", "weight_kg": None, "price": None, "qty": 4,
                  "in_stock": True, "material": None, "sizes_mm": None, "tags": None},
    }  # fmt: skip


def test_rows_missing_keys_read_as_missing() -> None:
    schema = make_schema()
    mapping = resolve_columns(HEADER, schema, source="feed.jsonl")
    result = map_batch(batch([{"SKU": "A", "Title": "t"}], source="feed.jsonl"), mapping, schema)
    assert result.problems == []
    assert result.frame.loc["A", "weight_kg"] is None


def test_enum_value_outside_the_set_is_kept_for_validation() -> None:
    result = mapped(row(material=" wood "))
    assert result.problems == []
    assert result.frame.iloc[0]["material"] == "wood"


def test_empty_batch_gives_an_empty_frame() -> None:
    result = mapped()
    assert result.problems == [] and result.row_numbers == {}
    assert len(result.frame) == 0 and "sku" in result.frame.columns


# --- map_batch: problems ---------------------------------------------------------------------


def test_unreadable_values_are_problems_naming_row_column_and_cause() -> None:
    result = mapped(
        row(SKU="A"),
        row(SKU="B", Weight="heavy"),
        row(SKU="C", Weight="5 V", Qty="10.5"),
        row(SKU="D", price="52mm", **{"In stock": "maybe"}),
        row(SKU="E", Sizes="1;abc"),
        row(SKU="F", Title=["a", "list"]),
    )
    assert messages(result) == [
        "feed.csv, row 3, column 'Weight': 'heavy' is not a number (attribute weight_kg, unit kg)",
        "feed.csv, row 4, column 'Weight': '5 V' is in V, which cannot be converted to kg "
        "(attribute weight_kg, unit kg)",
        "feed.csv, row 4, column 'Qty': '10.5' is not a whole number (attribute qty)",
        "feed.csv, row 5, column 'price': '52mm' has a unit (mm) but attribute price has none; "
        "write bare numbers, or give the attribute a `unit:` in the schema",
        "feed.csv, row 5, column 'In stock': 'maybe' is not a yes/no value (attribute in_stock; "
        "write yes/no, y/n, true/false, 1/0, or x for yes)",
        "feed.csv, row 6, column 'Sizes': 'abc' in '1;abc' is not a number "
        "(attribute sizes_mm, unit mm)",
        'feed.csv, row 7, column \'Title\': ["a", "list"] is a list, not a single value '
        "(attribute title is text)",
    ]
    assert result.frame.index.tolist() == ["A"]  # nothing half-valid
    assert result.row_numbers == {"A": 2}


def test_prices_in_the_wrong_place_say_so() -> None:
    schema = make_schema(
        text=[],
        attributes=[
            {"name": "sku"},
            {"name": "price", "type": "number", "unit": "USD"},
            {"name": "width", "type": "number", "unit": "mm"},
        ],
    )
    mapping = resolve_columns(["sku", "price", "width"], schema, source="f.csv")
    result = map_batch(
        batch([{"sku": "A", "price": "€12,50", "width": "$3"}], source="f.csv"), mapping, schema
    )
    assert [p.message for p in result.problems] == [
        "'€12,50' is in EUR, not USD (attribute price, unit USD)",
        "'$3' is a price, not a quantity in mm (attribute width, unit mm)",
    ]


def test_empty_id_is_a_problem() -> None:
    result = mapped(row(SKU="  \u200b"), row(SKU=None), row(SKU="ok"))
    assert [(p.row, p.column) for p in result.problems] == [(2, "SKU"), (3, "SKU")]
    assert "the id is empty" in result.problems[0].message
    assert result.frame.index.tolist() == ["ok"]


def test_duplicate_ids_in_a_batch_name_both_rows() -> None:
    result = mapped(row(SKU="AB-12"), row(SKU="X"), row(SKU="AB-12 "), row(SKU="AB-12"))
    assert messages(result) == [
        "feed.csv, row 4, column 'SKU': duplicate id 'AB-12' (first at row 2)",
        "feed.csv, row 5, column 'SKU': duplicate id 'AB-12' (first at row 2)",
    ]
    assert result.frame.index.tolist() == ["AB-12", "X"]
    assert result.row_numbers["AB-12"] == 2


def test_duplicate_ids_across_batches_through_a_shared_seen_dict() -> None:
    seen: dict[str, int] = {}
    assert find_duplicate_ids(["A", "B"], [2, 3], seen, "feed.csv") == []
    problems = find_duplicate_ids(["C", "A"], [5001, 5002], seen, "feed.csv")
    assert [str(p) for p in problems] == ["feed.csv, row 5002: duplicate id 'A' (first at row 2)"]
    assert seen == {"A": 2, "B": 3, "C": 5001}


def test_problem_rows_do_not_hide_other_problems() -> None:
    result = mapped(row(SKU="A", Weight="heavy", Qty="x"))
    assert [p.column for p in result.problems] == ["Weight", "Qty"]


def test_mapping_is_a_plain_value() -> None:
    mapping = ColumnMapping({"SKU": "sku"}, ())
    assert mapping.column_for_attribute == {"sku": "SKU"}


# --- real data -------------------------------------------------------------------------------


def test_fortune500_csv_reads_without_problems() -> None:
    path = shared_path("companies/fortune500_2019.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [{k: (v or None) for k, v in r.items()} for r in reader]
    schema = CatalogSchema.from_dict(
        {
            "name": "fortune500",
            "kind": "suppliers",
            "id": "company",
            "unknown_columns": "ignore",
            "attributes": [
                {"name": "company", "source": "company_name"},
                {"name": "revenue_musd", "type": "number", "unit": "USD",
                 "source": "revenue ($M)"},
                {"name": "profits_musd", "type": "number", "source": "profits ($M)"},
                {"name": "revenue_change", "type": "number", "unit": "%",
                 "source": "revenue_percent_change"},
                {"name": "employees", "type": "integer"},
                {"name": "previous_rank", "type": "integer"},
                {"name": "website"},
            ],
        }
    )  # fmt: skip
    mapping = resolve_columns(header, schema, source=str(path))
    result = map_batch(batch(rows), mapping, schema)
    assert result.problems == []
    assert len(result.frame) == 500
    walmart = result.frame.loc["Walmart"]
    assert walmart["revenue_musd"] == 514405.0
    assert walmart["revenue_change"] == 2.8
    assert walmart["employees"] == 2200000
    assert (result.frame["profits_musd"] < 0).sum() > 0  # "$-22,355.0"
    assert result.frame["previous_rank"].isna().sum() == 5  # written "-"


# --- content hashes --------------------------------------------------------------------------


def frame(rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Object columns holding the values exactly as given (as `map_batch` builds them)."""
    columns = list(dict.fromkeys(key for values in rows.values() for key in values))
    return pd.DataFrame(
        {c: pd.Series([v.get(c) for v in rows.values()], index=list(rows), dtype=object)
         for c in columns}
    )  # fmt: skip


def reference_hash(values: dict[str, Any]) -> str:
    present = {k: v for k, v in values.items() if v is not None}
    text = json.dumps(present, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_hash_ignores_column_and_row_order_and_float_spelling() -> None:
    a = frame({"A": {"sku": "A", "qty": 5, "w": 1.5}, "B": {"sku": "B", "qty": 1, "w": None}})
    b = frame({"B": {"w": None, "qty": 1.0, "sku": "B"}, "A": {"w": 1.5, "qty": 5.0, "sku": "A"}})
    assert content_hashes(a).to_dict() == content_hashes(b).to_dict()


def test_hash_changes_with_any_value() -> None:
    base = {"sku": "A", "title": "Drill", "w": 1.5, "tags": ["a", "b"], "ok": True}
    hashes = {content_hashes(frame({"A": base})).iat[0]}
    for key, value in [("title", "Drill "), ("w", 1.5000001), ("tags", ["b", "a"]), ("ok", 1)]:
        hashes.add(content_hashes(frame({"A": {**base, key: value}})).iat[0])
    assert len(hashes) == 5


def test_hash_ignores_an_added_empty_attribute() -> None:
    before = frame({"A": {"sku": "A", "title": "Drill"}})
    after = frame({"A": {"sku": "A", "title": "Drill", "colour": None}})
    assert content_hashes(before).iat[0] == content_hashes(after).iat[0]


def test_hash_is_the_documented_canonical_json() -> None:
    rows = {
        "A": {"sku": "A", "title": 'say "hi"\\ ünïcode', "w": 0.1, "n": 2**60, "big": 1e300,
              "tags": ["x", 1.0, None], "ok": False, "nested": {"b": 1, "a": [2.5]}},
        "B": {"sku": "B", "title": None, "w": 3.0, "n": None, "big": None, "tags": None,
              "ok": None, "nested": None},
    }  # fmt: skip
    hashes = content_hashes(frame(rows))
    assert hashes["A"] == reference_hash(
        {**rows["A"], "tags": ["x", 1, None], "nested": {"a": [2.5], "b": 1}}
    )
    assert hashes["B"] == reference_hash({"sku": "B", "w": 3})


def test_hash_is_stable_across_runs() -> None:
    """Pinned: if this changes, every stored record looks changed and is processed again."""
    row_values = {"sku": "AB-12", "title": "Power Drill", "weight": 1.5, "qty": 10,
                  "tags": ["a", "b"], "in_stock": True}  # fmt: skip
    digest = content_hashes(frame({"AB-12": row_values})).iat[0]
    assert digest == "7421a0454d949a7e868638327bef6f98b258d195bac23b9f15b5d85ba4ac8b53"


def test_hashes_of_a_mapped_batch_are_indexed_by_id() -> None:
    result = mapped(row(SKU="A", Weight="1 kg"), row(SKU="B", Weight="1000 g"))
    hashes = content_hashes(result.frame)
    assert hashes.index.tolist() == ["A", "B"]
    assert hashes["A"] != hashes["B"]  # the id is part of the content
    same = mapped(row(SKU="A", Weight="1000 g"))
    assert content_hashes(same.frame)["A"] == hashes["A"]  # 1 kg and 1000 g are one value


def test_a_nul_character_is_a_problem_naming_its_row_and_column() -> None:
    # PostgreSQL stores no NUL in text or JSON: such a value once failed the whole batch's write
    result = mapped(row(SKU="A"), row(SKU="B", Title="Drill\x00 bit"), row(SKU="C", Qty=3))

    assert messages(result) == [
        "feed.csv, row 3, column 'Title': holds a NUL character (\\x00), which no text column "
        "can store; remove it from the source"
    ]
    assert result.frame.index.tolist() == ["A", "C"]
