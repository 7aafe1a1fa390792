"""Dataset tasks: which cells a request selects, creating a task (quota, webhook, lock),
cancelling it, and the work that fills the cells in batches of rows.

A task is a job (`api.jobs`): a `Run` with operation ``dataset_bulk`` or ``dataset_new_rows``.
Its selection is stored in the run's params and resolved again by the work — the dataset is
locked in between, so both see the same cells.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from api.datasets.errors import TaskApiError
from api.datasets.ids import as_key
from api.datasets.models import Dataset, DatasetCell, DatasetColumn, DatasetRow
from api.datasets.service import (
    ENRICHMENT,
    acquire_lock,
    cell_id_for,
    columns_of,
    is_empty,
    lock_organization,
    release_lock,
    resolve_cells,
)
from api.jobs import ACTIVE, JobCancelled, JobContext, cancel_job, create_job
from api.usage import charge
from catalog.models import Organization, Run, RunStatus, utcnow
from catalog.webhooks.models import WebhookSubscription

BULK = "dataset_bulk"
NEW_ROWS = "dataset_new_rows"
OPERATIONS = (BULK, NEW_ROWS)
MAX_NEW_ROWS = 10_000
ROWS_PER_BATCH = 2_000
_ID_LIST_LIMIT = 10


@dataclass(frozen=True)
class Selection:
    """A bulk request's targeting, as the contract defines it (ids are public ids)."""

    cell_ids: tuple[str, ...] | None = None
    column_ids: tuple[str, ...] | None = None
    row_ids: tuple[str, ...] | None = None
    only_empty: bool = True

    def as_params(self) -> dict[str, Any]:
        return {
            "cellIds": list(self.cell_ids) if self.cell_ids is not None else None,
            "columnIds": list(self.column_ids) if self.column_ids is not None else None,
            "rowIds": list(self.row_ids) if self.row_ids is not None else None,
            "processOnlyEmpty": self.only_empty,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Selection:
        def ids(key: str) -> tuple[str, ...] | None:
            value = params.get(key)
            return tuple(value) if value is not None else None

        return cls(
            ids("cellIds"), ids("columnIds"), ids("rowIds"), bool(params["processOnlyEmpty"])
        )


def _invalid(message: str) -> TaskApiError:
    return TaskApiError("INVALID_SELECTION", message)


def _shown(ids: Sequence[str]) -> str:
    more = len(ids) - _ID_LIST_LIMIT
    return ", ".join(ids[:_ID_LIST_LIMIT]) + (f" and {more} more" if more > 0 else "")


def check_selection(session: Session, *, dataset: Dataset, selection: Selection) -> None:
    """Refuse a selection the contract does not allow, naming the offending ids: cellIds with
    row/column ids, an empty id list, ids not in this dataset, input (non-enrichment) columns."""
    if selection.cell_ids is not None and (
        selection.row_ids is not None or selection.column_ids is not None
    ):
        raise _invalid("cellIds cannot be combined with rowIds or columnIds")
    for key, ids in (
        ("cellIds", selection.cell_ids),
        ("columnIds", selection.column_ids),
        ("rowIds", selection.row_ids),
    ):
        if ids is not None and not ids:
            raise _invalid(f"{key} is empty; omit it to process every empty cell")
    columns = {c.id: c for c in columns_of(session, dataset.id)}
    enrichment = {cid for cid, c in columns.items() if c.task_type == ENRICHMENT}
    if not enrichment:
        raise _invalid(f"dataset '{dataset.id}' has no enrichment column to process")
    if selection.column_ids is not None:
        unknown = [c for c in selection.column_ids if c not in columns]
        if unknown:
            raise _invalid(f"column(s) not in this dataset: {_shown(unknown)}")
        inputs = [c for c in selection.column_ids if c not in enrichment]
        if inputs:
            names = [columns[c].name for c in inputs]
            raise _invalid(f"input column(s) cannot be processed: {_shown(names)}")
    if selection.row_ids is not None:
        found = set(
            session.scalars(
                select(DatasetRow.id).where(
                    DatasetRow.dataset_id == dataset.id,
                    DatasetRow.staged.is_(False),
                    DatasetRow.id.in_(set(selection.row_ids)),
                )
            )
        )
        unknown = [r for r in selection.row_ids if r not in found]
        if unknown:
            raise _invalid(f"row(s) not in this dataset: {_shown(unknown)}")
    if selection.cell_ids is not None:
        places = resolve_cells(session, dataset_id=dataset.id, cell_ids=selection.cell_ids)
        found_cells = {cid: column_id for cid, (_, column_id) in places.items()}
        unknown = [c for c in selection.cell_ids if c not in found_cells]
        if unknown:
            raise _invalid(f"cell(s) not in this dataset: {_shown(unknown)}")
        inputs = [c for c in selection.cell_ids if found_cells[c] not in enrichment]
        if inputs:
            raise _invalid(f"cell(s) of input columns cannot be processed: {_shown(inputs)}")


def _selected(
    session: Session,
    dataset_id: str,
    selection: Selection,
    *,
    row_ids: Sequence[str] | None = None,
) -> list[Any]:
    """The WHERE clauses picking the selected cells (enrichment columns of visible rows) from
    `_grid`: every (row, column) of the dataset, stored or not."""
    clauses = [
        DatasetRow.dataset_id == dataset_id,
        DatasetRow.staged.is_(False),
        DatasetColumn.task_type == ENRICHMENT,
    ]
    if selection.cell_ids is not None:
        places = resolve_cells(session, dataset_id=dataset_id, cell_ids=selection.cell_ids)
        clauses.append(tuple_(DatasetRow.id, DatasetColumn.id).in_(set(places.values())))
    if selection.column_ids is not None:
        clauses.append(DatasetColumn.id.in_(set(selection.column_ids)))
    if selection.row_ids is not None:
        clauses.append(DatasetRow.id.in_(set(selection.row_ids)))
    if row_ids is not None:
        clauses.append(DatasetRow.id.in_(list(row_ids)))
    if selection.only_empty:
        clauses.append(DatasetCell.value.is_(None))  # not stored, or stored empty
    return clauses


def _grid(query: Select) -> Select:
    """Rows × columns of a dataset, with the stored cell where there is one (empty cells are
    not stored, so a selection is made over the grid, not over the cells table)."""
    return (
        query.select_from(DatasetRow)
        .join(DatasetColumn, DatasetColumn.dataset_id == DatasetRow.dataset_id)
        .outerjoin(
            DatasetCell,
            and_(DatasetCell.row_id == DatasetRow.id, DatasetCell.column_id == DatasetColumn.id),
        )
    )


def count_selected(session: Session, *, dataset_id: str, selection: Selection) -> int:
    query = _grid(select(func.count()))
    return int(session.scalar(query.where(*_selected(session, dataset_id, selection))) or 0)


def _staged_rows(session: Session, dataset_id: str, limit: int) -> list[str]:
    return list(
        session.scalars(
            select(DatasetRow.id)
            .where(DatasetRow.dataset_id == dataset_id, DatasetRow.staged.is_(True))
            .order_by(DatasetRow.position)
            .limit(limit)
        )
    )


def create_task(
    session: Session,
    *,
    organization: Organization,
    dataset: Dataset,
    operation: str,
    selection: Selection | None = None,
    row_count: int | None = None,
    webhook_id: str | None = None,
    max_active: int,
) -> Run:
    """Validate, check the quota and the webhook, create the queued task and lock its dataset.

    Raises:
        TaskApiError: DATASET_LOCKED, INVALID_SELECTION, QUOTA_EXCEEDED, WEBHOOK_NOT_FOUND.
    """
    if dataset.locked_by_run_id is not None:
        raise TaskApiError(
            "DATASET_LOCKED",
            f"dataset '{dataset.id}' is locked by task {dataset.locked_by_run_id}",
        )
    if webhook_id is not None:
        find_webhook(session, organization_id=organization.id, webhook_id=webhook_id)
    params: dict[str, Any] = {"datasetId": dataset.id, "webhookId": webhook_id}
    if operation == BULK:
        assert selection is not None
        check_selection(session, dataset=dataset, selection=selection)
        params |= selection.as_params()
        total = count_selected(session, dataset_id=dataset.id, selection=selection)
    else:
        assert row_count is not None
        staged = len(_staged_rows(session, dataset.id, row_count))
        if staged == 0:
            raise _invalid(
                f"dataset '{dataset.id}' has no source rows left to add (it was created with "
                "no sourceRows, or all of them were added)"
            )
        params |= {"rowCount": row_count, "processOnlyEmpty": True}
        total = staged * _enrichment_column_count(session, dataset.id)
    lock_organization(session, organization_id=organization.id, purpose="dataset_tasks")
    active = session.scalar(
        select(func.count())
        .select_from(Run)
        .where(
            Run.organization_id == organization.id,
            Run.operation.in_(OPERATIONS),
            Run.status.in_(ACTIVE),
        )
    )
    if (active or 0) >= max_active:
        raise TaskApiError(
            "QUOTA_EXCEEDED",
            f"task creation limit reached: {active} of {max_active} tasks are queued or "
            "processing for this organization; wait for one to finish or cancel one",
        )
    run = create_job(
        session, organization=organization, operation=operation, params=params, total=total
    )
    acquire_lock(session, dataset=dataset, run_id=run.id)
    return run


def _enrichment_column_count(session: Session, dataset_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(DatasetColumn)
            .where(DatasetColumn.dataset_id == dataset_id, DatasetColumn.task_type == ENRICHMENT)
        )
        or 0
    )


