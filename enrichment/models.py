"""Enrichment's own tables: conflicts between a found value and a non-empty existing one.

A provider that finds a value different from what a record already holds does not overwrite it:
the disagreement becomes a `Conflict` a person resolves (keep the existing value, accept the new
one, or type a third). Resolving one never loses the other value; both stay in the row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, JsonType, utcnow


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ConflictResolution(StrEnum):
    KEPT_EXISTING = "kept_existing"
    ACCEPTED_NEW = "accepted_new"
    CUSTOM = "custom"


class Conflict(Base):
    """A found value that disagrees with the value a record already has for a field."""

    __tablename__ = "enrichment_conflicts"
    __table_args__ = (
        Index("ix_enrichment_conflicts_catalog_status", "catalog_id", "status"),
        Index("ix_enrichment_conflicts_record_field", "record_id", "field"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    catalog_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalogs.id", ondelete="CASCADE"), nullable=True
    )
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), nullable=True
    )
    record_key: Mapped[str | None] = mapped_column(String(500))
    """The item's identifier when it is not (yet) a stored record, e.g. an API request item."""
    field: Mapped[str] = mapped_column(String(200))
    existing_value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    proposed_value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    sources: Mapped[list[str]] = mapped_column(JsonType, default=list)
    explanation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ConflictStatus.OPEN.value)
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    resolver: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
