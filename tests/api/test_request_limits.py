"""Requests that used to kill or stall the server: deep JSON and backtracking patterns.

The server under test runs in this process, so memory is measured as the growth of the
process's peak resident size over the request (the kernel's high-water mark is reset first).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.api.conftest import Api, assert_error
from tests.api.test_supplier_portal import owner_with_catalogue

DEEP = 100_000


def _reset_peak() -> int:
    """Reset this process's peak RSS to its current RSS; return it in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _status_mb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"{key} not in /proc/self/status")


def test_a_json_body_nested_100k_deep_is_refused_with_a_clear_error(api: Api) -> None:
    client = api.client()
    body = "[" * DEEP + "]" * DEEP
    response = client.post(
        "/api/public/enrich", content=body, headers={"Content-Type": "application/json"}
    )
    detail = assert_error(response, 422)["detail"]
    assert "nested deeper than 32 levels" in detail
    shallow = {"items": [{"name": "x", "tags": [[[["deep enough"]]]]}], "output_schema": []}
    assert client.post("/api/public/enrich", json=shallow).status_code != 500


def test_a_supplier_upload_nested_100k_deep_is_refused_and_memory_stays_flat(
    api: Api, tmp_path: Path
) -> None:
    owner = owner_with_catalogue(api, tmp_path)
    token = owner.post("/api/catalogs/parts/supplier-tokens", json={"supplier": "Deep"}).json()
    supplier = httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {token['token']}"}, timeout=60
    )
    warm = supplier.put("/api/portal/uploads/w.json", content=b'[{"sku": "D-0", "title": "ok"}]')
    assert warm.status_code == 201, warm.text  # the first upload imports the readers
    hostile = b'[{"sku": "D-1", "title": "ok"}, ' + b"[" * DEEP + b"]" * DEEP + b"]"
    before = _reset_peak()
    response = supplier.put("/api/portal/uploads/x.json", content=hostile)
    grown = _status_mb("VmHWM") - before
    body = assert_error(response, 422)
    assert "element 2 is nested deeper than 32 levels" in body["detail"]
    assert grown < 100, f"the process grew by {grown} MB reading a 200 KB file"
    assert api.anonymous().get("/health").status_code == 200


def test_a_backtracking_description_neither_stalls_the_request_nor_the_server(api: Api) -> None:
    client = api.client()
    hostile = {
        "items": [{"name": "Bolt", "tags": "a" + " " * 24_000 + ",b"}],
        "output_schema": [
            {"name": "length", "type": "number", "description": "(a" + " " * 3_900 + "!"},
            {"name": "tags", "type": "array"},
        ],
    }
    health: list[float] = []

    def probe() -> None:
        with httpx.Client(base_url=api.url, timeout=10) as c:
            for _ in range(5):
                started = time.perf_counter()
                c.get("/health").raise_for_status()
                health.append(time.perf_counter() - started)

    prober = threading.Thread(target=probe)
    started = time.perf_counter()
    prober.start()
    response = client.post("/api/public/enrich", json=hostile)
    elapsed = time.perf_counter() - started
    prober.join()
    assert response.status_code == 200, response.text
    assert elapsed < 5, f"the request took {elapsed:.1f} s"
    assert max(health) < 2, health
    too_long = {
        "items": [{"name": "x"}],
        "output_schema": [{"name": "a", "description": "x" * 5000}],
    }
    assert (
        "at most 4000 characters"
        in assert_error(client.post("/api/public/enrich", json=too_long), 422)["detail"]
    )


def test_a_json_syntax_error_is_reported_by_line_and_column_not_as_a_field(api: Api) -> None:
    body = '{\n  "source": "erp",\n  "records": [{"id": "A-1",}]\n}'
    response = api.client().post(
        "/api/ingest", content=body, headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 422)
    assert error["detail"].startswith("body: not valid JSON at line 3, column 28"), error
    [detail] = error["error"]["details"]
    assert (detail["field"], detail["line"], detail["column"]) == ("body", 3, 28)


def test_a_portal_upload_named_only_csv_is_read_as_csv(api: Api, tmp_path: Path) -> None:
    owner = owner_with_catalogue(api, tmp_path)
    token = owner.post("/api/catalogs/parts/supplier-tokens", json={"supplier": "Dot"}).json()
    supplier = httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {token['token']}"}, timeout=60
    )
    response = supplier.put("/api/portal/uploads/.csv", content=b"sku,title\nDOT-1,Hex bolt\n")
    supplier.close()
    assert response.status_code == 201, response.text
    assert response.json()["inserted"] == 1
