"""skuflow's deployments on a real Prefect server (PostgreSQL-backed when available), served by
`skuflow serve` in a subprocess: a cron schedule creates and runs the portal pickup, whose
event starts an onboard, whose completion triggers the export; a validation failure stops the
chain; a review checkpoint resumes with the reviewer's decision or times out cleanly;
artifacts and events are published; schedules pause and resume."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.schedules import CronSchedule
from prefect.client.schemas.sorting import ArtifactSort, DeploymentSort, FlowRunSort
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run

from catalog.db import session_scope
from catalog.models import Change, Record, Run
from tests.conftest import EXAMPLES, ROOT
from tests.orchestration.conftest import Served, wait_for

pytestmark = pytest.mark.slow

SCHEMA = EXAMPLES / "catalog.yaml"
CATALOG = "acme-supplier-catalog"
RUN_TIMEOUT = 300


def _deployment_id(name: str) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name).id


def _runs_of(deployment: str) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[_deployment_id(deployment)])
            ),
            sort=FlowRunSort.START_TIME_ASC,
            limit=200,
        )


def _read_run(flow_run_id: Any) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def _final(flow_run_id: Any, timeout: float = RUN_TIMEOUT) -> FlowRun:
    return wait_for(
        lambda: (run := _read_run(flow_run_id)).state.is_final() and run,
        timeout=timeout,
        what=f"flow run {flow_run_id} to finish",
    )


def _finished_run(deployment: str, where=lambda run: True, timeout: float = RUN_TIMEOUT) -> FlowRun:
    """A finished run of ``deployment`` matching ``where`` (the first to finish)."""
    return wait_for(
        lambda: next(
            (r for r in _runs_of(deployment) if where(r) and r.state and r.state.is_final()),
            None,
        ),
        timeout=timeout,
        what=f"a finished run of {deployment}",
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _settled_copy(source: Path, target: Path) -> Path:
    """Copy a file and date it in the past, so a watcher takes it as completely written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    past = time.time() - 60
    os.utime(target, (past, past))
    return target


def _schema_named(name: str, folder: Path) -> Path:
    text = SCHEMA.read_text(encoding="utf-8").replace(f"name: {CATALOG}", f"name: {name}", 1)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _skuflow_events(
    api_url: str, prefix: str = "skuflow.", resource_id: str | None = None
) -> list[dict[str, Any]]:
    """Events from the server's events API, oldest first (its page size is at most 50)."""
    query: dict[str, Any] = {"event": {"prefix": [prefix]}, "order": "ASC"}
    if resource_id:
        query["resource"] = {"id": [resource_id]}
    response = httpx.post(
        f"{api_url}/events/filter", json={"filter": query, "limit": 50}, timeout=10
    )
    response.raise_for_status()
    return response.json()["events"]


