"""Matching routes over a live API: clusters, proposals with evidence, decisions (merge,
reject, unmerge), organization scope and errors."""

from __future__ import annotations

from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Record
from matching import stage
from tests.api.conftest import Api
from tests.matching.test_stage import ingest, offers, schema


def _catalogue_with_proposals(api: Api) -> tuple[str, str, int]:
    organization, key = api.new_key()
    s = schema(auto_merge=1.0, reject=0.0)  # every proposal waits for a person
    frame, _ = offers(0, 300)
    catalog_id = ingest(api.store_url, frame, org=organization, s=s)
    with session_scope(api.store_url) as session:
        counts = stage.dedupe_catalog(session, catalog_id=catalog_id, schema=s, run_id=None)
    assert counts["queued_for_review"] > 0
    return key, s.name, catalog_id


def _values(api: Api, catalog_id: int) -> dict[str, dict]:
    with session_scope(api.store_url) as session:
        return {
            r.external_id: r.values
            for r in session.scalars(select(Record).where(Record.catalog_id == catalog_id))
        }


def test_proposals_decisions_and_clusters(api: Api) -> None:
    key, name, catalog_id = _catalogue_with_proposals(api)
    client = api.client(key=key)
    base = f"/api/catalogs/{name}"
    assert client.get(f"{base}/clusters").json() == {"data": [], "count": 0}

    listed = client.get(f"{base}/match-proposals")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["count"] >= 1
    first = body["data"][0]
    assert first["status"] == "queued_for_review" and 0 <= first["confidence"] <= 0.85
    assert first["evidence"]["agreed"] and "values" in first["evidence"]
    assert first["record"] != first["into"]
    before = _values(api, catalog_id)

    merged = client.post(
        f"{base}/match-proposals/{first['id']}/decision",
        json={"decision": "approve", "reviewer": "ana"},
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["proposal"]["status"] == "approved"
    assert merged.json()["changes"] == 1 + len(first["survivor_changes"])
    clusters = client.get(f"{base}/clusters").json()
    assert clusters["count"] == 1
    assert clusters["data"][0]["members"] == [first["into"], first["record"]]

    again = client.post(
        f"{base}/match-proposals/{first['id']}/decision", json={"decision": "approve"}
    )
    assert again.status_code == 400 and "not waiting for review" in again.json()["detail"]

    undone = client.post(
        f"{base}/match-proposals/{first['id']}/decision",
        json={"decision": "unmerge", "reviewer": "ana"},
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["proposal"]["status"] == "rolled_back"
    assert client.get(f"{base}/clusters").json()["count"] == 0
    assert _values(api, catalog_id) == before

    second = body["data"][1] if body["count"] > 1 else None
    if second:
        rejected = client.post(
            f"{base}/match-proposals/{second['id']}/decision", json={"decision": "reject"}
        )
        assert rejected.json()["proposal"]["status"] == "rejected"


def test_another_organization_sees_nothing(api: Api) -> None:
    key, name, _ = _catalogue_with_proposals(api)
    ours = api.client(key=key)
    proposal_id = ours.get(f"/api/catalogs/{name}/match-proposals").json()["data"][0]["id"]
    theirs = api.client()
    assert theirs.get(f"/api/catalogs/{name}/clusters").status_code == 404
    assert theirs.get(f"/api/catalogs/{name}/match-proposals").status_code == 404
    decided = theirs.post(
        f"/api/catalogs/{name}/match-proposals/{proposal_id}/decision", json={"decision": "approve"}
    )
    assert decided.status_code == 404
    assert api.anonymous().get(f"/api/catalogs/{name}/clusters").status_code == 401
    # still waiting, untouched by the other organization's attempt
    assert ours.get(f"/api/catalogs/{name}/match-proposals/{proposal_id}").json()["status"] == (
        "queued_for_review"
    )


def test_bad_ids_and_decisions(api: Api) -> None:
    key, name, _ = _catalogue_with_proposals(api)
    client = api.client(key=key)
    base = f"/api/catalogs/{name}/match-proposals"
    assert client.get(f"{base}/abc").status_code == 422
    assert client.get(f"{base}/999999").status_code == 404
    proposal_id = client.get(base).json()["data"][0]["id"]
    bad = client.post(f"{base}/{proposal_id}/decision", json={"decision": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]
    not_merged = client.post(f"{base}/{proposal_id}/decision", json={"decision": "unmerge"})
    assert not_merged.status_code == 400
