"""The API's jobs as flows: one named flow per kind of job, each a deployment in prefect.yaml.

``ingest-42`` is a run of flow ``api-ingest`` (records stored, then classified), ``sync-43`` of
``api-sync``, an enrichment job of ``enrich-job``, a dataset task of ``dataset-task``, an
auto-enrichment job of ``auto-enrich``. The only parameter is the job id: the job's inputs are
on its stored run, and the store and settings come from the process (``SKUFLOW_*``), so no
secret is ever a flow-run parameter.

Embedded, `JobRunner` calls the flow in one of the API's threads with the app's store and
settings (`run_embedded`). With deployments, `start_deployment_run` creates a flow run of the
job's deployment (``run_deployment(..., timeout=0)``) and a worker executes it, reading the
store and settings from its environment. Either way the flow claims the job under a lease
(`api.jobs.execute_job`), so a job is worked on by one process at a time and a job whose
process died is taken over and completed.

Chained work goes through events: an ingest that queues auto-enrichment jobs emits
``skuflow.job.queued`` for each (`flows.support.run_events.emit_job_queued`); the
``auto-enrich-on-ingest`` deployment's trigger runs them on a worker, and embedded the runner
starts them in-process as well (the claim keeps it to one run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from prefect import Flow, flow
from prefect.states import Cancelled, State
from sqlalchemy.orm import Session, sessionmaker

from api.auto_enrichment.service import OPERATION as AUTO_ENRICH
from api.datasets.tasks import BULK, NEW_ROWS
from api.enrich_jobs.models import JOB_OPERATION as ENRICH_JOB
from api.jobs import JobGone, JobWork, execute_job
from api.settings import ApiSettings, get_api_settings
from catalog.db import engine_for, transaction
from catalog.models import Run, RunStatus

if TYPE_CHECKING:
    from api.jobs import JobRunner

log = logging.getLogger("skuflow.api.jobs")


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its flow, the deployment that runs it on a worker, its work."""

    operation: str
    flow: Flow[..., Any]
    deployment: str
    """``<flow name>/<deployment name>`` in prefect.yaml."""
    work: Callable[[ApiSettings], JobWork]
    restart: str = "reset"
    """``reset``: a taken-over job redoes every item (its counts start again; idempotent
    stages skip what is done); ``continue``: its work skips what it finished."""
    after: Callable[[sessionmaker[Session], int], None] | None = None
    """Run when the job ends on a worker (embedded, the route's own callback does it)."""


# -- the process a job runs in ------------------------------------------------------------------

_embedded: ContextVar[JobRunner | None] = ContextVar("skuflow_job_runner", default=None)
"""The runner whose thread calls a job's flow (embedded): the flow runs in that thread, so it
sees this, and two apps in one process (tests) never run each other's job of the same id."""


@lru_cache(maxsize=1)
def _worker_runner() -> JobRunner:
    """On a worker: a runner over the store of this process's settings (no threads used)."""
    from api.jobs import JobRunner
    from api.redaction import Redactor

    settings = get_api_settings()
    sessions = sessionmaker(engine_for(settings.resolved_store_url), expire_on_commit=False)
    return JobRunner(
        sessions,
        settings=settings,
        workers=1,
        mode="deployments",
        lease_seconds=settings.job_lease_seconds,
        redactor=Redactor.for_settings(settings),
    )


def _runner_for() -> JobRunner:
    runner = _embedded.get()
    return runner if runner is not None else _worker_runner()


def _run_job(job_id: int) -> Any:  # the job's result or a Cancelled state
    """The body of every job flow: claim the job, do its work, finish it."""
    runner = _runner_for()
    try:
        context = runner.context(job_id)
    except JobGone:
        return {"job_id": job_id, "status": "deleted"}
    kind = JOB_KINDS[context.operation]
    if runner.mode == "deployments":
        context.hand_over = None  # follow-ups start from their event's trigger
    status = execute_job(
        context,
        kind.work(runner.settings),
        owner=runner.owner,
        lease_seconds=runner.lease_seconds,
        restart=kind.restart,
        redactor=runner.redactor,
    )
    if runner.mode == "deployments" and status is not None and kind.after is not None:
        kind.after(runner.sessions, job_id)
    with transaction(runner.sessions) as session:
        run = session.get(Run, job_id)
        if run is None:
            return {"job_id": job_id, "status": "deleted"}
        if status == RunStatus.CANCELLED:
            return Cancelled(message=f"job {job_id} was cancelled through the API")
        if status == RunStatus.FAILED:
            raise RuntimeError(f"job {job_id} failed: {run.error}")
        return {"job_id": job_id, "status": run.status, "counts": dict(run.counts or {})}


def run_embedded(runner: JobRunner, job_id: int) -> RunStatus | None:
    """Embedded: run the job's flow here, with ``runner``'s store and settings."""
    with transaction(runner.sessions) as session:
        run = session.get(Run, job_id)
        if run is None:
            raise JobGone(job_id)
        kind = JOB_KINDS[run.operation]
    token = _embedded.set(runner)
    try:
        kind.flow(job_id=job_id, return_state=True)
    finally:
        _embedded.reset(token)
    with transaction(runner.sessions) as session:
        run = session.get(Run, job_id)
        if run is None:
            raise JobGone(job_id)
        return RunStatus(run.status) if run.status != RunStatus.RUNNING.value else None


