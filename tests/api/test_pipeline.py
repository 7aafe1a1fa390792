"""Pipeline contract (seed 000) through a real server: ingest, classify, enrich, sync, and the
jobs they make, with their limits and error codes, and organization isolation."""

from __future__ import annotations

import csv
import io
import json
import threading
from xml.etree import ElementTree as ET

import httpx
import pytest

from tests.api.conftest import Api, assert_error, synced_file, wait_for
from tests.conftest import shared_path

RECORDS = [
    {"id": "SKU-001", "name": "Industrial Air Compressor 5HP", "description": "Oil-free, 60 gal"},
    {"id": "SKU-002", "name": "Pneumatic Drill 18V", "description": "Cordless drill driver"},
    {"id": "SKU-003", "name": "Stainless Steel Hex Bolt M8", "description": "DIN 933, A2"},
]


def finished(client: httpx.Client, path: str) -> dict:
    def done() -> dict | None:
        body = client.get(path).json()
        return body if body["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(done)


def ingest(client: httpx.Client, records: list[dict], source: str = "acme-erp") -> dict:
    response = client.post("/api/ingest", json={"source": source, "records": records})
    assert response.status_code == 202, response.text
    return response.json()


def test_ingest_queues_a_job_that_stores_and_classifies(api: Api) -> None:
    client = api.client()
    body = ingest(client, RECORDS)
    assert body["status"] == "queued"
    assert body["record_count"] == 3
    assert body["created_at"].endswith("Z")
    job = finished(client, f"/api/jobs/{body['job_id']}")
    assert job["status"] == "completed", job
    assert (job["operation"], job["completed"], job["failed"]) == ("ingest", 3, 0)
    assert job["result"] == {"stored": 3, "classified": 3}
    assert job["credits_used"] == 3


def test_bad_records_fail_alone_and_are_named(api: Api) -> None:
    client = api.client()
    records = [*RECORDS, {"id": "SKU-001", "name": "Same id again"}]
    job = finished(client, f"/api/jobs/{ingest(client, records)['job_id']}")
    assert job["status"] == "completed"
    assert (job["completed"], job["failed"]) == (3, 1)
    [error] = job["errors"]
    assert (error["record"], error["id"]) == (3, "SKU-001")
    assert "SKU-001" in error["message"]


def test_every_key_a_client_sends_is_kept(api: Api) -> None:
    client = api.client()
    record = {"sku": "A-9", "title": "Hex key set", "Item #": "HK-9", "specs": {"pieces": 9}}
    job = ingest(client, [record], source="odd platform!")
    finished(client, f"/api/jobs/{job['job_id']}")
    sync = client.post(
        "/api/sync", json={"job_id": job["job_id"], "destination": "custom", "format": "json"}
    ).json()
    done = finished(client, f"/api/sync/{sync['sync_id']}")
    rows = json.loads(synced_file(api, done["result"]).read_text())
    assert rows == [{"id": "A-9", "name": "Hex key set", "item": "HK-9", "specs": '{"pieces": 9}'}]


def test_ids_come_from_the_first_id_key_or_the_content(api: Api) -> None:
    client = api.client()
    records = [
        {"sku": "A-1", "id": "legacy-7", "name": "Hex nut"},
        {"name": "No id at all"},
        {"name": "No id at all"},
        {"id": "  ", "name": "Blank id"},
    ]
    job = ingest(client, records)
    done = finished(client, f"/api/jobs/{job['job_id']}")
    assert (done["completed"], done["failed"]) == (3, 1)  # the repeated id-less record
    sync = client.post("/api/sync", json={"job_id": job["job_id"], "destination": "erp"}).json()
    rows = json.loads(
        synced_file(api, finished(client, f"/api/sync/{sync['sync_id']}")["result"]).read_text()
    )
    assert rows[0] == {"id": "A-1", "id_2": "legacy-7", "name": "Hex nut"}
    assert rows[1]["id"].startswith("rec-") and rows[1]["name"] == "No id at all"
    assert rows[2]["id"].startswith("rec-") and rows[2]["id"] != rows[1]["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": RECORDS}, "source"),
        ({"source": "x"}, "records"),
        ({"source": "x", "records": []}, "records"),
        ({"source": "", "records": RECORDS}, "source"),
        ({"source": "x", "records": [{"id": 1}] * 10_001}, "records"),
        ({"source": "x", "records": ["not an object"]}, "records.0"),
    ],
)
def test_ingest_refuses_bad_requests(api: Api, body: dict, field: str) -> None:
    error = assert_error(api.client().post("/api/ingest", json=body), 422, "VALIDATION_ERROR")
    assert error["error"]["details"][0]["field"] == field


def test_ingest_accepts_exactly_ten_thousand(api: Api) -> None:
    client = api.client()
    records = [{"id": f"P{i}"} for i in range(10_000)]
    body = ingest(client, records)
    assert body["record_count"] == 10_000
    job = finished(client, f"/api/jobs/{body['job_id']}")
    assert (job["status"], job["completed"]) == ("completed", 10_000)


