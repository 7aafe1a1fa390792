"""Export catalogue rows to a CSV, JSON, JSONL, XML, XLSX or Parquet file, replaced atomically.

Whoever picks the file up (a marketplace feed, a BI tool, a nightly sync) must never see half of
it: rows stream into a temporary file next to the target, and `commit()` renames it into place in
one step. A file is rewritten whole, so `replace` is the only mode.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, field_validator

from catalog.export_cells import FORMULA_TRIGGERS, spreadsheet_text, xml_text
from catalog.rows import WriteMode, WriteResult
from connectors.base import TerminalConnectorError, WriterLifecycle, check_open_arguments, to_text

ExportFormat = Literal["auto", "csv", "json", "jsonl", "xml", "xlsx", "parquet"]
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "xml",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
}


class FileExport(Block):
    """A CSV, JSON, JSONL, XML, XLSX or Parquet file that receives catalogue rows, rewritten
    whole on each commit.

    Lists and dicts become JSON text in CSV, XML and XLSX and stay JSON in JSON and JSONL (a
    JSON file is one array of objects; XML is `<catalog><record><field name="…">`). Parquet
    column types come from `types` where given, else from the first batch (an all-empty column
    is text).

    Attributes:
        path: The file to write.
        format: The file format, or "auto" to take it from the extension.
        delimiter: The CSV delimiter.
        types: Parquet column types.

    Example:
        Export products to Parquet:
        ```python
        from connectors.file_export import FileExport

        export = FileExport.load("BLOCK_NAME")
        with export.open(columns=["sku", "title"], key="sku", mode="replace") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            result = writer.commit()
        ```
    """

    _block_type_name = "skuflow File Export"
    _block_type_slug = "skuflow-file-export"

    path: str = Field(..., description="The file to write; its folder is created if missing.")
    format: ExportFormat = Field(
        "auto",
        description="The file format: csv, json, jsonl, xml, xlsx, parquet, or auto from the "
        "extension.",
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="The CSV delimiter.")
    types: dict[str, str] = Field(
        default_factory=dict,
        description="Parquet column types: text, number, integer, boolean or array; else inferred.",
    )

    @field_validator("path", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    def describe(self) -> str:
        return f"file {self.path}"

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> FileExportWriter:
        """Start writing a new version of the file; `types` adds to the block's `types`."""
        declared = {**self.types, **(types or {})}
        kinds = check_open_arguments(
            destination=self.describe(), columns=columns, key=key, mode=mode, types=declared
        )
        if mode != "replace":
            raise TerminalConnectorError(
                f"{self.describe()}: a file export is rewritten whole, so mode must be "
                f"'replace', not '{mode}'"
            )
        path = Path(os.path.expanduser(self.path))
        fmt = self.format if self.format != "auto" else EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise TerminalConnectorError(
                f"{self.describe()}: cannot tell the format from '{path.suffix or path.name}': "
                f"use one of {', '.join(sorted(EXTENSIONS))} or set `format:`"
            )
        explicit = {column: kinds[column] for column in columns if column in declared}
        return FileExportWriter(
            destination=self.describe(),
            path=path,
            fmt=fmt,
            columns=list(columns),
            types=explicit,
            delimiter=self.delimiter,
        )


