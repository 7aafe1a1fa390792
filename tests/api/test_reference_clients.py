"""The seed's own client code, pointed at skuflow: the drop-in Node connector (run with
`node`, file unchanged; a preload adds the API key header) and the Python examples (ported
line for line, with the key header added)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.api.conftest import Api, synced_file, wait_for

CLIENTS = Path(__file__).parent / "clients"
RECORDS = [
    {"id": "SKU-001", "name": "Industrial Air Compressor 5HP", "description": "..."},
    {"id": "SKU-002", "name": "Pneumatic Drill 18V", "description": "..."},
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_drop_in_connector_runs_its_full_pipeline(api: Api) -> None:
    _, key = api.new_key()
    env = {
        **os.environ,
        "CLARO_API_BASE": api.url,
        "SKUFLOW_API_KEY": key,
        "RECORDS": json.dumps(RECORDS),
        "DESTINATION": "warehouse",
        "FORMAT": "csv",
    }
    done = subprocess.run(
        ["node", "-r", "./bearer.js", "run-pipeline.js"],
        cwd=CLIENTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("[Claro] Job ") and "ingested 2 records" in lines[0]
    assert lines[1] == "[Claro] Classified 2 products"
    assert lines[2] == "[Claro] Enriched 1 suppliers"
    assert "queued — status: processing" in lines[3]
    result = json.loads(lines[-1])
    assert [c["id"] for c in result["classifications"]] == ["SKU-001", "SKU-002"]
    assert result["classifications"][0]["category"].startswith("Pneumatics > Air Compressors")
    assert result["enrichments"][0]["input"] == {"company_name": "SKU"}
    client = api.client(key=key)
    sync = wait_for(
        lambda: (
            (s := client.get(f"/api/sync/{result['sync_id']}").json())["status"] == "completed"
            and s
        )
    )
    assert synced_file(api, sync["result"]).read_text().splitlines()[0].startswith("id,")


def test_python_examples(api: Api) -> None:
    _, key = api.new_key()
    auth = {"Authorization": f"Bearer {key}"}
    base = api.url

    # POST /api/ingest (Python (requests) example)
    resp = requests.post(
        f"{base}/api/ingest",
        json={
            "source": "acme-erp",
            "records": [
                {"id": "SKU-001", "name": "Industrial Air Compressor 5HP", "description": "..."},
            ],
        },
        headers=auth,
    )
    data = resp.json()
    job_id = data["job_id"]
    assert isinstance(job_id, int) and data["status"] == "queued" and data["record_count"] == 1

    # The Node examples' bodies for the other three endpoints, sent the same way.
    classified = requests.post(
        f"{base}/api/classify", json={"job_id": job_id, "records": RECORDS}, headers=auth
    ).json()
    assert classified["classified_count"] == 2
    enriched = requests.post(
        f"{base}/api/enrich",
        json={
            "records": [
                {"company_name": "Harker Industrial Supply", "domain": "harkersupply.com"},
                {"company_name": "Pinnacle Parts Co.", "domain": "pinnacleparts.com"},
            ]
        },
        headers=auth,
    ).json()
    assert enriched["enriched_count"] == 0 and len(enriched["enrichments"]) == 2
    synced = requests.post(
        f"{base}/api/sync",
        json={"job_id": job_id, "destination": "erp", "format": "json"},
        headers=auth,
    ).json()
    assert set(synced) == {"sync_id", "job_id", "destination", "status", "estimated_completion"}
