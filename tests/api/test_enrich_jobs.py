"""Enrichment jobs (seed 003) through a real uvicorn server: sync and async submission, the
documented result shape with per-field sources and explanations, paginated polling with
partial results while a job runs, the job list, cancel (finished items kept and charged), the
10-running-jobs limit, max_rows and resume, category prediction, the completion webhook, and
organizations kept apart.

Web research reads product pages from a local server (`tests.api.pages`), allowed through
``SKUFLOW_API_FETCH_ALLOW``; its gate holds page requests so a job stays running on demand.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, assert_error, wait_for
from tests.api.pages import PageServer, Receiver
from tests.llm_server import LLMServer

SCHEMA = [
    {"name": "bore_diameter", "type": "string", "description": "Inner diameter in mm"},
    {"name": "outer_diameter", "type": "string", "description": "Outer diameter in mm"},
]


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fetch_from_local_pages(pages: PageServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKUFLOW_API_FETCH_ALLOW", pages.address)
    monkeypatch.setenv("SKUFLOW_API_FETCH_INTERVAL", "0")
    monkeypatch.delenv("SKUFLOW_LLM_BASE_URL", raising=False)
    pages.open_gate()


@pytest.fixture
def client(api: Api) -> httpx.Client:
    return api.client()


def _bearing(pages: PageServer, part: str = "6205-2RS") -> dict[str, Any]:
    return {"part_number": part, "name": "Deep Groove Ball Bearing", "url": pages.url(part)}


def _poll(client: httpx.Client, job_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/public/enrich/{job_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    return wait_for(lambda: (p := _poll(client, job_id))["status"] != "running" and p)


def test_sync_result_has_values_sources_and_explanations(
    client: httpx.Client, pages: PageServer
) -> None:
    response = client.post(
        "/api/public/enrich",
        json={
            "items": [_bearing(pages)],
            "output_schema": SCHEMA,
            "include_source_explanations": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert (body["total_items"], body["total_rows"], body["successful"]) == (1, 1, 1)
    assert body["credits_used"] == 1
    (result,) = body["results"]
    page = pages.url("6205-2RS")
    assert result["original_data"] == _bearing(pages)
    after = result["after_data"]
    assert after["part_number"] == "6205-2RS"
    assert (after["bore_diameter"], after["outer_diameter"]) == ("25 mm", "52 mm")
    assert after["sources"] == {"bore_diameter": [page], "outer_diameter": [page]}
    assert "Bore diameter: 25 mm" in after["source_explanations"]["bore_diameter"]
    assert result["all_sources"] == [page]
    review = result["review_info"]
    assert set(review) == {"reasoning", "flags", "field_issues", "flag_record"}
    assert "json-ld" in review["reasoning"]
    assert any(f.startswith("info:web_search_not_configured") for f in review["flags"])


def test_without_web_research_no_source_is_invented(client: httpx.Client) -> None:
    """The seed's own example, with no page to read: nothing is made up, and the result
    says web research is not configured."""
    body = client.post(
        "/api/public/enrich",
        json={
            "items": [{"part_number": "6205-2RS", "name": "Deep Groove Ball Bearing"}],
            "output_schema": SCHEMA,
        },
    ).json()
    (result,) = body["results"]
    assert result["all_sources"] == [] and result["after_data"]["sources"] == {}
    assert "bore_diameter" not in result["after_data"]
    assert "source_explanations" not in result["after_data"]  # not asked for
    flags = result["review_info"]["flags"]
    assert any("web research is not available" in f or "no search backend" in f for f in flags)


def test_values_from_the_item_itself_when_web_search_is_off(client: httpx.Client) -> None:
    body = client.post(
        "/api/public/enrich",
        json={
            "items": [{"name": "Cordless drill 18V with 2 batteries, weight 1.6 kg"}],
            "output_schema": [
                {"name": "voltage", "type": "number", "unit": "V", "description": "Voltage"},
                {
                    "name": "weight_kg",
                    "type": "number",
                    "unit": "kg",
                    "description": "Weight in kilograms",
                },
            ],
            "web_search": False,
            "include_source_explanations": True,
        },
    ).json()
    after = body["results"][0]["after_data"]
    assert after["voltage"] == 18.0 and after["weight_kg"] == 1.6
    assert after["sources"]["voltage"] == ["input"]
    assert not any(
        f.startswith("info:web_search") for f in body["results"][0]["review_info"]["flags"]
    )


@pytest.mark.parametrize("store", ["api", "pg_api"])
def test_async_job_shows_partial_results_then_can_be_cancelled(
    request: pytest.FixtureRequest, store: str, pages: PageServer
) -> None:
    """500 quick items make the first batch; the 501st waits on a page: while it waits the
    job is running with 500 results pageable and nothing charged; cancelling keeps those
    500 and charges only them (SQLite and PostgreSQL)."""
    client = request.getfixturevalue(store).client()
    quick = [{"name": f"Bearing {i}", "bore_diameter": f"{10 + i % 5} mm"} for i in range(500)]
    pages.close_gate()
    try:
        submitted = client.post(
            "/api/public/enrich",
            json={"items": [*quick, _bearing(pages)], "output_schema": SCHEMA, "async_mode": True},
        )
        assert submitted.status_code == 200, submitted.text
        job = submitted.json()
        assert job["status"] == "running" and job["results"] == []
        assert job["total_items"] == 501 and job["credits_used"] == 0
        job_id = job["job_id"]
        partial = wait_for(lambda: (p := _poll(client, job_id))["completed_items"] == 500 and p)
        assert partial["status"] == "running"
        assert (partial["successful"], partial["credits_used"]) == (0, 0)
        page = _poll(client, job_id, page=2, page_size=50)
        assert page["total_pages"] == 10 and page["page"] == 2 and page["page_size"] == 50
        assert [r["original_data"]["name"] for r in page["results"]] == [
            f"Bearing {i}" for i in range(50, 100)
        ]
        assert "service_usage" not in page or page["service_usage"] is None
        running = client.get("/api/public/enrich/jobs", params={"status": "running"}).json()
        assert job_id in [j["job_id"] for j in running["jobs"]]

        cancelled = client.post(f"/api/public/enrich/{job_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json() == {
            "success": True,
            "message": f"Activity {job_id} cancelled",
            "completed_items": 500,
            "credits_used": 500,
        }
    finally:
        pages.open_gate()
    final = _finished(client, job_id)
    assert final["status"] == "failed"  # the contract reports cancelled jobs as failed
    assert final["completed_items"] == 500 and final["credits_used"] == 500
    listed = client.get("/api/public/enrich/jobs", params={"status": "cancelled"}).json()
    assert [j["job_id"] for j in listed["jobs"]] == [job_id]
    again = client.post(f"/api/public/enrich/{job_id}/cancel")
    assert_error(again, 409)
    assert "cancelled" in again.json()["detail"]


def test_eleventh_running_job_is_refused_with_429(api: Api, pages: PageServer) -> None:
    client = api.client()
    pages.close_gate()
    jobs = []
    try:
        for _ in range(10):
            response = client.post(
                "/api/public/enrich",
                json={"items": [_bearing(pages)], "output_schema": SCHEMA, "async_mode": True},
            )
            assert response.status_code == 200, response.text
            jobs.append(response.json()["job_id"])
        refused = client.post(
            "/api/public/enrich",
            json={"items": [_bearing(pages)], "output_schema": SCHEMA, "async_mode": True},
        )
        assert refused.status_code == 429
        assert refused.json()["detail"] == (
            "Too many concurrent enrichment jobs (10/10). List running jobs: "
            "GET /api/public/enrich/jobs?status=running — Cancel a job: "
            "POST /api/public/enrich/{job_id}/cancel"
        )
        # the limit is per organization
        other = api.client().post(
            "/api/public/enrich",
            json={"items": [{"name": "x"}], "output_schema": SCHEMA, "async_mode": True},
        )
        assert other.status_code == 200, other.text
        assert (
            client.get("/api/public/enrich/jobs", params={"status": "running"}).json()["total"]
            == 10
        )
        assert client.post(f"/api/public/enrich/{jobs[0]}/cancel").status_code == 200
        retried = client.post(
            "/api/public/enrich",
            json={"items": [{"name": "x"}], "output_schema": SCHEMA, "async_mode": True},
        )
        assert retried.status_code == 200, retried.text
    finally:
        for job_id in jobs[1:]:
            client.post(f"/api/public/enrich/{job_id}/cancel")
        pages.open_gate()


def test_max_rows_then_resume_processes_the_rest(client: httpx.Client, pages: PageServer) -> None:
    items = [_bearing(pages, p) for p in ("6205-2RS", "6204-2RS", "6206-2RS")]
    first = client.post(
        "/api/public/enrich", json={"items": items, "output_schema": SCHEMA, "max_rows": 2}
    ).json()
    assert (first["total_items"], first["total_rows"], first["successful"]) == (2, 3, 2)
    assert [r["after_data"]["bore_diameter"] for r in first["results"]] == ["25 mm", "20 mm"]
    resumed = client.post("/api/public/enrich", json={"source_activity_id": first["job_id"]}).json()
    assert resumed["total_items"] == 1 and resumed["credits_used"] == 1
    assert resumed["results"][0]["original_data"]["part_number"] == "6206-2RS"
    assert resumed["results"][0]["after_data"]["bore_diameter"] == "30 mm"


def test_category_prediction(client: httpx.Client) -> None:
    taxonomy = {
        "categories": [
            {"id": "B", "path": "Bearings"},
            {"id": "BB", "path": "Bearings > Ball Bearings", "attributes": ["bore_diameter"]},
            {"id": "RB", "path": "Bearings > Roller Bearings"},
            {"id": "F", "path": "Fasteners > Screws"},
        ]
    }
    body = client.post(
        "/api/public/enrich",
        json={
            "items": [
                {"name": "Deep groove ball bearing 6205, bore 25 mm", "bore_diameter": "25 mm"},
                {"name": "Stainless steel wood screws, pack of 100"},
            ],
            "output_schema": SCHEMA,
            "web_search": False,
            "taxonomy": taxonomy,
            "predict_taxonomy": True,
        },
    ).json()
    ball, screw = body["results"]
    assert (ball["category_id"], ball["category_path"]) == ("BB", "Bearings > Ball Bearings")
    assert ball["taxonomy_attributes"] == {"bore_diameter": "25 mm"}
    assert (screw["category_id"], screw["category_path"]) == ("F", "Fasteners > Screws")


def test_completion_webhook_payload(client: httpx.Client, pages: PageServer) -> None:
    receiver = Receiver("/hooks/enrich")
    try:
        job = client.post(
            "/api/public/enrich",
            json={
                "items": [_bearing(pages), {"name": "no page"}],
                "output_schema": SCHEMA,
                "async_mode": True,
                "webhook_url": receiver.url,
            },
        ).json()
        wait_for(lambda: receiver.bodies)
        # signed like every skuflow webhook, with the key returned once at submission
        from catalog.signing import verify_signature

        ((headers, raw),) = receiver.received
        verify_signature(
            job["webhook_secret"],
            raw,
            timestamp=headers.get("x-skuflow-timestamp"),
            signature=headers.get("x-skuflow-signature"),
        )
        assert receiver.bodies == [
            {
                "job_id": job["job_id"],
                "status": "completed",
                "successful": 2,
                "failed": 0,
                "total": 2,
                "credits_used": 2,
            }
        ]
        # the delivery log records the answer just after the receiver has it
        wait_for(
            lambda: any(
                d["event"] == "enrich.job.completed" and d["status"] == "delivered"
                for d in client.get("/api/webhooks/deliveries").json()["data"]
            )
        )
    finally:
        receiver.stop()


def test_a_given_webhook_secret_signs_the_completion_post(client: httpx.Client) -> None:
    from catalog.signing import verify_signature

    receiver = Receiver("/hooks/mine")
    try:
        job = client.post(
            "/api/public/enrich",
            json={
                "items": [{"name": "no page"}],
                "output_schema": SCHEMA,
                "web_search": False,
                "async_mode": True,
                "webhook_url": receiver.url,
                "webhook_secret": "m" * 24,
            },
        ).json()
        assert job["webhook_secret"] is None  # the client's own key is not echoed
        wait_for(lambda: receiver.received)
        ((headers, raw),) = receiver.received
        verify_signature(
            "m" * 24,
            raw,
            timestamp=headers["x-skuflow-timestamp"],
            signature=headers["x-skuflow-signature"],
        )
        assert json.loads(raw)["job_id"] == job["job_id"]
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"output_schema": SCHEMA}, "items"),
        ({"items": [{"a": 1}]}, "output_schema"),
        ({"items": [{"a": 1}], "output_schema": [{"name": "x", "type": "date"}]}, "field 1"),
        (
            {"items": [{"a": 1}], "output_schema": SCHEMA, "webhook_url": "http://example.com/h"},
            "HTTPS",
        ),
        (
            {
                "items": [{"a": 1}],
                "output_schema": SCHEMA,
                "webhook_url": "https://169.254.169.254/latest/meta-data/",
            },
            "non-public address",
        ),
        ({"items": [{"a": 1}], "output_schema": SCHEMA, "speed": "warp"}, "speed"),
        ({"items": [{"a": 1}], "output_schema": SCHEMA, "predict_taxonomy": True}, "taxonomy"),
    ],
)
def test_bad_requests_are_422_naming_the_cause(
    client: httpx.Client, body: dict[str, Any], named: str
) -> None:
    error = assert_error(client.post("/api/public/enrich", json=body), 422)
    assert named in json.dumps(error)


def test_unknown_jobs_and_other_organizations(api: Api, client: httpx.Client) -> None:
    job = client.post(
        "/api/public/enrich",
        json={"items": [{"name": "x"}], "output_schema": SCHEMA, "web_search": False},
    ).json()
    assert_error(client.get("/api/public/enrich/999999"), 404)
    assert_error(client.get("/api/public/enrich/not-a-job"), 404)
    assert_error(client.post("/api/public/enrich/999999/cancel"), 404)
    intruder = api.client()
    assert_error(intruder.get(f"/api/public/enrich/{job['job_id']}"), 404)
    assert_error(intruder.post(f"/api/public/enrich/{job['job_id']}/cancel"), 404)
    assert intruder.get("/api/public/enrich/jobs").json() == {"jobs": [], "total": 0}
    resumed = intruder.post(
        "/api/public/enrich",
        json={"output_schema": SCHEMA, "source_activity_id": job["job_id"]},
    )
    assert_error(resumed, 404)
    assert_error(
        intruder.post(
            "/api/public/enrich",
            json={"items": [{"a": 1}], "output_schema": SCHEMA, "catalog_id": "1"},
        ),
        404,
    )


def test_job_list_filters_and_pages(client: httpx.Client) -> None:
    ids = [
        client.post(
            "/api/public/enrich",
            json={"items": [{"name": f"x{i}"}], "output_schema": SCHEMA, "web_search": False},
        ).json()["job_id"]
        for i in range(3)
    ]
    listed = client.get("/api/public/enrich/jobs", params={"limit": 2, "offset": 0}).json()
    assert listed["total"] == 3 and [j["job_id"] for j in listed["jobs"]] == ids[::-1][:2]
    rest = client.get("/api/public/enrich/jobs", params={"limit": 2, "offset": 2}).json()
    assert [j["job_id"] for j in rest["jobs"]] == [ids[0]]
    summary = rest["jobs"][0]
    assert summary["status"] == "completed"
    assert (summary["total_items"], summary["completed_items"], summary["failed_items"]) == (
        1,
        1,
        0,
    )
    assert summary["started_at"] and summary["finished_at"]
    completed = client.get("/api/public/enrich/jobs", params={"status": "completed"}).json()
    assert completed["total"] == 3
    assert client.get("/api/public/enrich/jobs", params={"status": "failed"}).json()["total"] == 0
    assert_error(client.get("/api/public/enrich/jobs", params={"limit": 101}), 422)


def test_catalog_id_applies_its_schema_and_writes_through_changes(
    api: Api, pages: PageServer
) -> None:
    """With catalog_id the catalogue's model-filled attributes are the output schema, and
    values found for its records become changes carrying the job as their run: confident ones
    applied (thresholds from the catalogue), each with its source page."""
    from sqlalchemy import select

    from catalog.db import session_scope
    from catalog.models import Change, Organization, Record
    from catalog.repository import upsert_catalog
    from catalog.schema import CatalogSchema

    org_name, key = api.new_key()
    schema = CatalogSchema.model_validate(
        {
            "name": "bearings",
            "id": "part_number",
            "text": ["name"],
            "thresholds": {"auto_apply": 0.8, "reject": 0.3},
            "attributes": [
                {"name": "part_number", "required": True},
                {"name": "name"},
                {
                    "name": "bore_diameter",
                    "type": "number",
                    "unit": "mm",
                    "description": "Inner diameter in mm",
                    "derive": "extract",
                },
            ],
        }
    )
    with session_scope(api.store_url) as session:
        org = session.scalar(select(Organization).where(Organization.name == org_name))
        catalog = upsert_catalog(session, organization=org, schema=schema)
        values = {"part_number": "6205-2RS", "name": "Deep Groove Ball Bearing"}
        session.add(
            Record(
                catalog_id=catalog.id,
                external_id="6205-2RS",
                source_values=values,
                values=values,
                content_hash="h1",
            )
        )
        catalog_id = catalog.id
    client = api.client(key=key)
    body = client.post(
        "/api/public/enrich",
        json={
            "items": [_bearing(pages), _bearing(pages, "6204-2RS")],
            "catalog_id": str(catalog_id),
        },
    ).json()
    assert body["status"] == "completed", body
    assert body["results"][0]["after_data"]["bore_diameter"] == 25.0
    usage = _poll(client, body["job_id"])["service_usage"]
    assert usage["catalog_changes"] == {"applied": 1, "unmatched": 1}
    with session_scope(api.store_url) as session:
        change = session.scalar(select(Change).where(Change.run_id == int(body["job_id"])))
        assert (change.field, change.new_value, change.status) == ("bore_diameter", 25.0, "applied")
        # one operation for enrichment changes, whichever door asked (onboard, jobs, auto)
        assert change.sources == [pages.url("6205-2RS")] and change.operation == "enrich"
        record = session.scalar(select(Record).where(Record.catalog_id == catalog_id))
        assert record.values["bore_diameter"] == 25.0
    # another organization cannot name this catalogue
    assert_error(
        api.client().post(
            "/api/public/enrich",
            json={"items": [{"a": 1}], "catalog_id": str(catalog_id)},
        ),
        404,
    )


def test_quality_score_is_added_when_asked(client: httpx.Client) -> None:
    """quality_prompt adds a 1-5 score with its reasons (validate_semantics is accepted too)."""
    body = client.post(
        "/api/public/enrich",
        json={
            "items": [
                {"name": "Cordless drill 18V"},
                {"name": "Cordless drill 18V, 1.6 kg"},
            ],
            "output_schema": [
                {"name": "voltage", "type": "number", "unit": "V", "description": "Voltage"},
                {"name": "weight_kg", "type": "number", "unit": "kg", "description": "Weight"},
            ],
            "web_search": False,
            "quality_prompt": "Rate completeness for a product page",
            "validate_semantics": True,
        },
    ).json()
    partial, complete = body["results"]
    for result in (partial, complete):
        assert result["quality_score"] in range(1, 6)
        assert set(result["quality_result"]) == {"score", "explanation", "issues", "suggestions"}
        assert result["quality_result"]["score"] == result["quality_score"]
    assert complete["quality_score"] > partial["quality_score"]


def test_speed_and_prompt_reach_the_llm_when_one_is_configured(
    client: httpx.Client,
    llm_server: LLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`medium` asks the configured LLM (with the job's prompt) for what the item's text did
    not settle; its quoted answer is kept with the item as source; `cheap` never asks it."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        # the provider's structured answer: per item, per field its value, evidence id, quote
        return {
            "item1": {
                "material": {
                    "value": "chrome steel",
                    "evidence": "item1",
                    "quote": "rings of chrome steel",
                }
            }
        }

    llm_server.responder = answer
    monkeypatch.setenv("SKUFLOW_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("SKUFLOW_LLM_MODEL", "test-model")
    request = {
        "items": [{"name": "Ball bearing 6205", "notes": "rings of chrome steel, sealed"}],
        "output_schema": [{"name": "material", "description": "Ring material"}],
        "prompt": "Bearing materials only",
        "web_search": False,
        "include_source_explanations": True,
    }
    cheap = client.post("/api/public/enrich", json={**request, "speed": "cheap"}).json()
    assert llm_server.chat_requests == []
    assert "material" not in cheap["results"][0]["after_data"]
    medium = client.post("/api/public/enrich", json={**request, "speed": "medium"}).json()
    (asked,) = llm_server.chat_requests
    assert "Task: Bearing materials only" in asked.user_text
    after = medium["results"][0]["after_data"]
    assert after.get("material") == "chrome steel", medium["results"][0]
    assert after["sources"]["material"] == ["input"]
    assert medium["results"][0]["review_info"]["flag_record"] is True  # LLM alone: review


def test_allowed_domains_keep_other_sites_out(client: httpx.Client, pages: PageServer) -> None:
    item = _bearing(pages, "6204-2RS")
    before = len(pages.requests)
    body = client.post(
        "/api/public/enrich",
        json={"items": [item], "output_schema": SCHEMA, "allowed_domains": ["skf.com"]},
    ).json()
    (result,) = body["results"]
    assert "bore_diameter" not in result["after_data"] and result["all_sources"] == []
    assert not any("6204" in path for path in pages.requests[before:])


@pytest.mark.parametrize("store", ["api", "pg_api"])
def test_racing_submissions_never_exceed_ten_running_jobs(
    request: pytest.FixtureRequest, store: str, pages: PageServer
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = request.getfixturevalue(store).client()
    body = {"items": [_bearing(pages)], "output_schema": SCHEMA, "async_mode": True}
    barrier = threading.Barrier(12)

    def submit(_: int) -> httpx.Response:
        barrier.wait()
        return client.post("/api/public/enrich", json=body)

    pages.close_gate()
    try:
        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(submit, range(12)))
        assert sorted(r.status_code for r in responses) == [200] * 10 + [429] * 2
    finally:
        for response in responses:
            if response.status_code == 200:
                client.post(f"/api/public/enrich/{response.json()['job_id']}/cancel")
        pages.open_gate()
