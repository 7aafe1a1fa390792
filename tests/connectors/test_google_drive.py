"""GoogleDriveFolder against a local Drive v3 server: files in, row batches out, incrementally."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from catalog.errors import InputError
from connectors.base import TerminalConnectorError
from connectors.google_credentials import GoogleCredentials
from connectors.google_drive import GoogleDriveFolder

FOLDER = "folder-suppliers"


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def folder(google):
    state, _ = google
    state.add_file(FOLDER, "acme.csv", b"sku,title\nA-1,Bolt\nA-2,Nut\n", "text/csv")
    state.add_file(
        FOLDER,
        "bolts.xlsx",
        xlsx([["sku", "title"], ["B-1", "Hex bolt"]]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    state.add_file(FOLDER, "terms.pdf", b"%PDF-1.4", "application/pdf")
    state.add_file("other-folder", "elsewhere.csv", b"sku\nZ-1\n", "text/csv")
    sheet = state.add_spreadsheet("Cables", {"Sheet1": [["sku", "title"], ["C-1", "Cable"]]})
    state.files[sheet.spreadsheet_id].parents = [FOLDER]
    return state


def drive(credentials: GoogleCredentials) -> GoogleDriveFolder:
    return GoogleDriveFolder(credentials=credentials, folder_id=FOLDER, retry_base_seconds=0.01)


def rows_by_source(read) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for batch in read.read_batches():
        found.setdefault(batch.source, []).extend(batch.rows)
    return found


def test_reads_csv_xlsx_and_sheets_across_list_pages(folder, google_credentials):
    folder.page_limit = 2
    read = drive(google_credentials).since(None)

    assert rows_by_source(read) == {
        f"gdrive://{FOLDER}/Cables": [{"sku": "C-1", "title": "Cable"}],
        f"gdrive://{FOLDER}/acme.csv": [
            {"sku": "A-1", "title": "Bolt"},
            {"sku": "A-2", "title": "Nut"},
        ],
        f"gdrive://{FOLDER}/bolts.xlsx": [{"sku": "B-1", "title": "Hex bolt"}],
    }
    # four files in the folder (one a PDF, skipped), two per page
    assert sum("GET /drive/v3/files" == r for r in folder.requests) == 2


def test_later_runs_read_only_new_or_changed_files(folder, google_credentials):
    first = drive(google_credentials).since(None)
    rows_by_source(first)
    assert rows_by_source(drive(google_credentials).since(first.cursor)) == {}

    [acme] = [f for f in folder.files.values() if f.name == "acme.csv"]
    acme.content = b"sku,title\nA-1,Bolt (zinc)\n"
    folder.add_file(FOLDER, "new.csv", b"sku,title\nN-1,Washer\n", "text/csv")
    again = rows_by_source(drive(google_credentials).since(first.cursor))
    assert again == {
        f"gdrive://{FOLDER}/acme.csv": [{"sku": "A-1", "title": "Bolt (zinc)"}],
        f"gdrive://{FOLDER}/new.csv": [{"sku": "N-1", "title": "Washer"}],
    }


def test_a_bad_file_names_the_drive_file_and_row(folder, google_credentials):
    folder.add_file(FOLDER, "broken.csv", b"sku,title\nX-1,ok\nX-2,a,b,extra\n", "text/csv")
    with pytest.raises(InputError) as caught:
        rows_by_source(drive(google_credentials).since(None))
    assert str(caught.value).startswith(f"gdrive://{FOLDER}/broken.csv, row 3: has 4 fields")


def test_bad_token_names_the_saved_block(folder, google, prefect_harness):
    _, url = google
    credentials = GoogleCredentials(access_token="ya29.expired", api_base=url)
    GoogleDriveFolder(credentials=credentials, folder_id=FOLDER).save("inbox", overwrite=True)
    with pytest.raises(TerminalConnectorError) as caught:
        GoogleDriveFolder.load("inbox").since(None)
    assert "Google Drive folder folder-suppliers (block 'inbox')" in str(caught.value)
    assert "credentials rejected" in str(caught.value)


def test_server_errors_then_success_are_retried(folder, google_credentials):
    folder.failures.extend([(503, "UNAVAILABLE"), (500, "INTERNAL")])
    read = drive(google_credentials).since(None)
    folder.failures.extend([(502, "BAD_GATEWAY")])  # hits the first download
    assert len(rows_by_source(read)) == 3
    assert not folder.failures


def test_permanent_client_error_fails_at_once(folder, google_credentials):
    folder.failures.extend([(400, "INVALID_ARGUMENT"), (400, "INVALID_ARGUMENT")])
    with pytest.raises(TerminalConnectorError, match="HTTP 400: injected INVALID_ARGUMENT"):
        drive(google_credentials).since(None)
    assert len(folder.failures) == 1
