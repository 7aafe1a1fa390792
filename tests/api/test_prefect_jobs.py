"""Embedded jobs: every job is a run of its operation's flow (named after the job, its id on the
job), and cancelling the job through the API ends its flow run as Cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from tests.api.conftest import Api, start_api, wait_for


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("prefect-api")
    running, server = start_api(f"sqlite:///{tmp / 'store.db'}", tmp, jobs="embedded")
    yield running
    server.stop()


def _flow_run(flow_run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id))


def _flow_run_id(api: Api, job_id: int) -> str | None:
    from catalog.db import session_scope
    from catalog.models import Run

    with session_scope(api.store_url) as session:
        return session.get(Run, job_id).flow_run_id


def test_a_job_is_a_flow_run(prefect_api: Api) -> None:
    from prefect.client.orchestration import get_client

    client = prefect_api.client()
    job_id = client.post("/api/ingest", json={"source": "s", "records": [{"id": "A"}]}).json()[
        "job_id"
    ]
    sync = client.post(
        "/api/sync", json={"job_id": job_id, "destination": "erp", "data": [{"id": "A"}]}
    ).json()
    done = wait_for(
        lambda: (
            (s := client.get(f"/api/sync/{sync['sync_id']}").json())["status"]
            in ("completed", "failed")
            and s
        )
    )
    assert done["status"] == "completed", done
    run = _flow_run(_flow_run_id(prefect_api, sync["sync_id"]))
    assert run.name == f"sync-{sync['sync_id']}"
    assert run.state.is_completed()
    assert run.parameters == {"job_id": sync["sync_id"]}
    with get_client(sync_client=True) as prefect:
        assert prefect.read_flow(run.flow_id).name == "api-sync"


def test_cancelling_a_job_cancels_its_flow_run(prefect_api: Api) -> None:
    from api.jobs import create_job
    from catalog.db import session_scope
    from catalog.repository import get_or_create_organization

    org, key = prefect_api.new_key()
    client = prefect_api.client(key=key)
    with session_scope(prefect_api.store_url) as session:  # an ingest that never finishes
        never = create_job(
            session,
            organization=get_or_create_organization(session, name=org),
            operation="ingest",
            params={"records": []},
        ).id
    sync_id = client.post("/api/sync", json={"job_id": never, "destination": "erp"}).json()[
        "sync_id"
    ]
    flow_run_id = wait_for(lambda: _flow_run_id(prefect_api, sync_id))
    wait_for(lambda: _flow_run(flow_run_id).state.is_running())
    assert client.post(f"/api/jobs/{sync_id}/cancel").json()["status"] == "cancelled"
    assert wait_for(lambda: _flow_run(flow_run_id).state.is_cancelled())
    assert client.get(f"/api/sync/{sync_id}").json()["status"] == "cancelled"


def test_an_organizations_pause_leaves_the_installations_schedules_alone(
    prefect_api: Api,
) -> None:
    """One organization's key pauses that organization only: the deployments' schedules serve
    every organization, so pause/resume through the API never switch them (the CLI does)."""
    from datetime import timedelta

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import IntervalSchedule

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("skuflow-api-test")
        deployment_id = client.create_deployment(
            flow_id=flow_id,
            name="hourly-enrich",
            tags=["skuflow"],
            schedules=[
                DeploymentScheduleCreate(
                    schedule=IntervalSchedule(interval=timedelta(hours=1)), active=True
                )
            ],
        )

    def active() -> bool:
        with get_client(sync_client=True) as client:
            return client.read_deployment_schedules(deployment_id)[0].active

    api, other = prefect_api.client(), prefect_api.client()
    assert api.post("/v1/auto-enrichment/pause").json() == {"paused": True}
    assert active() is True
    assert other.get("/v1/auto-enrichment/config").json()["paused"] is False
    assert api.post("/v1/auto-enrichment/resume").json() == {"paused": False}
    assert active() is True

    from typer.testing import CliRunner

    from cli.main import app

    paused = CliRunner().invoke(app, ["schedules", "pause"])
    assert paused.exit_code == 0, paused.output
    assert "hourly-enrich" in paused.output and active() is False
    resumed = CliRunner().invoke(app, ["schedules", "resume"])
    assert resumed.exit_code == 0 and "hourly-enrich" in resumed.output and active() is True