def _land_from_another_process(served: Served, *, source: Path, catalog: Path) -> None:
    """Announce a file the way the API's webhook does: `emit_source_landed` in its own
    process (this one's Prefect events client may be bound to another test server)."""
    code = (
        "from flows.support.landing import emit_source_landed; "
        f"emit_source_landed(source={str(source)!r}, catalog={str(catalog)!r}, origin='webhook')"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PREFECT_API_URL": served.api_url, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def pipeline(served: Served) -> dict[str, Any]:
    """A supplier file in the portal inbox and a seconds-level cron schedule on the pickup
    deployment; wait for the scheduled pickup, the onboard its event starts, and the export
    that onboard's completion triggers."""
    inbox = served.workdir / "portal"
    _settled_copy(EXAMPLES / "acme_supplier_catalog.csv", inbox / "acme.csv")
    pickup_id = _deployment_id("portal-pickup/portal-pickup-hourly")
    with get_client(sync_client=True) as client:
        (schedule,) = client.create_deployment_schedules(
            pickup_id,
            [(CronSchedule(cron="* * * * * */5"), True)],
            parameters={
                "inbox": str(inbox),
                "catalog": str(SCHEMA),
                "taxonomy": str(EXAMPLES / "taxonomy.txt"),
                "companies": str(EXAMPLES / "suppliers.csv"),
                "out": str(served.workdir / "out"),
            },
        )
    try:
        pickup = _finished_run(
            "portal-pickup/portal-pickup-hourly", where=lambda r: r.auto_scheduled
        )
    finally:
        with get_client(sync_client=True) as client:
            client.delete_deployment_schedule(pickup_id, schedule.id)
    onboard = _finished_run("onboard/onboard-on-landing")
    export = _finished_run(
        "export/export-after-onboard", where=lambda r: r.parameters.get("catalog") == CATALOG
    )
    return {"inbox": inbox, "pickup": pickup, "onboard": onboard, "export": export}


def test_a_cron_schedule_creates_and_runs_the_portal_pickup(pipeline: dict[str, Any]) -> None:
    pickup = pipeline["pickup"]
    assert pickup.auto_scheduled and pickup.state.is_completed(), pickup.state
    assert not (pipeline["inbox"] / "acme.csv").exists()
    (claimed,) = (pipeline["inbox"] / "claimed").iterdir()
    assert claimed.name.endswith("-acme.csv")


def test_the_landed_file_event_starts_an_onboard_that_completes(
    pipeline: dict[str, Any], served: Served
) -> None:
    onboard = pipeline["onboard"]
    assert onboard.state.is_completed(), onboard.state.message
    (claimed,) = (pipeline["inbox"] / "claimed").iterdir()
    assert onboard.parameters["source"] == str(claimed)
    with session_scope(served.store_url) as session:
        run = session.scalar(sa.select(Run).where(Run.flow_run_id == str(onboard.id)))
        assert run.status == "completed"
        records = session.scalar(sa.select(sa.func.count()).select_from(Record))
    assert records == len(_rows(EXAMPLES / "acme_supplier_catalog.csv"))


def test_a_completed_onboard_triggers_the_chained_export(
    pipeline: dict[str, Any], served: Served
) -> None:
    export = pipeline["export"]
    assert export.state.is_completed(), export.state.message
    assert export.start_time >= pipeline["onboard"].end_time
    exported = _rows(served.workdir / "exports" / f"{CATALOG}.csv")
    assert len(exported) == len(_rows(EXAMPLES / "acme_supplier_catalog.csv"))


def test_every_run_publishes_summary_review_items_validation_and_progress(
    pipeline: dict[str, Any],
) -> None:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[pipeline["onboard"].id])),
            limit=200,
            offset=0,
            sort=ArtifactSort.ID_DESC,
        )
    by_key = {a.key: a for a in artifacts}
    assert "# onboard" in by_key[f"onboard-{CATALOG}-summary"].data
    assert by_key[f"{CATALOG}-validation-report"].type == "markdown"
    assert by_key[f"{CATALOG}-review-items"].type == "table"
    progress = by_key[f"{CATALOG}-onboard-progress"]
    assert progress.type == "progress" and float(progress.data) == 100.0


def test_runs_and_changes_emit_batched_events(pipeline: dict[str, Any], served: Served) -> None:
    with session_scope(served.store_url) as session:
        run_id = session.scalar(
            sa.select(Run.id).where(Run.flow_run_id == str(pipeline["onboard"].id))
        )
        applied = session.scalar(
            sa.select(sa.func.count())
            .select_from(Change)
            .where(Change.run_id == run_id, Change.status == "applied")
        )
    events = _skuflow_events(served.api_url, resource_id=f"skuflow.run.{run_id}")
    names = [e["event"] for e in events]
    assert names[0] == "skuflow.run.started" and names[-1] == "skuflow.run.completed"
    assert "skuflow.change.queued_for_review" in names
    applied_events = [e for e in events if e["event"] == "skuflow.change.applied"]
    # one event per stage, not one per change
    assert len(applied_events) == len({e["resource"]["skuflow.stage"] for e in applied_events})
    assert sum(e["payload"]["count"] for e in applied_events) == applied


