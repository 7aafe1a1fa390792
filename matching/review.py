"""Clusters, match proposals and decisions on them: what the API and the CLI show and do.

A cluster is a survivor and the records merged into it (`_merged_into` in effect); its id is
the survivor's external id, so it stays the same across runs. A proposal is the duplicate's
`dedupe` change (with its probability and evidence) plus the survivor fields it would update.
Deciding goes through `catalog.changes` (approve, reject, rollback), which acts on the whole
group, so a merge is never half applied and an unmerge restores both records exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.changes import ChangeFilter, approve, group_of, reject, rollback
from catalog.errors import NotFound, SkuflowError
from catalog.models import IN_EFFECT, Change, ChangeStatus, Record
from catalog.records import MERGED_INTO
from matching.stage import FIELD, STAGE

Decision = Literal["approve", "reject", "unmerge"]


@dataclass(frozen=True)
class Cluster:
    cluster_id: str
    members: list[str]
    """External ids, the survivor first."""


@dataclass(frozen=True)
class Proposal:
    change_id: int
    record: str
    into: str
    confidence: float
    status: str
    explanation: str | None
    evidence: dict[str, Any]
    survivor_changes: dict[str, Any]
    """Survivor field → value the merge sets (survivorship)."""
    run_id: int | None


def list_clusters(
    session: Session, *, catalog_id: int, limit: int = 100, offset: int = 0
) -> tuple[list[Cluster], int]:
    """Clusters with more than one record, by survivor id; and how many there are."""
    members: dict[str, list[str]] = {}
    for external_id, values in session.execute(
        select(Record.external_id, Record.values)
        .where(Record.catalog_id == catalog_id)
        .order_by(Record.id)
    ):
        marker = (values or {}).get(MERGED_INTO)
        if isinstance(marker, dict) and marker.get("into"):
            members.setdefault(marker["into"], []).append(external_id)
    ordered = sorted(members)
    page = ordered[offset : offset + limit]
    return [Cluster(cluster_id=s, members=[s, *members[s]]) for s in page], len(ordered)


def list_proposals(
    session: Session,
    *,
    catalog_id: int,
    status: str | None = ChangeStatus.QUEUED_FOR_REVIEW.value,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Proposal], int]:
    """Merge proposals (the duplicates' changes), oldest first; and how many match."""
    query = select(Change).where(
        Change.catalog_id == catalog_id, Change.operation == STAGE, Change.field == FIELD
    )
    if status is not None:
        query = query.where(Change.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Change.id).limit(limit).offset(offset))
    return [_proposal(session, c) for c in page], int(total)


def get_proposal(session: Session, *, catalog_id: int, change_id: int) -> Proposal:
    """One merge proposal of this catalogue (NotFound for any other id)."""
    return _proposal(session, _owned(session, catalog_id=catalog_id, change_id=change_id))


def decide(
    session: Session, *, catalog_id: int, change_id: int, decision: Decision, reviewer: str
) -> list[Change]:
    """Approve (merge), reject (not a match) or unmerge one proposal, with its whole group.

    Raises:
        NotFound: no such proposal in this catalogue.
        SkuflowError: the proposal is not in a state that decision applies to.
    """
    change = _owned(session, catalog_id=catalog_id, change_id=change_id)
    where = ChangeFilter(catalog_id=catalog_id, change_ids=[change.id])
    if decision == "unmerge":
        if change.status not in IN_EFFECT:
            raise SkuflowError(f"proposal {change_id} is {change.status}, not merged")
        return rollback(session, where=where, reviewer=reviewer)
    if change.status != ChangeStatus.QUEUED_FOR_REVIEW.value:
        raise SkuflowError(f"proposal {change_id} is {change.status}, not waiting for review")
    action = approve if decision == "approve" else reject
    return action(session, where=where, reviewer=reviewer)


def unmerge_record(
    session: Session, *, catalog_id: int, external_id: str, reviewer: str
) -> list[Change]:
    """Undo the merge that made this record a duplicate (both records restored exactly)."""
    record = session.scalar(
        select(Record).where(Record.catalog_id == catalog_id, Record.external_id == external_id)
    )
    if record is None:
        raise NotFound(f"no record '{external_id}' in this catalogue")
    change = session.scalar(
        select(Change)
        .where(
            Change.record_id == record.id,
            Change.operation == STAGE,
            Change.field == FIELD,
            Change.status.in_(IN_EFFECT),
        )
        .order_by(Change.id.desc())
        .limit(1)
    )
    if change is None:
        raise NotFound(f"record '{external_id}' is not merged into another")
    return rollback(
        session,
        where=ChangeFilter(catalog_id=catalog_id, change_ids=[change.id]),
        reviewer=reviewer,
    )


def _owned(session: Session, *, catalog_id: int, change_id: int) -> Change:
    change = session.get(Change, change_id)
    if (
        change is None
        or change.catalog_id != catalog_id
        or change.operation != STAGE
        or change.field != FIELD
    ):
        raise NotFound(f"no match proposal {change_id} in this catalogue")
    return change


def _proposal(session: Session, change: Change) -> Proposal:
    record = session.get(Record, change.record_id)
    marker = change.new_value if isinstance(change.new_value, dict) else {}
    group = group_of(change)
    siblings = (
        session.scalars(
            select(Change).where(
                Change.catalog_id == change.catalog_id,
                Change.operation == STAGE,
                Change.field != FIELD,
                Change.basis.like(f"%:{group}"),
            )
        ).all()
        if group
        else []
    )
    return Proposal(
        change_id=change.id,
        record=record.external_id if record else "?",
        into=str(marker.get("into", "")),
        confidence=change.confidence,
        status=change.status,
        explanation=change.explanation,
        evidence=marker.get("evidence", {}),
        survivor_changes={c.field: c.new_value for c in siblings},
        run_id=change.run_id,
    )
