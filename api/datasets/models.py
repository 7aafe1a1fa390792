"""Tables for datasets, their columns, rows and cells, and the tasks that process them.

Public ids are opaque strings (``row_…``, ``col_…``, ``cell_…``, a uuid for a dataset) so ids
reveal nothing across organizations. Tasks are runs (`catalog.models.Run`), like every job.
Every cell of every row × column exists as a row of ``dataset_cells``, so "all empty cells",
"these columns", "these rows" and their intersection are plain SQL selections.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, JsonType, utcnow

CellValue = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""An empty cell is SQL NULL (not JSON null), so "empty cells" is an indexable IS NULL."""


def new_id(prefix: str = "") -> str:
    """A fresh public id: a uuid, or ``<prefix>_<32 hex>`` for rows, columns and cells."""
    return f"{prefix}_{uuid.uuid4().hex}" if prefix else str(uuid.uuid4())


TASK_OPERATIONS = ("dataset_new_rows", "dataset_bulk")
"""A task is a `catalog.models.Run` with one of these operations; its dataset, selection and
progress live in the run's ``params`` and ``counts``."""


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[int] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(50), default="data_enrichment")
    locked_by_run_id: Mapped[int | None] = mapped_column(Id, ForeignKey("runs.id"))
    """The task (a run) holding the lock; set and cleared with conditional UPDATEs, so two
    requests racing for one dataset cannot both win."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class DatasetColumn(Base):
    """A column. ``task_type`` None is an input column (never processed); ``enrichment`` is
    filled by tasks from the row's other values, described like an output-schema field."""

    __tablename__ = "dataset_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), default="string")
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str | None] = mapped_column(String(50))
    enum: Mapped[list[Any] | None] = mapped_column(JsonType, nullable=True)
    task_type: Mapped[str | None] = mapped_column(String(50))


class DatasetRow(Base):
    """A row. A ``staged`` row came with the dataset's data source but is not in the dataset
    yet: a new-rows task brings the next ones in and processes them."""

    __tablename__ = "dataset_rows"
    __table_args__ = (Index("ix_dataset_rows_dataset_staged", "dataset_id", "staged", "position"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    staged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetCell(Base):
    """One value. ``meta`` holds how a task filled it (task, confidence, sources,
    explanation); a person editing the value resets it, as the contract says."""

    __tablename__ = "dataset_cells"
    __table_args__ = (
        UniqueConstraint("row_id", "column_id"),
        Index("ix_dataset_cells_dataset_column", "dataset_id", "column_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(ForeignKey("dataset_rows.id", ondelete="CASCADE"))
    column_id: Mapped[str] = mapped_column(ForeignKey("dataset_columns.id", ondelete="CASCADE"))
    value: Mapped[Any] = mapped_column(CellValue, nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
