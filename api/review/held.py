"""A catalogue's held rows: source rows a run kept out because they broke a blocking rule,
with what the supplier sent and why, for a reviewer to see (and the supplier to fix)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.review.schemas import HeldRowPublic
from catalog.held import list_held
from catalog.models import Catalog


def held_rows(
    session: Session,
    *,
    catalog: Catalog,
    status: str | None,
    run_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[HeldRowPublic], int]:
    """A page of the catalogue's held rows, oldest first, and how many match."""
    rows, count = list_held(
        session, catalog_id=catalog.id, status=status, run_id=run_id, limit=limit, offset=offset
    )
    return [HeldRowPublic.model_validate(row) for row in rows], count
