"""Changes: every model-driven value is proposed, scored, decided, and reversible.

A proposal at or above its attribute's ``auto_apply`` threshold is applied to the record; one
below ``reject`` is dropped (but kept in the log); anything in between waits in the review
queue. Approving applies the value, rejecting closes it; rolling a field back writes a new
change that restores the previous value, so the log only ever grows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from catalog.bulk import in_ids, insert_rows, plain_rows, update_rows
from catalog.errors import NotFound, StateConflict
from catalog.models import IN_EFFECT, Change, ChangeStatus, Record, utcnow
from catalog.schema import CatalogSchema, Thresholds

GROUPED_OPERATIONS = frozenset({"dedupe"})
"""Operations whose changes come in groups that stand or fall together: a merge is one change
on the duplicate (it is merged into the survivor) plus the survivor's fields it updates. The
group is the part of the basis after the record's content hash (`<hash>:merge:<d>><s>`), so
approving, rejecting or rolling back any change of a group acts on all of it."""


def group_basis(content_hash: str, group: str) -> str:
    """Basis of one change of a group: its own record's content (staleness is checked per
    record) and the group key the changes share."""
    return f"{content_hash}:{group}"


def group_of(change: Change) -> str | None:
    """The group key of a grouped change, None for a change that stands alone."""
    if change.operation not in GROUPED_OPERATIONS or ":" not in change.basis:
        return None
    return change.basis.split(":", 1)[1]


def with_groups(
    session: Session, changes: Sequence[Change], *, statuses: Sequence[str]
) -> list[Change]:
    """`changes` plus the other changes of their groups that are in one of `statuses`."""
    keys = sorted({(c.catalog_id, c.operation, g) for c in changes if (g := group_of(c))})
    if not keys:
        return list(changes)
    found = {c.id: c for c in changes}
    for start in range(0, len(keys), 200):
        clauses = [
            and_(
                Change.catalog_id == catalog_id,
                Change.operation == operation,
                Change.basis.like(f"%:{group}"),
            )
            for catalog_id, operation, group in keys[start : start + 200]
        ]
        for change in session.scalars(
            select(Change).where(or_(*clauses), Change.status.in_(list(statuses)))
        ):
            found.setdefault(change.id, change)
    return [found[i] for i in sorted(found)]


def stage_basis(content_hash: str, version: str) -> str:
    """What a stage's result for a record depends on: the record's content and the stage's
    version (its part of the schema, its reference data). Either changing means redo."""
    return f"{content_hash}:{version}"


def content_hash_of(basis: str) -> str:
    """The content-hash part of a basis (ingest and rollback bases have no version part)."""
    return basis.split(":", 1)[0]


@dataclass(frozen=True)
class Proposal:
    """One candidate value for ``field`` of record ``record_id``: what every classifier and
    enrichment provider returns. Providers never write to the catalogue; they propose, and
    ``record_changes`` applies, queues or drops each proposal by the thresholds, keeping
    ``sources`` and ``explanation`` so a reviewer (or an audit months later) sees why.

    Attributes:
        record_id: The record's id in the store.
        field: The schema attribute the value is for.
        value: The value, already in the attribute's type and canonical unit.
        confidence: 0–1; compared with the attribute's thresholds.
        provider: Which provider proposed it: ``classify``, ``extract``, ``firmographics``, …
        method: How it was found, short and greppable (``title-unit-match``, ``fuzzy-name 91``).
        sources: Where the evidence is: ``record:title``, ``companies.csv#row=17``.
        explanation: One sentence for a reviewer, quoting the evidence.
    """

    record_id: Any
    field: str
    value: Any
    confidence: float
    provider: str
    method: str = ""
    sources: tuple[str, ...] = ()
    explanation: str = ""


def source_update_rows(
    *,
    catalog_id: int,
    record_id: int,
    old: dict[str, Any],
    new: dict[str, Any],
    basis: str,
    source: str,
    run_id: int | None,
) -> list[dict[str, Any]]:
    """Changes that record a supplier's edit of a record already in the catalogue (one per
    field whose source value changed), so source updates are audited and can be rolled back
    like any other change. A first import records none: there is nothing to compare with."""
    now = utcnow()
    return [
        {
            "catalog_id": catalog_id,
            "record_id": record_id,
            "field": field,
            "old_value": old.get(field),
            "new_value": new.get(field),
            "confidence": 1.0,
            "status": ChangeStatus.APPLIED.value,
            "operation": "ingest",
            "basis": basis,
            "run_id": run_id,
            "provider": "source",
            "sources": [source],
            "explanation": f"the source changed '{field}'",
            "created_at": now,
            "decided_at": now,
        }
        for field in sorted(set(old) | set(new))
        if old.get(field) != new.get(field)
    ]


CHANGE_COLUMNS = (
    "catalog_id",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "confidence",
    "status",
    "operation",
    "basis",
    "run_id",
    "provider",
    "model",
    "method",
    "sources",
    "explanation",
    "reviewer",
    "created_at",
    "decided_at",
)
"""The column order of a change row as `catalog.bulk` writes it (a plain tuple)."""

PROPOSAL_KEY = ("record_id", "field", "operation", "basis")
"""The unique key of a change (`uq_changes_proposal`): what makes a change recorded once."""


def insert_changes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert change rows; one already recorded (same record, field, operation, basis) is kept
    as it is, which is what makes a re-run or a resumed run record each change once."""
    if rows:
        _insert_ignoring_duplicates(
            session, [tuple(row.get(c) for c in CHANGE_COLUMNS) for row in rows]
        )


