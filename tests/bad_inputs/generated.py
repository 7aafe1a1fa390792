"""Bad files too big or too binary to keep in the repository, made on demand (each in well
under a second): XLSX workbooks, a zip bomb, a 1 MB cell, JSON nested 100,000 levels deep."""

from __future__ import annotations

import secrets
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    for values in rows:
        workbook.active.append(values)
    workbook.save(path)
    return path


def _xlsx_with_cell(path: Path, write_cell: Callable[[Any], None]) -> Path:
    """An XLSX whose second row's title is streamed by ``write_cell`` into the sheet part."""
    template = _xlsx(path.with_name("template.xlsx"), [["sku", "title"], ["B-1", "MARKER"]])
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w") as out:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename != "xl/worksheets/sheet1.xml":
                out.writestr(member, data)
                continue
            head, tail = data.split(b"MARKER")
            info = zipfile.ZipInfo(member.filename)
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=True) as sheet:
                sheet.write(head)
                write_cell(sheet)
                sheet.write(tail)
    return path


def _truncated(path: Path) -> Path:
    whole = _xlsx(
        path.with_name("whole.xlsx"), [["sku", "title"]] + [[f"B-{i}", "x"] for i in range(300)]
    )
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def _bomb(sheet: Any) -> None:
    for _ in range(8):
        sheet.write(b"A" * 1024 * 1024)


def _long(sheet: Any) -> None:
    sheet.write(secrets.token_hex(600_000).encode())  # 1.2 MB that does not compress


def _deep(path: Path, jsonl: bool) -> Path:
    deep = "[" * 100_000 + "]" * 100_000
    if jsonl:
        path.write_text('{"sku": "B-1", "title": "ok"}\n{"sku": "B-2", "dims": ' + deep + "}\n")
    else:
        path.write_text('[{"sku": "B-1", "title": "ok"}, {"sku": "B-2", "dims": ' + deep + "}]")
    return path


def _long_csv(path: Path) -> Path:
    path.write_text("sku,title\nB-1,ok\nB-2," + "x" * 1_100_000 + "\n")
    return path


GENERATORS: dict[str, Callable[[Path], Path]] = {
    "xlsx_missing_title.xlsx": lambda p: _xlsx(p, [["sku", "title"], ["B-1", "ok"], ["B-2", None]]),
    "xlsx_duplicate_header.xlsx": lambda p: _xlsx(p, [["sku", "sku"], ["B-1", "B-1"]]),
    "xlsx_value_without_header.xlsx": lambda p: _xlsx(
        p, [["sku", "title"], ["B-1", "ok"], ["B-2", "ok", "surplus"]]
    ),
    "xlsx_header_only.xlsx": lambda p: _xlsx(p, [["sku", "title"]]),
    "xlsx_price_not_a_number.xlsx": lambda p: _xlsx(
        p, [["sku", "title", "price"], ["B-1", "ok", "cheap"]]
    ),
    "xlsx_truncated.xlsx": _truncated,
    "xlsx_zip_bomb.xlsx": lambda p: _xlsx_with_cell(p, _bomb),
    "xlsx_long_cell.xlsx": lambda p: _xlsx_with_cell(p, _long),
    "csv_long_field.csv": _long_csv,
    "json_nested_100k.json": lambda p: _deep(p, jsonl=False),
    "jsonl_nested_100k.jsonl": lambda p: _deep(p, jsonl=True),
}