def find_webhook(session: Session, *, organization_id: int, webhook_id: str) -> WebhookSubscription:
    key = as_key(webhook_id)
    webhook = session.get(WebhookSubscription, key) if key is not None else None
    if webhook is None or webhook.organization_id != organization_id or not webhook.active:
        raise TaskApiError("WEBHOOK_NOT_FOUND", f"webhook '{webhook_id}' does not exist")
    return webhook


def get_task(session: Session, *, organization_id: int, dataset_id: str, task_id: str) -> Run:
    key = as_key(task_id)
    run = session.get(Run, key) if key is not None else None
    if (
        run is None
        or run.organization_id != organization_id
        or run.operation not in OPERATIONS
        or (run.params or {}).get("datasetId") != dataset_id
    ):
        raise TaskApiError("TASK_NOT_FOUND", f"task '{task_id}' does not exist")
    return run


def cancel_task(session: Session, *, run: Run) -> Run:
    """Cancel a queued or processing task and unlock its dataset; cells filled so far stay."""
    if not cancel_job(session, run=run):
        raise TaskApiError(
            "TASK_NOT_CANCELLABLE",
            f"task {run.id} is {run.status}; only queued or processing tasks can be cancelled",
        )
    release_lock(session, dataset_id=run.params["datasetId"], run_id=run.id)
    return run