def decide(confidence: float, thresholds: Thresholds) -> ChangeStatus:
    return ChangeStatus(_decided(confidence, thresholds))


_APPLIED = ChangeStatus.APPLIED.value
_QUEUED = ChangeStatus.QUEUED_FOR_REVIEW.value
_DROPPED = ChangeStatus.DROPPED.value


def _decided(confidence: float, thresholds: Thresholds) -> str:
    """`decide`'s status as its plain value (what a change row stores; an enum member's
    ``.value`` costs a Python call per proposal)."""
    if confidence >= thresholds.auto_apply:
        return _APPLIED
    if confidence < thresholds.reject:
        return _DROPPED
    return _QUEUED


def _insert_ignoring_duplicates(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert changes (tuples in `CHANGE_COLUMNS` order) set-based; a change already proposed
    from the same content is left as it is (``ON CONFLICT DO NOTHING`` on its key)."""
    insert_rows(session, Change.__table__, CHANGE_COLUMNS, rows, conflict=PROPOSAL_KEY)


def write_values(session: Session, values_by_record: dict[int, dict[str, Any]]) -> None:
    """Set records' current values (one statement per batch), for changes just applied."""
    if not values_by_record:
        return
    now = utcnow()
    update_rows(
        session,
        Record.__table__,
        "id",
        ("values", "updated_at"),
        [(rid, values, now) for rid, values in values_by_record.items()],
    )


def record_changes(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    proposals: Iterable[Proposal],
    current: dict[int, dict[str, Any]],
    bases: dict[int, str],
    operation: str,
    run_id: int | None,
    model: str | None = None,
) -> Counter[str]:
    """Score a batch of proposals into changes and apply the confident ones, in one go.

    Args:
        current: each record's current values (so old values are recorded and no-op
            proposals — the value is already there — are skipped).
        bases: each record's ``stage_basis`` (content hash and stage version); with field and
            operation it identifies the proposal, so re-running a batch inserts nothing twice.

    Returns:
        How many changes got each status.
    """
    now = utcnow()
    proposals = list(proposals)
    earlier = _earlier_proposals(
        session, record_ids={int(p.record_id) for p in proposals}, operation=operation
    )
    rows: list[tuple[Any, ...]] = []
    applied: dict[int, dict[str, Any]] = {}
    superseded: list[int] = []
    counts: Counter[str] = Counter()
    thresholds: dict[str, Thresholds] = {}  # per field, for this batch
    nothing: dict[str, Any] = {}
    for proposal in proposals:
        record_id = int(proposal.record_id)
        field = proposal.field
        value = proposal.value
        old_value = current.get(record_id, nothing).get(field)
        if old_value == value:
            continue
        basis = bases[record_id]
        history = earlier.get((record_id, field))
        if history:
            content = content_hash_of(basis)
            if any(
                new_value == value and content_hash_of(earlier_basis) == content
                for _, new_value, earlier_basis, _ in history
            ):
                continue  # already proposed from this content: queued, decided or undone
            superseded += [change_id for change_id, _, _, status in history if status == _QUEUED]
        limits = thresholds.get(field)
        if limits is None:
            limits = thresholds[field] = schema.thresholds_for(field)
        status = _decided(proposal.confidence, limits)
        counts[status] += 1
        rows.append(  # in CHANGE_COLUMNS order
            (
                catalog_id,
                record_id,
                field,
                old_value,
                value,
                round(float(proposal.confidence), 6),
                status,
                operation,
                basis,
                run_id,
                proposal.provider,
                model,
                proposal.method or None,
                proposal.sources,  # a tuple: encoded once per content in the batch
                proposal.explanation or None,
                None,
                now,
                now if status != _QUEUED else None,
            )
        )
        if status == _APPLIED:
            values = applied.get(record_id)
            if values is None:
                values = applied[record_id] = dict(current.get(record_id, nothing))
            values[field] = value
    supersede(session, superseded, now=now)
    if rows:
        _insert_ignoring_duplicates(session, rows)
    write_values(session, applied)
    return counts


def supersede(session: Session, change_ids: Sequence[int], *, now: datetime) -> None:
    """Mark queued changes superseded by newer proposals (one statement)."""
    if change_ids:
        session.execute(
            update(Change)
            .where(in_ids(session, Change.id, change_ids))
            .values(status=ChangeStatus.SUPERSEDED.value, decided_at=now)
        )


def _earlier_proposals(
    session: Session, *, record_ids: set[int], operation: str
) -> dict[tuple[int, str], list[tuple[int, Any, str, str]]]:
    """What this operation already proposed for these records, by (record, field): a value is
    never proposed twice from the same content, and a newer proposal supersedes a queued one.
    Each as ``(change id, new value, basis, status)``."""
    history: dict[tuple[int, str], list[tuple[int, Any, str, str]]] = defaultdict(list)
    ids = sorted(record_ids)
    for start in range(0, len(ids), 5000):
        rows = plain_rows(
            session,
            select(
                Change.id,
                Change.record_id,
                Change.field,
                Change.new_value,
                Change.basis,
                Change.status,
            ).where(
                in_ids(session, Change.record_id, ids[start : start + 5000]),
                Change.operation == operation,
            ),
        ).all()
        for change_id, record_id, field, new_value, basis, status in rows:
            history[(record_id, field)].append((change_id, new_value, basis, status))
    return history


@dataclass(frozen=True)
class ChangeFilter:
    """Which changes a review or rollback acts on; unset fields don't filter."""

    catalog_id: int | None = None
    change_ids: Sequence[int] | None = None
    field: str | None = None
    operation: str | None = None
    run_id: int | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    status: str | None = None

    def apply(self, query: Select) -> Select:
        if self.catalog_id is not None:
            query = query.where(Change.catalog_id == self.catalog_id)
        if self.change_ids is not None:
            query = query.where(Change.id.in_(list(self.change_ids)))
        if self.field is not None:
            query = query.where(Change.field == self.field)
        if self.operation is not None:
            query = query.where(Change.operation == self.operation)
        if self.run_id is not None:
            query = query.where(Change.run_id == self.run_id)
        if self.min_confidence is not None:
            query = query.where(Change.confidence >= self.min_confidence)
        if self.max_confidence is not None:
            query = query.where(Change.confidence < self.max_confidence)
        if self.status is not None:
            query = query.where(Change.status == self.status)
        return query


def list_changes(
    session: Session, *, where: ChangeFilter, limit: int | None = None
) -> list[Change]:
    query = where.apply(select(Change)).order_by(Change.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def review_queue(
    session: Session, *, where: ChangeFilter, limit: int | None = None
) -> list[Change]:
    """Changes waiting for a person, oldest first."""
    queued = ChangeFilter(**{**where.__dict__, "status": ChangeStatus.QUEUED_FOR_REVIEW.value})
    return list_changes(session, where=queued, limit=limit)


class StaleChange(StateConflict):
    """The record was re-imported with new content after the change was proposed."""


def approve(session: Session, *, where: ChangeFilter, reviewer: str) -> list[Change]:
    """Apply queued changes. A change proposed from content the record no longer has is
    refused: the value may not fit the new data, and the next run proposes afresh."""
    changes = with_groups(
        session,
        review_queue(session, where=where),
        statuses=[ChangeStatus.QUEUED_FOR_REVIEW.value],
    )
    if not changes:
        return []
    records = _records_for(session, changes)
    stale = [c.id for c in changes if records[c.record_id].content_hash != content_hash_of(c.basis)]
    if stale:
        raise StaleChange(
            f"change(s) {', '.join(map(str, stale))} were proposed before the record was "
            "re-imported with new content; reject them and re-run the stage"
        )
    now = utcnow()
    for change in changes:
        record = records[change.record_id]
        record.values = {**record.values, change.field: change.new_value}
        change.status = ChangeStatus.APPROVED.value
        change.reviewer = reviewer
        change.decided_at = now
    session.flush()
    return changes


def reject(session: Session, *, where: ChangeFilter, reviewer: str) -> list[Change]:
    changes = with_groups(
        session,
        review_queue(session, where=where),
        statuses=[ChangeStatus.QUEUED_FOR_REVIEW.value],
    )
    now = utcnow()
    for change in changes:
        change.status = ChangeStatus.REJECTED.value
        change.reviewer = reviewer
        change.decided_at = now
    session.flush()
    return changes


def _records_for(session: Session, changes: Sequence[Change]) -> dict[int, Record]:
    ids = {c.record_id for c in changes}
    return {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(ids)))}