class FileExportWriter(WriterLifecycle):
    """Streams batches into a temporary file beside the target; `commit()` renames it in place."""

    def __init__(
        self,
        *,
        destination: str,
        path: Path,
        fmt: str,
        columns: list[str],
        types: dict[str, str],
        delimiter: str,
        preamble: list[list[str]] | None = None,
    ) -> None:
        self._destination = destination
        self._path = path
        self._format = fmt
        self._columns = columns
        self._types = types
        self._rows = 0
        self._state = "open"
        self._stream: IO[str] | None = None
        self._parquet: Any = None  # pyarrow.parquet.ParquetWriter, created on the first batch
        self._schema: Any = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise TerminalConnectorError(f"{destination}: cannot write there: {exc}") from exc
        self._temporary = Path(temporary)
        if fmt in ("parquet", "xlsx"):
            os.close(handle)
            if fmt == "xlsx":
                from openpyxl import Workbook

                self._workbook: Any = Workbook(write_only=True)
                self._sheet = self._workbook.create_sheet("catalog")
                self._sheet.append([spreadsheet_text(c) for c in columns])
        else:
            self._stream = os.fdopen(handle, "w", encoding="utf-8", newline="")
            if fmt == "csv":
                self._csv = csv.writer(self._stream, delimiter=delimiter)
                self._csv.writerows(preamble or [])  # e.g. a marketplace template's top rows
                self._csv.writerow([spreadsheet_text(c) for c in columns])
            elif fmt == "json":
                self._stream.write("[")
            elif fmt == "xml":
                self._stream.write('<?xml version="1.0" encoding="UTF-8"?>\n<catalog>\n')

    def __enter__(self) -> FileExportWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append one batch to the temporary file."""
        if self._state != "open":
            raise TerminalConnectorError(f"{self._destination}: this export is {self._state}")
        if not rows:
            return
        unknown = set().union(*rows) - set(self._columns)
        if unknown:
            raise TerminalConnectorError(
                f"{self._destination}: rows have columns not opened for writing: {sorted(unknown)}"
            )
        if self._format == "csv":
            columns = self._columns
            self._csv.writerows(list(map(_csv_value, map(row.get, columns))) for row in rows)
        elif self._format in ("jsonl", "json"):
            assert self._stream is not None
            separator = "\n" if self._format == "jsonl" else ",\n"
            lead = "" if self._format == "jsonl" or not self._rows else separator
            self._stream.write(
                lead
                + separator.join(
                    json.dumps(
                        {c: _json_safe(row.get(c)) for c in self._columns},
                        ensure_ascii=False,
                        default=_json_default,
                    )
                    for row in rows
                )
                + ("\n" if self._format == "jsonl" else "")
            )
        elif self._format == "xml":
            assert self._stream is not None
            self._stream.writelines(_xml_record(row, self._columns) for row in rows)
        elif self._format == "xlsx":
            for row in rows:
                self._sheet.append([_xlsx_value(row.get(c)) for c in self._columns])
        else:
            self._write_parquet(rows)
        self._rows += len(rows)

    def commit(self) -> WriteResult:
        """Close the temporary file, flush it to disk and rename it over the target."""
        if self._state != "open":
            raise TerminalConnectorError(f"{self._destination}: this export is {self._state}")
        try:
            if self._format == "parquet" and self._parquet is None:
                self._write_parquet([])  # an empty export still carries its columns
            if self._stream is not None and self._format in ("json", "xml"):
                self._stream.write("]\n" if self._format == "json" else "</catalog>\n")
            if self._format == "xlsx":
                self._workbook.save(self._temporary)
            self._close()
            with self._temporary.open("rb") as written:
                os.fsync(written.fileno())
            mode = self._path.stat().st_mode & 0o777 if self._path.exists() else 0o644
            os.chmod(self._temporary, mode)
            os.replace(self._temporary, self._path)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        return WriteResult(destination=self._destination, rows=self._rows, location=str(self._path))

    def abort(self) -> None:
        """Drop the temporary file: the target stays exactly as it was."""
        if self._state != "open":
            return
        self._state = "aborted"
        try:
            self._close()
        finally:
            self._temporary.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def _write_parquet(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._schema is None:
            self._schema = pa.schema(
                [pa.field(c, _arrow_type(c, self._types, rows)) for c in self._columns]
            )
            self._parquet = pq.ParquetWriter(self._temporary, self._schema)
        arrays = []
        for field in self._schema:
            passing = _passing_type(field.type)  # values of this type need no conversion
            name = field.name
            values = [
                v if v is None or type(v) is passing else _arrow_value(v, field.type)
                for v in [row.get(name) for row in rows]
            ]  # None needs none either: `_arrow_value` returns it as it is
            try:
                arrays.append(pa.array(values, type=field.type, from_pandas=True))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
                raise TerminalConnectorError(
                    f"{self._destination}: column '{field.name}' is {field.type} in this file "
                    f"(declared, or inferred from the first batch) but a value does not fit: {e}; "
                    "declare its type in `types`"
                ) from e
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))


def _passing_type(arrow_type: Any) -> type | None:
    import pyarrow as pa

    if pa.types.is_string(arrow_type):
        return str
    if pa.types.is_floating(arrow_type):
        return float  # NaN stays NaN and becomes null (from_pandas=True)
    if pa.types.is_integer(arrow_type):
        return int
    if pa.types.is_boolean(arrow_type):
        return bool
    return None


def _arrow_type(column: str, types: dict[str, str], rows: list[dict[str, Any]]) -> Any:
    """The declared type, else the type pyarrow infers from the first batch (text if unclear)."""
    import pyarrow as pa

    declared = {
        "text": pa.string(),
        "number": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "array": pa.list_(pa.string()),
    }
    if column in types:
        return declared[types[column]]
    values = [_arrow_value(row.get(column), None) for row in rows]
    try:
        inferred = pa.array(values, from_pandas=True).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return pa.string()  # mixed values: keep them all, as text
    if pa.types.is_null(inferred):
        return pa.string()
    if pa.types.is_list(inferred) and pa.types.is_null(inferred.value_type):
        return pa.list_(pa.string())
    return inferred


def _arrow_value(value: Any, arrow_type: Any) -> Any:
    """Dicts (and dicts inside lists) as JSON text; anything bound for a text column as text."""
    import pyarrow as pa

    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=_json_default)
    elif isinstance(value, list | tuple):
        value = [
            json.dumps(v, ensure_ascii=False, default=_json_default) if isinstance(v, dict) else v
            for v in value
        ]
    if arrow_type is None:
        return value
    if pa.types.is_string(arrow_type):
        return to_text(value)
    if pa.types.is_list(arrow_type) and pa.types.is_string(arrow_type.value_type):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return [to_text(v) for v in (value if isinstance(value, list) else [value])]
    return value


def _xml_record(row: dict[str, Any], columns: list[str]) -> str:
    from xml.sax.saxutils import escape, quoteattr

    fields = "".join(
        f"<field name={quoteattr(xml_text(c))}>{escape(xml_text(text))}</field>"
        for c in columns
        if (text := to_text(row.get(c))) is not None
    )
    return f"  <record>{fields}</record>\n"


def _csv_value(value: Any) -> str | None:
    """Text as a spreadsheet opens it safely (never a formula); numbers as they are."""
    if type(value) is str:  # most cells: `to_text` keeps a string as it is
        return spreadsheet_text(value) if value.startswith(FORMULA_TRIGGERS) else value
    if value is None:
        return None
    text = to_text(value)
    if text is None or isinstance(value, bool | int | float):
        return text
    return spreadsheet_text(text)


def _xlsx_value(value: Any) -> Any:
    """Numbers and booleans stay typed cells; everything else is text (lists as JSON), never a
    formula: openpyxl writes a string starting with ``=`` as one, `spreadsheet_text` makes
    sure none does."""
    if isinstance(value, bool | int) or (isinstance(value, float) and not math.isnan(value)):
        return value
    text = to_text(value)
    return spreadsheet_text(ILLEGAL_XLSX_CHARACTERS.sub("", text)) if text else None


ILLEGAL_XLSX_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an XLSX cell cannot hold (openpyxl refuses them)."""


def _json_safe(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
