"""Datasets: create, read, edit cells, and the lock that keeps a running task's data still.

Keyword-only functions over a session; every one takes the caller's organization and finds
nothing outside it, so another organization's dataset is simply "not found".

Only cells that hold something are stored: a 500-column × 200-row body of empty strings is a
few KB, and storing its 100,000 empty cells cost ~90 MB. Every cell still has an id a client
can address — ``cell_<16 hex of its row id><16 hex of its column id>`` (`cell_id_for`) — so an
empty cell is shown, edited and processed like a stored one, and is stored once it has a value
(or a task's metadata). Cells stored before this carry random ids of the same form; both kinds
resolve through `resolve_cells`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from api.datasets.errors import TaskApiError
from api.datasets.ids import NulFreeModel, has_nul
from api.datasets.models import Dataset, DatasetCell, DatasetColumn, DatasetRow, new_id
from catalog.models import Organization, utcnow

ColumnType = Literal["string", "number", "integer", "boolean", "array"]
ENRICHMENT = "enrichment"
MAX_ROWS = 100_000
MAX_CELLS = 5_000_000
"""The largest grid (rows and source rows × columns) a dataset may declare: a task walks every
cell of its selection, so the grid is bounded even though empty cells cost no storage."""
_INSERT_CHUNK = 5_000
_CELL_ID = re.compile(r"cell_[0-9a-f]{32}")


class ColumnSpec(BaseModel):
    """A column as a client declares it. An input column (``taskType`` absent) holds data; an
    ``enrichment`` column is filled by tasks and described like an output-schema field."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    type: ColumnType = "string"
    description: str = Field("", max_length=2000)
    unit: str | None = Field(None, max_length=50)
    enum: list[str] | None = None
    task_type: Literal["enrichment"] | None = Field(None, alias="taskType")


class DatasetSpec(NulFreeModel):
    """What a new dataset holds: its columns, its rows (objects keyed by column name) and,
    optionally, further source rows that new-rows tasks bring in later."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    type: str = Field("data_enrichment", max_length=50)
    columns: list[ColumnSpec] = Field(min_length=1, max_length=500)
    rows: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_ROWS)
    source_rows: list[dict[str, Any]] = Field(
        default_factory=list, alias="sourceRows", max_length=MAX_ROWS
    )

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"column names must be unique; repeated: {', '.join(duplicated)}")
        for column in self.columns:
            if column.task_type == ENRICHMENT:
                _as_output_field(column)
        grid = (len(self.rows) + len(self.source_rows)) * len(self.columns)
        if grid > MAX_CELLS:
            raise ValueError(
                f"{len(self.rows) + len(self.source_rows):,} rows × {len(self.columns)} columns "
                f"is {grid:,} cells, more than the {MAX_CELLS:,} a dataset may hold"
            )
        known = set(names)
        for label, rows in (("rows", self.rows), ("sourceRows", self.source_rows)):
            for i, row in enumerate(rows):
                unknown = sorted(set(row) - known)
                if unknown:
                    raise ValueError(
                        f"{label}[{i}] has values for unknown column(s): {', '.join(unknown)}"
                    )
        return self


def _as_output_field(column: ColumnSpec) -> None:
    """An enrichment column must be a valid output-schema field (known unit, non-empty enum,
    …); the error names the column."""
    from pydantic import ValidationError

    from enrichment.output_schema import OutputField

    try:
        OutputField(
            name=column.name,
            type=column.type,
            description=column.description,
            unit=column.unit,
            enum=column.enum,
        )
    except ValidationError as exc:
        problems = "; ".join(e["msg"] for e in exc.errors())
        raise ValueError(f"column '{column.name}': {problems}") from None


def is_empty(value: Any) -> bool:
    """Empty as a person sees it: nothing, blank text, an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and not value


def cell_id_for(row_id: str, column_id: str) -> str:
    """The public id of the cell at a row and column, whether or not it is stored."""
    return f"cell_{row_id[4:20]}{column_id[4:20]}"


