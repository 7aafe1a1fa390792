"""A Google Sheets range as a source and, kept in two-way sync, as a destination (gspread).

Merchandisers edit products in a sheet and want the catalogue's values to appear there too. The
range (a named range, or A1 like `Products!A1:H`) has a header row. Reading returns its rows;
writing merges into what is there: rows are matched by the key column and only the written
columns' cells are sent, so columns and rows people added stay, even if edited meanwhile. The
new cells, any growth of the sheet and the named range's new extent go in one `batchUpdate`,
which Sheets applies entirely or not at all: a failed write leaves the sheet as it was.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field

from catalog.errors import InputError
from catalog.rows import RowBatch, WriteMode, WriteResult
from connectors.base import (
    TerminalConnectorError,
    WriterLifecycle,
    block_label,
    check_open_arguments,
    to_text,
)
from connectors.google_credentials import GoogleCredentials, call_google


@dataclass(frozen=True)
class SheetRange:
    """Where a range sits: its sheet, top-left corner, optional bounds, and the sheet's size."""

    sheet_id: int
    sheet_rows: int
    sheet_columns: int
    top: int
    left: int
    bottom: int | None
    right: int | None
    named_range_id: str | None


class GoogleSheet(Block):
    """A range of a Google spreadsheet, with a header row: read as rows, written by key.

    Attributes:
        credentials: The Google account to act as.
        spreadsheet_key: The spreadsheet's id (from its URL).
        range_name: A named range, or an A1 range such as `Products!A1:H`.
        attempts: Tries per API call before a transient failure is final.
        retry_base_seconds: The first back-off pause; it doubles on every retry.

    Example:
        Read the products a team keeps in a sheet:
        ```python
        from connectors.google_sheets import GoogleSheet

        sheet = GoogleSheet.load("BLOCK_NAME")
        for batch in sheet.read_batches():
            print(len(batch.rows))
        ```
    """

    _block_type_name = "skuflow Google Sheet"
    _block_type_slug = "skuflow-google-sheet"

    credentials: GoogleCredentials = Field(..., description="The Google account to act as.")
    spreadsheet_key: str = Field(..., description="The spreadsheet's id, as in its URL.")
    range_name: str = Field(
        ..., description="A named range, or an A1 range with its sheet such as Products!A1:H."
    )
    attempts: int = Field(5, ge=1, description="Tries per API call before a failure is final.")
    retry_base_seconds: float = Field(
        1.0, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    def describe(self) -> str:
        return block_label(self, f"Google Sheet {self.spreadsheet_key} range '{self.range_name}'")

    # -- source -------------------------------------------------------------------------------

    def columns(self) -> list[str]:
        grid = self._values(self._spreadsheet())
        return _header(grid, self.describe()) if grid else []

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        """The range's rows under its header; row numbers are the sheet's own."""
        spreadsheet = self._spreadsheet()
        where = self._locate(spreadsheet)
        grid = self._values(spreadsheet)
        if not grid:
            return
        header = _header(grid, self.describe())
        rows: list[dict[str, Any]] = []
        numbers: list[int] = []
        for offset, values in enumerate(grid[1:], start=2):
            if all(v in ("", None) for v in values):
                continue
            if any(v not in ("", None) for v in values[len(header) :]):
                raise InputError.single(
                    self.describe(),
                    "has a value in a column with no header",
                    row=where.top + offset,
                )
            padded = list(values) + [None] * (len(header) - len(values))
            rows.append({h: (None if v == "" else v) for h, v in zip(header, padded, strict=False)})
            numbers.append(where.top + offset)
            if len(rows) == batch_size:
                yield RowBatch(rows=rows, row_numbers=numbers, source=self.describe())
                rows, numbers = [], []
        if rows:
            yield RowBatch(rows=rows, row_numbers=numbers, source=self.describe())

    # -- destination --------------------------------------------------------------------------

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> GoogleSheetWriter:
        """Start a write; the sheet changes only at `commit()`, in one step."""
        check_open_arguments(
            destination=self.describe(), columns=columns, key=key, mode=mode, types=types or {}
        )
        return GoogleSheetWriter(self, columns=list(columns), key=key, mode=mode)

    # -- helpers ------------------------------------------------------------------------------

    def call(self, call: Any) -> Any:
        return call_google(
            self.describe(),
            call,
            attempts=self.attempts,
            retry_base_seconds=self.retry_base_seconds,
        )

    def _spreadsheet(self) -> Any:
        client = self.credentials.gspread_client()
        return self.call(lambda: client.open_by_key(self.spreadsheet_key))

    def _values(self, spreadsheet: Any) -> list[list[Any]]:
        params = {"valueRenderOption": "UNFORMATTED_VALUE"}
        answer = self.call(lambda: spreadsheet.values_get(self.range_name, params=params))
        return answer.get("values") or []

    def _locate(self, spreadsheet: Any) -> SheetRange:
        from gspread.utils import a1_range_to_grid_range

        metadata = self.call(spreadsheet.fetch_sheet_metadata)
        named = {n["name"]: n for n in metadata.get("namedRanges") or []}
        sheets = {s["properties"]["sheetId"]: s["properties"] for s in metadata["sheets"]}
        if self.range_name in named:
            grid = named[self.range_name]["range"]
            sheet = sheets[grid.get("sheetId", 0)]
            range_id = named[self.range_name]["namedRangeId"]
        else:
            title, _, cells = self.range_name.rpartition("!")
            by_title = {s["title"]: s for s in sheets.values()}
            if not title and cells.strip("'") in by_title:
                title, cells = cells, ""  # a whole sheet
            sheet = by_title.get(title.strip("'")) if title else next(iter(sheets.values()))
            if sheet is None:
                raise TerminalConnectorError(
                    f"{self.describe()}: no named range or sheet called '{title or cells}'"
                )
            grid = a1_range_to_grid_range(cells) if cells else {}
            range_id = None
        size = sheet["gridProperties"]
        return SheetRange(
            sheet_id=sheet["sheetId"],
            sheet_rows=size["rowCount"],
            sheet_columns=size["columnCount"],
            top=grid.get("startRowIndex", 0),
            left=grid.get("startColumnIndex", 0),
            bottom=grid.get("endRowIndex"),
            right=grid.get("endColumnIndex"),
            named_range_id=range_id,
        )


class GoogleSheetWriter(WriterLifecycle):
    """Collects rows; `commit()` merges them into the range and sends one batchUpdate."""

    def __init__(self, block: GoogleSheet, *, columns: list[str], key: str, mode: str) -> None:
        self._block = block
        self._columns = columns
        self._key = key
        self._mode = mode
        self._rows: list[dict[str, Any]] = []
        self._state = "open"

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._check_open()
        for row in rows:
            unknown = row.keys() - set(self._columns)
            if unknown:
                raise TerminalConnectorError(
                    f"{self._block.describe()}: row has columns not opened for writing: "
                    f"{sorted(unknown)}"
                )
            if to_text(row.get(self._key)) is None:
                raise TerminalConnectorError(
                    f"{self._block.describe()}: a row has no value for key column '{self._key}'"
                )
        self._rows.extend(rows)

    def commit(self) -> WriteResult:
        self._check_open()
        block = self._block
        spreadsheet = block._spreadsheet()
        where = block._locate(spreadsheet)
        current = block._values(spreadsheet)
        grid = self._merged(current)
        height, width = len(grid), max(len(row) for row in grid)
        old_height = max(
            len(current), (where.bottom or 0) - where.top if where.named_range_id else 0
        )
        old_width = max([len(r) for r in current] + [0])
        if where.named_range_id and where.right is not None:
            old_width = max(old_width, where.right - where.left)
        if not where.named_range_id and (
            (where.bottom is not None and where.top + height > where.bottom)
            or (where.right is not None and where.left + width > where.right)
        ):
            raise TerminalConnectorError(
                f"{block.describe()}: the range is too small for {height} rows x {width} columns; "
                "use an open range such as Sheet1!A1:H or a named range"
            )
        requests = _grow(
            where, where.top + max(height, old_height), where.left + max(width, old_width)
        )
        extent = {
            "sheetId": where.sheet_id,
            "startRowIndex": where.top,
            "endRowIndex": where.top + max(height, old_height),
            "startColumnIndex": where.left,
            "endColumnIndex": where.left + max(width, old_width),
        }
        if self._mode == "replace" or not current:
            requests.append(_update(extent, grid))
        else:
            # Only the written columns change, so an edit made meanwhile in another column of
            # the sheet survives; merge modes never shrink the range, so nothing needs clearing.
            for index, name in enumerate(grid[0]):
                if name in self._columns:
                    column = {
                        **extent,
                        "endRowIndex": where.top + height,
                        "startColumnIndex": where.left + index,
                        "endColumnIndex": where.left + index + 1,
                    }
                    requests.append(_update(column, [[row[index]] for row in grid]))
        if where.named_range_id:
            requests.append(
                {
                    "updateNamedRange": {
                        "namedRange": {
                            "namedRangeId": where.named_range_id,
                            "name": block.range_name,
                            "range": {
                                **extent,
                                "endRowIndex": where.top + height,
                                "endColumnIndex": where.left + width,
                            },
                        },
                        "fields": "range",
                    }
                }
            )
        block.call(lambda: spreadsheet.batch_update({"requests": requests}))
        self._state = "committed"
        return WriteResult(
            destination=block.describe(), rows=len(self._rows), location=spreadsheet.url
        )

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._rows = []

    def _merged(self, current: list[list[Any]]) -> list[list[Any]]:
        """The range's new grid: header, kept rows updated by key, new rows appended."""
        if self._mode == "replace" or not current:
            header, body = list(self._columns), []
        else:
            header = _header(current, self._block.describe())
            body = [list(row) + [""] * (len(header) - len(row)) for row in current[1:]]
            if self._key not in header:
                raise TerminalConnectorError(
                    f"{self._block.describe()}: the range's header has no key column "
                    f"'{self._key}' (it has {header})"
                )
            header += [c for c in self._columns if c not in header]
            body = [row + [""] * (len(header) - len(row)) for row in body]
        position = {name: i for i, name in enumerate(header)}
        at_key = {}
        if self._mode == "upsert":
            at_key = {to_text(row[position[self._key]]): i for i, row in enumerate(body)}
        for row in self._rows:
            index = at_key.get(to_text(row[self._key]))
            if index is None:
                body.append([""] * len(header))
                index = len(body) - 1
                if self._mode == "upsert":
                    at_key[to_text(row[self._key])] = index
            for column, value in row.items():
                body[index][position[column]] = value
        return [header, *body]

    def _check_open(self) -> None:
        if self._state != "open":
            raise TerminalConnectorError(
                f"{self._block.describe()}: this write session is already {self._state}"
            )


def _header(grid: list[list[Any]], where: str) -> list[str]:
    header = [to_text(v) or "" for v in grid[0]]
    while header and not header[-1].strip():
        header.pop()
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise InputError.single(where, f"header cell(s) {blank} have no name", row=1)
    return header


def _update(grid_range: dict[str, int], values: list[list[Any]]) -> dict[str, Any]:
    """An updateCells request writing `values` over `grid_range` (cells beyond them cleared)."""
    return {
        "updateCells": {
            "range": grid_range,
            "rows": [{"values": [_cell(v) for v in row]} for row in values],
            "fields": "userEnteredValue",
        }
    }


def _grow(where: SheetRange, rows: int, columns: int) -> list[dict[str, Any]]:
    """appendDimension requests for a grid that must reach `rows` x `columns`."""
    requests = []
    if rows > where.sheet_rows:
        requests.append(
            {
                "appendDimension": {
                    "sheetId": where.sheet_id,
                    "dimension": "ROWS",
                    "length": rows - where.sheet_rows,
                }
            }
        )
    if columns > where.sheet_columns:
        requests.append(
            {
                "appendDimension": {
                    "sheetId": where.sheet_id,
                    "dimension": "COLUMNS",
                    "length": columns - where.sheet_columns,
                }
            }
        )
    return requests


def _cell(value: Any) -> dict[str, Any]:
    """A cell's userEnteredValue; text stays text (a leading '=' is not run as a formula)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, numbers.Integral):
        return {"userEnteredValue": {"numberValue": int(value)}}
    if isinstance(value, numbers.Real):
        return {"userEnteredValue": {"numberValue": float(value)}}
    return {"userEnteredValue": {"stringValue": to_text(value)}}
