"""Read and store incremental-source cursors (see `connectors.models.SourceCursor`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import utcnow
from connectors.models import SourceCursor


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
