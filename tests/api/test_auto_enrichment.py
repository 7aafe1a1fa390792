"""Auto-enrichment (seed 004) through a real server: config, triggered jobs, retry, conflicts
and their resolution, stats, pause/resume, credits, and organization isolation."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Api, assert_error, synced_file, wait_for

BASE = "/v1/auto-enrichment"
FIELDS = {
    "product": [
        {"name": "voltage", "type": "number", "unit": "V", "description": "Rated voltage"},
        {"name": "employee_range", "type": "string", "description": "Supplier head count"},
    ]
}
RECORDS = [
    {"id": "D-1", "name": "Cordless Drill 18V", "description": "18 V drill", "supplier": "Walmart"},
    {"id": "D-2", "name": "Impact Driver", "supplier": "Apple", "employee_range": "1-10"},
    {"id": "D-3", "name": "Work light", "description": "LED, 20 W"},
]


def enable(client: httpx.Client, **extra: object) -> dict:
    response = client.patch(f"{BASE}/config", json={"enabled": True, "fields": FIELDS, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def ingest_and_get_job(client: httpx.Client, records: list[dict] = RECORDS) -> str:
    """Ingest records and return the id of the enrichment job the ingest started."""
    job_id = client.post("/api/ingest", json={"source": "erp", "records": records}).json()["job_id"]
    ingest = wait_for(
        lambda: (
            (j := client.get(f"/api/jobs/{job_id}").json())["status"] != "queued"
            and j["status"] != "running"
            and j
        )
    )
    assert ingest["status"] == "completed", ingest
    return str(ingest["result"]["enrichment_jobs"][0])


def settled(client: httpx.Client, job_id: str) -> dict:
    return wait_for(
        lambda: (
            (j := client.get(f"{BASE}/jobs/{job_id}").json())["status"]
            in ("completed", "failed", "cancelled")
            and j
        )
    )


def test_config_defaults_patch_and_put(api: Api) -> None:
    client = api.client()
    config = client.get(f"{BASE}/config").json()
    assert config["enabled"] is False and config["paused"] is False
    assert config["conflict_policy"] == "review" and config["fields"] == {}
    patched = enable(client, monthly_credit_limit=100)
    assert patched["enabled"] is True and patched["monthly_credit_limit"] == 100
    assert [f["name"] for f in patched["fields"]["product"]] == ["voltage", "employee_range"]
    again = client.patch(f"{BASE}/config", json={"conflict_policy": "overwrite"}).json()
    assert again["conflict_policy"] == "overwrite" and again["enabled"] is True
    assert client.get(f"{BASE}/config").json() == again
    replaced = client.put(f"{BASE}/config", json={"auto_apply": 0.8})
    assert replaced.status_code == 200
    assert replaced.json()["enabled"] is False and replaced.json()["auto_apply"] == 0.8
    assert client.put(f"{BASE}/config", json={}).json()["auto_apply"] == 0.9


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("patch", {"reject": 0.95}),
        ("put", {"auto_apply": 0.3, "reject": 0.4}),
        ("patch", {"unknown": 1}),
        ("put", {"fields": {"product": [{"name": "x", "type": "colour"}]}}),
        ("patch", {"fields": {"vehicle": []}}),
        ("patch", {"auto_apply": 2}),
        ("put", {"fields": {"product": [{"name": "a"}, {"name": "a"}]}}),
    ],
)
def test_config_refuses_invalid_settings(api: Api, method: str, body: dict) -> None:
    client = api.client()
    before = client.get(f"{BASE}/config").json()
    assert_error(client.request(method.upper(), f"{BASE}/config", json=body), 422)
    assert client.get(f"{BASE}/config").json() == before


def test_ingest_triggers_a_job_that_fills_fields_and_opens_conflicts(api: Api) -> None:
    client = api.client()
    enable(client)
    job = settled(client, ingest_and_get_job(client))
    assert job["status"] == "completed", job
    assert (job["entityType"], job["trigger"], job["total"], job["processed"]) == (
        "product",
        "on_create",
        3,
        3,
    )
    assert job["conflicts"] == 1 and job["credits_used"] == 3
    conflicts = client.get(f"{BASE}/conflicts").json()
    assert conflicts["count"] == 1
    [conflict] = conflicts["data"]
    assert (conflict["record_id"], conflict["field"]) == ("D-2", "employee_range")
    assert (conflict["existing_value"], conflict["proposed_value"]) == ("1-10", "10001+")
    assert conflict["status"] == "open" and conflict["job_id"] == job["id"]
    assert conflict["sources"] and "Apple" in conflict["explanation"]
    stats = client.get(f"{BASE}/stats").json()
    assert stats["jobs"] == {"total": 1, "completed": 1}
    assert stats["records_processed"] == 3 and stats["conflicts"] == {"open": 1, "resolved": 0}
    assert stats["changes"]["applied"] >= 2 and stats["credits_used"] == 3


def test_disabled_config_triggers_nothing(api: Api) -> None:
    client = api.client()
    job_id = client.post("/api/ingest", json={"source": "erp", "records": RECORDS}).json()["job_id"]
    ingest = wait_for(
        lambda: (j := client.get(f"/api/jobs/{job_id}").json())["status"] == "completed" and j
    )
    assert "enrichment_jobs" not in ingest["result"]
    assert client.get(f"{BASE}/jobs").json() == {"data": [], "count": 0}


def test_jobs_list_filters_and_errors(api: Api) -> None:
    client = api.client()
    enable(client)
    job_id = ingest_and_get_job(client)
    settled(client, job_id)
    listed = client.get(f"{BASE}/jobs", params={"entityType": "product", "status": "completed"})
    assert [j["id"] for j in listed.json()["data"]] == [job_id]
    assert client.get(f"{BASE}/jobs", params={"entityType": "company"}).json()["count"] == 0
    assert client.get(f"{BASE}/jobs", params={"status": "failed"}).json()["count"] == 0
    assert_error(client.get(f"{BASE}/jobs", params={"entityType": "vehicle"}), 422)
    assert_error(client.get(f"{BASE}/jobs", params={"status": "done"}), 422)
    assert_error(client.get(f"{BASE}/jobs/999999"), 404, "JOB_NOT_FOUND")
    assert_error(client.get(f"{BASE}/jobs/not-a-number"), 404, "JOB_NOT_FOUND")
    ingest_id = client.get("/api/jobs", params={"operation": "ingest"}).json()["data"][0]["job_id"]
    assert_error(client.get(f"{BASE}/jobs/{ingest_id}"), 404, "JOB_NOT_FOUND")
    assert_error(client.post(f"{BASE}/jobs/{job_id}/retry"), 409, "JOB_NOT_RETRYABLE")


def test_credit_limit_fails_the_job_and_retry_finishes_it_charging_once(api: Api) -> None:
    client = api.client()
    enable(client, monthly_credit_limit=1)
    job = settled(client, ingest_and_get_job(client))
    assert job["status"] == "failed"
    assert "monthly credit limit of 1" in job["error"]
    assert (job["processed"], job["failed"]) == (1, 2)
    credits = client.get(f"{BASE}/credits").json()
    assert (credits["used_this_period"], credits["monthly_limit"], credits["remaining"]) == (
        1,
        1,
        0,
    )
    client.patch(f"{BASE}/config", json={"monthly_credit_limit": 10})
    retried = client.post(f"{BASE}/jobs/{job['id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    done = settled(client, job["id"])
    assert done["status"] == "completed" and done["error"] is None
    assert (done["processed"], done["failed"], done["credits_used"]) == (3, 0, 3)
    credits = client.get(f"{BASE}/credits").json()
    assert credits["used_this_period"] == 3 and credits["remaining"] == 7
    assert credits["by_operation"] == {"auto_enrich": 3, "ingest": 3}
    assert credits["total"] == 6 and credits["by_day"][0]["credits"] == 6


def _open_conflict(client: httpx.Client) -> str:
    enable(client)
    settled(client, ingest_and_get_job(client))
    return client.get(f"{BASE}/conflicts").json()["data"][0]["id"]


def _synced_values(api: Api, client: httpx.Client) -> dict:
    import json

    job_id = client.get("/api/jobs", params={"operation": "ingest"}).json()["data"][0]["job_id"]
    sync = client.post("/api/sync", json={"job_id": job_id, "destination": "erp"}).json()
    done = wait_for(
        lambda: (
            (s := client.get(f"/api/sync/{sync['sync_id']}").json())["status"] == "completed" and s
        )
    )
    return {r["id"]: r for r in json.loads(synced_file(api, done["result"]).read_text())}


def test_resolve_by_post_keeps_the_existing_value(api: Api) -> None:
    client = api.client()
    conflict_id = _open_conflict(client)
    resolved = client.post(f"{BASE}/conflicts/{conflict_id}/resolve")
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolution"], body["resolved_value"]) == (
        "resolved",
        "kept_existing",
        "1-10",
    )
    assert _synced_values(api, client)["D-2"]["employee_range"] == "1-10"
    assert client.get(f"{BASE}/conflicts").json()["count"] == 0
    assert client.get(f"{BASE}/conflicts", params={"status": "all"}).json()["count"] == 1
    assert_error(
        client.post(f"{BASE}/conflicts/{conflict_id}/resolve"), 409, "CONFLICT_ALREADY_RESOLVED"
    )


def test_resolve_by_put_accepts_the_new_value_or_a_custom_one(api: Api) -> None:
    client = api.client()
    conflict_id = _open_conflict(client)
    assert_error(client.put(f"{BASE}/conflicts/{conflict_id}/resolve"), 422)
    assert_error(
        client.put(f"{BASE}/conflicts/{conflict_id}/resolve", json={"resolution": "custom"}), 422
    )
    assert_error(
        client.put(f"{BASE}/conflicts/{conflict_id}/resolve", json={"resolution": "maybe"}), 422
    )
    body = client.put(
        f"{BASE}/conflicts/{conflict_id}/resolve",
        json={"resolution": "accept_new", "resolver": "dana"},
    ).json()
    assert (body["resolution"], body["resolved_value"], body["resolver"]) == (
        "accepted_new",
        "10001+",
        "dana",
    )
    assert _synced_values(api, client)["D-2"]["employee_range"] == "10001+"
    assert_error(
        client.put(f"{BASE}/conflicts/{conflict_id}/resolve", json={"resolution": "accept_new"}),
        409,
        "CONFLICT_ALREADY_RESOLVED",
    )
    other = api.client()
    second = _open_conflict(other)
    custom = other.put(
        f"{BASE}/conflicts/{second}/resolve", json={"resolution": "custom", "value": "5001-10000"}
    ).json()
    assert (custom["resolution"], custom["resolved_value"]) == ("custom", "5001-10000")
    assert _synced_values(api, other)["D-2"]["employee_range"] == "5001-10000"


def test_conflict_errors(api: Api) -> None:
    client = api.client()
    assert_error(client.post(f"{BASE}/conflicts/999999/resolve"), 404, "CONFLICT_NOT_FOUND")
    assert_error(client.put(f"{BASE}/conflicts/x/resolve", json={}), 404, "CONFLICT_NOT_FOUND")
    assert_error(client.get(f"{BASE}/conflicts", params={"status": "closed"}), 422)


def test_pause_holds_new_jobs_and_resume_runs_them(api: Api) -> None:
    client = api.client()
    enable(client)
    paused = client.post(f"{BASE}/pause")
    assert paused.status_code == 200
    assert paused.json() == {"paused": True}
    assert client.get(f"{BASE}/config").json()["paused"] is True
    assert client.get(f"{BASE}/stats").json()["paused"] is True
    job_id = ingest_and_get_job(client)
    assert client.get(f"{BASE}/jobs/{job_id}").json()["status"] == "queued"
    resumed = client.post(f"{BASE}/resume")
    assert resumed.json()["paused"] is False
    assert settled(client, job_id)["status"] == "completed"


def test_organizations_are_isolated(api: Api) -> None:
    owner, other = api.client(), api.client()
    conflict_id = _open_conflict(owner)
    job_id = owner.get(f"{BASE}/jobs").json()["data"][0]["id"]
    assert other.get(f"{BASE}/config").json()["enabled"] is False
    assert other.get(f"{BASE}/jobs").json() == {"data": [], "count": 0}
    assert_error(other.get(f"{BASE}/jobs/{job_id}"), 404, "JOB_NOT_FOUND")
    assert_error(other.post(f"{BASE}/jobs/{job_id}/retry"), 404, "JOB_NOT_FOUND")
    assert other.get(f"{BASE}/conflicts", params={"status": "all"}).json()["count"] == 0
    assert_error(other.post(f"{BASE}/conflicts/{conflict_id}/resolve"), 404, "CONFLICT_NOT_FOUND")
    assert_error(
        other.put(f"{BASE}/conflicts/{conflict_id}/resolve", json={"resolution": "accept_new"}),
        404,
        "CONFLICT_NOT_FOUND",
    )
    stats = other.get(f"{BASE}/stats").json()
    assert stats["jobs"] == {"total": 0} and stats["credits_used"] == 0
    assert other.get(f"{BASE}/credits").json()["total"] == 0
    other.post(f"{BASE}/pause")
    assert owner.get(f"{BASE}/config").json()["paused"] is False
    assert owner.get(f"{BASE}/conflicts").json()["data"][0]["status"] == "open"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/config"),
        ("PATCH", "/config"),
        ("PUT", "/config"),
        ("GET", "/jobs"),
        ("GET", "/jobs/1"),
        ("POST", "/jobs/1/retry"),
        ("GET", "/conflicts"),
        ("POST", "/conflicts/1/resolve"),
        ("PUT", "/conflicts/1/resolve"),
        ("GET", "/stats"),
        ("POST", "/pause"),
        ("POST", "/resume"),
        ("GET", "/credits"),
    ],
)
def test_every_endpoint_needs_a_key(api: Api, method: str, path: str) -> None:
    assert_error(api.anonymous().request(method, f"{BASE}{path}", json={}), 401, "UNAUTHORIZED")


def test_the_triggered_job_is_announced_by_an_event_and_runs_as_its_flow(api: Api) -> None:
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from catalog.db import session_scope
    from catalog.models import Run

    client = api.client()
    enable(client)
    job_id = ingest_and_get_job(client)
    assert settled(client, job_id)["status"] == "completed"

    def announced() -> list[dict]:
        response = httpx.post(
            f"{PREFECT_API_URL.value()}/events/filter",
            json={
                "filter": {
                    "event": {"name": ["skuflow.job.queued"]},
                    "resource": {"id": [f"skuflow.job.{job_id}"]},
                },
                "limit": 5,
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["events"]

    [event] = wait_for(announced, timeout=30)
    assert event["payload"]["job_id"] == int(job_id)
    assert event["resource"]["skuflow.operation"] == "auto_enrich"
    with session_scope(api.store_url) as session:
        flow_run_id = session.get(Run, int(job_id)).flow_run_id
    with get_client(sync_client=True) as prefect:
        flow_run = prefect.read_flow_run(UUID(flow_run_id))
        assert prefect.read_flow(flow_run.flow_id).name == "auto-enrich"
    assert flow_run.name == f"auto-enrich-{job_id}" and flow_run.state.is_completed()
