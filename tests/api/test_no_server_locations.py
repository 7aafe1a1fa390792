"""Job results, job errors and webhook payloads name things (a destination and file name, a
table, ``<store>``), never the server's file paths or database URLs: a client learns neither
how the server is laid out nor a database password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Api, start_api, synced_file, wait_for
from tests.fakes.webhook_receiver import start_receiver


@pytest.fixture
def own_api(tmp_path: Path, prefect_harness: None) -> Iterator[tuple[Api, Path]]:
    targets = {
        "warehouse": f"sqlite:///{tmp_path / 'warehouse.db'}#synced_products",
        # nothing listens on port 1: the job fails, with the driver's error text
        "crm": "postgresql+psycopg://skuflow:hunter2-secret@127.0.0.1:1/crm#accounts",
    }
    running, server = start_api(
        f"sqlite:///{tmp_path / 'store.db'}", tmp_path, sync_targets=targets
    )
    try:
        yield running, tmp_path
    finally:
        for client in running.clients:
            client.close()
        server.stop()


def _finished(client: httpx.Client, job_id: int) -> dict:
    return wait_for(
        lambda: (
            (j := client.get(f"/api/jobs/{job_id}").json())["status"] in ("completed", "failed")
            and j
        ),
        timeout=120,
    )


def _leaks(text: str, tmp: Path) -> list[str]:
    return [s for s in (str(tmp), "sqlite:", "postgresql", "hunter2") if s in text]


def test_job_results_and_webhooks_name_no_server_location(own_api: tuple[Api, Path]) -> None:
    api, tmp = own_api
    client = api.client()
    with start_receiver() as receiver:
        hook = receiver.endpoint("jobs", "j" * 20)
        assert client.post("/api/webhooks", json={"url": hook, "secret": "j" * 20}).is_success
        ingest = client.post(
            "/api/ingest", json={"source": "sap", "records": [{"id": "1", "title": "Drill 18V"}]}
        ).json()
        _finished(client, ingest["job_id"])
        jobs = {}
        for destination in ("erp", "warehouse", "crm"):
            sync = client.post(
                "/api/sync", json={"job_id": ingest["job_id"], "destination": destination}
            ).json()
            jobs[destination] = _finished(client, sync["sync_id"])
        wait_for(lambda: len(receiver.bodies(hook)) == 4, timeout=30)
        payloads = receiver.bodies(hook)
    erp, warehouse, crm = jobs["erp"], jobs["warehouse"], jobs["crm"]
    destination, folder, name = erp["result"]["location"].split("/")
    assert (destination, name) == ("erp", f"sync-{erp['job_id']}.json")
    assert folder.startswith("organization-")  # each organization's files in its own folder
    assert json.loads(synced_file(api, erp["result"]).read_text())[0]["id"] == "1"
    assert warehouse["result"]["location"] == "warehouse: table synced_products"
    assert crm["status"] == "failed" and crm["error"]
    shown = json.dumps([jobs, payloads, client.get("/api/webhooks/deliveries").json()])
    assert _leaks(shown, tmp) == [], shown


def test_the_redactor_names_known_locations_and_hides_other_passwords(tmp_path: Path) -> None:
    from api.redaction import Redactor
    from api.settings import ApiSettings

    settings = ApiSettings(
        store_url="postgresql://app:pw-1@db.internal:5432/skuflow",
        home=tmp_path / "home",
        companies=tmp_path / "ref" / "companies.csv",
        sync_targets={"erp": "postgresql://etl:pw-2@erp.internal/erp#items"},
    )
    redactor = Redactor.for_settings(settings)
    error = (
        f"FileNotFoundError: {tmp_path / 'home' / 'models' / 'x.joblib'}; reading "
        f"{tmp_path / 'ref' / 'companies.csv'}; postgresql+psycopg://app:pw-1@db.internal:5432/"
        "skuflow and postgresql://etl:pw-2@erp.internal/erp, mysql://u:pw-3@other/db"
    )
    shown = redactor.text(error)
    assert str(tmp_path) not in shown
    assert all(p not in shown for p in ("pw-1", "pw-2", "pw-3")), shown
    assert "<home>/models/x.joblib" in shown and "companies.csv" in shown
    assert "<sync target erp>" in shown and "mysql://u:***@other/db" in shown
    assert redactor.value({"a": [error]}) == {"a": [shown]}