def rollback(session: Session, *, where: ChangeFilter, reviewer: str) -> list[Change]:
    """Undo the changes in effect that match, newest first, restoring each field's old value.

    A grouped change (a merge) is undone with its whole group: unmerging restores the
    duplicate and the survivor's fields together. Each undo is itself a change (operation
    ``rollback``), so the history stays complete and a rollback can be rolled back.
    """
    in_effect = [c for c in list_changes(session, where=where) if c.status in IN_EFFECT]
    in_effect = with_groups(session, in_effect, statuses=list(IN_EFFECT))
    if not in_effect:
        return []
    records = _records_for(session, in_effect)
    now = utcnow()
    undone: list[Change] = []
    by_record_field: dict[tuple[int, str], list[Change]] = defaultdict(list)
    for change in in_effect:
        by_record_field[(change.record_id, change.field)].append(change)
    for (record_id, field), group in by_record_field.items():
        record = records[record_id]
        for change in sorted(group, key=lambda c: c.id, reverse=True):
            current = record.values.get(field)
            values = dict(record.values)
            if change.old_value is None:
                values.pop(field, None)
            else:
                values[field] = change.old_value
            record.values = values
            change.status = ChangeStatus.ROLLED_BACK.value
            undo = Change(
                catalog_id=change.catalog_id,
                record_id=record_id,
                field=field,
                old_value=current,
                new_value=change.old_value,
                confidence=1.0,
                status=ChangeStatus.APPLIED.value,
                operation="rollback",
                basis=f"rollback:{change.id}",
                provider="person",
                reviewer=reviewer,
                explanation=f"rolled back change {change.id} ({change.operation})",
                sources=[],
                created_at=now,
                decided_at=now,
            )
            session.add(undo)
            undone.append(undo)
    session.flush()
    return undone


def rollback_field(
    session: Session, *, catalog_id: int, external_id: str, field: str, reviewer: str
) -> Change:
    """Undo the latest change in effect on one field of one record."""
    record = session.scalar(
        select(Record).where(Record.catalog_id == catalog_id, Record.external_id == external_id)
    )
    if record is None:
        raise NotFound(f"no record '{external_id}' in this catalogue")
    latest = session.scalar(
        select(Change)
        .where(
            Change.record_id == record.id,
            Change.field == field,
            Change.status.in_(IN_EFFECT),
        )
        .order_by(Change.id.desc())
        .limit(1)
    )
    if latest is None:
        raise NotFound(f"record '{external_id}' has no change in effect on '{field}'")
    return rollback(session, where=ChangeFilter(change_ids=[latest.id]), reviewer=reviewer)[0]


def status_counts(session: Session, *, where: ChangeFilter) -> Counter[str]:
    query = where.apply(select(Change.status, func.count()).group_by(Change.status))
    return Counter(dict(session.execute(query).tuples().all()))