def start_deployment_run(sessions: sessionmaker[Session], job_id: int) -> str:
    """Deployments: a flow run of the job's deployment (not waited for); its id on the job."""
    from prefect.deployments import run_deployment

    with transaction(sessions) as session:
        run = session.get(Run, job_id)
        kind = JOB_KINDS[run.operation]
        name = f"{run.operation}-{run.id}"
    flow_run = run_deployment(
        kind.deployment,
        parameters={"job_id": job_id},
        flow_run_name=name,
        timeout=0,
        tags=["skuflow", "api-job"],
    )
    with transaction(sessions) as session:
        session.get(Run, job_id).flow_run_id = str(flow_run.id)
    return str(flow_run.id)


def cancel_flow_run(flow_run_id: str) -> None:
    """Cancel a job's flow run in Prefect when a worker runs it (a deployment's run): one not
    started yet ends Cancelled, a running one goes to Cancelling and its worker stops it. An
    embedded flow run ends Cancelled by itself at the work's next chunk."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    try:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
            if flow_run.deployment_id is None or flow_run.state is None:
                return
            if flow_run.state.is_final():
                return
            state: State[Any] = (
                Cancelled(message="cancelled through the skuflow API")
                if flow_run.state.is_scheduled() or flow_run.state.is_pending()
                else Cancelling(message="cancelled through the skuflow API")
            )
            client.set_flow_run_state(flow_run.id, state, force=True)
    except Exception:  # the job is cancelled in the store either way
        log.exception("cancelling flow run %s in Prefect failed", flow_run_id)


def mark_crashed(flow_run_id: str, *, taken_over_by: str | None) -> None:
    """The flow run of a job whose process died ends Crashed in Prefect (nobody else would
    end it) when another process takes the job over."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    message = "its process stopped; the job was taken over" + (
        f" by flow run {taken_over_by}" if taken_over_by else ""
    )
    try:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
            if flow_run.state is not None and not flow_run.state.is_final():
                client.set_flow_run_state(flow_run.id, Crashed(message=message), force=True)
    except Exception:  # the job goes on; only the old run's display is stale
        log.exception("marking flow run %s crashed failed", flow_run_id)


# -- the flows ------------------------------------------------------------------------------------


@flow(name="api-ingest", flow_run_name="ingest-{job_id}", persist_result=False)
def ingest_job(job_id: int) -> Any:
    """An ingest job: store the records (each bad one fails alone), classify the stored ones,
    queue the auto-enrichment the organization's config asks for."""
    return _run_job(job_id)


@flow(name="api-sync", flow_run_name="sync-{job_id}", persist_result=False)
def sync_job(job_id: int) -> Any:
    """A sync job: push an ingest job's records (or inline data) to a destination."""
    return _run_job(job_id)


@flow(name="enrich-job", flow_run_name="enrich-job-{job_id}", persist_result=False)
def enrich_job(job_id: int) -> Any:
    """An enrichment job: its items through the enrich engine, in batches."""
    return _run_job(job_id)


@flow(name="dataset-task", flow_run_name="dataset-task-{job_id}", persist_result=False)
def dataset_task(job_id: int) -> Any:
    """A dataset task: fill a dataset's cells, a batch of rows at a time."""
    return _run_job(job_id)


@flow(name="auto-enrich", flow_run_name="auto-enrich-{job_id}", persist_result=False)
def auto_enrich_job(job_id: int) -> Any:
    """An auto-enrichment job: the arrived records through the one enrich stage."""
    return _run_job(job_id)


def _ingest_work(settings: ApiSettings) -> JobWork:
    from api.auto_enrichment.service import queue_auto_enrichment
    from api.pipeline.service import ingest_work

    return ingest_work(settings, after_store=queue_auto_enrichment)


def _sync_work(settings: ApiSettings) -> JobWork:
    from api.pipeline.sync import sync_work

    return sync_work(settings)


def _enrich_work(_settings: ApiSettings) -> JobWork:
    from api.enrich_jobs.service import run_job

    return run_job


def _dataset_work(_settings: ApiSettings) -> JobWork:
    from api.datasets.tasks import process_task

    return process_task


def _dataset_after(sessions: sessionmaker[Session], job_id: int) -> None:
    from api.datasets.tasks import task_finished

    task_finished(sessions, job_id, None)


def _auto_enrich_work(settings: ApiSettings) -> JobWork:
    from api.auto_enrichment.service import auto_enrich_work

    return auto_enrich_work(settings)


JOB_KINDS: dict[str, JobKind] = {
    kind.operation: kind
    for kind in (
        JobKind("ingest", ingest_job, "api-ingest/api-ingest", _ingest_work),
        JobKind("sync", sync_job, "api-sync/api-sync", _sync_work),
        JobKind(ENRICH_JOB, enrich_job, "enrich-job/api-enrich-job", _enrich_work, "continue"),
        JobKind(
            BULK,
            dataset_task,
            "dataset-task/api-dataset-task",
            _dataset_work,
            "continue",
            _dataset_after,
        ),
        JobKind(
            NEW_ROWS,
            dataset_task,
            "dataset-task/api-dataset-task",
            _dataset_work,
            "continue",
            _dataset_after,
        ),
        JobKind(
            AUTO_ENRICH, auto_enrich_job, "auto-enrich/auto-enrich-on-ingest", _auto_enrich_work
        ),
    )
}
"""Every operation an API job can have, and how it runs."""
