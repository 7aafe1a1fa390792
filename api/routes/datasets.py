"""Datasets and dataset tasks (seed 002, ``/api/v2``): datasets of rows and columns, new-rows
and bulk-processing tasks, task status, cancel, the dataset lock, and webhook registration for
completion notifications.

Errors carry the contract's codes in the API's one error shape (``error.code``):
DATASET_NOT_FOUND / TASK_NOT_FOUND / WEBHOOK_NOT_FOUND 404, DATASET_LOCKED and
TASK_NOT_CANCELLABLE 409, INVALID_SELECTION 400, QUOTA_EXCEEDED 429.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.datasets import service, tasks
from api.datasets.errors import TaskApiError
from api.datasets.ids import as_key
from api.datasets.models import Dataset, DatasetColumn
from api.datasets.schemas import (
    BulkTaskCreate,
    CellPublic,
    CellUpdate,
    ColumnPublic,
    DatasetData,
    DatasetDetail,
    DatasetList,
    DatasetPublic,
    DeliveryLog,
    NewRowsTaskCreate,
    Pagination,
    RowPublic,
    TaskCancelled,
    TaskPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookDetail,
)
from api.deps import CurrentOrganization, SessionDep
from api.errors import ApiError
from api.outbound import require_public_url
from api.webhooks import enqueue
from catalog.models import Organization, Run
from catalog.webhooks.models import WebhookDelivery, WebhookSubscription

router = APIRouter(prefix="/api/v2", tags=["datasets"])

MAX_ACTIVE_TASKS = 10
"""Queued or processing tasks one organization may have at once (QUOTA_EXCEEDED beyond)."""


@contextmanager
def _contract_errors() -> Iterator[None]:
    """The dataset domain's refusals as the API's error shape, with the contract's codes."""
    try:
        yield
    except TaskApiError as exc:
        raise ApiError(exc.http_status, exc.message, code=exc.code) from exc


# --- helpers ----------------------------------------------------------------------------


def _column(c: DatasetColumn) -> ColumnPublic:
    return ColumnPublic(
        columnId=c.id,
        name=c.name,
        type=c.type,
        description=c.description,
        unit=c.unit,
        enum=c.enum,
        taskType=c.task_type,
        position=c.position,
    )


def _dataset(session: Session, dataset: Dataset) -> DatasetPublic:
    rows, staged = service.row_counts(session, dataset.id)
    columns = service.columns_of(session, dataset.id)
    locked = dataset.locked_by_run_id is not None
    return DatasetPublic(
        datasetId=dataset.id,
        name=dataset.name,
        description=dataset.description,
        type=dataset.type,
        status="locked" if locked else "ready",
        locked=locked,
        lockedByTaskId=str(dataset.locked_by_run_id) if locked else None,
        rowCount=rows,
        pendingSourceRows=staged,
        columnCount=len(columns),
        createdAt=dataset.created_at,
        updatedAt=dataset.updated_at,
    )


def _detail(session: Session, dataset: Dataset) -> DatasetDetail:
    columns = [_column(c) for c in service.columns_of(session, dataset.id)]
    return DatasetDetail(**_dataset(session, dataset).model_dump(), columns=columns)


