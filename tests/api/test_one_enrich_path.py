"""One enrichment path: the same catalogue — records with Brand and Color partly filled —
enriched by onboard (the flow), by `POST /api/public/enrich` with `catalog_id`, and by the
auto-enrichment API gets the same values, conflicts and statuses, because all three call the one
enrich stage. Through onboard the learned provider fills the rest, citing spans, applying or
queueing each value by its confidence."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Catalog, Change, Organization, Record
from enrichment.models import Conflict
from tests.api.conftest import Api, wait_for

pytestmark = pytest.mark.usefixtures("prefect_harness")

FIELDS = [
    {"name": "brand", "type": "string", "description": "Brand"},
    {"name": "color", "type": "string", "description": "Colour"},
]
BRANDS = ["Ansell", "Brightline", "Corvo", "Dexter", "Elkhorn", "Fenwick"]
RARE = ["Galeno", "Harlow", "Ironbark", "Juniper", "Kestrel", "Lumen", "Marlin", "Nordvik"]
"""Brands a record or two have: a long tail, as real catalogues have."""
COLORS = ["Black", "Blue", "Grey", "Orange", "Yellow", "Green"]
UNSEEN = "Zorvex"
"""A brand only records without a brand carry: found because the model generalises."""
SCHEMA_YAML = """
name: gloves-and-glasses
id: id
text: [name, description]
attributes:
  - {name: id, required: true}
  - {name: name}
  - {name: description}
  - {name: category, derive: classify}
  - {name: brand, description: Brand, derive: extract}
  - {name: color, description: Colour, derive: extract}
