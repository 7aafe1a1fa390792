"""The reference documents' client examples for dataset tasks (seed 002) and enrichment jobs
(seed 003), run against our server with their request shapes unchanged: only the host, the
key and the ids differ. The Python examples use `requests` as written; the JavaScript one runs
under Node (skipped when Node is not installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.api.conftest import Api, wait_for
from tests.api.pages import PageServer

EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture(scope="module")
def pages() -> PageServer:
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def key(api: Api, pages: PageServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SKUFLOW_API_FETCH_ALLOW", pages.address)
    monkeypatch.setenv("SKUFLOW_API_FETCH_INTERVAL", "0")
    return api.new_key()[1]


# --- seed 003: enrichment jobs ---------------------------------------------------------


def test_seed_003_enrich_example(api: Api, key: str) -> None:
    YOUR_API_KEY = key  # the example's placeholder
    response = requests.post(
        f"{api.url}/api/public/enrich",
        headers={"Authorization": f"Bearer {YOUR_API_KEY}"},
        json={
            "items": [{"part_number": "6205-2RS", "name": "Deep Groove Ball Bearing"}],
            "output_schema": [
                {"name": "bore_diameter", "type": "string", "description": "Inner diameter in mm"},
                {"name": "outer_diameter", "type": "string", "description": "Outer diameter in mm"},
            ],
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert set(body) >= {"job_id", "results", "total_items", "successful", "credits_used", "status"}
    assert body["status"] == "completed" and body["total_items"] == 1
    (result,) = body["results"]
    assert result["original_data"] == {
        "part_number": "6205-2RS",
        "name": "Deep Groove Ball Bearing",
    }
    assert {"sources", "part_number", "name"} <= set(result["after_data"])
    assert isinstance(result["all_sources"], list)


def test_seed_003_output_schema_example(api: Api, key: str) -> None:
    response = requests.post(
        f"{api.url}/api/public/enrich",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "items": [{"name": "Safety helmet, ABS shell, 0.4 kg, EN 397 and ANSI Z89.1"}],
            "output_schema": [
                {"name": "material", "type": "string", "description": "Material composition"},
                {
                    "name": "weight_kg",
                    "type": "number",
                    "description": "Weight in kilograms",
                    "unit": "kg",
                },
                {"name": "certifications", "type": "array", "description": "Safety certifications"},
            ],
            "web_search": False,
        },
    )
    assert response.status_code == 200, response.text
    after = response.json()["results"][0]["after_data"]
    assert after["weight_kg"] == 0.4


def test_seed_003_async_poll_list_and_cancel_examples(
    api: Api, key: str, pages: PageServer
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    pages.close_gate()
    try:
        submitted = requests.post(
            f"{api.url}/api/public/enrich",
            headers=headers,
            json={
                "items": [{"part_number": "6205-2RS", "url": pages.url("6205-2RS")}],
                "output_schema": [
                    {
                        "name": "bore_diameter",
                        "type": "string",
                        "description": "Inner diameter in mm",
                    },
                ],
                "async_mode": True,
            },
        ).json()
        job_id = submitted["job_id"]

        # Basic poll
        response = requests.get(
            f"{api.url}/api/public/enrich/{job_id}",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.json()["status"] == "running"
        # With pagination
        response = requests.get(
            f"{api.url}/api/public/enrich/{job_id}",
            headers={"Authorization": f"Bearer {key}"},
            params={"page": 1, "page_size": 50},
        )
        assert (response.json()["page"], response.json()["page_size"]) == (1, 50)

        # List running jobs
        response = requests.get(
            f"{api.url}/api/public/enrich/jobs",
            headers={"Authorization": f"Bearer {key}"},
            params={"status": "running"},
        )
        jobs = response.json()
        assert [j["job_id"] for j in jobs["jobs"]] == [job_id] and jobs["total"] == 1

        response = requests.post(
            f"{api.url}/api/public/enrich/{job_id}/cancel",
            headers={"Authorization": f"Bearer {key}"},
        )
        result = response.json()
        printed = (
            f"Cancelled — {result['completed_items']} items kept, "
            f"{result['credits_used']} credits charged"
        )
        assert printed == "Cancelled — 0 items kept, 0 credits charged"
    finally:
        pages.open_gate()


def test_seed_003_webhook_request_shape(api: Api, key: str) -> None:
    """The webhook section's request body, pointed at a loopback receiver."""
    response = requests.post(
        f"{api.url}/api/public/enrich",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "items": [{"name": "Hex bolt M8 x 40"}],
            "output_schema": [{"name": "thread", "type": "string", "description": "Thread"}],
            "async_mode": True,
            "webhook_url": "http://127.0.0.1:9/hooks/enrich",
        },
    )
    assert response.status_code == 200, response.text
    job_id = response.json()["job_id"]
    headers = {"Authorization": f"Bearer {key}"}
    wait_for(
        lambda: (
            requests.get(f"{api.url}/api/public/enrich/{job_id}", headers=headers).json()["status"]
            == "completed"
        )
    )