def resolve_cells(
    session: Session, *, dataset_id: str, cell_ids: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """The (row id, column id) of each cell id that is in the dataset's visible rows; ids not
    found are left out. Stored cells are found by id, the others by their row and column."""
    wanted = {c for c in cell_ids if not has_nul(c)}
    found: dict[str, tuple[str, str]] = {
        cid: (row_id, column_id)
        for cid, row_id, column_id in session.execute(
            select(DatasetCell.id, DatasetCell.row_id, DatasetCell.column_id)
            .join(DatasetRow, DatasetRow.id == DatasetCell.row_id)
            .where(
                DatasetCell.dataset_id == dataset_id,
                DatasetRow.staged.is_(False),
                DatasetCell.id.in_(wanted),
            )
        ).tuples()
    }
    virtual = [c for c in wanted - found.keys() if _CELL_ID.fullmatch(c)]
    if not virtual:
        return found
    columns = {c.id[4:20]: c.id for c in columns_of(session, dataset_id)}
    prefixes = {c[5:21] for c in virtual}
    rows = {
        row_id[4:20]: row_id
        for row_id in session.scalars(
            select(DatasetRow.id).where(
                DatasetRow.dataset_id == dataset_id,
                DatasetRow.staged.is_(False),
                func.substr(DatasetRow.id, 5, 16).in_(prefixes),
            )
        )
    }
    for cid in virtual:
        row_id, column_id = rows.get(cid[5:21]), columns.get(cid[21:37])
        if row_id is not None and column_id is not None:
            found[cid] = (row_id, column_id)
    return found


def create_dataset(session: Session, *, organization_id: int, spec: DatasetSpec) -> Dataset:
    """Store a dataset: its columns, its rows, and the cells that hold a value (Core inserts,
    in chunks); empty cells are not stored (see the module's docstring)."""
    dataset = Dataset(
        id=new_id(),
        organization_id=organization_id,
        name=spec.name,
        description=spec.description,
        type=spec.type,
    )
    session.add(dataset)
    session.flush()
    columns = [
        {
            "id": new_id("col"),
            "dataset_id": dataset.id,
            "position": i,
            "name": c.name,
            "type": c.type,
            "description": c.description,
            "unit": c.unit,
            "enum": c.enum,
            "task_type": c.task_type,
        }
        for i, c in enumerate(spec.columns)
    ]
    # Core inserts, not ORM ones: the rows are plain dicts and the ORM's bookkeeping costs ~3x.
    connection = session.connection()
    connection.execute(insert(DatasetColumn.__table__), columns)
    _insert_rows(session, dataset.id, columns, spec.rows, start=0, staged=False)
    _insert_rows(session, dataset.id, columns, spec.source_rows, start=len(spec.rows), staged=True)
    return dataset


def _insert_rows(
    session: Session,
    dataset_id: str,
    columns: list[dict[str, Any]],
    rows: Sequence[dict[str, Any]],
    *,
    start: int,
    staged: bool,
) -> None:
    now = utcnow()
    for offset in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[offset : offset + _INSERT_CHUNK]
        row_ids = [new_id("row") for _ in chunk]
        session.connection().execute(
            insert(DatasetRow.__table__),
            [
                {
                    "id": rid,
                    "dataset_id": dataset_id,
                    "position": start + offset + i,
                    "staged": staged,
                    "created_at": now,
                }
                for i, rid in enumerate(row_ids)
            ],
        )
        cells = [
            {
                "id": cell_id_for(rid, column["id"]),
                "dataset_id": dataset_id,
                "row_id": rid,
                "column_id": column["id"],
                "value": row[column["name"]],
                "meta": {},
                "updated_at": now,
            }
            for rid, row in zip(row_ids, chunk, strict=True)
            for column in columns
            if not is_empty(row.get(column["name"]))
        ]
        if cells:
            session.connection().execute(insert(DatasetCell.__table__), cells)


def get_dataset(session: Session, *, organization_id: int, dataset_id: str) -> Dataset:
    if has_nul(dataset_id):
        raise TaskApiError("DATASET_NOT_FOUND", "dataset id is not valid")
    dataset = session.scalar(
        select(Dataset).where(Dataset.id == dataset_id, Dataset.organization_id == organization_id)
    )
    if dataset is None:
        raise TaskApiError("DATASET_NOT_FOUND", f"dataset '{dataset_id}' does not exist")
    return dataset


def list_datasets(
    session: Session, *, organization_id: int, page: int, limit: int
) -> tuple[list[Dataset], int]:
    where = Dataset.organization_id == organization_id
    total = session.scalar(select(func.count()).select_from(Dataset).where(where)) or 0
    datasets = session.scalars(
        select(Dataset)
        .where(where)
        .order_by(Dataset.created_at.desc(), Dataset.id)
        .offset((page - 1) * limit)
        .limit(limit)
    )
    return list(datasets), total


def columns_of(session: Session, dataset_id: str) -> list[DatasetColumn]:
    return list(
        session.scalars(
            select(DatasetColumn)
            .where(DatasetColumn.dataset_id == dataset_id)
            .order_by(DatasetColumn.position)
        )
    )


def row_counts(session: Session, dataset_id: str) -> tuple[int, int]:
    """(rows in the dataset, source rows still staged)."""
    counts = dict(
        session.execute(
            select(DatasetRow.staged, func.count())
            .where(DatasetRow.dataset_id == dataset_id)
            .group_by(DatasetRow.staged)
        ).all()
    )
    return int(counts.get(False, 0)), int(counts.get(True, 0))


def data_page(
    session: Session, *, dataset: Dataset, page: int, limit: int
) -> tuple[list[DatasetColumn], list[DatasetRow], dict[tuple[str, str], DatasetCell]]:
    """One page of the dataset's rows (staged rows are not shown), with their cells."""
    columns = columns_of(session, dataset.id)
    rows = list(
        session.scalars(
            select(DatasetRow)
            .where(DatasetRow.dataset_id == dataset.id, DatasetRow.staged.is_(False))
            .order_by(DatasetRow.position)
            .offset((page - 1) * limit)
            .limit(limit)
        )
    )
    cells = session.scalars(select(DatasetCell).where(DatasetCell.row_id.in_([r.id for r in rows])))
    stored = {(c.row_id, c.column_id): c for c in cells}
    return (
        columns,
        rows,
        {
            (r.id, c.id): stored.get((r.id, c.id)) or _empty_cell(dataset.id, r.id, c.id)
            for r in rows
            for c in columns
        },
    )


def _empty_cell(dataset_id: str, row_id: str, column_id: str) -> DatasetCell:
    """A cell that is not stored (it holds nothing), as the API shows it; never added."""
    return DatasetCell(
        id=cell_id_for(row_id, column_id),
        dataset_id=dataset_id,
        row_id=row_id,
        column_id=column_id,
        value=None,
        meta={},
    )


def update_cell(session: Session, *, dataset: Dataset, cell_id: str, value: Any) -> DatasetCell:
    """A person's edit: refused while a task holds the lock; the cell's metadata is reset."""
    ensure_unlocked(dataset)
    if has_nul(cell_id):
        raise TaskApiError("INVALID_SELECTION", "cell id is not valid")
    place = resolve_cells(session, dataset_id=dataset.id, cell_ids=[cell_id]).get(cell_id)
    if place is None:
        raise TaskApiError("INVALID_SELECTION", f"cell '{cell_id}' is not in this dataset")
    row_id, column_id = place
    cell = session.scalar(
        select(DatasetCell).where(DatasetCell.row_id == row_id, DatasetCell.column_id == column_id)
    )
    if cell is None:
        cell = _empty_cell(dataset.id, row_id, column_id)
        if is_empty(value):
            return cell  # emptying an empty cell: nothing to store
        cell.id = cell_id
        session.add(cell)
    cell.value = None if is_empty(value) else value
    cell.meta = {}
    cell.updated_at = utcnow()
    session.flush()
    return cell


def ensure_unlocked(dataset: Dataset) -> None:
    if dataset.locked_by_run_id is not None:
        raise TaskApiError(
            "DATASET_LOCKED",
            f"dataset '{dataset.id}' is locked by task {dataset.locked_by_run_id} until it "
            "completes, fails or is cancelled",
        )


def acquire_lock(session: Session, *, dataset: Dataset, run_id: int) -> None:
    """Take the dataset's lock for a task, atomically: a conditional UPDATE that matches only
    while nobody holds it, so of two racing requests exactly one wins."""
    taken = session.execute(
        update(Dataset)
        .where(Dataset.id == dataset.id, Dataset.locked_by_run_id.is_(None))
        .values(locked_by_run_id=run_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        session.refresh(dataset)
        ensure_unlocked(dataset)
    session.refresh(dataset)


def release_lock(session: Session, *, dataset_id: str, run_id: int) -> None:
    """Let go of the lock if (and only if) this task holds it."""
    session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id, Dataset.locked_by_run_id == run_id)
        .values(locked_by_run_id=None)
        .execution_options(synchronize_session=False)
    )


_LOCK_PURPOSES = {"dataset_tasks": 4001, "enrich_jobs": 4002}


def lock_organization(session: Session, *, organization_id: int, purpose: str) -> None:
    """Serialise one organization's "count, then create" for a limit, until the transaction
    ends, so two requests at the limit cannot both slip under it. PostgreSQL takes a
    transaction advisory lock; on SQLite a no-op write takes the database's write lock now
    (reads before a first write run outside any transaction there)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:purpose, :org)"),
            {"purpose": _LOCK_PURPOSES[purpose], "org": int(organization_id) % 2**31},
        )
    else:
        session.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(name=Organization.name)
            .execution_options(synchronize_session=False)
        )
