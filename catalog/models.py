"""The store's tables (SQLAlchemy 2). Every row is scoped to an organization.

A record's ``values`` are the fold of its source values and its applied or approved changes;
they are materialised so reads (validate, distribute, export) need no replay. Changes are the
audit log: nothing model-driven reaches ``values`` without one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:
    from sqlalchemy import Table

JsonType = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; INTEGER on SQLite so it stays an auto-incrementing rowid."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here is a declarative table; SQLAlchemy types it as any FromClause.
        __table__: ClassVar[Table]

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class ChangeStatus(StrEnum):
    APPLIED = "applied"
    QUEUED_FOR_REVIEW = "queued_for_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    DROPPED = "dropped"
    ROLLED_BACK = "rolled_back"
    SUPERSEDED = "superseded"
    """A queued change replaced by a newer proposal for the same field before anyone decided."""


IN_EFFECT = (ChangeStatus.APPLIED.value, ChangeStatus.APPROVED.value)
"""Statuses whose value is part of the record's current values."""


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Taxonomy(Base):
    __tablename__ = "taxonomies"
    __table_args__ = (UniqueConstraint("organization_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaxonomyNode(Base):
    __tablename__ = "taxonomy_nodes"
    __table_args__ = (UniqueConstraint("taxonomy_id", "node_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    taxonomy_id: Mapped[int] = mapped_column(
        ForeignKey("taxonomies.id", ondelete="CASCADE"), index=True
    )
    node_id: Mapped[str] = mapped_column(String(200))
    parent_node_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class Catalog(Base):
    __tablename__ = "catalogs"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50), default="products")
    schema: Mapped[dict[str, Any]] = mapped_column(JsonType)
    auto_apply: Mapped[float] = mapped_column(Float)
    reject: Mapped[float] = mapped_column(Float)
    taxonomy_id: Mapped[int | None] = mapped_column(ForeignKey("taxonomies.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("catalog_id", "external_id"),
        Index("ix_records_catalog_updated", "catalog_id", "updated_at"),
        # keyset pages and batch ranges (`catalog_id = ? AND id > ?`) come back in order
        Index("ix_records_catalog_id", "catalog_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(500))
    source_values: Mapped[dict[str, Any]] = mapped_column(JsonType)
    values: Mapped[dict[str, Any]] = mapped_column(JsonType)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status_lease", "status", "lease_expires_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    catalog_id: Mapped[int | None] = mapped_column(ForeignKey("catalogs.id"), index=True)
    operation: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED.value)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    credits: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    """The process working on the run (a background job), while it holds the lease."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Renewed by the worker's heartbeat; a queued or running job past it is taken over."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Change(Base):
    """One proposed value for one field of one record, with its score and provenance.

    ``basis`` is the record's content hash the change was computed from (or a marker for
    changes people make); with record, field and operation it makes re-proposing the same
    change a no-op, which is what keeps re-runs and resumed runs exactly-once. Its unique index
    also serves every lookup by record (and field): no second index on those columns, since
    each index is paid for on every change written.
    """

    __tablename__ = "changes"
    __table_args__ = (
        UniqueConstraint("record_id", "field", "operation", "basis", name="uq_changes_proposal"),
        Index("ix_changes_catalog_status_confidence", "catalog_id", "status", "confidence"),
        Index("ix_changes_catalog_status_operation", "catalog_id", "status", "operation"),
        Index("ix_changes_run_status", "run_id", "status"),
        Index("ix_changes_catalog_id", "catalog_id", "id"),
        Index("ix_changes_catalog_created", "catalog_id", "created_at"),
        Index("ix_changes_catalog_decided", "catalog_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(Id)
    """The record's catalogue, for the review queue's indexes; no key of its own (migration
    0013): the record's key already ties the change to an existing catalogue."""
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(200))
    old_value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(30))
    operation: Mapped[str] = mapped_column(String(50))
    basis: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    """Looked up through `ix_changes_run_status` (run_id first): no index of its own."""
    provider: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str | None] = mapped_column(String(200))
    sources: Mapped[list[str]] = mapped_column(JsonType, default=list)
    explanation: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StageMark(Base):
    """Which content of a record a stage has already processed. A stage picks records whose
    mark is missing or older than their content hash, so a crashed run resumes where it stopped
    and an edited record is processed again."""

    __tablename__ = "stage_marks"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(50), primary_key=True)
    basis: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class HeldRowStatus(StrEnum):
    HELD = "held"
    """Waiting: the row broke a blocking rule and was not applied."""
    RESOLVED = "resolved"
    """A later file sent the same record without breaking a rule; the hold is closed."""


class HeldRow(Base):
    """A source row a run did not apply because it broke a blocking rule (`on_invalid`).

    The catalogue's current values stay as they were; the row is kept with its values and its
    reasons so a person sees in review what the supplier sent and why it was held. A later run
    that applies the same record closes the hold (`resolved`). In `quarantine`, a stored record
    whose current values break a blocking rule at validation (a required value no model has
    filled yet) is held the same way, at stage `validate`, and not published until it passes.
    """

    __tablename__ = "held_rows"
    __table_args__ = (
        Index("ix_held_rows_catalog_status", "catalog_id", "status", "id"),
        Index("ix_held_rows_catalog_external", "catalog_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("catalogs.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    """The stored record the row would have edited; None for a record not yet in the catalogue."""
    external_id: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    row: Mapped[int | None] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JsonType)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default=HeldRowStatus.HELD.value)
    halted: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the run halted on it (`halt`) rather than quarantining it (`quarantine`)."""
    stage: Mapped[str] = mapped_column(String(20), default="ingest")
    """`ingest`: a source row not applied (the record keeps its current values); `validate`: a
    stored record whose current values break a rule, kept out of what is published."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
