"""Enrichment jobs and dataset tasks are Prefect flow runs too (flows `enrich-job` and
`dataset-task`): named after the job, completed in Prefect when the job completes."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from tests.api.conftest import Api, start_api, wait_for


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("prefect-tasks-api")
    running, server = start_api(f"sqlite:///{tmp / 'store.db'}", tmp, jobs="embedded")
    yield running
    server.stop()


def _flow_run_of(api: Api, job_id: str):
    from prefect.client.orchestration import get_client

    from catalog.db import session_scope
    from catalog.models import Run

    with session_scope(api.store_url) as session:
        flow_run_id = session.get(Run, int(job_id)).flow_run_id
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id))


def test_enrich_job_and_dataset_task_are_flow_runs(prefect_api: Api) -> None:
    client = prefect_api.client()
    job = client.post(
        "/api/public/enrich",
        json={
            "items": [{"name": "Drill 18V"}],
            "output_schema": [{"name": "voltage", "type": "number", "unit": "V"}],
            "web_search": False,
        },
    ).json()
    assert job["status"] == "completed", job
    assert job["results"][0]["after_data"]["voltage"] == 18.0
    run = _flow_run_of(prefect_api, job["job_id"])
    assert run.state.is_completed() and job["job_id"] in run.name

    dataset = client.post(
        "/api/v2/datasets",
        json={
            "name": "tools",
            "columns": [
                {"name": "title"},
                {"name": "voltage", "type": "number", "unit": "V", "taskType": "enrichment"},
            ],
            "rows": [{"title": "Grinder 230V"}],
        },
    ).json()
    did = dataset["datasetId"]
    task = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={}).json()
    url = f"/api/v2/datasets/{did}/tasks/{task['taskId']}"
    done = wait_for(lambda: (t := client.get(url).json())["status"] == "completed" and t)
    assert done["progress"]["filledCells"] == 1
    run = _flow_run_of(prefect_api, task["taskId"])
    assert run.state.is_completed() and task["taskId"] in run.name