"""


def catalogue(n: int = 72) -> list[dict[str, str]]:
    """Work gloves and safety glasses (categories of the API's example taxonomy, so its
    classifier leaves them alone); a third have no brand, another third no colour, and a few
    are worded unlike the rest."""
    rng = random.Random(12)
    rows = []
    for i in range(n):
        gloves = i % 2 == 0
        brand = UNSEEN if i % 12 == 3 else rng.choice(BRANDS if i % 4 else RARE)
        color = rng.choice(COLORS)
        if gloves:
            name = rng.choice(
                [
                    "{b} Nitrile Work Gloves, {c}, Size {s}",
                    "{b} Cut-Resistant Gloves - {c} - Size {s}",
                    "{b} Leather Work Gloves for men, colour {c}, Size {s}",
                ]
            ).format(b=brand, c=color, s=rng.choice(["S", "M", "L", "XL"]))
        else:
            name = rng.choice(
                [
                    "{b} Safety Glasses with {c} Frame, Anti-Fog",
                    "{b} Wraparound Safety Glasses - {c} - Clear Lens",
                ]
            ).format(b=brand, c=color)
        if i % 12 == 7:  # worded unlike anything labelled: whatever is found waits for a person
            name = f"pack of 12 pairs, {color.lower()} gloves by {brand.lower()}"
        row = {
            "id": f"G-{i:03d}",
            "name": name,
            "description": "Sold per pair." if gloves else "Sold each.",
            "category": "Work Gloves" if gloves else "Safety Glasses",
            "brand": "" if brand == UNSEEN or i % 3 == 1 else brand,
            "color": "" if i % 3 == 2 else color,
        }
        rows.append(row)
    return rows


def enrich_changes(store_url: str, catalog_id: int) -> dict[tuple[str, str], tuple[Any, ...]]:
    with session_scope(store_url) as session:
        rows = session.execute(
            select(
                Record.external_id,
                Change.field,
                Change.new_value,
                Change.status,
                Change.confidence,
                Change.provider,
                Change.sources,
            )
            .join(Record, Record.id == Change.record_id)
            .where(Change.catalog_id == catalog_id, Change.operation == "enrich")
        ).all()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def open_conflicts(store_url: str, catalog_id: int) -> set[tuple[Any, ...]]:
    with session_scope(store_url) as session:
        rows = session.execute(
            select(Record.external_id, Conflict.field, Conflict.proposed_value)
            .join(Record, Record.id == Conflict.record_id)
            .where(Conflict.catalog_id == catalog_id)
        ).all()
    return {tuple(r) for r in rows}


def catalog_id_of(store_url: str, organization: str, name: str) -> int:
    with session_scope(store_url) as session:
        return session.scalar(
            select(Catalog.id)
            .join(Organization, Organization.id == Catalog.organization_id)
            .where(Organization.name == organization, Catalog.name == name)
        )


def ingest(client: Any, records: list[dict[str, str]]) -> dict[str, Any]:
    sent = [{k: v for k, v in r.items() if v} for r in records]
    job_id = client.post("/api/ingest", json={"source": "gloves", "records": sent}).json()
    job_id = job_id["job_id"]
    return wait_for(
        lambda: (
            (j := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("queued", "running")
            and j
        )
    )


def test_onboard_the_enrich_api_and_auto_enrichment_give_the_same_values(
    api: Api, tmp_path: Path
) -> None:
    from flows.onboard import onboard

    rows = catalogue()
    source = tmp_path / "gloves.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    schema = tmp_path / "catalog.yaml"
    schema.write_text(SCHEMA_YAML, encoding="utf-8")

    # 1. onboard, the flow
    summary = onboard(
        source=str(source),
        catalog=str(schema),
        database_url=api.store_url,
        organization="onepath-onboard",
    )
    assert summary["status"] == "completed", summary
    onboarded = enrich_changes(
        api.store_url, catalog_id_of(api.store_url, "onepath-onboard", "gloves-and-glasses")
    )

    # the learned provider filled the rest, citing spans, by confidence
    by_id = {r["id"]: r for r in rows}
    missing = [(r["id"], f) for r in rows for f in ("brand", "color") if not r[f]]
    found = [key for key in missing if key in onboarded]
    assert len(found) >= 0.8 * len(missing), (len(found), len(missing))
    assert any(
        by_id[i]["name"].startswith(UNSEEN) and onboarded[(i, "brand")][0] == UNSEEN
        for i, f in found
        if f == "brand"
    )
    for (external_id, _), (value, status, confidence, provider, sources) in onboarded.items():
        assert "learned" in provider
        span = next(s for s in sources if s.startswith("record:name["))
        start, end = map(int, span.removeprefix("record:name[").rstrip("]").split(":"))
        assert by_id[external_id]["name"][start:end] == value
        expected = "applied" if confidence >= 0.9 else "queued_for_review"
        assert status == (expected if confidence >= 0.5 else "dropped")
    statuses = {status for _, status, *_ in onboarded.values()}
    assert "applied" in statuses
    # a brand learned from names that start with it is not trusted blindly elsewhere
    odd = [k for k in onboarded if by_id[k[0]]["name"].startswith("pack of")]
    assert odd and all(onboarded[k][1] != "applied" for k in odd if k[1] == "brand")
    assert all(key in missing for key in onboarded)  # given values are never overwritten

    # 2. the auto-enrichment API: records arrive, the organization's config enriches them
    auto_org, auto_key = api.new_key("onepath-auto")
    auto = api.client(key=auto_key)
    patched = auto.patch(
        "/v1/auto-enrichment/config", json={"enabled": True, "fields": {"product": FIELDS}}
    )
    assert patched.status_code == 200, patched.text
    ingested = ingest(auto, rows)
    assert ingested["status"] == "completed", ingested
    [job_id] = ingested["result"]["enrichment_jobs"]
    job = wait_for(
        lambda: (
            (j := auto.get(f"/v1/auto-enrichment/jobs/{job_id}").json())["status"]
            in ("completed", "failed")
            and j
        )
    )
    assert job["status"] == "completed", job
    auto_catalog = catalog_id_of(api.store_url, auto_org, "api-gloves")

    # 3. POST /api/public/enrich with catalog_id, on the same records
    job_org, job_key = api.new_key("onepath-job")
    client = api.client(key=job_key)
    assert ingest(client, rows)["status"] == "completed"
    job_catalog = catalog_id_of(api.store_url, job_org, "api-gloves")
    body = client.post(
        "/api/public/enrich",
        json={
            "items": [{"id": r["id"]} for r in rows],
            "output_schema": FIELDS,
            "catalog_id": str(job_catalog),
        },
    ).json()
    assert body["status"] == "completed", body

    auto_changes = enrich_changes(api.store_url, auto_catalog)
    job_changes = enrich_changes(api.store_url, job_catalog)
    assert onboarded == auto_changes == job_changes
    assert (
        open_conflicts(api.store_url, auto_catalog)
        == open_conflicts(api.store_url, job_catalog)
        == open_conflicts(
            api.store_url, catalog_id_of(api.store_url, "onepath-onboard", "gloves-and-glasses")
        )
    )
    # the job's answer shows what the changes hold
    for item, result in zip(rows, body["results"], strict=True):
        for name in ("brand", "color"):
            change = job_changes.get((item["id"], name))
            if change is not None and change[1] != "dropped":
                assert result["after_data"][name] == change[0]
