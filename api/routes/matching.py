"""Duplicates and merges (``/api/catalogs/{catalog}/…``): clusters, match proposals, decisions.

Every path is scoped to the caller's organization: a catalogue or proposal of another one
answers 404 like a missing one. Decisions are committed first and announced after
(``skuflow.change.approved|rejected``, ``skuflow.change.rolled_back`` for an unmerge), so a
subscriber never hears of a decision that was not stored.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CurrentOrganization, SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from catalog.events import emit_change_event, emit_decision_events
from catalog.repository import get_catalog
from matching.review import (
    Proposal,
    decide,
    get_proposal,
    list_clusters,
    list_proposals,
)

router = APIRouter(tags=["matching"])
NOT_FOUND = COMMON_ERRORS | {404: {"model": ErrorBody}}


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
    reviewer: str = Field("api", min_length=1, max_length=200)


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


def _change_id(proposal_id: str) -> int:
    from catalog.errors import NotFound

    try:
        return int(proposal_id)
    except ValueError:
        raise NotFound(f"no match proposal {proposal_id} in this catalogue") from None


@router.get("/api/catalogs/{catalog_name}/clusters", responses=NOT_FOUND)
def clusters(
    catalog_name: str,
    session: SessionDep,
    org: CurrentOrganization,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> ClusterList:
    """Clusters of duplicates in effect: each survivor with the records merged into it."""
    catalog = get_catalog(session, organization=org.name, name=catalog_name)
    found, total = list_clusters(session, catalog_id=catalog.id, limit=limit, offset=offset)
    return ClusterList(
        data=[
            ClusterPublic(cluster_id=c.cluster_id, members=c.members, size=len(c.members))
            for c in found
        ],
        count=total,
    )


@router.get("/api/catalogs/{catalog_name}/match-proposals", responses=NOT_FOUND)
def proposals(
    catalog_name: str,
    session: SessionDep,
    org: CurrentOrganization,
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
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> ProposalList:
    """Proposed merges with their confidence and evidence (by default the ones waiting)."""
    catalog = get_catalog(session, organization=org.name, name=catalog_name)
    found, total = list_proposals(
        session,
        catalog_id=catalog.id,
        status=None if status == "all" else status,
        limit=limit,
        offset=offset,
    )
    return ProposalList(data=[_public(p) for p in found], count=total)


@router.get("/api/catalogs/{catalog_name}/match-proposals/{proposal_id}", responses=NOT_FOUND)
def proposal(
    catalog_name: str, proposal_id: str, session: SessionDep, org: CurrentOrganization
) -> ProposalPublic:
    """One proposed merge."""
    catalog = get_catalog(session, organization=org.name, name=catalog_name)
    return _public(get_proposal(session, catalog_id=catalog.id, change_id=_change_id(proposal_id)))


@router.post(
    "/api/catalogs/{catalog_name}/match-proposals/{proposal_id}/decision",
    responses=NOT_FOUND | {400: {"model": ErrorBody}},
)
def decision(
    catalog_name: str,
    proposal_id: str,
    body: DecisionCreate,
    session: SessionDep,
    org: CurrentOrganization,
) -> DecisionPublic:
    """Merge, reject or unmerge a proposal (with the survivor fields it updates)."""
    catalog = get_catalog(session, organization=org.name, name=catalog_name)
    change_id = _change_id(proposal_id)
    done = decide(
        session,
        catalog_id=catalog.id,
        change_id=change_id,
        decision=body.decision,
        reviewer=body.reviewer,
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
            extra={"reviewer": body.reviewer, "catalog_id": catalog.id},
        )
    else:
        emit_decision_events(
            done,
            status="approved" if body.decision == "approve" else "rejected",
            reviewer=body.reviewer,
            catalog=catalog.name,
        )
    return DecisionPublic(proposal=public, changes=len(done))
