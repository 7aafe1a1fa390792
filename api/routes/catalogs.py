"""``/api/catalogs``: the organization's catalogues, with their size and review queue."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func, select

from api.deps import CurrentOrganization, SessionDep
from api.errors import COMMON_ERRORS
from api.review.catalogs import catalogs_of
from catalog.models import Change, ChangeStatus, Record

router = APIRouter(prefix="/api/catalogs", tags=["catalogs"], responses=COMMON_ERRORS)


class CatalogPublic(BaseModel):
    name: str
    kind: str
    records: int
    queued: int
    auto_apply: float
    reject: float


class CatalogsPublic(BaseModel):
    data: list[CatalogPublic]
    count: int


@router.get("")
def list_catalogs(session: SessionDep, org: CurrentOrganization) -> CatalogsPublic:
    """The organization's catalogues, each with its record count and changes waiting."""
    catalogs = catalogs_of(session, org=org)
    ids = [c.id for c in catalogs]
    records = dict(
        session.execute(
            select(Record.catalog_id, func.count())
            .where(Record.catalog_id.in_(ids))
            .group_by(Record.catalog_id)
        )
        .tuples()
        .all()
    )
    queued = dict(
        session.execute(
            select(Change.catalog_id, func.count())
            .where(
                Change.catalog_id.in_(ids), Change.status == ChangeStatus.QUEUED_FOR_REVIEW.value
            )
            .group_by(Change.catalog_id)
        )
        .tuples()
        .all()
    )
    data = [
        CatalogPublic(
            name=c.name,
            kind=c.kind,
            records=records.get(c.id, 0),
            queued=queued.get(c.id, 0),
            auto_apply=c.auto_apply,
            reject=c.reject,
        )
        for c in catalogs
    ]
    return CatalogsPublic(data=data, count=len(data))