def test_classify_answers_with_taxonomy_paths(api: Api) -> None:
    client = api.client()
    job_id = ingest(client, RECORDS)["job_id"]
    response = client.post("/api/classify", json={"job_id": job_id, "records": RECORDS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == job_id
    assert body["classified_count"] == 3
    by_id = {c["id"]: c for c in body["classifications"]}
    # zero-shot (no labels): the right family, possibly one of its leaves
    assert by_id["SKU-001"]["category"].startswith("Pneumatics > Air Compressors")
    assert "Fasteners" in by_id["SKU-003"]["category"]
    for c in body["classifications"]:
        assert 0 < c["confidence"] <= 1 and c["taxonomy_version"] and c["category_id"]


def test_classify_errors(api: Api) -> None:
    owner, other = api.client(), api.client()
    job_id = ingest(owner, RECORDS)["job_id"]
    assert_error(
        other.post("/api/classify", json={"job_id": job_id, "records": RECORDS}),
        404,
        "JOB_NOT_FOUND",
    )
    assert_error(
        owner.post("/api/classify", json={"job_id": 999_999, "records": RECORDS}),
        404,
        "JOB_NOT_FOUND",
    )
    body = assert_error(
        owner.post("/api/classify", json={"job_id": job_id, "records": [{"name": "no id"}]}), 422
    )
    assert body["error"]["details"][0]["field"] == "records.0.id"
    assert_error(owner.post("/api/classify", json={"records": RECORDS}), 422)
    assert_error(
        owner.post("/api/classify", json={"job_id": job_id, "records": [{"id": 1}] * 10_001}), 422
    )
    sync_id = owner.post(
        "/api/sync", json={"job_id": job_id, "destination": "erp", "data": [{"id": 1}]}
    ).json()["sync_id"]
    assert_error(
        owner.post("/api/classify", json={"job_id": sync_id, "records": RECORDS}), 409, "CONFLICT"
    )


def test_enrich_firmographics_from_the_reference_table(api: Api) -> None:
    shared_path("companies/fortune500_2019.csv")  # the API's reference table
    response = api.client().post(
        "/api/enrich",
        json={
            "records": [
                {"company_name": "Walmart"},
                {"company_name": "Some Apple Reseller", "domain": "apple.com"},
                {"company_name": "Harker Industrial Supply", "domain": "harkersupply.com"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["enriched_count"] == 2
    walmart, apple, harker = body["enrichments"]
    assert walmart["input"] == {"company_name": "Walmart"}
    assert walmart["enriched"] == {
        "employee_range": "10001+",
        "annual_revenue": "$10B+",
        "industry": "General Merchandisers",
        "tech_stack": [],
    }
    # cited as every enrichment value from a reference table is
    assert walmart["source"] == "reference:fortune500_2019.csv#row=2"
    assert walmart["confidence"] >= 0.9
    assert apple["method"] == "domain-match" and apple["enriched"]["industry"].startswith("Comp")
    assert harker["matched"] is False and harker["confidence"] == 0
    assert harker["enriched"] == {
        "employee_range": None,
        "annual_revenue": None,
        "industry": None,
        "tech_stack": [],
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"records": []}, {"records": [{}]}, {"records": [{"company_name": " ", "domain": ""}]}],
)
def test_enrich_refuses_bad_requests(api: Api, body: dict) -> None:
    assert_error(api.client().post("/api/enrich", json=body), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("fmt", ["json", "csv", "xml"])
def test_sync_writes_the_jobs_records_in_each_format(api: Api, fmt: str) -> None:
    client = api.client()
    job_id = ingest(client, RECORDS)["job_id"]
    response = client.post(
        "/api/sync", json={"job_id": job_id, "destination": "procurement", "format": fmt}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["job_id"] == job_id and body["destination"] == "procurement"
    assert body["status"] == "processing" and body["estimated_completion"].endswith("s")
    done = finished(client, f"/api/sync/{body['sync_id']}")
    assert done["status"] == "completed", done
    path = synced_file(api, done["result"])
    assert path.name == f"sync-{body['sync_id']}.{fmt}"
    assert path.parent.name.startswith("organization-") and path.parent.parent.name == "procurement"
    text = path.read_text(encoding="utf-8")
    if fmt == "json":
        ids = [r["id"] for r in json.loads(text)]
    elif fmt == "csv":
        ids = [r["id"] for r in csv.DictReader(io.StringIO(text))]
    else:
        ids = [r.findtext("id") for r in ET.fromstring(text.encode()).iter("record")]
    assert ids == ["SKU-001", "SKU-002", "SKU-003"]


def test_sync_inline_data(api: Api) -> None:
    client = api.client()
    job_id = ingest(client, RECORDS[:1])["job_id"]
    data = [{"id": "X-1", "price": 3.5}, {"id": "X-2", "tags": ["a", "b"]}]
    body = client.post(
        "/api/sync", json={"job_id": job_id, "destination": "crm", "format": "csv", "data": data}
    ).json()
    done = finished(client, f"/api/sync/{body['sync_id']}")
    rows = list(csv.DictReader(io.StringIO(synced_file(api, done["result"]).read_text())))
    assert rows == [
        {"id": "X-1", "price": "3.5", "tags": ""},
        {"id": "X-2", "price": "", "tags": '["a", "b"]'},
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"destination": "erp"},
        {"job_id": 1},
        {"job_id": 1, "destination": "mainframe"},
        {"job_id": 1, "destination": "erp", "format": "yaml"},
    ],
)
def test_sync_refuses_bad_requests(api: Api, body: dict) -> None:
    assert_error(api.client().post("/api/sync", json=body), 422, "VALIDATION_ERROR")


def test_sync_of_another_organizations_job_is_404(api: Api) -> None:
    owner, other = api.client(), api.client()
    job_id = ingest(owner, RECORDS)["job_id"]
    assert_error(
        other.post("/api/sync", json={"job_id": job_id, "destination": "erp"}),
        404,
        "JOB_NOT_FOUND",
    )
    sync_id = owner.post("/api/sync", json={"job_id": job_id, "destination": "erp"}).json()[
        "sync_id"
    ]
    assert_error(other.get(f"/api/sync/{sync_id}"), 404, "JOB_NOT_FOUND")
    assert_error(other.get(f"/api/jobs/{job_id}"), 404, "JOB_NOT_FOUND")
    assert_error(other.post(f"/api/jobs/{job_id}/cancel"), 404, "JOB_NOT_FOUND")
    assert other.get("/api/jobs").json() == {"data": [], "count": 0}
    assert_error(owner.get(f"/api/sync/{job_id}"), 404, "JOB_NOT_FOUND")  # an ingest, not a sync


def test_jobs_list_filters(api: Api) -> None:
    client = api.client()
    job_id = ingest(client, RECORDS)["job_id"]
    finished(client, f"/api/jobs/{job_id}")
    client.post("/api/sync", json={"job_id": job_id, "destination": "erp"})
    listed = client.get("/api/jobs", params={"operation": "ingest"}).json()
    assert listed["count"] == 1 and listed["data"][0]["job_id"] == job_id
    assert client.get("/api/jobs").json()["count"] == 2
    assert client.get("/api/jobs", params={"status": "failed"}).json()["count"] == 0
    assert_error(client.get("/api/jobs", params={"limit": 0}), 422)


def test_cancel_a_queued_job_and_not_a_finished_one(api: Api) -> None:
    client = api.client()
    release = threading.Event()
    runner = api.app.state.jobs
    blockers = []
    from api.jobs import create_job
    from catalog.db import session_scope
    from catalog.repository import get_or_create_organization

    with session_scope(api.store_url) as session:  # occupy every worker so the next job queues
        org = get_or_create_organization(session, name="blockers")
        blockers = [create_job(session, organization=org, operation="block") for _ in range(8)]
    for run in blockers:
        runner.submit(run, lambda ctx: release.wait(30) and None)
    try:
        job_id = ingest(client, RECORDS)["job_id"]
        cancelled = client.post(f"/api/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
    finally:
        release.set()
    job = finished(client, f"/api/jobs/{job_id}")
    assert job["status"] == "cancelled" and job["completed"] == 0
    assert_error(client.post(f"/api/jobs/{job_id}/cancel"), 409, "JOB_NOT_CANCELLABLE")


def test_subscribers_hear_when_a_job_finishes(api: Api) -> None:
    from catalog.signing import verify_signature
    from tests.api.test_foundation import _Receiver

    client = api.client()
    receiver = _Receiver([])
    secret = "k" * 32
    try:
        client.post(
            "/api/webhooks",
            json={"url": receiver.url, "secret": secret, "events": ["job.completed"]},
        )
        job_id = ingest(client, RECORDS)["job_id"]
        wait_for(lambda: receiver.requests)
        headers, body = receiver.requests[0]
    finally:
        receiver.close()
    verify_signature(
        secret,
        body,
        timestamp=headers["X-Skuflow-Timestamp"],
        signature=headers["X-Skuflow-Signature"],
    )
    sent = json.loads(body)
    assert sent["event"] == "job.completed"
    assert sent["data"]["job_id"] == job_id and sent["data"]["operation"] == "ingest"
    assert sent["data"]["counts"]["completed"] == 3
    logged = wait_for(
        lambda: [
            d
            for d in client.get(
                "/api/webhooks/deliveries", params={"event": "job.completed"}
            ).json()["data"]
            if d["status"] == "delivered"
        ]
    )
    assert [d["job_id"] for d in logged] == [job_id]
