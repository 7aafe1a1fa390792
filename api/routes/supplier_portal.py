"""The supplier upload portal (``/api/portal``) and its tokens (``/api/catalogs/…``).

A catalogue owner issues one token per supplier with the organization's API key; the supplier
then PUTs a file with that token (``curl -T prices.csv -H "Authorization: Bearer sup_…"
…/api/portal/uploads/prices.csv``). A file that does not fit the catalogue's schema is refused
with 422 and one detail per problem (row, column, message), and nothing is stored. A file
that fits lands in the catalogue's portal inbox and is onboarded like every landed file.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentOrganization, SessionDep, SettingsDep, owned_or_404
from api.errors import COMMON_ERRORS, ErrorBody, not_found, unauthorized
from api.ids import as_key
from api.models import SupplierToken
from api.supplier_portal.service import (
    announced,
    authenticate_supplier,
    issue_supplier_token,
    onboard_landed,
    receive_upload,
    revoke_supplier_token,
)
from catalog.models import Catalog
from catalog.repository import get_catalog
from catalog.settings import get_settings

router = APIRouter(tags=["supplier portal"])
_supplier_bearer = HTTPBearer(auto_error=False, description="A supplier upload token (sup_…).")
SPOOL_BYTES = 8 * 1024 * 1024


class SupplierTokenCreate(BaseModel):
    supplier: str = Field(min_length=1, max_length=200, description="The supplier's name.")


class SupplierTokenPublic(BaseModel):
    id: str
    supplier: str
    catalog: str
    created_at: datetime
    token: str = Field(description="The upload token; shown only in this response.")


class UploadPublic(BaseModel):
    supplier: str
    file: str
    run_id: str | None = Field(
        description="The onboard run (embedded); null when a worker runs it."
    )
    rows: int
    inserted: int | None
    updated: int | None
    unchanged: int | None
    onboarding: str = Field(
        description="The onboard run's status (completed, failed), or announced when a worker "
        "onboards the file (SKUFLOW_API_JOBS=deployments)."
    )


def current_supplier(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_supplier_bearer)],
) -> SupplierToken:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("missing supplier token (Authorization: Bearer sup_…)")
    record = authenticate_supplier(session, token=credentials.credentials)
    if record is None:
        raise unauthorized("invalid or revoked supplier token")
    return record


CurrentSupplier = Annotated[SupplierToken, Depends(current_supplier)]


@router.post(
    "/api/catalogs/{catalog_name}/supplier-tokens",
    status_code=201,
    responses=COMMON_ERRORS | {404: {"model": ErrorBody}},
)
def create_supplier_token(
    catalog_name: str, body: SupplierTokenCreate, session: SessionDep, org: CurrentOrganization
) -> SupplierTokenPublic:
    """Issue an upload token for one supplier of a catalogue."""
    catalog = get_catalog(session, organization=org.name, name=catalog_name)
    issued = issue_supplier_token(session, catalog=catalog, supplier=body.supplier)
    return SupplierTokenPublic(
        id=str(issued.record.id),
        supplier=issued.record.supplier,
        catalog=catalog.name,
        created_at=issued.record.created_at,
        token=issued.token,
    )


@router.delete(
    "/api/supplier-tokens/{token_id}",
    status_code=204,
    responses=COMMON_ERRORS | {404: {"model": ErrorBody}},
)
def revoke_token(token_id: str, session: SessionDep, org: CurrentOrganization) -> Response:
    """Revoke a supplier's token; its uploads are refused from now on."""
    key = as_key(token_id)
    record = session.get(SupplierToken, key) if key is not None else None
    if record is None:
        raise not_found("supplier token", token_id)
    owned_or_404(session, Catalog, record.catalog_id, org, what="supplier token")
    revoke_supplier_token(session, record=record)
    return Response(status_code=204)


@router.put(
    "/api/portal/uploads/{filename}",
    status_code=201,
    responses=COMMON_ERRORS
    | {422: {"model": ErrorBody, "description": "The file was refused; details by line."}},
)
async def upload_file(
    filename: str,
    request: Request,
    session: SessionDep,
    supplier: CurrentSupplier,
    settings: SettingsDep,
) -> UploadPublic:
    """Check a supplier's file against the catalogue's schema; if it fits, land it and onboard
    it (announced with ``skuflow.source.landed``; embedded, onboarded before the answer)."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        landed = await run_in_threadpool(
            receive_upload,
            session,
            token=supplier,
            filename=filename,
            stream=spool,  # type: ignore[arg-type]
            batch_size=get_settings().batch_size,
            inbox=settings.resolved_home / "inbox" / "portal",
        )
    session.commit()
    if settings.jobs == "deployments":
        result = announced(landed)
    else:
        store = settings.resolved_store_url
        result = await run_in_threadpool(
            onboard_landed,
            landed,
            # only when it is not the environment's store: parameters are shown in the UI
            database_url=None if store == get_settings().store_url else store,
        )
    return UploadPublic(
        supplier=result.supplier,
        file=result.file,
        run_id=None if result.run_id is None else str(result.run_id),
        rows=result.rows,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        onboarding=result.onboarding,
    )
