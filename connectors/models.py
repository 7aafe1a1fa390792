"""Where incremental sources stop: one cursor per (catalogue, source) in the store.

The cursor is written in the same transaction as the rows read since the last one, so a run
that fails half-way re-reads the same changes, and a run that succeeded never reads them again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, JsonType, utcnow


class SourceCursor(Base):
    __tablename__ = "source_cursors"
    __table_args__ = (UniqueConstraint("catalog_id", "source_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(Id, ForeignKey("catalogs.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(500))
    cursor: Mapped[dict[str, Any]] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
