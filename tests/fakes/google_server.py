"""A local Google Sheets v4 and Drive v3 REST server, in memory, for gspread and google-auth.

Clients keep their real URLs (`https://sheets.googleapis.com`, `https://www.googleapis.com`)
and send them here through a session that swaps the scheme and host, so gspread runs unmodified.
What it speaks, with Google's error bodies (`{"error": {code, message, status}}`):

- Sheets: `GET /v4/spreadsheets/{id}` (sheets, grid sizes, named ranges),
  `GET|PUT /v4/spreadsheets/{id}/values/{range}` (A1 or a named range), and
  `POST /v4/spreadsheets/{id}:batchUpdate` with `updateCells`, `appendDimension`,
  `addNamedRange` and `updateNamedRange` — applied all together or, if any request is invalid,
  not at all, as the real API does.
- Drive: `GET /drive/v3/files` (`q` with `'<folder>' in parents` and `trashed = false`,
  `pageSize`/`pageToken` pagination), `GET /drive/v3/files/{id}?alt=media`, and
  `GET /drive/v3/files/{id}/export?mimeType=text/csv` for spreadsheets.
- A bearer token check (401 UNAUTHENTICATED), and queued failures (5xx, 429, 403
  rateLimitExceeded) answered before any work.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.server import JsonHandler, LocalServer

TOKEN = "ya29.fake-access-token"
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
_A1 = re.compile(r"^([A-Z]*)(\d*)$")


class BadRequest(Exception):
    """An invalid request: answered 400 INVALID_ARGUMENT, nothing applied."""


@dataclass
class Sheet:
    sheet_id: int
    title: str
    rows: int = 1000
    columns: int = 26
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)

    def values(self, top: int, left: int, bottom: int, right: int) -> list[list[Any]]:
        """Cell values in [top, bottom) x [left, right), trailing empties trimmed like Sheets."""
        bottom, right = min(bottom, self.rows), min(right, self.columns)
        grid = []
        for r in range(top, bottom):
            row = [self.cells.get((r, c), "") for c in range(left, right)]
            while row and row[-1] == "":
                row.pop()
            grid.append(row)
        while grid and not grid[-1]:
            grid.pop()
        return grid


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str
    sheets: list[Sheet]
    named_ranges: dict[str, dict[str, Any]] = field(default_factory=dict)

    def sheet(self, *, title: str | None = None, sheet_id: int | None = None) -> Sheet:
        for sheet in self.sheets:
            if (title is not None and sheet.title == title) or sheet.sheet_id == sheet_id:
                return sheet
        raise BadRequest(f"Unable to parse range: {title if title is not None else sheet_id}")

    def grid(self, name: str) -> tuple[Sheet, int, int, int, int]:
        """A range (named, or A1 like `Sheet1!A1:C9`, `Sheet1`, `A:C`) as sheet and bounds."""
        name = unquote(name)
        if name in self.named_ranges:
            grid = self.named_ranges[name]["range"]
            sheet = self.sheet(sheet_id=grid.get("sheetId", 0))
        else:
            title, _, cells = name.rpartition("!")
            if not title and not _A1.match(cells.split(":")[0] or "-"):
                title, cells = cells, ""
            sheet = self.sheet(title=title.strip("'")) if title else self.sheets[0]
            grid = _a1_grid(cells) if cells else {}
        return (
            sheet,
            grid.get("startRowIndex", 0),
            grid.get("startColumnIndex", 0),
            grid.get("endRowIndex", sheet.rows),
            grid.get("endColumnIndex", sheet.columns),
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": self.title, "locale": "en_US", "timeZone": "Etc/GMT"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": s.sheet_id,
                        "title": s.title,
                        "index": i,
                        "sheetType": "GRID",
                        "gridProperties": {"rowCount": s.rows, "columnCount": s.columns},
                    }
                }
                for i, s in enumerate(self.sheets)
            ],
            "namedRanges": list(self.named_ranges.values()),
        }

    def apply(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        replies = []
        for request in requests:
            [(kind, body)] = request.items()
            if kind == "updateCells":
                self._update_cells(body)
            elif kind == "appendDimension":
                sheet = self.sheet(sheet_id=body["sheetId"])
                if body["dimension"] == "ROWS":
                    sheet.rows += body["length"]
                else:
                    sheet.columns += body["length"]
            elif kind in ("addNamedRange", "updateNamedRange"):
                named = dict(body["namedRange"])
                existing = next(
                    (
                        n
                        for n in self.named_ranges.values()
                        if n["namedRangeId"] == named.get("namedRangeId")
                    ),
                    None,
                )
                if kind == "updateNamedRange" and existing is None:
                    raise BadRequest(f"No named range with id {named.get('namedRangeId')}")
                if existing is not None:
                    del self.named_ranges[existing["name"]]
                named.setdefault("namedRangeId", f"nr{len(self.named_ranges) + 1}")
                self.named_ranges[named["name"]] = named
                replies.append({kind: {"namedRange": named}} if kind == "addNamedRange" else {})
                continue
            else:
                raise BadRequest(f"Invalid requests[0]: unknown request {kind}")
            replies.append({})
        return replies

    def _update_cells(self, body: dict[str, Any]) -> None:
        grid = body.get("range") or {}
        start = body.get("start") or {}
        sheet = self.sheet(sheet_id=grid.get("sheetId", start.get("sheetId", 0)))
        top = grid.get("startRowIndex", start.get("rowIndex", 0))
        left = grid.get("startColumnIndex", start.get("columnIndex", 0))
        bottom = grid.get("endRowIndex", top + len(body.get("rows") or []))
        right = grid.get(
            "endColumnIndex",
            left + max((len(r.get("values", [])) for r in body.get("rows") or []), default=0),
        )
        if bottom > sheet.rows or right > sheet.columns:
            raise BadRequest(
                f"Range ({sheet.title}!R{bottom}C{right}) exceeds grid limits. "
                f"Max rows: {sheet.rows}, max columns: {sheet.columns}"
            )
        if "userEnteredValue" not in (body.get("fields") or ""):
            raise BadRequest("Invalid updateCells: fields must include userEnteredValue")
        rows = body.get("rows") or []
        for r in range(top, bottom):
            values = rows[r - top].get("values", []) if r - top < len(rows) else []
            for c in range(left, right):
                cell = values[c - left] if c - left < len(values) else {}
                value = _cell_value(cell.get("userEnteredValue"))
                if value == "":
                    sheet.cells.pop((r, c), None)
                else:
                    sheet.cells[(r, c)] = value


@dataclass
class DriveFile:
    file_id: str
    name: str
    mime_type: str
    parents: list[str]
    content: bytes = b""
    modified: str = "2026-01-01T00:00:00.000Z"
    trashed: bool = False

    def resource(self) -> dict[str, Any]:
        return {
            "kind": "drive#file",
            "id": self.file_id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": self.parents,
            "modifiedTime": self.modified,
            "md5Checksum": hashlib.md5(self.content).hexdigest(),
            "size": str(len(self.content)),
        }


@dataclass
class FakeGoogle:
    """Spreadsheets, Drive files, and the failures the next requests should meet."""

    token: str = TOKEN
    spreadsheets: dict[str, Spreadsheet] = field(default_factory=dict)
    files: dict[str, DriveFile] = field(default_factory=dict)
    page_limit: int = 100
    failures: list[tuple[int, str]] = field(default_factory=list)
    """(status, Google status) answered to the next requests, in order."""
    broken_paths: list[str] = field(default_factory=list)
    """Requests whose path contains one of these always answer 500."""
    requests: list[str] = field(default_factory=list)
    edits_before_next_batch_update: list[Callable[[Spreadsheet], None]] = field(
        default_factory=list
    )
    """Edits applied just before the next batchUpdate, as a person typing meanwhile would."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    _counter: int = 0

    def add_spreadsheet(self, title: str, sheets: dict[str, list[list[Any]]]) -> Spreadsheet:
        self._counter += 1
        spreadsheet = Spreadsheet(f"sheet{self._counter:04d}", title, [])
        for index, (name, grid) in enumerate(sheets.items()):
            sheet = Sheet(sheet_id=index * 100, title=name, rows=max(len(grid), 20), columns=10)
            for r, row in enumerate(grid):
                for c, value in enumerate(row):
                    if value != "":
                        sheet.cells[(r, c)] = value
            spreadsheet.sheets.append(sheet)
        self.spreadsheets[spreadsheet.spreadsheet_id] = spreadsheet
        self.files[spreadsheet.spreadsheet_id] = DriveFile(
            spreadsheet.spreadsheet_id, title, SPREADSHEET_MIME, ["root"]
        )
        return spreadsheet

    def add_file(self, folder: str, name: str, content: bytes, mime_type: str) -> DriveFile:
        self._counter += 1
        drive_file = DriveFile(f"file{self._counter:04d}", name, mime_type, [folder], content)
        drive_file.modified = f"2026-01-01T00:00:{self._counter:02d}.000Z"
        self.files[drive_file.file_id] = drive_file
        return drive_file

    def handle(
        self, method: str, target: str, token: str | None, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.lock:
            if token != f"Bearer {self.token}":
                return _error(
                    401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
                )
            if self.failures:
                status, google_status = self.failures.pop(0)
                reply = _error(status, f"injected {google_status}", google_status)
                if google_status == "rateLimitExceeded":
                    reply[1]["error"]["errors"] = [{"reason": "rateLimitExceeded"}]
                return reply
            if any(part in url.path for part in self.broken_paths):
                return _error(500, "Internal error encountered.", "INTERNAL")
            self.requests.append(f"{method} {url.path}")
            try:
                return self._route(method, url.path, query, body)
            except BadRequest as exc:
                return _error(400, str(exc), "INVALID_ARGUMENT")

    def _route(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if match := re.fullmatch(r"/v4/spreadsheets/([^/:]+)(.*)", path):
            spreadsheet = self.spreadsheets.get(match.group(1))
            if spreadsheet is None:
                return _error(404, "Requested entity was not found.", "NOT_FOUND")
            return self._sheets(spreadsheet, method, match.group(2), query, body)
        if match := re.fullmatch(r"/drive/v3/files(?:/([^/]+))?(/export)?", path):
            return self._drive(match.group(1), bool(match.group(2)), query)
        return _error(404, f"The requested URL {path} was not found on this server.", "NOT_FOUND")

    def _sheets(
        self, spreadsheet: Spreadsheet, method: str, rest: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if rest == "" and method == "GET":
            return 200, spreadsheet.metadata(), {}
        if rest == ":batchUpdate" and method == "POST":
            while self.edits_before_next_batch_update:
                self.edits_before_next_batch_update.pop(0)(spreadsheet)
            trial = copy.deepcopy(spreadsheet)  # all requests or none
            replies = trial.apply(body.get("requests") or [])
            self.spreadsheets[spreadsheet.spreadsheet_id] = trial
            return 200, {"spreadsheetId": trial.spreadsheet_id, "replies": replies}, {}
        if match := re.fullmatch(r"/values/(.+)", rest):
            name = unquote(match.group(1))
            sheet, top, left, bottom, right = spreadsheet.grid(name)
            if method == "GET":
                values = sheet.values(top, left, bottom, right)
                if query.get("valueRenderOption", "FORMATTED_VALUE") == "FORMATTED_VALUE":
                    values = [[_formatted(v) for v in row] for row in values]
                return 200, {"range": name, "majorDimension": "ROWS", "values": values}, {}
            if method == "PUT":
                rows = body.get("values") or []
                spreadsheet._update_cells(
                    {
                        "start": {"sheetId": sheet.sheet_id, "rowIndex": top, "columnIndex": left},
                        "rows": [{"values": [_cell(v) for v in row]} for row in rows],
                        "fields": "userEnteredValue",
                    }
                )
                return 200, {"spreadsheetId": spreadsheet.spreadsheet_id, "updatedRange": name}, {}
        return _error(404, "Method not found.", "NOT_FOUND")

    def _drive(
        self, file_id: str | None, export: bool, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if file_id is None:
            parent = re.search(r"'([^']+)' in parents", query.get("q", ""))
            skip_trashed = "trashed = false" in query.get("q", "") or "trashed=false" in query.get(
                "q", ""
            )
            items = [
                f
                for f in self.files.values()
                if (parent is None or parent.group(1) in f.parents)
                and not (skip_trashed and f.trashed)
            ]
            items.sort(key=lambda f: f.file_id)
            size = min(int(query.get("pageSize", 100)), self.page_limit)
            start = int(query.get("pageToken") or 0)
            page = {"files": [f.resource() for f in items[start : start + size]]}
            if start + size < len(items):
                page["nextPageToken"] = str(start + size)
            return 200, page, {}
        drive_file = self.files.get(file_id)
        if drive_file is None:
            return _error(404, f"File not found: {file_id}.", "NOT_FOUND")
        if export:
            if drive_file.mime_type != SPREADSHEET_MIME or query.get("mimeType") != "text/csv":
                return _error(400, "Export only supports Docs Editors files.", "INVALID_ARGUMENT")
            sheet = self.spreadsheets[file_id].sheets[0]
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(
                sheet.values(0, 0, sheet.rows, sheet.columns)
            )
            return 200, out.getvalue().encode(), {"Content-Type": "text/csv"}
        if query.get("alt") == "media":
            if drive_file.mime_type == SPREADSHEET_MIME:
                return _error(
                    403, "Only files with binary content can be downloaded.", "fileNotDownloadable"
                )
            return 200, drive_file.content, {"Content-Type": drive_file.mime_type}
        return 200, drive_file.resource(), {}


class _Handler(JsonHandler):
    def _serve(self, method: str) -> None:
        google: FakeGoogle = self.server.state  # type: ignore[attr-defined]
        raw = self.read_body()
        body = None
        if raw:
            import json

            body = json.loads(raw)
        status, payload, headers = google.handle(
            method, self.path, self.headers.get("Authorization"), body
        )
        if isinstance(payload, bytes):
            content_type = headers.pop("Content-Type", "application/octet-stream")
            self.reply(status, raw=payload, headers=headers, content_type=content_type)
        else:
            self.reply(status, payload, headers=headers)

    def do_GET(self) -> None:  # stdlib name
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")


@contextmanager
def start_google() -> Iterator[tuple[FakeGoogle, str]]:
    """Serve fake Sheets and Drive; yields the state and the base URL that replaces Google's."""
    google = FakeGoogle()
    server = LocalServer(_Handler, google).start()
    try:
        yield google, server.url
    finally:
        server.stop()


def _error(status: int, message: str, google_status: str) -> tuple[int, Any, dict[str, str]]:
    return status, {"error": {"code": status, "message": message, "status": google_status}}, {}


def _a1_grid(cells: str) -> dict[str, int]:
    start, _, end = cells.partition(":")
    grid: dict[str, int] = {}
    for part, edge in ((start, "start"), (end or start, "end")):
        letters, digits = _A1.match(part).groups()  # type: ignore[union-attr]
        if letters:
            column = 0
            for letter in letters:
                column = column * 26 + ord(letter) - 64
            grid[f"{edge}ColumnIndex"] = column - 1 if edge == "start" else column
        if digits:
            grid[f"{edge}RowIndex"] = int(digits) - 1 if edge == "start" else int(digits)
    return grid


def _cell_value(entered: dict[str, Any] | None) -> Any:
    if not entered:
        return ""
    for kind in ("numberValue", "boolValue", "stringValue", "formulaValue"):
        if kind in entered:
            return entered[kind]
    return ""


def _cell(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def _formatted(value: Any) -> str:
    """A value as Sheets shows it (the default FORMATTED_VALUE rendering)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