def test_a_failed_validation_stops_the_chain(served: Served, pipeline: dict[str, Any]) -> None:
    """A file failing validation onboards to a Failed run and no export; the same file fixed
    then onboards and exports once — so the earlier failure's event triggered nothing."""
    schema = _schema_named("halt-catalog", served.workdir)
    with (EXAMPLES / "acme_supplier_catalog.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    rows[3]["Product Name"] = ""  # title is required
    bad = served.workdir / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)

    _land_from_another_process(served, source=bad, catalog=schema)
    failed = _finished_run(
        "onboard/onboard-on-landing", where=lambda r: r.parameters.get("source") == str(bad)
    )
    assert failed.state.is_failed()
    assert "validation failed" in failed.state.message

    good = _settled_copy(EXAMPLES / "acme_supplier_catalog.csv", served.workdir / "good.csv")
    _land_from_another_process(served, source=good, catalog=schema)
    fixed = _finished_run(
        "onboard/onboard-on-landing", where=lambda r: r.parameters.get("source") == str(good)
    )
    assert fixed.state.is_completed()
    export = _finished_run(
        "export/export-after-onboard",
        where=lambda r: r.parameters.get("catalog") == "halt-catalog",
    )
    assert export.state.is_completed() and export.start_time >= fixed.end_time
    halt_exports = [
        r
        for r in _runs_of("export/export-after-onboard")
        if r.parameters["catalog"] == "halt-catalog"
    ]
    assert len(halt_exports) == 1


def _onboard_run_id(served: Served, pipeline: dict[str, Any]) -> int:
    with session_scope(served.store_url) as session:
        return session.scalar(
            sa.select(Run.id).where(Run.flow_run_id == str(pipeline["onboard"].id))
        )


def _queued(served: Served, run_id: int) -> list[tuple[int, float]]:
    with session_scope(served.store_url) as session:
        return session.execute(
            sa.select(Change.id, Change.confidence).where(
                Change.run_id == run_id, Change.status == "queued_for_review"
            )
        ).all()


def test_a_review_that_times_out_fails_cleanly_and_keeps_the_queue(
    served: Served, pipeline: dict[str, Any]
) -> None:
    run_id = _onboard_run_id(served, pipeline)
    before = _queued(served, run_id)
    assert before
    flow_run = run_deployment(
        "review/review-enrichment",
        parameters={
            "run_id": run_id,
            "stage": None,
            "timeout_seconds": 3,
            "on_timeout": "fail",
            "poll_seconds": 1,
        },
        timeout=0,
    )
    done = _final(flow_run.id)
    assert done.state.is_failed()
    assert _queued(served, run_id) == before
    # Two clocks race here, and either is a clean failure with its reason: the flow's own pause
    # timeout (our message, on the state and in the run's logs) or the server's pause-expiry
    # service failing the run first (Prefect's message, on the state).
    message = done.state.message or ""
    if message.endswith("and never resumed.") or "timed out after 3 s" in message:
        return
    wait_for(
        lambda: any("timed out after 3 s" in log.message for log in _logs(flow_run.id)),
        # Logs reach the server in batches from the flow's process.
        timeout=60,
        what=f"the timeout reason in the run's logs (final state: {done.state.message!r})",
    )


def _logs(flow_run_id: Any) -> list:
    with get_client(sync_client=True) as client:
        return client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200
        )


def test_low_confidence_enrichment_branches_to_a_paused_review(
    served: Served, pipeline: dict[str, Any]
) -> None:
    run_id = _onboard_run_id(served, pipeline)
    review = wait_for(
        lambda: next(
            (
                r
                for r in _runs_of("review/review-enrichment")
                if r.parameters.get("run_id") == run_id
                and r.parameters.get("stage") == "enrich"
                and r.state.is_paused()
            ),
            None,
        ),
        timeout=RUN_TIMEOUT,
        what="the enrichment review run to pause",
    )
    assert review.parameters["on_timeout"] == "keep_queued"


