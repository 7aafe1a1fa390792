"""Ids and offsets a 64-bit column cannot hold, and JSON nested far too deep, are the client's
error (422, or 404 where a contract types the id as text): never a 500 from the store."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Api, assert_error
from tests.api.test_supplier_portal import owner_with_catalogue

HUGE = "99999999999999999999"  # > 2**64: SQLite raised OverflowError binding it

INTEGER_IDS = [
    ("GET", f"/api/jobs/{HUGE}"),
    ("POST", f"/api/jobs/{HUGE}/cancel"),
    ("GET", f"/api/sync/{HUGE}"),
    ("GET", f"/api/jobs?offset={HUGE}"),
    ("GET", f"/v1/auto-enrichment/jobs?offset={HUGE}"),
    ("GET", f"/v1/auto-enrichment/conflicts?offset={HUGE}"),
    ("GET", f"/api/webhooks/deliveries?offset={HUGE}"),
    ("GET", f"/api/public/enrich/jobs?offset={HUGE}"),
]
TEXT_IDS = [
    ("GET", f"/v1/auto-enrichment/jobs/{HUGE}"),
    ("POST", f"/v1/auto-enrichment/jobs/{HUGE}/retry"),
    ("POST", f"/v1/auto-enrichment/conflicts/{HUGE}/resolve"),
    ("GET", f"/api/webhooks/{HUGE}"),
    ("DELETE", f"/api/webhooks/{HUGE}"),
    ("DELETE", f"/api/supplier-tokens/{HUGE}"),
    ("GET", f"/api/public/enrich/{HUGE}"),
]


@pytest.mark.parametrize(("method", "path"), INTEGER_IDS)
def test_an_integer_id_or_offset_out_of_range_is_a_422_naming_it(
    api: Api, method: str, path: str
) -> None:
    response = api.client().request(method, path)
    body = assert_error(response, 422)
    assert "less than or equal" in body["detail"], body


@pytest.mark.parametrize(("method", "path"), TEXT_IDS)
def test_a_text_id_out_of_range_is_simply_not_found(api: Api, method: str, path: str) -> None:
    response = api.client().request(method, path)
    assert response.status_code == 404, response.text
    assert HUGE in response.json()["detail"]


@pytest.mark.parametrize("route", ["/api/classify", "/api/sync"])
def test_a_job_id_out_of_range_in_a_body_is_a_422_naming_the_field(api: Api, route: str) -> None:
    body = {"job_id": int(HUGE), "destination": "erp", "records": [{"id": "1", "name": "x"}]}
    error = assert_error(api.client().post(route, json=body), 422)
    assert error["detail"].startswith("job_id:"), error


DEEP = 700


def _deep(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_dataset_cells_nested_700_deep_are_refused_clearly(api: Api) -> None:
    body = '{"name": "deep", "columns": [{"name": "a"}], "rows": [{"a": ' + _deep(DEEP) + "}]}"
    response = api.client().post(
        "/api/v2/datasets", content=body, headers={"Content-Type": "application/json"}
    )
    assert "nested deeper than 32 levels" in assert_error(response, 422)["detail"]


def test_enrich_items_nested_700_deep_are_refused_clearly(api: Api) -> None:
    body = '{"items": [{"name": ' + _deep(DEEP) + '}], "output_schema": []}'
    response = api.client().post(
        "/api/public/enrich", content=body, headers={"Content-Type": "application/json"}
    )
    assert "nested deeper than 32 levels" in assert_error(response, 422)["detail"]


def test_a_portal_json_record_nested_700_deep_is_refused_naming_the_element(
    api: Api, tmp_path: Path
) -> None:
    owner = owner_with_catalogue(api, tmp_path)
    token = owner.post("/api/catalogs/parts/supplier-tokens", json={"supplier": "D"}).json()
    supplier = httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {token['token']}"}, timeout=60
    )
    content = '[{"sku": "D-1", "title": "ok"}, {"sku": "D-2", "title": ' + _deep(DEEP) + "}]"
    response = supplier.put("/api/portal/uploads/deep.json", content=content.encode())
    supplier.close()
    assert "element 2 is nested deeper than 32 levels" in assert_error(response, 422)["detail"]
