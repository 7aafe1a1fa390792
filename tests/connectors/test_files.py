"""FileSource: real files of every format, and every kind of bad file a supplier sends."""

from __future__ import annotations

import json
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from catalog.errors import InputError
from catalog.rows import RowBatch
from connectors.files import FileSource
from tests.conftest import shared_path


def _batches(path: Path | str, batch_size: int = 5000, **options: Any) -> list[RowBatch]:
    return list(FileSource(path=str(path), **options).read_batches(batch_size=batch_size))


def _rows(path: Path, **options: Any) -> list[dict[str, Any]]:
    return [row for batch in _batches(path, **options) for row in batch.rows]


def _error(path: Path, **options: Any) -> InputError:
    with pytest.raises(InputError) as failure:
        _batches(path, **options)
    return failure.value


def _xlsx(path: Path, rows: list[list[Any]], **sheets: list[list[Any]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    for values in rows:
        workbook.active.append(values)
    for name, extra in sheets.items():
        sheet = workbook.create_sheet(name)
        for values in extra:
            sheet.append(values)
    workbook.save(path)
    return path


# -- reading ------------------------------------------------------------------------------------


def test_csv_values_stay_raw_with_header_trimmed_bom_skipped_and_empty_cells_none(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feed.csv"
    text = "\ufeff sku , title ,price\nA-1, Hex bolt ,1.50\nA-2,,\nA-3,Nut\n"
    path.write_bytes(text.encode("utf-8"))

    [batch] = _batches(path)

    assert FileSource(path=path).columns() == ["sku", "title", "price"]  # a Path is fine too
    assert batch.rows == [
        {"sku": "A-1", "title": " Hex bolt ", "price": "1.50"},
        {"sku": "A-2", "title": None, "price": None},
        {"sku": "A-3", "title": "Nut", "price": None},
    ]
    assert batch.row_numbers == [2, 3, 4]
    assert batch.source == str(path)


def test_batches_respect_batch_size_and_row_numbers_follow_multiline_quoted_fields(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feed.csv"
    path.write_text(
        "sku,description\n"  # line 1
        "A-1,plain\n"  # 2
        'A-2,"three\nline\ntext"\n'  # 3-5
        "\n"  # 6: blank, skipped
        "A-3,plain\n"  # 7
        'A-4,"two\r\nlines"\n'  # 8-9
        "A-5,x\nA-6,y\nA-7,z\n",  # 10-12
        newline="",
    )

    batches = _batches(path, batch_size=3)

    assert [len(b.rows) for b in batches] == [3, 3, 1]
    assert [n for b in batches for n in b.row_numbers] == [2, 3, 7, 8, 10, 11, 12]
    assert batches[0].rows[1]["description"] == "three\nline\ntext"
    assert batches[1].rows[0]["description"] == "two\r\nlines"


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "feed.csv"
    other = "," if delimiter != "," else ";"
    path.write_text(
        delimiter.join(["sku", "title", "note"])
        + "\n"
        + delimiter.join(["A-1", f'"Bolt{delimiter} hex"', f"a{other}b"])
        + "\n"
    )

    assert _rows(path) == [{"sku": "A-1", "title": f"Bolt{delimiter} hex", "note": f"a{other}b"}]


def test_a_given_delimiter_wins_over_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_text("sku;title,with comma\nA-1;x,y\n")

    assert _rows(path, delimiter=";") == [{"sku": "A-1", "title,with comma": "x,y"}]
    with pytest.raises(ValidationError):
        FileSource(path=str(path), delimiter=";;")
    with pytest.raises(ValidationError):
        FileSource(path=str(path), encoding="no-such-codec")


def test_real_fortune500_csv_reads_every_row_with_raw_values() -> None:
    path = shared_path("companies/fortune500_2019.csv")
    batches = _batches(path, batch_size=128)

    rows = [row for batch in batches for row in batch.rows]
    assert len(rows) == 500
    assert [len(b.rows) for b in batches] == [128, 128, 128, 116]
    assert rows[0]["company_name"] == "Walmart"
    assert rows[0]["revenue ($M)"] == "$514,405.0"  # typing values is ingest's job
    assert rows[0]["location"] == "Bentonville, Ark."
    assert batches[-1].row_numbers[-1] == 501


def test_xlsx_yields_native_values_with_sheet_row_numbers(tmp_path: Path) -> None:
    added = datetime(2024, 3, 1, 9, 30)
    path = _xlsx(
        tmp_path / "feed.xlsx",
        [
            [None, None],  # row 1 blank: the header is on row 2
            [" sku ", "price", "in_stock", "added", "note"],
            ["A-1", 1.5, True, added, "  spaced  "],
            [None, None, None],  # blank row 4, skipped
            ["A-2", 7],  # shorter row: the rest is None
        ],
        Prices=[["sku", "price"], ["P-1", 3]],
    )

    [batch] = _batches(path)

    assert FileSource(path=str(path)).columns() == ["sku", "price", "in_stock", "added", "note"]
    assert batch.row_numbers == [3, 5]
    assert batch.rows == [
        {"sku": "A-1", "price": 1.5, "in_stock": True, "added": added, "note": "  spaced  "},
        {"sku": "A-2", "price": 7, "in_stock": None, "added": None, "note": None},
    ]
    assert _rows(path, sheet="Prices") == [{"sku": "P-1", "price": 3}]
    message = str(_error(path, sheet="Stock"))
    assert "no sheet 'Stock'" in message and "Prices" in message


def test_json_array_yields_objects_with_native_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    items = [
        {"sku": "A-1", "price": 1.5, "tags": ["m6", "zinc"], "dims": {"l": 20}},
        {"sku": "A-2", "price": 3, "active": False, "extra": None},
    ]
    path.write_text(json.dumps(items, indent=2))

    [batch] = _batches(path)

    assert batch.rows == items
    assert isinstance(batch.rows[0]["price"], float)
    assert batch.row_numbers == [1, 2]
    assert FileSource(path=str(path)).columns() == ["sku", "price", "tags", "dims"]


def test_jsonl_yields_objects_numbered_by_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('{"sku": "A-1", "price": 2}\n\n{"sku": "A-2", "tags": ["x"]}\n')

    [batch] = _batches(path)

    assert batch.rows == [{"sku": "A-1", "price": 2}, {"sku": "A-2", "tags": ["x"]}]
    assert batch.row_numbers == [1, 3]


def test_a_glob_reads_matching_files_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("sku,title\nB-1,bee\n")
    (tmp_path / "a.csv").write_text("sku,price\nA-1,1\nA-2,2\n")
    (tmp_path / "notes.txt").write_text("not a feed")
    source = FileSource(path=str(tmp_path / "*.csv"))

    batches = list(source.read_batches())

    assert [b.source for b in batches] == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert source.columns() == ["sku", "price", "title"]
    assert batches[1].rows == [{"sku": "B-1", "title": "bee"}]
    assert "no file matches" in str(_error(tmp_path / "*.xlsx"))


# -- memory ---------------------------------------------------------------------------------


def _write_feed(path: Path, rows: int) -> None:
    records = (
        {"sku": f"SKU-{i:07d}", "title": f"Hex bolt M{i % 30}", "price": i / 7} for i in range(rows)
    )
    with path.open("w", newline="") as out:
        if path.suffix == ".csv":
            out.write("sku,title,price\n")
            out.writelines(f"{r['sku']},{r['title']},{r['price']}\n" for r in records)
        elif path.suffix == ".jsonl":
            out.writelines(json.dumps(r) + "\n" for r in records)
        else:
            out.write("[\n")
            out.write(",\n".join(json.dumps(r) for r in records))
            out.write("\n]\n")


_PEAK_BYTES = """
import gc, sys, tracemalloc
from connectors.files import FileSource

def peak(path):
    gc.collect()
    tracemalloc.start()
    try:
        for _batch in FileSource(path=path).read_batches(batch_size=100):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

peak(sys.argv[1])  # warm-up: one-time caches (block schemas, codecs) are not the reader's
print(peak(sys.argv[1]), peak(sys.argv[2]))
"""


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json"])
def test_memory_stays_flat_as_the_file_grows(tmp_path: Path, suffix: str) -> None:
    """Measured in a process of its own: tracemalloc counts every thread's allocations, and
    servers other tests leave running in this one would be counted too."""
    import subprocess
    import sys

    small, large = tmp_path / f"small{suffix}", tmp_path / f"large{suffix}"
    # both files larger than the readers' 64 KB chunks, so "small" is already at steady state
    _write_feed(small, 4_000)
    _write_feed(large, 32_000)
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_BYTES, str(small), str(large)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    small_peak, large_peak = map(int, done.stdout.split())

    # holding the file, or the rows read so far, would make the peak grow eightfold
    assert large_peak < 1.3 * small_peak + 100_000


def test_xlsx_streams_rows_before_the_end_of_the_sheet_is_parsed(tmp_path: Path) -> None:
    import zipfile

    whole = _xlsx(
        tmp_path / "whole.xlsx", [["sku", "title"], *[[f"A-{i}", "x"] for i in range(2_000)]]
    )
    cut = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(cut, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) * 3 // 4]  # the sheet's XML ends mid-row
            target.writestr(item, data)

    batches = FileSource(path=str(cut)).read_batches(batch_size=100)
    first = next(batches)  # a reader that loads the whole sheet first would fail here
    with pytest.raises(InputError) as failure:
        list(batches)

    assert first.row_numbers[:2] == [2, 3]
    [problem] = failure.value.problems
    assert problem.row is not None and 1_000 < problem.row < 2_002
    assert "not a readable XLSX file" in problem.message


# -- bad files ------------------------------------------------------------------------------


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    message = str(_error(tmp_path / "nope.csv"))
    assert "nope.csv" in message and "file not found" in message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("zero.csv", b"", "file is empty: no header row"),
        ("blank.csv", b"  \n\n \r\n", "file is empty: no header row"),
        ("bom.csv", b"\xef\xbb\xbf", "file is empty: no header row"),
        ("zero.xlsx", b"", "file is empty: no header row"),
        ("zero.json", b"", "file is empty"),
        ("blank.json", b" \n\t\n", "file is empty"),
        ("blank.jsonl", b"\n\n", "file is empty"),
    ],
)
def test_an_empty_file_says_so(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    message = str(_error(path))
    assert name in message and expected in message


def test_an_empty_sheet_says_so(tmp_path: Path) -> None:
    assert "empty: no header row" in str(_error(_xlsx(tmp_path / "empty.xlsx", [])))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_header_without_data_rows_says_so(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"header.{fmt}"
    if fmt == "csv":
        path.write_text("sku,title\n\n,\n")
    else:
        _xlsx(path, [["sku", "title"]])
    message = str(_error(path))
    assert f"header.{fmt}" in message and "has a header but no data rows" in message


def test_an_empty_json_array_says_so(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text("[ ]")
    assert "no data rows" in str(_error(path))


def test_wrong_encoding_names_the_line_and_suggests_one(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    # past the first decoded chunk, so the line must be counted, not guessed
    good = "".join(f"A-{i},Hex bolt\n" for i in range(30_000))
    path.write_bytes(("sku,title\n" + good).encode() + "A-x,Café crème\n".encode("cp1252"))

    error = _error(path)

    [problem] = error.problems
    assert problem.row == 30_002
    message = str(error)
    assert "latin.csv, row 30002" in message
    assert "utf-8" in message and "encoding" in message and "cp1252" in message
    assert _rows(path, encoding="cp1252")[-1] == {"sku": "A-x", "title": "Café crème"}


def test_wrong_encoding_in_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'{"sku": "A-1"}\n{"sku": "Caf\xe9"}\n')
    [problem] = _error(path).problems
    assert problem.row == 2 and "encoding" in problem.message


def test_a_50_mb_field_is_refused_naming_row_and_column_without_holding_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w") as out:
        out.write("sku,title,description\nA-1,Bolt,short\nA-2,Nut,")
        out.write("x" * (50 * 1024 * 1024))
        out.write("\nA-3,Washer,ok\n")

    tracemalloc.start()
    try:
        error = _error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    [problem] = error.problems
    assert (problem.source, problem.row, problem.column) == (str(path), 3, "description")
    assert "max_field_bytes" in problem.message
    assert peak < 3 * 50 * 1024 * 1024  # the line itself, not the file on top of it


def test_an_unclosed_quote_is_caught_at_the_limit_and_explained(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('sku,title,price\nA-1,"Bolt,2\n' + "A-2,Nut,3\n" * 1_000)

    [problem] = _error(path, max_field_bytes=500).problems

    assert (problem.row, problem.column) == (2, "title")
    assert "quote" in problem.message


def test_more_fields_than_the_header_is_an_error_but_fewer_are_missing_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("sku,title,price\nA-1,Bolt\nA-2,Nut,3,\nA-3,Washer,1,extra\n")

    [problem] = _error(path).problems

    assert problem.row == 4
    assert "4 fields but the header has 3" in problem.message
    path.write_text("sku,title,price\nA-1,Bolt\nA-2,Nut,3,\n")
    assert _rows(path) == [
        {"sku": "A-1", "title": "Bolt", "price": None},
        {"sku": "A-2", "title": "Nut", "price": "3"},
    ]


def test_blank_and_duplicate_header_names_are_each_named(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("sku,title, ,Title,title\nA-1,a,b,c,d\n")

    error = _error(path)

    assert {(p.row, p.column) for p in error.problems} == {(1, None), (1, "title")}
    message = str(error)
    assert "field 3 is blank" in message and "field 2, field 5" in message


def test_xlsx_header_problems_and_headerless_values_name_columns_by_letter(
    tmp_path: Path,
) -> None:
    duplicate = _xlsx(tmp_path / "dup.xlsx", [["sku", "sku"], ["A-1", "x"]])
    assert "column 'sku'" in str(_error(duplicate)) and "column A, column B" in str(
        _error(duplicate)
    )

    stray = _xlsx(tmp_path / "stray.xlsx", [["sku", "title"], ["A-1", "x"], ["A-2", "y", "z"]])
    [problem] = _error(stray).problems
    assert (problem.row, problem.column) == (3, "C")


def test_a_truncated_xlsx_is_reported_as_corrupt(tmp_path: Path) -> None:
    whole = _xlsx(
        tmp_path / "whole.xlsx", [["sku", "title"], *[[f"A-{i}", "x"] for i in range(500)]]
    )
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    message = str(_error(truncated))

    assert "truncated.xlsx" in message
    assert "not a readable XLSX file (truncated or corrupt:" in message


@pytest.mark.parametrize(
    ("content", "row", "fragment"),
    [
        ('[{"sku": "A-1"}, {"sku": "A-2",}, {"sku": "A-3"}]', 2, "invalid object key"),
        ('[{"sku": "A-1"}, {"sku": "A-2"}, {"sku": "A', 3, "truncated"),
        ('[{"sku": "A-1"}, 5]', 2, "a number, not an object"),
        ('{"products": [{"sku": "A-1"}]}', None, "not an array of objects"),
    ],
)
def test_malformed_json_names_the_element_and_the_cause(
    tmp_path: Path, content: str, row: int | None, fragment: str
) -> None:
    path = tmp_path / "feed.json"
    path.write_text(content)
    [problem] = _error(path).problems
    assert problem.source == str(path) and problem.row == row and fragment in problem.message


@pytest.mark.parametrize(
    ("content", "row", "fragment"),
    [
        ('{"sku": "A-1"}\n{"sku": "A-2"\n{"sku": "A-3"}\n', 2, "not valid JSON"),
        ('{"sku": "A-1"}\n\n["A-2"]\n', 3, "an array, not an object"),
    ],
)
def test_malformed_jsonl_names_the_line(
    tmp_path: Path, content: str, row: int, fragment: str
) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(content)
    [problem] = _error(path).problems
    assert problem.row == row and fragment in problem.message


@pytest.mark.parametrize("name", ["feed.xls", "feed.parquet", "feed"])
def test_an_unsupported_extension_lists_the_supported_formats(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("sku\nA-1\n")
    message = str(_error(path))
    assert name in message and ".csv" in message and ".xlsx" in message and ".jsonl" in message
    assert _rows(path, format="csv") == [{"sku": "A-1"}]


_READ_AND_MEASURE = """
import sys
from pathlib import Path
from catalog.errors import InputError
from connectors.files import FileSource
try:
    for _ in FileSource(path=sys.argv[1]).read_batches():
        pass
except InputError as exc:
    print("refused:", exc)
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
print("peak-mb:", int(status["VmHWM"].split()[0]) // 1024)  # getrusage inherits the parent's
"""


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_file_nested_100k_deep_is_refused_in_a_small_process(tmp_path: Path, suffix: str) -> None:
    """A 200 KB file nested 100,000 levels deep once grew a reader to ~22 GB; now the element
    is refused by name and the reading process stays under 200 MB."""
    import subprocess
    import sys

    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / f"deep{suffix}"
    if suffix == ".json":
        path.write_text('[{"sku": "A-1"}, {"sku": "A-2", "dims": ' + deep + "}]")
    else:
        path.write_text('{"sku": "A-1"}\n{"sku": "A-2", "dims": ' + deep + "}\n")
    done = subprocess.run(
        [sys.executable, "-c", _READ_AND_MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    refused = "element 2" if suffix == ".json" else "row 2: line"
    assert refused in done.stdout and "nested deeper than 32 levels" in done.stdout, done.stdout
    peak = int(done.stdout.rsplit("peak-mb:", 1)[1])
    assert peak < 200, f"peak {peak} MB"


def test_a_quote_left_open_to_the_end_of_the_file_is_refused_naming_its_line(
    tmp_path: Path,
) -> None:
    # Python's csv reader would end the value at end of file: the rest of the file, rows
    # included, would become the title of A-1, with price and description empty.
    path = tmp_path / "quote.csv"
    path.write_text('sku,title,price\nA-0,Nut,1\nA-1,"Bolt,2\nA-2,Nut,3\nA-3,Washer,4\n')

    [problem] = _error(path).problems

    assert (problem.row, problem.column) == (3, "title")
    assert "quote" in problem.message and "line 3" in problem.message


def test_a_closed_multiline_quote_at_the_end_of_the_file_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "multiline.csv"
    path.write_text('sku,title,price\nA-1,"Bolt\nM8 ""hex""",2\n')

    assert _rows(path) == [{"sku": "A-1", "title": 'Bolt\nM8 "hex"', "price": "2"}]


def _xlsx_bomb(path: Path, megabytes: int) -> Path:
    """A real XLSX whose one cell is a ``megabytes`` MB string: written through a zip stream,
    so the test never holds the string, and ~1000x smaller on disk than unpacked."""
    import zipfile

    template = _xlsx(path.with_name("template.xlsx"), [["sku", "title"], ["A-1", "MARKER"]])
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w") as bomb:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(member, data)
                continue
            head, tail = data.split(b"MARKER")
            info = zipfile.ZipInfo(member.filename)
            info.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(info, "w", force_zip64=True) as out:
                out.write(head)
                for _ in range(megabytes):
                    out.write(b"A" * 1024 * 1024)
                out.write(tail)
    return path


def test_an_xlsx_zip_bomb_is_refused_unread_in_a_small_process(tmp_path: Path) -> None:
    """A 66 KB XLSX holding one 60 MB string used to pass (only CSV had a field limit) and be
    stored; now the zip directory's sizes refuse it before openpyxl reads a byte."""
    import subprocess
    import sys
    import zipfile

    path = _xlsx_bomb(tmp_path / "bomb.xlsx", 60)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size > 60 * 1024 * 1024 and path.stat().st_size < 200 * 1024
    done = subprocess.run(
        [sys.executable, "-c", _READ_AND_MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "zip bomb" in done.stdout, done.stdout
    assert "xl/worksheets/sheet1.xml" in done.stdout
    peak = int(done.stdout.rsplit("peak-mb:", 1)[1])
    assert peak < 200, f"peak {peak} MB"


def test_the_field_size_limit_applies_to_xlsx_cells_too(tmp_path: Path) -> None:
    import secrets

    long_text = secrets.token_hex(3000)  # 6,000 characters that do not compress
    path = _xlsx(tmp_path / "long.xlsx", [["sku", "title"], ["A-1", "ok"], ["A-2", long_text]])
    [problem] = _error(path, max_field_bytes=5000).problems
    assert (problem.row, problem.column) == (3, "title")
    assert "longer than max_field_bytes (5,000)" in problem.message
    assert len(_rows(path, max_field_bytes=10_000)) == 2


@pytest.mark.parametrize(
    ("name", "content"), [(".csv", "sku\nA-1\n"), (".json", '[{"sku": "A-1"}]')]
)
def test_a_file_named_only_by_its_extension_is_read_as_that_format(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert _rows(path) == [{"sku": "A-1"}]