def _pagination(page: int, limit: int, total: int) -> Pagination:
    return Pagination(page=page, limit=limit, total=total, totalPages=-(-total // limit))


def _start(request: Request, run: Run) -> None:
    """Hand a committed task to the app's job runner; when it ends, unlock and notify."""
    sessions = request.app.state.sessions
    sender = request.app.state.webhooks
    generic = request.app.state.on_job_finish

    def notify(*, run_id: int, webhook_id: str, payload: dict[str, Any]) -> None:
        with sessions() as session, session.begin():
            webhook = session.get(WebhookSubscription, as_key(webhook_id))
            event = f"dataset.task.{payload['status']}"
            if (
                webhook is None
                or not webhook.active
                or (webhook.events and event not in webhook.events)
            ):
                return
            delivery = enqueue(
                session,
                organization_id=webhook.organization_id,
                url=webhook.url,
                event=event,
                payload=payload,
                subscription_id=webhook.id,
                run_id=run_id,
            )
            delivery_id = delivery.id
        sender.dispatch([delivery_id])

    def on_finish(finished_id: int) -> None:
        tasks.task_finished(sessions, finished_id, notify)
        generic(finished_id)

    request.app.state.jobs.submit(run, on_finish=on_finish)


def _create_task(
    request: Request,
    session: Session,
    org: Organization,
    dataset_id: str,
    **kwargs: Any,
) -> TaskPublic:
    with _contract_errors():
        dataset = service.get_dataset(session, organization_id=org.id, dataset_id=dataset_id)
        run = tasks.create_task(
            session,
            organization=org,
            dataset=dataset,
            max_active=MAX_ACTIVE_TASKS,
            **kwargs,
        )
    # Committed here, not by the session dependency (which closes after the response is
    # sent): a client reading the task right after this answer must find it.
    session.commit()
    _start(request, run)
    return TaskPublic(**tasks.task_payload(run))


# --- datasets ---------------------------------------------------------------------------


@router.post("/datasets", status_code=201)
def create_dataset(
    spec: service.DatasetSpec, session: SessionDep, org: CurrentOrganization
) -> DatasetDetail:
    """Create a dataset from columns and rows (objects keyed by column name). Columns with
    ``taskType: "enrichment"`` are filled by tasks; ``sourceRows`` wait for new-rows tasks."""
    dataset = service.create_dataset(session, organization_id=org.id, spec=spec)
    detail = _detail(session, dataset)
    session.commit()  # durable before the client hears back (see `_create_task`)
    return detail


@router.get("/datasets")
def list_datasets(
    session: SessionDep,
    org: CurrentOrganization,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DatasetList:
    datasets, total = service.list_datasets(session, organization_id=org.id, page=page, limit=limit)
    return DatasetList(
        datasets=[_dataset(session, d) for d in datasets],
        pagination=_pagination(page, limit, total),
    )


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: str, session: SessionDep, org: CurrentOrganization) -> DatasetDetail:
    with _contract_errors():
        dataset = service.get_dataset(session, organization_id=org.id, dataset_id=dataset_id)
    return _detail(session, dataset)


@router.get("/datasets/{dataset_id}/data")
def get_dataset_data(
    dataset_id: str,
    session: SessionDep,
    org: CurrentOrganization,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> DatasetData:
    """A page of rows as a 2D array, with each cell's id, value and how it was filled."""
    with _contract_errors():
        dataset = service.get_dataset(session, organization_id=org.id, dataset_id=dataset_id)
    columns, rows, cells = service.data_page(session, dataset=dataset, page=page, limit=limit)
    total, _ = service.row_counts(session, dataset.id)
    out_rows = []
    for row in rows:
        out_rows.append(
            RowPublic(
                rowId=row.id,
                cells=[
                    CellPublic(
                        cellId=cells[(row.id, c.id)].id,
                        columnId=c.id,
                        value=cells[(row.id, c.id)].value,
                        metadata=cells[(row.id, c.id)].meta or {},
                    )
                    for c in columns
                ],
            )
        )
    return DatasetData(
        datasetId=dataset.id,
        columns=[_column(c) for c in columns],
        data=[[cell.value for cell in row.cells] for row in out_rows],
        rows=out_rows,
        pagination=_pagination(page, limit, total),
    )


@router.patch("/datasets/{dataset_id}/cells/{cell_id}")
def update_cell(
    dataset_id: str, cell_id: str, body: CellUpdate, session: SessionDep, org: CurrentOrganization
) -> CellPublic:
    """Edit one cell (its metadata is reset). Refused with DATASET_LOCKED while a task runs."""
    with _contract_errors():
        dataset = service.get_dataset(session, organization_id=org.id, dataset_id=dataset_id)
        cell = service.update_cell(session, dataset=dataset, cell_id=cell_id, value=body.value)
    session.commit()
    return CellPublic(cellId=cell.id, columnId=cell.column_id, value=cell.value, metadata={})


# --- tasks ------------------------------------------------------------------------------


@router.post("/datasets/{dataset_id}/tasks/new-rows", status_code=201)
def create_new_rows_task(
    dataset_id: str,
    body: NewRowsTaskCreate,
    request: Request,
    session: SessionDep,
    org: CurrentOrganization,
) -> TaskPublic:
    """Add the next ``rowCount`` rows from the dataset's source rows and fill their
    enrichment cells. The dataset is locked until the task ends."""
    return _create_task(
        request,
        session,
        org,
        dataset_id,
        operation=tasks.NEW_ROWS,
        row_count=body.rowCount,
        webhook_id=body.webhookId,
    )


@router.post("/datasets/{dataset_id}/tasks/bulk", status_code=201)
def create_bulk_task(
    dataset_id: str,
    body: BulkTaskCreate,
    request: Request,
    session: SessionDep,
    org: CurrentOrganization,
) -> TaskPublic:
    """Fill cells: all empty cells (no ids), ``cellIds``, whole ``columnIds`` or ``rowIds``,
    or the intersection of ``rowIds`` and ``columnIds``; ``processOnlyEmpty`` (default true)
    leaves filled cells alone."""
    selection = tasks.Selection(
        cell_ids=tuple(body.cellIds) if body.cellIds is not None else None,
        column_ids=tuple(body.columnIds) if body.columnIds is not None else None,
        row_ids=tuple(body.rowIds) if body.rowIds is not None else None,
        only_empty=body.processOnlyEmpty,
    )
    return _create_task(
        request,
        session,
        org,
        dataset_id,
        operation=tasks.BULK,
        selection=selection,
        webhook_id=body.webhookId,
    )


@router.get("/datasets/{dataset_id}/tasks/{task_id}")
def get_task(
    dataset_id: str, task_id: str, session: SessionDep, org: CurrentOrganization
) -> TaskPublic:
    with _contract_errors():
        service.get_dataset(session, organization_id=org.id, dataset_id=dataset_id)
        run = tasks.get_task(
            session, organization_id=org.id, dataset_id=dataset_id, task_id=task_id
        )
    return TaskPublic(**tasks.task_payload(run))


@router.post("/datasets/{dataset_id}/tasks/{task_id}/cancel")
def cancel_task(
    dataset_id: str, task_id: str, session: SessionDep, org: CurrentOrganization
) -> TaskCancelled:
    """Cancel a queued or processing task (TASK_NOT_CANCELLABLE otherwise); the dataset is
    unlocked at once and cells already filled stay."""
    with _contract_errors():
        service.get_dataset(session, organization_id=org.id, dataset_id=dataset_id)
        run = tasks.get_task(
            session, organization_id=org.id, dataset_id=dataset_id, task_id=task_id
        )
        tasks.cancel_task(session, run=run)
    session.commit()
    return TaskCancelled(
        success=True,
        message=f"Task {run.id} cancelled",
        task=TaskPublic(**tasks.task_payload(run)),
    )


# --- webhooks (registration in the contract's shape) ------------------------------------


@router.post("/webhooks", status_code=201, tags=["webhooks"])
def create_webhook(
    body: WebhookCreate, session: SessionDep, org: CurrentOrganization
) -> WebhookCreated:
    """Register an endpoint for task notifications; pass its ``webhookId`` when creating a
    task. Deliveries are signed with the secret (HMAC-SHA256, see ``/api/webhooks``)."""
    require_public_url(str(body.url), field="url")
    secret = body.secret or secrets.token_urlsafe(32)
    webhook = WebhookSubscription(
        organization_id=org.id, url=str(body.url), secret=secret, events=list(body.events)
    )
    session.add(webhook)
    session.commit()
    return WebhookCreated(
        webhookId=str(webhook.id),
        name=body.name,
        url=webhook.url,
        events=webhook.events,
        status="active",
        secret=secret,
        createdAt=webhook.created_at,
    )


@router.get("/webhooks/{webhook_id}", tags=["webhooks"])
def get_webhook(webhook_id: str, session: SessionDep, org: CurrentOrganization) -> WebhookDetail:
    """A webhook with its latest deliveries (the secret is never shown again)."""
    with _contract_errors():
        webhook = tasks.find_webhook(session, organization_id=org.id, webhook_id=webhook_id)
    deliveries = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(20)
    )
    return WebhookDetail(
        webhookId=str(webhook.id),
        url=webhook.url,
        events=webhook.events,
        status="active" if webhook.active else "inactive",
        createdAt=webhook.created_at,
        deliveries=[
            DeliveryLog(
                deliveryId=str(d.id),
                event=d.event,
                status=d.status,
                attempts=d.attempts,
                responseStatus=d.response_status,
                lastError=d.last_error,
                createdAt=d.created_at,
                deliveredAt=d.delivered_at,
            )
            for d in deliveries
        ],
    )