def test_a_paused_review_resumed_continues_with_the_decision(
    served: Served, pipeline: dict[str, Any]
) -> None:
    run_id = _onboard_run_id(served, pipeline)
    queued = _queued(served, run_id)
    flow_run = run_deployment(
        "review/review-enrichment",
        parameters={"run_id": run_id, "stage": None, "poll_seconds": 1},
        timeout=0,
    )
    wait_for(
        lambda: _read_run(flow_run.id).state.is_paused(),
        timeout=RUN_TIMEOUT,
        what="the review run to pause",
    )
    resume_flow_run(
        flow_run.id,
        run_input={"action": "approve_above", "min_confidence": 0.7, "reviewer": "tester"},
    )
    assert _final(flow_run.id).state.is_completed()
    with session_scope(served.store_url) as session:
        decided = session.execute(
            sa.select(Change.id, Change.status, Change.reviewer).where(
                Change.id.in_([change_id for change_id, _ in queued])
            )
        ).all()
    status = {change_id: (state, reviewer) for change_id, state, reviewer in decided}
    for change_id, confidence in queued:
        if confidence >= 0.7:
            assert status[change_id] == ("approved", "tester")
        else:
            assert status[change_id][0] == "queued_for_review"
    expected = sum(1 for _, confidence in queued if confidence >= 0.7)

    def approved_by_tester() -> int:
        events = _skuflow_events(served.api_url, "skuflow.change.approved")
        return sum(e["payload"]["count"] for e in events if e["payload"]["reviewer"] == "tester")

    wait_for(
        lambda: approved_by_tester() == expected,
        timeout=30,
        what=f"skuflow.change.approved events counting {expected} changes",
    )


def test_pause_all_and_resume_all_toggle_only_the_active_schedules(served: Served) -> None:
    from deployments.schedules import pause_all, resume_all, schedule_states

    before = {(s.deployment, s.schedule_id): s.active for s in schedule_states()}
    assert any(before.values()) and not all(before.values())  # export-nightly starts inactive
    paused = pause_all()
    assert set(paused) == {d for (d, _), active in before.items() if active}
    assert not any(s.active for s in schedule_states())
    resume_all()
    assert {(s.deployment, s.schedule_id): s.active for s in schedule_states()} == before


