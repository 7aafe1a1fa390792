"""Duplicates and merges: ``/api/catalogs/{catalog}/clusters`` and ``…/match-proposals``.

Every path is scoped to the caller's organization: a catalogue or proposal of another one
answers 404 like a missing one. Decisions are committed first and announced after
(``skuflow.change.approved|rejected``, ``skuflow.change.rolled_back`` for an unmerge), so a
subscriber never hears of a decision that was not stored.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.deps import CurrentCatalog, reviewer_or_key
from api.review.schemas import BoundedId, Limit, Offset
from catalog.events import emit_change_event, emit_decision_events
from matching.review import (
    Proposal,
    decide,
    get_proposal,
    list_clusters,
    list_proposals,
)

router = APIRouter(
    prefix="/api/catalogs/{catalog}",
    tags=["matching"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)
NOT_FOUND = {404: {"model": ErrorBody}}


class ClusterPublic(BaseModel):
    cluster_id: str = Field(description="The survivor's external id (stable across runs).")
    members: list[str] = Field(description="External ids, the survivor first.")
    size: int


class ClusterList(BaseModel):
    data: list[ClusterPublic]
    count: int


class ProposalPublic(BaseModel):
    id: str
    record: str = Field(description="The duplicate's external id.")
    into: str = Field(description="The survivor's external id.")
    confidence: float
    status: str
    explanation: str | None
    evidence: dict[str, Any] = Field(
        description="Comparisons that agreed and disagreed, with the values they compared."
    )
    survivor_changes: dict[str, Any] = Field(
        description="The survivor's fields the merge sets (survivorship)."
    )
    run_id: str | None


class ProposalList(BaseModel):
    data: list[ProposalPublic]
    count: int


class DecisionCreate(BaseModel):
    decision: Literal["approve", "reject", "unmerge"] = Field(
        description="approve: merge; reject: not a match; unmerge: undo a merge in effect."
    )
    reviewer: str | None = Field(
        None, min_length=1, max_length=200, description="Who decides; default: the API key."
    )


class DecisionPublic(BaseModel):
    proposal: ProposalPublic
    changes: int = Field(description="How many changes the decision took (the whole group).")


def _public(p: Proposal) -> ProposalPublic:
    return ProposalPublic(
        id=str(p.change_id),
        record=p.record,
        into=p.into,
        confidence=p.confidence,
        status=p.status,
        explanation=p.explanation,
        evidence=p.evidence,
        survivor_changes=p.survivor_changes,
        run_id=None if p.run_id is None else str(p.run_id),
    )


@router.get("/clusters")
def clusters(
    session: SessionDep,
    catalog: CurrentCatalog,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ClusterList:
    """Clusters of duplicates in effect: each survivor with the records merged into it."""
    found, total = list_clusters(session, catalog_id=catalog.id, limit=limit, offset=offset)
    return ClusterList(
        data=[
            ClusterPublic(cluster_id=c.cluster_id, members=c.members, size=len(c.members))
            for c in found
        ],
        count=total,
    )


@router.get("/match-proposals")
def proposals(
    session: SessionDep,
    catalog: CurrentCatalog,
    status: Literal[
        "queued_for_review",
        "applied",
        "approved",
        "rejected",
        "dropped",
        "rolled_back",
        "superseded",
        "all",
    ] = "queued_for_review",
    limit: Limit = 100,
    offset: Offset = 0,
) -> ProposalList:
    """Proposed merges with their confidence and evidence (by default the ones waiting)."""
    found, total = list_proposals(
        session,
        catalog_id=catalog.id,
        status=None if status == "all" else status,
        limit=limit,
        offset=offset,
    )
    return ProposalList(data=[_public(p) for p in found], count=total)


@router.get("/match-proposals/{proposal_id}", responses=NOT_FOUND)
def proposal(
    proposal_id: BoundedId, session: SessionDep, catalog: CurrentCatalog
) -> ProposalPublic:
    """One proposed merge."""
    return _public(get_proposal(session, catalog_id=catalog.id, change_id=proposal_id))


@router.post(
    "/match-proposals/{proposal_id}/decision",
    responses=NOT_FOUND | {400: {"model": ErrorBody}},
)
def decision(
    request: Request,
    proposal_id: BoundedId,
    body: DecisionCreate,
    session: SessionDep,
    catalog: CurrentCatalog,
) -> DecisionPublic:
    """Merge, reject or unmerge a proposal (with the survivor fields it updates)."""
    change_id = proposal_id
    reviewer = reviewer_or_key(request, body.reviewer)
    done = decide(
        session,
        catalog_id=catalog.id,
        change_id=change_id,
        decision=body.decision,
        reviewer=reviewer,
    )
    public = _public(get_proposal(session, catalog_id=catalog.id, change_id=change_id))
    session.commit()  # announce only what is stored
    if body.decision == "unmerge":
        emit_change_event(
            "rolled_back",
            run={"run_id": None, "operation": "review", "catalog": catalog.name},
            stage="dedupe",
            count=len(done),
            change_ids=[c.id for c in done],
            confidence=(1.0, 1.0),
            extra={"reviewer": reviewer, "catalog_id": catalog.id},
        )
    else:
        emit_decision_events(
            done,
            status="approved" if body.decision == "approve" else "rejected",
            reviewer=reviewer,
            catalog=catalog.name,
        )
    return DecisionPublic(proposal=public, changes=len(done))
