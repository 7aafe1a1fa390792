"""Read supplier files (CSV, XLSX, JSON, JSONL) as row batches, streaming, whatever their size.

Feeds arrive as exports from other people's systems: wrong encodings, stray delimiters, a
truncated upload, a 50 MB cell. Every reader here streams (memory stays flat as the file grows)
and turns each of those into an `InputError` naming the file, row and column, so the person who
owns the feed can fix it without reading a traceback. Values are returned as read; typing them is
the ingest stage's job.
"""

from __future__ import annotations

import codecs
import csv
import glob
import json
import os
import re
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, field_validator

from catalog.errors import InputError, InputProblem
from catalog.limits import (
    TooDeeplyNested,
    ZipBomb,
    check_zip_expansion,
    iter_array_items,
    loads,
)
from catalog.rows import RowBatch

FileFormat = Literal["auto", "csv", "xlsx", "json", "jsonl"]

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"[^"]*"')


class FileSource(Block):
    """A file, or a glob of files, read as batches of raw rows.

    Formats: CSV (delimiter sniffed unless given), XLSX (one sheet), a JSON array of objects, or
    JSON Lines. A glob reads every matching file in sorted order, each batch naming its file.
    Memory stays flat as a file grows, except that openpyxl keeps an XLSX file's shared strings
    and a cleared XML element (a few hundred bytes) per sheet row read.

    Attributes:
        path: The file to read, or a glob matching several files.
        format: The file format, or "auto" to take it from the extension.
        encoding: The text encoding of CSV/JSON files.
        delimiter: The CSV delimiter, or None to sniff it.
        sheet: The XLSX sheet to read, or None for the first.
        max_field_bytes: The longest value a CSV or XLSX cell may hold.

    Example:
        Read a supplier feed in batches:
        ```python
        from connectors.files import FileSource

        source = FileSource.load("BLOCK_NAME")
        for batch in source.read_batches(batch_size=1000):
            print(batch.source, len(batch.rows))
        ```
    """

    _block_type_name = "skuflow File Source"
    _block_type_slug = "skuflow-file-source"

    path: str = Field(
        ..., description="A file path, or a glob matching several files read in sorted order."
    )
    format: FileFormat = Field(
        "auto", description="The file format: csv, xlsx, json, jsonl, or auto from the extension."
    )
    encoding: str = Field(
        "utf-8", description="The text encoding of CSV and JSON files; a byte-order mark is fine."
    )
    delimiter: str | None = Field(
        None, description="The CSV delimiter, or None to sniff one of , ; tab and |."
    )
    sheet: str | None = Field(None, description="The XLSX sheet to read, or None for the first.")
    max_field_bytes: int = Field(
        1_048_576,
        gt=0,
        description="The longest value a CSV or XLSX cell may hold before it is refused.",
    )

    @field_validator("path", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding '{value}'") from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"a delimiter is one character, not {value!r}")
        return value

    def describe(self) -> str:
        return f"file {self.path}" + (f" ({self.format})" if self.format != "auto" else "")

    def paths(self) -> list[Path]:
        """The files this source reads, in order; a glob that matches nothing is an error."""
        pattern = os.path.expanduser(self.path)
        if any(char in pattern for char in "*?["):
            matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError.single(self.path, "no file matches this pattern")
            return [Path(p) for p in matches]
        path = Path(pattern)
        if not path.exists():
            raise InputError.single(self.path, "file not found")
        if path.is_dir():
            raise InputError.single(
                self.path, "is a directory, not a file (a glob such as 'dir/*.csv' reads several)"
            )
        return [path]

    def columns(self) -> list[str]:
        """Column names of the header (JSON: keys of the first object), over all files in order."""
        names: dict[str, None] = {}
        for path in self.paths():
            records = self._records(path)
            try:
                names.update(dict.fromkeys(next(records)))
            finally:
                records.close()
        return list(names)

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        """Rows in batches of at most `batch_size`, with the row number a user sees for each."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        for path in self.paths():
            records = self._records(path)
            try:
                next(records)  # the header
                rows: list[dict[str, Any]] = []
                numbers: list[int] = []
                for number, row in records:
                    rows.append(row)
                    numbers.append(number)
                    if len(rows) == batch_size:
                        yield RowBatch(rows=rows, row_numbers=numbers, source=str(path))
                        rows, numbers = [], []
                if rows:
                    yield RowBatch(rows=rows, row_numbers=numbers, source=str(path))
            finally:
                records.close()

    # -- per file -------------------------------------------------------------------------------

    def _records(self, path: Path) -> Generator[Any, None, None]:
        """A generator whose first item is the header, then `(row number, row)` pairs."""
        fmt = self.format if self.format != "auto" else _format_from_extension(path)
        if path.stat().st_size == 0:
            raise InputError.single(str(path), _empty_message(fmt))
        readers = {
            "csv": self._csv_records,
            "xlsx": self._xlsx_records,
            "json": self._json_records,
            "jsonl": self._jsonl_records,
        }
        return readers[fmt](path)

    def _open_text(self, path: Path) -> IO[str]:
        encoding = self.encoding
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"
        try:
            return path.open(encoding=encoding, newline="")
        except PermissionError:
            raise InputError.single(str(path), "cannot be read: permission denied") from None

    def _csv_records(self, path: Path) -> Generator[Any, None, None]:
        source = str(path)
        delimiter = self.delimiter or self._sniff_delimiter(path)
        previous_limit = csv.field_size_limit(self.max_field_bytes)
        header: list[str] | None = None
        data_rows = 0
        last_start: int | None = None  # first line of the last data record read
        try:
            with self._open_text(path) as stream:
                reader = csv.reader(stream, delimiter=delimiter)
                while True:
                    start = reader.line_num + 1
                    try:
                        fields = next(reader)
                    except StopIteration:
                        if last_start is not None and reader.line_num > last_start:
                            self._check_quote_closed(path, last_start, delimiter, header)
                        break
                    except UnicodeDecodeError as exc:
                        raise self._decode_error(path) from exc
                    except csv.Error as exc:
                        raise self._csv_error(
                            path, exc, start, reader.line_num, delimiter, header
                        ) from exc
                    if not "".join(fields).strip():
                        continue
                    if header is None:
                        header = _checked_header(fields, source=source, row=start)
                        yield header
                        continue
                    last_start = start
                    width = len(header)
                    if len(fields) > width:
                        if any(fields[width:]):
                            raise InputError.single(
                                source,
                                f"has {len(fields)} fields but the header has {width}: is a "
                                f"{_delimiter_name(delimiter)} inside a value that is not quoted?",
                                row=start,
                            )
                        fields = fields[:width]
                    elif len(fields) < width:
                        fields += [""] * (width - len(fields))
                    data_rows += 1
                    yield start, dict(zip(header, [value or None for value in fields], strict=True))
        finally:
            csv.field_size_limit(previous_limit)
        _check_not_empty(source, header=header, data_rows=data_rows, fmt="csv")

    def _sniff_delimiter(self, path: Path) -> str:
        """The candidate that splits the header line most often (quoted text aside)."""
        if path.suffix.lower() == ".tsv":
            return "\t"
        with self._open_text(path) as stream:
            try:
                line = ""
                for _ in range(1000):
                    line = stream.readline(self.max_field_bytes)
                    if not line or line.strip():
                        break
            except UnicodeDecodeError as exc:
                raise self._decode_error(path) from exc
        unquoted = _QUOTED.sub("", line)
        counts = {candidate: unquoted.count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        return best if counts[best] else ","

    def _csv_error(
        self,
        path: Path,
        exc: csv.Error,
        start: int,
        end: int,
        delimiter: str,
        header: list[str] | None,
    ) -> InputError:
        if "field larger than field limit" not in str(exc):
            return InputError.single(str(path), f"cannot be read as CSV: {exc}", row=start)
        column = None
        if header is not None:
            index = self._oversized_field(path, start, end, delimiter)
            column = header[index] if index is not None and index < len(header) else None
        return InputError.single(
            str(path),
            f"a value is longer than max_field_bytes ({self.max_field_bytes:,}): if no value "
            'should be this long, a quote (") is probably never closed; otherwise raise '
            "`max_field_bytes:`",
            row=start,
            column=column,
        )

    def _check_quote_closed(
        self, path: Path, start: int, delimiter: str, header: list[str] | None
    ) -> None:
        """Refuse a file whose last record ends inside a quoted value.

        Python's csv reader (non-strict) ends such a value at end of file, so a quote left open
        on one row silently turns every row after it into that one cell: one record whose value
        is the rest of the file, and the other rows never read. Only the last record can end at
        end of file, and only one spanning several lines can have swallowed others, so only it
        is re-read (at most `max_field_bytes`, which the reader already enforced).
        """
        text = "".join(self._lines_from(path, start))
        index = _field_open_at_end(text, delimiter)
        if index is None:
            return
        column = header[index] if header is not None and index < len(header) else None
        raise InputError.single(
            str(path),
            f'a quote (") opened on line {start} is never closed: the rest of the file would be '
            "read as one value; close the quote, or double a quote that is part of the value "
            '("")',
            row=start,
            column=column,
        )

    def _lines_from(self, path: Path, start: int) -> Iterator[str]:
        try:
            with self._open_text(path) as stream:
                for number, line in enumerate(stream, start=1):
                    if number >= start:
                        yield line
        except UnicodeDecodeError:
            return

    def _oversized_field(self, path: Path, start: int, end: int, delimiter: str) -> int | None:
        """Which field of the record on lines start..end is too long: re-reads only that record."""
        parts: list[str] = []
        try:
            with self._open_text(path) as stream:
                for number, line in enumerate(stream, start=1):
                    if number >= start:
                        parts.append(line)
                    if number >= end:
                        break
        except UnicodeDecodeError:
            return None
        text = parts[0] if len(parts) == 1 else "".join(parts)
        return _first_long_field(text, delimiter, self.max_field_bytes)

    def _decode_error(self, path: Path, *, row_is_line: bool = True) -> InputError:
        line, bad = _first_undecodable(path, self.encoding)
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        hint = "'cp1252' (Windows, Excel) or 'latin-1'" if utf8 else "'utf-8' or 'cp1252'"
        return InputError.single(
            str(path),
            f"is not valid {self.encoding} text: byte(s) {bad.hex(' ')} on line {line} cannot be "
            f"decoded; set `encoding:` (CLI: --encoding) to the file's encoding, e.g. {hint}",
            row=line if row_is_line else None,
        )

    def _xlsx_records(self, path: Path) -> Generator[Any, None, None]:
        from openpyxl import load_workbook

        source = str(path)
        try:
            check_zip_expansion(path)
        except ZipBomb as exc:
            raise InputError.single(source, f"is not read: {exc}") from exc
        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zip, XML and key errors all mean the same thing to a user
            raise InputError.single(source, _corrupt_xlsx(exc)) from exc
        try:
            if self.sheet is None:
                sheet = workbook.worksheets[0]
            elif self.sheet in workbook.sheetnames:
                sheet = workbook[self.sheet]
            else:
                raise InputError.single(
                    source,
                    f"has no sheet '{self.sheet}' (sheets: {', '.join(workbook.sheetnames)})",
                )
            sheet.reset_dimensions()  # some writers record a wrong used range
            cells = sheet.iter_rows(values_only=True)
            header: list[str] | None = None
            data_rows = 0
            number = 0
            while True:
                number += 1
                try:
                    values = next(cells)
                except StopIteration:
                    break
                except Exception as exc:
                    raise InputError.single(source, _corrupt_xlsx(exc), row=number) from exc
                if all(_blank(value) for value in values):
                    continue
                if header is None:
                    header = _checked_header(values, source=source, row=number, letters=True)
                    yield header
                    continue
                width = len(header)
                for index in range(width, len(values)):
                    if not _blank(values[index]):
                        letter = _column_letter(index)
                        raise InputError.single(
                            source,
                            f"has a value in column {letter}, which has no header name",
                            row=number,
                            column=letter,
                        )
                self._check_xlsx_fields(source, number, header, values[:width])
                row = dict(zip(header, values[:width], strict=False))
                if len(values) < width:
                    row.update(dict.fromkeys(header[len(values) :]))
                data_rows += 1
                yield number, row
        finally:
            workbook.close()
        _check_not_empty(source, header=header, data_rows=data_rows, fmt="xlsx")

    def _check_xlsx_fields(
        self, source: str, row: int, header: list[str], values: Sequence[Any]
    ) -> None:
        """The CSV field-size limit, for XLSX cells too: a value longer than
        ``max_field_bytes`` is refused, naming its row and column."""
        limit = self.max_field_bytes
        for name, value in zip(header, values, strict=False):
            if isinstance(value, str) and len(value) * 4 > limit and len(value.encode()) > limit:
                raise InputError.single(
                    source,
                    f"a value is longer than max_field_bytes ({limit:,}); raise "
                    "`max_field_bytes:` if values this long are real",
                    row=row,
                    column=name,
                )

    def _json_records(self, path: Path) -> Generator[Any, None, None]:
        import ijson

        source = str(path)
        with self._open_text(path) as stream:
            try:
                head = ""
                while not head and (chunk := stream.read(65536)):
                    head = chunk.lstrip()
            except UnicodeDecodeError as exc:
                raise self._decode_error(path, row_is_line=False) from exc
            if not head:
                raise InputError.single(source, _empty_message("json"))
            if head[0] != "[":
                raise InputError.single(
                    source,
                    f"the top-level JSON value is not an array of objects (it starts with "
                    f"{head[0]!r}); a file with one object per line is read with format 'jsonl'",
                )
            items = iter_array_items(_Utf8Reader(stream, head))
            element = 0
            while True:
                element += 1
                try:
                    item = next(items)
                except StopIteration:
                    break
                except UnicodeDecodeError as exc:
                    raise self._decode_error(path, row_is_line=False) from exc
                except ijson.JSONError as exc:
                    cause = _parser_cause(exc)
                    raise InputError.single(
                        source, f"is not valid JSON at element {element}: {cause}", row=element
                    ) from exc
                except TooDeeplyNested as exc:
                    message = f"element {element} is {exc}"
                    raise InputError.single(source, message, row=element) from exc
                if not isinstance(item, dict):
                    raise InputError.single(
                        source, f"element is {_json_kind(item)}, not an object", row=element
                    )
                if element == 1:
                    yield list(item)
                yield element, item
        if element == 1:
            raise InputError.single(source, "has no data rows: the JSON array is empty")

    def _jsonl_records(self, path: Path) -> Generator[Any, None, None]:
        source = str(path)
        seen = False
        with self._open_text(path) as stream:
            lines = enumerate(stream, start=1)
            while True:
                try:
                    number, line = next(lines)
                except StopIteration:
                    break
                except UnicodeDecodeError as exc:
                    raise self._decode_error(path) from exc
                if not line.strip():
                    continue
                try:
                    item = loads(line)
                except json.JSONDecodeError as exc:
                    message = f"is not valid JSON: {exc.msg} (character {exc.pos + 1})"
                    raise InputError.single(source, message, row=number) from exc
                except TooDeeplyNested as exc:
                    raise InputError.single(source, f"line is {exc}", row=number) from exc
                if not isinstance(item, dict):
                    raise InputError.single(
                        source, f"line is {_json_kind(item)}, not an object", row=number
                    )
                if not seen:
                    seen = True
                    yield list(item)
                yield number, item
        if not seen:
            raise InputError.single(source, _empty_message("jsonl"))


class _Utf8Reader:
    """Hands ijson UTF-8 bytes from a text stream, so any declared encoding can be parsed."""

    def __init__(self, stream: IO[str], head: str) -> None:
        self._stream = stream
        self._head = head

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to tell bytes from text
            return b""
        chunk, self._head = (self._head or self._stream.read(65536)), ""
        return chunk.encode("utf-8")


def extension_of(name: str | Path) -> str:
    """The file type part of a name, lower case: ``".csv"`` for ``Prices.CSV`` and also for a
    file named just ``.csv`` (to Python a dot-file without a suffix)."""
    path = Path(name)
    return path.suffix.lower() or (path.name.lower() if path.name.count(".") == 1 else "")


def _format_from_extension(path: Path) -> str:
    suffix = extension_of(path)
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    hint = " (old binary Excel: save it as .xlsx or CSV)" if suffix == ".xls" else ""
    raise InputError.single(
        str(path),
        f"unsupported file type '{suffix or path.name}'{hint}: supported formats are "
        f"{', '.join(sorted(EXTENSIONS))}; set `format:` to read another extension as one of them",
    )


def _empty_message(fmt: str) -> str:
    return "file is empty: no header row" if fmt in ("csv", "xlsx") else "file is empty: no records"


def _check_not_empty(source: str, *, header: list[str] | None, data_rows: int, fmt: str) -> None:
    if header is None:
        raise InputError.single(source, _empty_message(fmt))
    if data_rows == 0:
        raise InputError.single(source, "has a header but no data rows")


def _checked_header(
    values: Sequence[Any], *, source: str, row: int, letters: bool = False
) -> list[str]:
    """Header names stripped; trailing blank cells dropped; blank or repeated names refused."""
    names = [_header_name(value) for value in values]
    while names and not names[-1]:
        names.pop()

    def position(index: int) -> str:
        return f"column {_column_letter(index)}" if letters else f"field {index + 1}"

    problems = [
        InputProblem(source, f"header {position(i)} is blank: every column needs a name", row=row)
        for i, name in enumerate(names)
        if not name
    ]
    for name in dict.fromkeys(names):
        where = [position(i) for i, other in enumerate(names) if other == name]
        if name and len(where) > 1:
            problems.append(
                InputProblem(
                    source,
                    f"the header repeats this name ({', '.join(where)}): names must be unique",
                    row=row,
                    column=name,
                )
            )
    if problems:
        raise InputError(problems)
    return names


def _header_name(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _delimiter_name(delimiter: str) -> str:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    return names.get(delimiter, repr(delimiter))


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else kinds.get(type(value), "a number")


def _column_letter(index: int) -> str:
    """Spreadsheet letters of a 0-based column index: 0 -> A, 27 -> AB."""
    letters, number = "", index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _parser_cause(exc: Exception) -> str:
    """ijson's message on one line: the cause, then the text around the error."""
    lines = [line.strip() for line in str(exc).splitlines()]
    cause, context = lines[0].rstrip("."), [line for line in lines[1:2] if line]
    if "premature EOF" in cause:
        return f"{cause}: the file ends inside a value (truncated?)"
    return f"{cause} near: {context[0]}" if context else cause


def _corrupt_xlsx(exc: BaseException) -> str:
    return f"not a readable XLSX file (truncated or corrupt: {exc or type(exc).__name__})"


def _first_long_field(text: str, delimiter: str, limit: int) -> int | None:
    """Index of the first CSV field in `text` longer than `limit`, scanning with str.find only."""
    index, position, length = 0, 0, len(text)
    while position < length:
        if text[position] == '"':
            end = position + 1
            while True:
                quote = text.find('"', end)
                if quote < 0:
                    end = length
                    break
                if text.startswith('"', quote + 1):
                    end = quote + 2
                    continue
                end = quote + 1
                break
            stop = text.find(delimiter, end)
        else:
            stop = text.find(delimiter, position)
        stop = length if stop < 0 else stop
        if stop - position > limit:
            return index
        index, position = index + 1, stop + 1
    return None


def _field_open_at_end(text: str, delimiter: str) -> int | None:
    """Index of the field of the CSV record `text` whose opening quote is never closed, if any.

    Reads quotes as the csv module does: a quote opens a quoted value only at the start of a
    field, `""` inside one is a literal quote, and a quote elsewhere is literal text.
    """
    index, position, length = 0, 0, len(text)
    while position < length:
        if text[position] == '"':
            end = position + 1
            while True:
                quote = text.find('"', end)
                if quote < 0:
                    return index
                if text.startswith('"', quote + 1):
                    end = quote + 2
                    continue
                end = quote + 1
                break
        else:
            end = position
        stop = text.find(delimiter, end)
        newline = min(
            (i for i in (text.find("\n", end), text.find("\r", end)) if i >= 0), default=-1
        )
        if newline >= 0 and (stop < 0 or newline < stop):
            # a record ends here; a record after it starts again at field 0
            index, position = 0, newline + 1
            continue
        if stop < 0:
            return None
        index, position = index + 1, stop + 1
    return None


def _first_undecodable(path: Path, encoding: str) -> tuple[int, bytes]:
    """Line number and bytes of the first sequence `encoding` cannot decode, read in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(1 << 20)
            try:
                newlines += decoder.decode(chunk, final=not chunk).count("\n")
            except UnicodeDecodeError as exc:
                valid = exc.object[: exc.start]
                newlines += valid.decode(encoding, errors="replace").count("\n")
                return newlines + 1, bytes(exc.object[exc.start : exc.end])
            if not chunk:
                return newlines + 1, b""