def test_prefect_deploy_all_works_from_a_clean_checkout(served: Served, tmp_path: Path) -> None:
    """Last in this module: it re-registers the deployments for a work pool."""
    checkout = tmp_path / "checkout"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(checkout)], check=True
    )
    env = {**os.environ, "PREFECT_API_URL": served.api_url, "SKUFLOW_PROJECT_DIR": str(checkout)}
    prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
    subprocess.run(
        [*prefect, "work-pool", "create", "local-process", "--type", "process"],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [*prefect, "deploy", "--all"], cwd=checkout, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with get_client(sync_client=True) as client:
        deployed = {
            d.name: d for d in client.read_deployments(limit=200, sort=DeploymentSort.NAME_ASC)
        }
    assert deployed["onboard-on-landing"].work_pool_name == "local-process"
    assert deployed["monitor-daily"].schedules[0].schedule.cron == "0 6 * * *"


# -- the HTTP API's jobs as flow runs of prefect.yaml's deployments ------------------------------

PORTAL_SCHEMA = """
name: portal-parts
kind: products
id: sku
text: [title]
unknown_columns: ignore
attributes:
  - {name: sku, type: text, required: true, source: ["sku"]}
  - {name: title, type: text, required: true, source: ["title"]}
  - {name: price, type: number, min: 0, source: ["price"]}
"""


@pytest.fixture(scope="module")
def deployed_api(served: Served) -> Any:
    """The API with SKUFLOW_API_JOBS=deployments over the served deployments' store: its jobs
    are flow runs of prefect.yaml's deployments, executed by `skuflow serve`."""
    from api.main import create_app
    from api.settings import ApiSettings
    from tests.api.conftest import Api, LiveServer

    settings = ApiSettings(
        store_url=served.store_url, home=served.workdir / ".skuflow", jobs="deployments"
    )
    app = create_app(settings)
    server = LiveServer(app, inherit_context=True).start()
    yield Api(url=server.url, store_url=served.store_url, app=app)
    server.stop()


def _job_flow_run(api: Any, job_id: int) -> FlowRun:
    with session_scope(api.store_url) as session:
        flow_run_id = wait_for(
            lambda: session.get(Run, job_id).flow_run_id or session.expire_all(),
            timeout=30,
            what=f"job {job_id}'s flow run",
        )
    return _read_run(flow_run_id)


def test_an_api_job_is_a_run_of_its_deployment_and_is_cancelled_through_the_api(
    deployed_api: Any,
) -> None:
    from api.jobs import create_job
    from catalog.repository import get_or_create_organization

    org, key = deployed_api.new_key()
    client = deployed_api.client(key=key)
    job_id = client.post("/api/ingest", json={"source": "erp", "records": [{"id": "A-1"}]}).json()[
        "job_id"
    ]
    run = _final(_job_flow_run(deployed_api, job_id).id)
    with get_client(sync_client=True) as prefect:
        deployment = prefect.read_deployment(run.deployment_id)
        assert (prefect.read_flow(run.flow_id).name, deployment.name) == (
            "api-ingest",
            "api-ingest",
        )
    assert run.name == f"ingest-{job_id}" and run.parameters == {"job_id": job_id}
    assert run.state.is_completed(), run.state
    job = client.get(f"/api/jobs/{job_id}").json()
    assert (job["status"], job["completed"], job["credits_used"]) == ("completed", 1, 1.0)

    with session_scope(deployed_api.store_url) as session:  # an ingest that never finishes
        never = create_job(
            session,
            organization=get_or_create_organization(session, name=org),
            operation="ingest",
            params={"records": []},
        ).id
    sync_id = client.post("/api/sync", json={"job_id": never, "destination": "erp"}).json()[
        "sync_id"
    ]
    flow_run = _job_flow_run(deployed_api, sync_id)
    wait_for(
        lambda: _read_run(flow_run.id).state.is_running(),
        timeout=RUN_TIMEOUT,
        what="the sync job's flow run to start on the served runner",
    )
    assert client.post(f"/api/jobs/{sync_id}/cancel").json()["status"] == "cancelled"
    cancelled = _final(flow_run.id)
    assert cancelled.state.is_cancelled(), cancelled.state
    assert client.get(f"/api/sync/{sync_id}").json()["status"] == "cancelled"


def test_a_portal_upload_starts_an_onboard_run_through_the_landed_event(
    deployed_api: Any, served: Served, tmp_path: Path
) -> None:
    from catalog.repository import get_or_create_organization, upsert_catalog
    from catalog.schema import CatalogSchema

    org, key = deployed_api.new_key()
    (tmp_path / "portal.yaml").write_text(PORTAL_SCHEMA)
    with session_scope(deployed_api.store_url) as session:
        upsert_catalog(
            session,
            organization=get_or_create_organization(session, name=org),
            schema=CatalogSchema.from_yaml(tmp_path / "portal.yaml"),
        )
    owner = deployed_api.client(key=key)
    token = owner.post(
        "/api/catalogs/portal-parts/supplier-tokens", json={"supplier": "Acme"}
    ).json()["token"]
    answer = httpx.put(
        f"{deployed_api.url}/api/portal/uploads/prices.csv",
        content=b"sku,title,price\nPT-1,Bolt,1.5\nPT-2,Nut,0.5\n",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["onboarding"] == "announced"

    run = _finished_run(
        "onboard/onboard-on-landing",
        where=lambda r: (
            "prices.csv" in str(r.parameters.get("source"))
            and r.parameters.get("organization") == org
        ),
    )
    assert run.state.is_completed(), run.state
    assert run.parameters["catalog"] == "portal-parts"
    landed = _skuflow_events(
        served.api_url, "skuflow.source.landed", resource_id="skuflow.source.portal.Acme"
    )
    assert any(e["payload"]["parameters"]["source"] == run.parameters["source"] for e in landed)
    with session_scope(deployed_api.store_url) as session:
        skus = set(
            session.scalars(sa.select(Record.external_id).where(Record.external_id.like("PT-%")))
        )
    assert skus == {"PT-1", "PT-2"}
