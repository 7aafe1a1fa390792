"""Where incremental sources stop: one cursor per (catalogue, source) in the store.

The cursor is written in the same transaction as the rows read since the last one, so a run
that fails half-way re-reads the same changes, and a run that succeeded never reads them again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.models import Base, Id, JsonType, utcnow


class SourceCursor(Base):
    __tablename__ = "source_cursors"
    __table_args__ = (UniqueConstraint("catalog_id", "source_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(Id, ForeignKey("catalogs.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(500))
    cursor: Mapped[dict[str, Any]] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def load_cursor(session: Session, *, catalog_id: int, source_key: str) -> dict[str, Any] | None:
    """Where the last successful read of this source into this catalogue stopped, if any."""
    return session.scalar(
        select(SourceCursor.cursor).where(
            SourceCursor.catalog_id == catalog_id, SourceCursor.source_key == source_key
        )
    )


def save_cursor(
    session: Session, *, catalog_id: int, source_key: str, cursor: dict[str, Any]
) -> None:
    """Record the new position; commits with the caller's transaction (the rows read with it)."""
    stored = session.scalar(
        select(SourceCursor).where(
            SourceCursor.catalog_id == catalog_id, SourceCursor.source_key == source_key
        )
    )
    if stored is None:
        session.add(SourceCursor(catalog_id=catalog_id, source_key=source_key, cursor=cursor))
    else:
        stored.cursor = cursor
        stored.updated_at = utcnow()
    session.flush()
