"""``/api/catalogs/{catalog}/records``: list and search records; one record with its history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, ErrorBody
from api.review.deps import CurrentCatalog
from api.review.records import list_records, record_detail
from api.review.schemas import Limit, Offset, RecordDetail, RecordSearch, RecordsPublic
from catalog.filters import ChangeStatusName, RecordFilter

router = APIRouter(
    prefix="/api/catalogs/{catalog}/records",
    tags=["records"],
    responses=COMMON_ERRORS | {404: {"model": ErrorBody, "description": "Unknown catalogue."}},
)


@router.get("")
def get_records(
    session: SessionDep,
    catalog: CurrentCatalog,
    q: Annotated[str | None, Query(max_length=200, description="Text in id or title.")] = None,
    external_id_glob: Annotated[str | None, Query(max_length=500)] = None,
    category: Annotated[str | None, Query(max_length=1000)] = None,
    change_status: ChangeStatusName | None = None,
    updated_since: datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> RecordsPublic:
    """Records in id order, narrowed by the record filter's simple fields and a text search
    (``POST …/records/search`` takes the whole filter)."""
    fields = {
        "external_id_glob": external_id_glob,
        "category": category,
        "change_status": change_status,
        "updated_since": updated_since,
    }
    given = {k: v for k, v in fields.items() if v is not None}
    data, count = list_records(
        session,
        catalog=catalog,
        record_filter=RecordFilter(**given) if given else None,
        q=q,
        limit=limit,
        offset=offset,
    )
    return RecordsPublic(data=data, count=count)


@router.post("/search")
def search_records(
    session: SessionDep, catalog: CurrentCatalog, body: RecordSearch
) -> RecordsPublic:
    """Records matching a whole record filter (ids, globs, typed values, category, …)."""
    data, count = list_records(
        session,
        catalog=catalog,
        record_filter=body.filter,
        q=body.q,
        limit=body.limit,
        offset=body.offset,
    )
    return RecordsPublic(data=data, count=count)


@router.get("/{external_id:path}", responses={404: {"model": ErrorBody}})
def get_record(
    session: SessionDep,
    catalog: CurrentCatalog,
    external_id: Annotated[str, Path(min_length=1, max_length=500)],
) -> RecordDetail:
    """One record: current and source values, and each field's history of changes."""
    return record_detail(session, catalog=catalog, external_id=external_id)