# --- the work ---------------------------------------------------------------------------


def process_task(context: JobContext) -> dict[str, Any]:
    """Fill the task's cells, a batch of rows at a time: each batch's rows become items, the
    batch's target columns an output schema, and the engine's answers are written to the
    cells with how they were found. Cancellation is checked between batches."""
    from api.enrich_jobs.engine import JobOptions, cell_meta, output_schema_for, plan, run_engine

    params = context.params
    dataset_id = params["datasetId"]
    with context.session() as session:
        if params.get("rowCount") is not None:
            added = _add_staged_rows(session, dataset_id, int(params["rowCount"]))
            if not added:
                return {"filled": 0, "rows_added": 0}
            selection = Selection(row_ids=tuple(added), only_empty=True)
        else:
            added = []
            selection = Selection.from_params(params)
        columns = columns_of(session, dataset_id)
        targets = _target_rows(session, dataset_id, selection)
    context.progress(total=sum(len(cols) for cols in targets.values()))
    by_id = {c.id: c for c in columns}
    planned = plan(JobOptions())
    filled = 0
    row_ids = list(targets)
    try:
        for start in range(0, len(row_ids), ROWS_PER_BATCH):
            if context.cancelled():
                raise JobCancelled
            batch = row_ids[start : start + ROWS_PER_BATCH]
            with context.session() as session:
                values = _row_values(session, batch, by_id)
            wanted = sorted({c for r in batch for c in targets[r]}, key=lambda c: by_id[c].position)
            schema = output_schema_for([by_id[c] for c in wanted])
            # A target cell is derived afresh (its current value is not given to the engine);
            # if nothing is found, a value it already had stays: processing never erases.
            items = [
                {k: v for k, v in values[r].items() if k not in {by_id[c].name for c in targets[r]}}
                for r in batch
            ]
            outcomes = run_engine(items, schema, planned)
            updates = []
            for row_id, outcome in zip(batch, outcomes, strict=True):
                for column_id in targets[row_id]:
                    name = by_id[column_id].name
                    found = name in outcome.values
                    updates.append(
                        {
                            "b_row": row_id,
                            "b_column": column_id,
                            "b_value": outcome.values[name] if found else values[row_id].get(name),
                            "b_meta": cell_meta(outcome, name, task_id=context.run_id),
                            "found": found,
                        }
                    )
                    filled += found
            with context.session() as session:
                if not _still_active(session, context.run_id):
                    raise JobCancelled
                _write_cells(session, dataset_id, updates)
                charge(
                    session,
                    organization_id=context.organization_id,
                    run_id=context.run_id,
                    operation="dataset_task",
                    items=[f"{u['b_row']}:{u['b_column']}" for u in updates if u["found"]],
                )
            context.progress(completed=len(updates))
    finally:
        planned.close()
        # Unlock before the runner marks the task finished, so a client that sees
        # "completed" can start the next task at once.
        with context.session() as session:
            release_lock(session, dataset_id=dataset_id, run_id=context.run_id)
    return {"filled": filled, "rows_added": len(added)}


