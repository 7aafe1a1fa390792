"""A Google Drive folder of supplier files (CSV, XLSX, and Google Sheets exported as CSV) as a
source; later runs read only files that are new or changed.

Suppliers drop files into a shared folder. The folder is listed page by page (Drive API v3,
through gspread's authorised HTTP client), each file's MD5 (or, for a Google Sheet, its modified
time) is remembered in the cursor, and only files whose fingerprint changed are read again.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field

from catalog.rows import RowBatch
from connectors.base import block_label
from connectors.fetched_files import FetchedFiles, RemoteFile, readable
from connectors.google_credentials import GoogleCredentials, call_google

FILES_URL = "https://www.googleapis.com/drive/v3/files"
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
LIST_FIELDS = "nextPageToken, files(id, name, mimeType, md5Checksum, modifiedTime)"


class GoogleDriveFolder(Block):
    """Files in a Google Drive folder, read as row batches, incrementally.

    Attributes:
        credentials: The Google account to act as (the folder must be shared with it).
        folder_id: The folder's id, as in its URL.
        encoding: The text encoding of CSV files.
        attempts: Tries per API call before a transient failure is final.
        retry_base_seconds: The first back-off pause; it doubles on every retry.

    Example:
        Read the files suppliers dropped since the last run:
        ```python
        from connectors.google_drive import GoogleDriveFolder

        folder = GoogleDriveFolder.load("BLOCK_NAME")
        read = folder.since(None)
        for batch in read.read_batches():
            print(batch.source, len(batch.rows))
        print(read.cursor)
        ```
    """

    _block_type_name = "skuflow Google Drive Folder"
    _block_type_slug = "skuflow-google-drive-folder"

    credentials: GoogleCredentials = Field(..., description="The Google account to act as.")
    folder_id: str = Field(..., pattern=r"^[\w-]+$", description="The folder's id, as in its URL.")
    encoding: str = Field("utf-8", description="The text encoding of CSV files.")
    attempts: int = Field(5, ge=1, description="Tries per API call before a failure is final.")
    retry_base_seconds: float = Field(
        1.0, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    def describe(self) -> str:
        return block_label(self, f"Google Drive folder {self.folder_id}")

    def cursor_key(self) -> str:
        return f"gdrive:{self.folder_id}"

    def columns(self) -> list[str]:
        return self.since(None).columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        return self.since(None).read_batches(batch_size)

    def since(self, cursor: dict[str, Any] | None) -> DriveRead:
        """The files added or changed after `cursor` (every readable file when None)."""
        return DriveRead(self, (cursor or {}).get("files", {}))

    def list_files(self) -> list[dict[str, Any]]:
        """Readable files in the folder (not trashed), every page followed, in name order."""
        client = self.credentials.gspread_client().http_client
        query = f"'{self.folder_id}' in parents and trashed = false"
        found: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"q": query, "fields": LIST_FIELDS, "pageSize": 100, "pageToken": token}
            page = self._call(lambda p=params: client.request("get", FILES_URL, params=p).json())
            found += [
                f
                for f in page.get("files", [])
                if f["mimeType"] == SPREADSHEET_MIME or readable(f["name"])
            ]
            token = page.get("nextPageToken")
            if not token:
                return sorted(found, key=lambda f: (f["name"], f["id"]))

    def download(self, drive_file: dict[str, Any], target: Path) -> None:
        """A file's bytes (a Google Sheet's first sheet as CSV) written to `target`."""
        client = self.credentials.gspread_client().http_client
        if drive_file["mimeType"] == SPREADSHEET_MIME:
            url, params = f"{FILES_URL}/{drive_file['id']}/export", {"mimeType": "text/csv"}
        else:
            url, params = f"{FILES_URL}/{drive_file['id']}", {"alt": "media"}
        content = self._call(lambda: client.request("get", url, params=params).content)
        target.write_bytes(content)

    def _call(self, call: Any) -> Any:
        return call_google(
            self.describe(),
            call,
            attempts=self.attempts,
            retry_base_seconds=self.retry_base_seconds,
        )


class DriveRead:
    """One read of new or changed files; `cursor` fingerprints every listed file afterwards."""

    def __init__(self, folder: GoogleDriveFolder, seen: dict[str, str]) -> None:
        self._folder = folder
        listed = folder.list_files()
        fingerprints = {f["id"]: _fingerprint(f) for f in listed}
        changed = [f for f in listed if seen.get(f["id"]) != fingerprints[f["id"]]]
        self.cursor: dict[str, Any] | None = {"files": fingerprints}
        self._files = FetchedFiles(
            [
                RemoteFile(
                    label=f"gdrive://{folder.folder_id}/{f['name']}",
                    name=f"{f['name']}.csv" if f["mimeType"] == SPREADSHEET_MIME else f["name"],
                    fetch=partial(folder.download, f),
                )
                for f in changed
            ],
            encoding=folder.encoding,
        )

    def describe(self) -> str:
        return self._folder.describe()

    def columns(self) -> list[str]:
        return self._files.columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        return self._files.read_batches(batch_size)


def _fingerprint(drive_file: dict[str, Any]) -> str:
    return drive_file.get("md5Checksum") or drive_file["modifiedTime"]
