"""Opening and resolving conflicts: a found value never overwrites a non-empty existing one.

Resolving a conflict on a stored record with a new or custom value writes it as a `Change`
(operation `conflict`, provider `person`), so it is in the audit log and can be rolled back
like any other change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import InputError, NotFound
from catalog.models import Change, ChangeStatus, Record, utcnow
from enrichment.models import Conflict, ConflictResolution, ConflictStatus
from enrichment.results import FieldConflict


def open_conflicts(
    session: Session,
    *,
    organization_id: int,
    found: Iterable[tuple[int | None, str | None, FieldConflict]],
    catalog_id: int | None = None,
    run_id: int | None = None,
) -> list[Conflict]:
    """Store each (record id, record key, conflict); an identical open conflict (same record,
    field and proposed value) is not opened twice, so re-running is safe."""
    rows: list[Conflict] = []
    for record_id, record_key, conflict in found:
        duplicate = session.scalar(
            select(Conflict.id).where(
                Conflict.organization_id == organization_id,
                Conflict.catalog_id.is_(None)
                if catalog_id is None
                else Conflict.catalog_id == catalog_id,
                Conflict.record_id.is_(None)
                if record_id is None
                else Conflict.record_id == record_id,
                Conflict.record_key.is_(None)
                if record_key is None
                else Conflict.record_key == record_key,
                Conflict.field == conflict.field,
                Conflict.status == ConflictStatus.OPEN.value,
            )
        )
        if duplicate is not None:
            existing = session.get(Conflict, duplicate)
            if existing is not None and existing.proposed_value == _jsonable(conflict.proposed):
                continue
        row = Conflict(
            organization_id=organization_id,
            catalog_id=catalog_id,
            record_id=record_id,
            record_key=record_key,
            field=conflict.field,
            existing_value=_jsonable(conflict.existing),
            proposed_value=_jsonable(conflict.proposed),
            confidence=float(conflict.confidence),
            sources=list(conflict.sources),
            explanation=conflict.explanation,
            status=ConflictStatus.OPEN.value,
            run_id=run_id,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def list_conflicts(
    session: Session,
    *,
    organization_id: int,
    catalog_id: int | None = None,
    status: str | None = None,
) -> Sequence[Conflict]:
    query = select(Conflict).where(Conflict.organization_id == organization_id)
    if catalog_id is not None:
        query = query.where(Conflict.catalog_id == catalog_id)
    if status is not None:
        query = query.where(Conflict.status == status)
    return session.scalars(query.order_by(Conflict.id)).all()


def resolve_conflict(
    session: Session,
    *,
    organization_id: int,
    conflict_id: int,
    resolution: str,
    resolver: str,
    value: Any = None,
) -> Conflict:
    """Close a conflict: keep the existing value, accept the proposed one, or set `value`.

    Raises:
        NotFound: no such conflict in this organization.
        InputError: unknown resolution, a custom resolution without a value, or the conflict
            is already resolved.
    """
    conflict = session.get(Conflict, conflict_id)
    if conflict is None or conflict.organization_id != organization_id:
        raise NotFound(f"no conflict {conflict_id}")
    try:
        how = ConflictResolution(resolution)
    except ValueError:
        allowed = ", ".join(r.value for r in ConflictResolution)
        raise InputError.single("resolution", f"'{resolution}' is not one of {allowed}") from None
    if conflict.status == ConflictStatus.RESOLVED.value:
        raise InputError.single("conflict", f"conflict {conflict_id} is already resolved")
    if how is ConflictResolution.CUSTOM and value is None:
        raise InputError.single("value", "a custom resolution needs a value")
    chosen = {
        ConflictResolution.KEPT_EXISTING: conflict.existing_value,
        ConflictResolution.ACCEPTED_NEW: conflict.proposed_value,
        ConflictResolution.CUSTOM: _jsonable(value),
    }[how]
    now = utcnow()
    if conflict.record_id is not None and how is not ConflictResolution.KEPT_EXISTING:
        _write_to_record(session, conflict, chosen, resolver)
    conflict.status = ConflictStatus.RESOLVED.value
    conflict.resolution = how.value
    conflict.resolved_value = chosen
    conflict.resolver = resolver
    conflict.resolved_at = now
    session.flush()
    return conflict


def _write_to_record(session: Session, conflict: Conflict, value: Any, resolver: str) -> None:
    record = session.get(Record, conflict.record_id)
    if record is None:
        raise NotFound(f"record {conflict.record_id} of conflict {conflict.id} no longer exists")
    now = utcnow()
    session.add(
        Change(
            catalog_id=record.catalog_id,
            record_id=record.id,
            field=conflict.field,
            old_value=record.values.get(conflict.field),
            new_value=value,
            confidence=1.0,
            status=ChangeStatus.APPROVED.value,
            operation="conflict",
            basis=f"conflict:{conflict.id}",
            provider="person",
            reviewer=resolver,
            sources=list(conflict.sources),
            explanation=f"conflict {conflict.id} resolved: {conflict.explanation or ''}"[:2000],
            created_at=now,
            decided_at=now,
        )
    )
    record.values = {**record.values, conflict.field: value}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value
