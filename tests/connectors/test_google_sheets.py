"""GoogleSheet against a local Sheets v4 server, read back and edited through gspread itself."""

from __future__ import annotations

import pytest

from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.google_credentials import GoogleCredentials
from connectors.google_sheets import GoogleSheet

COLUMNS = ["sku", "title", "price"]


def products(count: int, *, price: float = 1.5) -> list[dict]:
    return [{"sku": f"S-{i:03d}", "title": f"Washer {i}", "price": price + i} for i in range(count)]


@pytest.fixture
def spreadsheet(google):
    """A spreadsheet whose sheet 'Products' (20 x 10) holds a named range 'catalogue' at A1:C1."""
    state, _ = google
    book = state.add_spreadsheet("Feed", {"Products": [], "Notes": [["keep me"]]})
    book.named_ranges["catalogue"] = {
        "namedRangeId": "nr-cat",
        "name": "catalogue",
        "range": {
            "sheetId": 0,
            "startRowIndex": 0,
            "endRowIndex": 1,
            "startColumnIndex": 0,
            "endColumnIndex": 3,
        },
    }
    return book


def sheet_block(credentials: GoogleCredentials, key: str, range_name: str = "catalogue"):
    return GoogleSheet(
        credentials=credentials,
        spreadsheet_key=key,
        range_name=range_name,
        retry_base_seconds=0.01,
    )


def write(block: GoogleSheet, rows: list[dict], mode: str = "upsert", columns=COLUMNS):
    with block.open(columns=columns, key="sku", mode=mode) as writer:
        writer.write(rows)
        return writer.commit()


def test_round_trip_grows_the_sheet_and_the_named_range(google, google_credentials, spreadsheet):
    state, _ = google
    result = write(sheet_block(google_credentials, spreadsheet.spreadsheet_id), products(25))

    assert result.rows == 25
    book = google_credentials.gspread_client().open_by_key(spreadsheet.spreadsheet_id)
    values = book.worksheet("Products").get_all_values()
    assert values[0] == COLUMNS
    assert values[1] == ["S-000", "Washer 0", "1.5"]
    assert len(values) == 26
    named = book.fetch_sheet_metadata()["namedRanges"][0]["range"]
    assert (named["endRowIndex"], named["endColumnIndex"]) == (26, 3)
    assert book.worksheet("Products").row_count >= 26
    assert book.worksheet("Notes").get_all_values() == [["keep me"]]
    assert sum(r.endswith(":batchUpdate") for r in state.requests) == 1


def test_two_way_sync_keeps_what_people_added(google_credentials, spreadsheet):
    block = sheet_block(google_credentials, spreadsheet.spreadsheet_id, "Products")
    write(block, products(3))
    worksheet = (
        google_credentials.gspread_client()
        .open_by_key(spreadsheet.spreadsheet_id)
        .worksheet("Products")
    )
    worksheet.update([["notes"], ["check stock"]], "D1:D2")
    worksheet.update([["Washer 1 (zinc)"]], "B3")
    worksheet.update([["S-900", "Hand-added", 9, "from a buyer"]], "A5:D5")

    read = [row for batch in block.read_batches() for row in batch.rows]
    numbers = [n for batch in block.read_batches() for n in batch.row_numbers]
    assert read[1]["title"] == "Washer 1 (zinc)"
    assert read[0]["notes"] == "check stock"
    assert numbers == [2, 3, 4, 5]

    changed = [
        {"sku": "S-002", "title": "Washer 2", "price": 7.25},
        {"sku": "S-010", "title": "Washer 10", "price": 3},
    ]
    write(block, changed)

    values = worksheet.get_all_values()
    assert values == [
        ["sku", "title", "price", "notes"],
        ["S-000", "Washer 0", "1.5", "check stock"],
        ["S-001", "Washer 1 (zinc)", "2.5", ""],
        ["S-002", "Washer 2", "7.25", ""],
        ["S-900", "Hand-added", "9", "from a buyer"],
        ["S-010", "Washer 10", "3", ""],
    ]


