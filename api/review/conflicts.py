"""A catalogue's enrichment conflicts: listed for people, resolved through
`enrichment.conflicts.resolve_conflict` (which writes the chosen value as an audited change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.review.schemas import ConflictPublic
from catalog.errors import NotFound, StateConflict
from catalog.events import emit_decision_events
from catalog.models import Catalog, Change, Record
from enrichment.conflicts import resolve_conflict
from enrichment.models import Conflict, ConflictStatus


def list_catalog_conflicts(
    session: Session,
    *,
    catalog: Catalog,
    status: str | None = ConflictStatus.OPEN.value,
    field: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ConflictPublic], int]:
    conditions = [
        Conflict.organization_id == catalog.organization_id,
        Conflict.catalog_id == catalog.id,
    ]
    if status is not None:
        conditions.append(Conflict.status == status)
    if field is not None:
        conditions.append(Conflict.field == field)
    rows = session.execute(
        select(Conflict, Record.external_id)
        .outerjoin(Record, Record.id == Conflict.record_id)
        .where(*conditions)
        .order_by(Conflict.id)
        .limit(limit)
        .offset(offset)
    ).all()
    count = session.scalar(select(func.count()).select_from(Conflict).where(*conditions)) or 0
    return [_public(conflict, external_id) for conflict, external_id in rows], count


@dataclass
class ResolveOutcome:
    conflict: ConflictPublic
    changed: bool
    reviewer: str
    catalog: str
    change: Change | None = None
    """The change that wrote the chosen value to the record (none when the existing one stays)."""

    @property
    def message(self) -> str:
        if not self.changed:
            return f"Conflict {self.conflict.id} was already resolved that way; nothing changed."
        return f"Resolved conflict {self.conflict.id} ({self.conflict.resolution})."

    def announce(self) -> None:
        """``skuflow.change.approved`` for the value a person chose (call after commit)."""
        if self.change is not None:
            emit_decision_events(
                [self.change], status="approved", reviewer=self.reviewer, catalog=self.catalog
            )


def resolve(
    session: Session,
    *,
    catalog: Catalog,
    conflict_id: int,
    resolution: str,
    resolver: str,
    value: Any = None,
) -> ResolveOutcome:
    """Resolve a conflict of this catalogue; resolving it again the same way changes nothing,
    another way is a StateConflict (409)."""
    conflict = session.get(Conflict, conflict_id)
    if conflict is None or conflict.catalog_id != catalog.id:
        raise NotFound(f"conflict {conflict_id} not found in catalogue '{catalog.name}'")
    external_id = _external_id(session, conflict)
    if conflict.status == ConflictStatus.RESOLVED.value:
        same = conflict.resolution == resolution and (
            resolution != "custom" or conflict.resolved_value == value
        )
        if same:
            return ResolveOutcome(_public(conflict, external_id), False, resolver, catalog.name)
        raise StateConflict(
            f"conflict {conflict_id} was already resolved ({conflict.resolution}) by "
            f"{conflict.resolver or 'someone'}; nothing changed"
        )
    resolved = resolve_conflict(
        session,
        organization_id=catalog.organization_id,
        conflict_id=conflict_id,
        resolution=resolution,
        resolver=resolver,
        value=value,
    )
    session.flush()
    change = (
        session.scalar(
            select(Change).where(
                Change.record_id == resolved.record_id, Change.basis == f"conflict:{resolved.id}"
            )
        )
        if resolved.record_id is not None
        else None
    )
    return ResolveOutcome(_public(resolved, external_id), True, resolver, catalog.name, change)


def _external_id(session: Session, conflict: Conflict) -> str | None:
    if conflict.record_id is None:
        return conflict.record_key
    return session.scalar(select(Record.external_id).where(Record.id == conflict.record_id))


def _public(conflict: Conflict, external_id: str | None) -> ConflictPublic:
    return ConflictPublic(
        id=conflict.id,
        record=external_id or conflict.record_key,
        field=conflict.field,
        existing_value=conflict.existing_value,
        proposed_value=conflict.proposed_value,
        confidence=conflict.confidence,
        sources=list(conflict.sources or []),
        explanation=conflict.explanation,
        status=conflict.status,
        resolution=conflict.resolution,
        resolved_value=conflict.resolved_value,
        resolver=conflict.resolver,
        run_id=conflict.run_id,
        created_at=conflict.created_at,
        resolved_at=conflict.resolved_at,
    )
