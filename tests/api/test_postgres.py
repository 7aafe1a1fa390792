"""The API over PostgreSQL: the pipeline end to end into a table, keys and isolation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api, assert_error, wait_for

pytestmark = pytest.mark.postgres


def test_pipeline_into_a_postgres_table(pg_api: Api) -> None:
    client, other = pg_api.client(), pg_api.client()
    records = [
        {"id": f"PG-{i}", "name": f"Hex bolt M{i}", "description": "zinc plated"} for i in range(50)
    ]
    job = client.post("/api/ingest", json={"source": "sap", "records": records}).json()
    assert_error(other.get(f"/api/jobs/{job['job_id']}"), 404, "JOB_NOT_FOUND")
    sync = client.post(
        "/api/sync", json={"job_id": job["job_id"], "destination": "warehouse"}
    ).json()
    done = wait_for(
        lambda: (
            (s := client.get(f"/api/sync/{sync['sync_id']}").json())["status"]
            in ("completed", "failed")
            and s
        )
    )
    assert done["status"] == "completed", done
    assert "synced_products" in done["result"]["location"]
    engine = sa.create_engine(pg_api.store_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM synced_products ORDER BY id")).scalars().all()
    engine.dispose()
    assert ids == sorted(r["id"] for r in records)
    classified = client.post(
        "/api/classify", json={"job_id": job["job_id"], "records": records[:2]}
    ).json()
    assert classified["classified_count"] == 2
    credits = client.get("/api/jobs", params={"operation": "ingest"}).json()["data"][0]
    assert credits["credits_used"] == 50
