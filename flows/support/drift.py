"""What a monitor run found moved: the `ingest` changes it recorded (record, field, old → new),
read the same way for the run's drift table and for its Slack alert."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.filters import RecordFilter
from catalog.models import Change, Record
from catalog.records import filtered


def drift_rows(
    session: Session,
    *,
    run_id: int,
    fields: list[str] | None = None,
    record_filter: RecordFilter | None = None,
    limit: int | None = None,
) -> list[tuple[str, str, Any, Any]]:
    """(external id, field, old value, new value) of each value the run saw move, by field
    then record; only ``fields`` when given, only the records ``record_filter`` selects."""
    query = (
        select(Record.external_id, Change.field, Change.old_value, Change.new_value)
        .join(Record, Record.id == Change.record_id)
        .where(Change.run_id == run_id, Change.operation == "ingest")
        .order_by(Change.field, Record.external_id)
    )
    if fields:
        query = query.where(Change.field.in_(fields))
    query = filtered(session, query, record_filter)
    if limit is not None:
        query = query.limit(limit)
    return [tuple(row) for row in session.execute(query).all()]  # type: ignore[misc]