# --- seed 002: dataset tasks -----------------------------------------------------------


def _dataset_with_source_rows(api: Api, key: str) -> str:
    response = requests.post(
        f"{api.url}/api/v2/datasets",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "name": "Product Enrichment Dataset",
            "columns": [
                {"name": "product_name"},
                {
                    "name": "voltage",
                    "type": "number",
                    "unit": "V",
                    "description": "Voltage",
                    "taskType": "enrichment",
                },
            ],
            "rows": [{"product_name": "Drill 18V"}],
            "sourceRows": [{"product_name": "Grinder 230V"}, {"product_name": "Lamp 12V"}],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["datasetId"]


def _webhook(api: Api, key: str) -> str:
    response = requests.post(
        f"{api.url}/api/v2/webhooks",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        json={
            "name": "Dataset Processing Notifications",
            "url": "http://127.0.0.1:9/webhooks/claro",
            "events": ["dataset.task.completed", "dataset.task.failed", "datasource.processed"],
            "secret": "your-webhook-signing-secret",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["webhookId"]


def test_seed_002_new_rows_python_example(api: Api, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    data = {
        "rowCount": 100,
        "webhookId": _webhook(api, key),  # Optional webhook for completion notification
    }
    dataset_id = _dataset_with_source_rows(api, key)  # Replace with your dataset ID
    response = requests.post(
        f"{api.url}/api/v2/datasets/{dataset_id}/tasks/new-rows", headers=headers, json=data
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["taskId"]
    status = wait_for(
        lambda: (
            (
                t := requests.get(
                    f"{api.url}/api/v2/datasets/{dataset_id}/tasks/{task_id}",
                    headers={"Authorization": f"Bearer {key}"},
                ).json()
            )["status"]
            == "completed"
            and t
        )
    )
    assert status["progress"]["rowsAdded"] == 2  # the source had 2 rows left of the 100 asked


@pytest.mark.parametrize(
    "body",
    [
        {"processOnlyEmpty": True},
        {},
        {"columnIds": ["voltage"]},
        {"rowIds": [0]},
        {"rowIds": [0], "columnIds": ["voltage"], "processOnlyEmpty": True},
        {"cellIds": [(0, "voltage")]},
    ],
)
def test_seed_002_bulk_examples(api: Api, key: str, body: dict) -> None:
    """The bulk examples' bodies: all empty cells, columns, rows, intersection, cells."""
    dataset_id = _dataset_with_source_rows(api, key)
    headers = {"Authorization": f"Bearer {key}"}
    data = requests.get(f"{api.url}/api/v2/datasets/{dataset_id}/data", headers=headers).json()
    column = {c["name"]: c["columnId"] for c in data["columns"]}
    request = dict(body)
    if "columnIds" in body:
        request["columnIds"] = [column[n] for n in body["columnIds"]]
    if "rowIds" in body:
        request["rowIds"] = [data["rows"][i]["rowId"] for i in body["rowIds"]]
    if "cellIds" in body:
        request["cellIds"] = [data["rows"][0]["cells"][1]["cellId"]]
    response = requests.post(
        f"{api.url}/api/v2/datasets/{dataset_id}/tasks/bulk", headers=headers, json=request
    )
    assert response.status_code == 201, response.text
    assert response.json()["progress"]["totalCells"] == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_seed_002_new_rows_javascript_example(api: Api, key: str) -> None:
    dataset_id = _dataset_with_source_rows(api, key)
    env = {
        **os.environ,
        "SKUFLOW_URL": api.url,
        "SKUFLOW_KEY": key,
        "DATASET_ID": dataset_id,
        "WEBHOOK_ID": _webhook(api, key),
    }
    run = subprocess.run(
        ["node", str(EXAMPLES / "claro_new_rows.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    created, status = (json.loads(line) for line in run.stdout.splitlines())
    assert created["status"] == 201 and created["body"]["type"] == "new_rows"
    assert status["status"] == 200 and status["body"]["taskId"] == created["body"]["taskId"]
    assert status["body"]["status"] in {"queued", "processing", "completed"}