def _still_active(session: Session, run_id: int) -> bool:
    run = session.get(Run, run_id, with_for_update=True)
    return run is not None and run.status in ACTIVE


def _add_staged_rows(session: Session, dataset_id: str, limit: int) -> list[str]:
    ids = _staged_rows(session, dataset_id, limit)
    if ids:
        session.execute(
            update(DatasetRow)
            .where(DatasetRow.id.in_(ids))
            .values(staged=False)
            .execution_options(synchronize_session=False)
        )
    return ids


def _target_rows(session: Session, dataset_id: str, selection: Selection) -> dict[str, list[str]]:
    """Selected cells grouped by row (in row order): row id -> column ids."""
    query = _grid(select(DatasetRow.id, DatasetColumn.id)).where(
        *_selected(session, dataset_id, selection)
    )
    grouped: dict[str, list[str]] = defaultdict(list)
    for row_id, column_id in session.execute(
        query.order_by(DatasetRow.position, DatasetColumn.position)
    ).tuples():
        grouped[row_id].append(column_id)
    return dict(grouped)


def _row_values(
    session: Session, row_ids: Sequence[str], columns: dict[str, DatasetColumn]
) -> dict[str, dict[str, Any]]:
    """Each row as an item: column name -> value, empty cells left out."""
    values: dict[str, dict[str, Any]] = {r: {} for r in row_ids}
    cells = session.execute(
        select(DatasetCell.row_id, DatasetCell.column_id, DatasetCell.value).where(
            DatasetCell.row_id.in_(list(row_ids))
        )
    ).tuples()
    for row_id, column_id, value in cells:
        if not is_empty(value):
            values[row_id][columns[column_id].name] = value
    return values


def _write_cells(session: Session, dataset_id: str, updates: list[dict[str, Any]]) -> None:
    """Store the batch's cells: one upsert on (row, column), as a target cell may not be
    stored yet (empty cells are not)."""
    if not updates:
        return
    table = DatasetCell.__table__
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    statement = upsert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.row_id, table.c.column_id],
        set_={
            "value": statement.excluded.value,
            "meta": statement.excluded.meta,
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.connection().execute(
        statement,
        [
            {
                "id": cell_id_for(u["b_row"], u["b_column"]),
                "dataset_id": dataset_id,
                "row_id": u["b_row"],
                "column_id": u["b_column"],
                "value": u["b_value"],
                "meta": u["b_meta"],
                "updated_at": now,
            }
            for u in updates
        ],
    )


def task_finished(
    sessions: sessionmaker[Session], run_id: int, notify: Callable[..., None] | None
) -> None:
    """After a task ends (any way): unlock its dataset and send its webhook notification."""
    with sessions() as session, session.begin():
        run = session.get(Run, run_id)
        if run is None:
            return
        release_lock(session, dataset_id=run.params["datasetId"], run_id=run_id)
        webhook_id = (run.params or {}).get("webhookId")
        payload = task_payload(run)
    if webhook_id is not None and notify is not None:
        notify(run_id=run_id, webhook_id=webhook_id, payload=payload)


def public_status(status: str) -> str:
    """The contract calls a running task ``processing``."""
    return "processing" if status == RunStatus.RUNNING.value else status


def task_payload(run: Run) -> dict[str, Any]:
    """A task as the API shows it (also the body of its webhook notification)."""
    counts = run.counts or {}
    params = run.params or {}
    total = int(counts.get("total", 0))
    processed = int(counts.get("completed", 0)) + int(counts.get("failed", 0))
    return {
        "taskId": str(run.id),
        "datasetId": params.get("datasetId"),
        "type": "new_rows" if run.operation == NEW_ROWS else "bulk",
        "status": public_status(run.status),
        "progress": {
            "totalCells": total,
            "processedCells": processed,
            "filledCells": int(counts.get("filled", 0)),
            "failedCells": int(counts.get("failed", 0)),
            "rowsAdded": int(counts.get("rows_added", 0)),
            "percentage": round(100.0 * processed / total, 1)
            if total
            else 100.0
            if run.status == RunStatus.COMPLETED.value
            else 0.0,
        },
        "parameters": {k: v for k, v in params.items() if k != "datasetId" and v is not None},
        "webhookId": params.get("webhookId"),
        "creditsUsed": run.credits,
        "error": run.error,
        "createdAt": _iso(run.created_at),
        "startedAt": _iso(run.started_at),
        "completedAt": _iso(run.finished_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