def test_an_edit_made_during_the_write_in_another_column_survives(
    google, google_credentials, spreadsheet
):
    state, _ = google
    block = sheet_block(google_credentials, spreadsheet.spreadsheet_id, "Products")
    worksheet = (
        google_credentials.gspread_client()
        .open_by_key(spreadsheet.spreadsheet_id)
        .worksheet("Products")
    )
    write(block, products(2))
    worksheet.update([["notes"], ["first note"]], "D1:D2")

    def person_types(book) -> None:
        book.sheets[0].cells[(2, 3)] = "typed meanwhile"

    state.edits_before_next_batch_update.append(person_types)
    write(block, [{"sku": "S-001", "title": "Washer 1", "price": 4}])

    assert worksheet.get_all_values()[1:] == [
        ["S-000", "Washer 0", "1.5", "first note"],
        ["S-001", "Washer 1", "4", "typed meanwhile"],
    ]


def test_replace_clears_rows_beyond_the_new_data(google_credentials, spreadsheet):
    block = sheet_block(google_credentials, spreadsheet.spreadsheet_id)
    write(block, products(5))
    write(block, products(2, price=8), mode="replace")

    book = google_credentials.gspread_client().open_by_key(spreadsheet.spreadsheet_id)
    assert book.worksheet("Products").get_all_values() == [
        COLUMNS,
        ["S-000", "Washer 0", "8"],
        ["S-001", "Washer 1", "9"],
    ]
    assert book.fetch_sheet_metadata()["namedRanges"][0]["range"]["endRowIndex"] == 3


def test_bad_token_names_the_saved_block(google, spreadsheet, prefect_harness):
    state, url = google
    credentials = GoogleCredentials(access_token="ya29.revoked", api_base=url)
    sheet_block(credentials, spreadsheet.spreadsheet_id).save("merch-sheet", overwrite=True)
    loaded = GoogleSheet.load("merch-sheet")

    assert loaded.credentials.access_token.get_secret_value() == "ya29.revoked"
    with pytest.raises(TerminalConnectorError) as caught:
        write(loaded, products(1))
    assert "(block 'merch-sheet')" in str(caught.value)
    assert "credentials rejected" in str(caught.value)
    assert "ya29.revoked" not in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
        (429, "RESOURCE_EXHAUSTED"),
        (403, "rateLimitExceeded"),
    ],
    ids=["500", "503", "429", "403-rate-limit"],
)
def test_server_error_or_rate_limit_then_success_is_retried(
    google, google_credentials, spreadsheet, failure
):
    state, _ = google
    state.failures.extend([failure, failure])
    write(sheet_block(google_credentials, spreadsheet.spreadsheet_id), products(2))

    assert not state.failures
    book = google_credentials.gspread_client().open_by_key(spreadsheet.spreadsheet_id)
    assert len(book.worksheet("Products").get_all_values()) == 3


def test_missing_spreadsheet_is_a_clear_permanent_error(google, google_credentials):
    with pytest.raises(TerminalConnectorError, match="spreadsheet not found"):
        write(sheet_block(google_credentials, "no-such-sheet"), products(1))
    assert len(google[0].requests) == 1  # not retried


def test_failed_write_leaves_the_sheet_unchanged(google, google_credentials, spreadsheet):
    state, _ = google
    block = sheet_block(google_credentials, spreadsheet.spreadsheet_id)
    write(block, products(3))
    book = google_credentials.gspread_client().open_by_key(spreadsheet.spreadsheet_id)
    before = (book.worksheet("Products").get_all_values(), book.fetch_sheet_metadata())
    state.broken_paths.append(":batchUpdate")

    with pytest.raises(TransientConnectorError, match="HTTP 500"):
        write(block, products(40, price=99))
    state.broken_paths.clear()
    assert (book.worksheet("Products").get_all_values(), book.fetch_sheet_metadata()) == before


def test_a1_range_too_small_is_refused(google_credentials, spreadsheet):
    block = sheet_block(google_credentials, spreadsheet.spreadsheet_id, "Products!A1:C3")
    with pytest.raises(TerminalConnectorError, match="too small for 5 rows x 3 columns"):
        write(block, products(4))
    write(sheet_block(google_credentials, spreadsheet.spreadsheet_id, "Products!A1:C"), products(4))
    read = sheet_block(google_credentials, spreadsheet.spreadsheet_id, "Products!A1:C")
    assert [r["sku"] for b in read.read_batches() for r in b.rows] == [
        "S-000",
        "S-001",
        "S-002",
        "S-003",
    ]
