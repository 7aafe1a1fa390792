"""The change API over a real server: the review queue, decisions (idempotent, 409 when no
longer queued, nothing changed), bulk by ids and by filter, rollback, conflicts, runs, the
quality report — each checked afterwards through the API and in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.db import session_scope
from catalog.models import Change, Record
from tests.api.conftest import Api, assert_error
from tests.review_seed import PROPOSALS, Seeded, seed_catalog


@pytest.fixture
def seeded(api: Api, tmp_path: Path) -> tuple[Seeded, object]:
    org, key = api.new_key()
    seed = seed_catalog(api.store_url, tmp_path / "reports", organization=org)
    return seed, api.client(key=key)


def _values(api: Api, record_id: int) -> dict:
    with session_scope(api.store_url) as session:
        return session.get(Record, record_id).values


def _change(api: Api, change_id: int) -> Change:
    with session_scope(api.store_url) as session:
        return session.get(Change, change_id)


def test_the_queue_filters_by_status_field_operation_band_and_run(api: Api, seeded) -> None:
    seed, client = seeded
    base = f"/api/catalogs/{seed.catalog}/changes"
    queued_seed = [p for p in PROPOSALS if 0.5 <= p[3] < 0.9]
    page = client.get(base, params={"status": "queued_for_review", "limit": 5}).json()
    assert page["count"] == len(queued_seed) and len(page["data"]) == 5
    first = page["data"][0]
    assert first["record"].startswith("AC-") and first["record_title"]
    assert first["sources"] == ["record:title"] and first["model"] == "seed-model"

    band = client.get(
        base,
        params={
            "status": "queued_for_review",
            "min_confidence": 0.8,
            "max_confidence": 0.9,
            "order": "confidence_desc",
        },
    ).json()
    confidences = [c["confidence"] for c in band["data"]]
    assert confidences == sorted(confidences, reverse=True)
    assert band["count"] == sum(1 for p in queued_seed if p[3] >= 0.8)
    enrich = client.get(base, params={"operation": "enrich", "field": "pack_size"}).json()
    assert {c["field"] for c in enrich["data"]} == {"pack_size"} and enrich["count"] == 4
    assert client.get(base, params={"run_id": seed.run_id}).json()["count"] == len(PROPOSALS)
    by_record = client.get(base, params={"record": "AC-10000"}).json()
    assert {c["record"] for c in by_record["data"]} == {"AC-10000"} and by_record["count"] == 2

    detail = client.get(f"{base}/{first['id']}").json()
    assert detail["history"][-1]["id"] == first["id"]
    evidence = detail["evidence"][0]
    assert evidence["source"] == "record:title" and evidence["text"]


def test_approve_is_idempotent_and_a_decided_change_answers_409(api: Api, seeded) -> None:
    seed, client = seeded
    change = seed.queued(api.store_url, field="pack_size")[0]
    url = f"/api/catalogs/{seed.catalog}/changes/{change.id}"

    first = client.post(f"{url}/approve", json={"reviewer": "alice"})
    assert first.status_code == 200, first.text
    assert first.json()["changed"] is True and first.json()["change"]["status"] == "approved"
    assert _values(api, change.record_id)["pack_size"] == change.new_value
    decided = _change(api, change.id)
    assert (decided.status, decided.reviewer) == ("approved", "alice")

    again = client.post(f"{url}/approve", json={"reviewer": "bob"})
    assert again.status_code == 200 and again.json()["changed"] is False
    assert "already approved" in again.json()["message"]
    unchanged = _change(api, change.id)
    assert (unchanged.reviewer, unchanged.decided_at) == ("alice", decided.decided_at)

    refused = assert_error(client.post(f"{url}/reject"), 409, "CONFLICT")
    assert f"change {change.id} is approved by alice" in refused["detail"]
    assert "nothing changed" in refused["detail"]
    assert _change(api, change.id).status == "approved"
    assert client.get(url).json()["status"] == "approved"


def test_reject_one_and_the_default_reviewer_is_the_key(api: Api, seeded) -> None:
    seed, client = seeded
    change = seed.queued(api.store_url, field="category")[0]
    before = _values(api, change.record_id)
    response = client.post(f"/api/catalogs/{seed.catalog}/changes/{change.id}/reject")
    assert response.status_code == 200, response.text
    stored = _change(api, change.id)
    assert stored.status == "rejected" and stored.reviewer.startswith("api-key:")
    assert _values(api, change.record_id) == before
    refused = assert_error(
        client.post(f"/api/catalogs/{seed.catalog}/changes/{change.id}/approve"), 409
    )
    assert "rejected" in refused["detail"]


def test_bulk_approve_above_a_confidence_and_by_ids_all_or_nothing(api: Api, seeded) -> None:
    seed, client = seeded
    base = f"/api/catalogs/{seed.catalog}/changes"
    high = [c for c in seed.queued(api.store_url) if c.confidence >= 0.8]
    low = [c for c in seed.queued(api.store_url) if c.confidence < 0.8]
    body = client.post(
        f"{base}/approve", json={"filter": {"min_confidence": 0.8}, "reviewer": "carol"}
    ).json()
    assert sorted(body["ids"]) == sorted(c.id for c in high) and body["decided"] == len(high)
    for c in high:
        assert _change(api, c.id).status == "approved"
        assert _values(api, c.record_id)[c.field] == c.new_value
    assert all(_change(api, c.id).status == "queued_for_review" for c in low)

    # by ids: one already approved (left alone), one queued, one rejected → nothing happens
    client.post(f"{base}/{low[0].id}/reject", json={"reviewer": "carol"})
    refused = client.post(f"{base}/approve", json={"ids": [high[0].id, low[1].id, low[0].id]})
    assert_error(refused, 409)
    assert _change(api, low[1].id).status == "queued_for_review"
    ok = client.post(f"{base}/approve", json={"ids": [high[0].id, low[1].id]}).json()
    assert ok["ids"] == [low[1].id] and ok["unchanged"] == [high[0].id]
    assert_error(client.post(f"{base}/approve", json={"ids": [low[2].id, 2**62]}), 404)
    assert _change(api, low[2].id).status == "queued_for_review"
    assert_error(client.post(f"{base}/approve", json={}), 422)
    assert_error(client.post(f"{base}/{low[2].id}/approve", json={"reviewer": "a\nb"}), 422)


def test_rollback_a_field_a_change_and_a_run(api: Api, seeded) -> None:
    seed, client = seeded
    url = f"/api/catalogs/{seed.catalog}/rollback"
    applied = seed.changes(api.store_url, status="applied", field="voltage")[0]
    external_id = next(k for k, v in seed.records.items() if v == applied.record_id)
    assert _values(api, applied.record_id)["voltage"] == applied.new_value

    body = client.post(url, json={"record": external_id, "field": "voltage", "reviewer": "dan"})
    assert body.status_code == 200, body.text
    assert body.json()["rolled_back"] == [applied.id]
    assert "voltage" not in _values(api, applied.record_id)
    assert _change(api, applied.id).status == "rolled_back"
    history = client.get(f"/api/catalogs/{seed.catalog}/records/{external_id}").json()
    voltage = next(f for f in history["fields"] if f["field"] == "voltage")
    assert [c["operation"] for c in voltage["changes"]] == ["enrich", "rollback"]
    assert voltage["changes"][-1]["reviewer"] == "dan" and voltage["current"] is None

    again = client.post(url, json={"change_id": applied.id}).json()
    assert again["rolled_back"] == [] and "already rolled back" in again["message"]
    queued = seed.queued(api.store_url)[0]
    assert (
        "only applied or approved"
        in assert_error(client.post(url, json={"change_id": queued.id}), 409)["detail"]
    )
    assert_error(client.post(url, json={"record": "AC-NOPE", "field": "voltage"}), 404)
    assert_error(client.post(url, json={"change_id": 1, "run_id": 1}), 422)

    run = client.post(url, json={"run_id": seed.run_id}).json()
    still_applied = seed.changes(api.store_url, status="applied", run_id=seed.run_id)
    assert run["rolled_back"] and not [c for c in still_applied if c.operation != "rollback"]


def test_conflicts_resolve_once_then_the_same_again_is_a_no_op(api: Api, seeded) -> None:
    seed, client = seeded
    base = f"/api/catalogs/{seed.catalog}/conflicts"
    listed = client.get(base).json()
    assert listed["count"] == 1
    conflict = listed["data"][0]
    assert conflict["record"] == "AC-10001" and conflict["field"] == "brand"
    url = f"{base}/{conflict['id']}/resolve"
    done = client.post(url, json={"resolution": "accepted_new", "resolver": "erin"}).json()
    assert done["changed"] is True and done["conflict"]["status"] == "resolved"
    assert _values(api, seed.records["AC-10001"])["brand"] == "Northwind Fastener Co."
    again = client.post(url, json={"resolution": "accepted_new"}).json()
    assert again["changed"] is False
    assert_error(client.post(url, json={"resolution": "kept_existing"}), 409)
    assert client.get(base).json()["count"] == 0
    assert client.get(base, params={"status": "all"}).json()["count"] == 1


def test_records_runs_and_quality(api: Api, seeded) -> None:
    seed, client = seeded
    base = f"/api/catalogs/{seed.catalog}"
    everything = client.get(f"{base}/records").json()
    assert everything["count"] == len(seed.records)
    found = client.get(f"{base}/records", params={"q": "hex bolt"}).json()
    assert [r["id"] for r in found["data"]] == ["AC-10001"]
    queued = client.get(f"{base}/records", params={"change_status": "queued_for_review"}).json()
    assert 0 < queued["count"] < len(seed.records) and all(r["queued"] for r in queued["data"])
    searched = client.post(
        f"{base}/records/search", json={"filter": {"external_ids": ["AC-10002", "AC-XSS"]}}
    ).json()
    assert sorted(r["id"] for r in searched["data"]) == ["AC-10002", "AC-XSS"]
    unknown = client.post(f"{base}/records/search", json={"filter": {"equals": {'a"b': 1}}})
    assert "no attribute" in assert_error(unknown, 422)["detail"]
    typed = client.post(f"{base}/records/search", json={"filter": {"equals": {"price": 11.0}}})
    assert [r["id"] for r in typed.json()["data"]] == ["AC-10001"]

    runs = client.get(f"{base}/runs").json()
    assert runs["count"] == 1 and runs["data"][0]["status"] == "failed"
    run = client.get(f"{base}/runs/{seed.run_id}").json()
    assert "price_min" in run["error"] and run["changes"]["queued_for_review"] > 0
    failed = [r["name"] for r in run["validation"]["results"] if not r["success"]]
    assert failed == ["price_min", "upc_pattern"]

    report = client.get(f"{base}/quality").json()
    assert report["records"] == len(seed.records)
    completeness = {c["attribute"]: c for c in report["completeness"]}
    assert completeness["title"]["share"] == 1.0 and completeness["mpn"]["filled"] == 0
    assert {b["field"] for b in report["confidence"]} >= {"category", "pack_size"}
    assert report["validation"]["success"] is False and report["queue"][-1]["queued"] > 0


def test_unknown_and_foreign_ids_answer_404(api: Api, seeded, tmp_path: Path) -> None:
    seed, client = seeded
    other_org, other_key = api.new_key()
    other = seed_catalog(api.store_url, tmp_path / "other", organization=other_org)
    foreign_change = other.queued(api.store_url)[0].id
    base = f"/api/catalogs/{seed.catalog}"

    assert_error(client.get("/api/catalogs/no-such-catalogue/changes"), 404)
    assert_error(client.get(f"/api/catalogs/{other.catalog}/changes"), 404)
    assert_error(client.get(f"{base}/changes/{foreign_change}"), 404)
    assert_error(client.post(f"{base}/changes/{foreign_change}/approve"), 404)
    assert _change(api, foreign_change).status == "queued_for_review"
    assert_error(client.get(f"{base}/records/AC-NOPE"), 404)
    assert_error(client.get(f"{base}/runs/{other.run_id}"), 404)
    assert_error(client.post(f"{base}/rollback", json={"run_id": other.run_id}), 404)
    assert_error(client.get(f"{base}/changes/{2**63}"), 422)
    assert_error(client.get(f"{base}/changes/0"), 422)
    assert_error(api.anonymous().get(f"{base}/changes"), 401)
    names = [c["name"] for c in client.get("/api/catalogs").json()["data"]]
    assert names == [seed.catalog]
