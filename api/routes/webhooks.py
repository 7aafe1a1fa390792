"""Webhook subscriptions and the delivery log (``/api/webhooks``).

A subscription receives ``job.completed`` / ``job.failed`` / ``job.cancelled`` (and whatever
events other families emit), signed with its secret; every delivery and its attempts are
listed here. A subscription that names change events (``change.approved``, …, or
``change.*``) also receives the catalogue's changes, with their provenance, in its ``mode``:
``per_change`` (one delivery per change event), ``batched`` (``batch_size`` events per
delivery, or whatever waited ``batch_seconds``) or ``scheduled`` (grouped when the scheduled
delivery deployment runs). Those are sent by the ``deliver-webhooks`` flow (prefect.yaml).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select

from api.deps import CurrentOrganization, SessionDep, owned_or_404
from api.ids import Offset
from api.outbound import OutboundUrl, require_public_url
from catalog.webhooks.models import DeliveryMode, WebhookDelivery, WebhookSubscription
from catalog.webhooks.outbox import pending_counts, wanted_change_events

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    url: OutboundUrl = Field(description="Where to POST events (a public address).")
    events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, description="Events wanted; empty means all."
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Signing secret; generated if omitted."
    )
    mode: DeliveryMode = Field(
        DeliveryMode.PER_CHANGE,
        description="How change events are delivered: per_change, batched or scheduled.",
    )
    batch_size: int = Field(100, ge=1, le=1000, description="Change events per batched delivery.")
    batch_seconds: int = Field(
        60, ge=1, le=86_400, description="Longest a batched change event waits for its batch."
    )
    catalogs: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Catalogues it hears about; empty: all."
    )

    @model_validator(mode="after")
    def _modes_need_change_events(self) -> WebhookCreate:
        if self.mode is not DeliveryMode.PER_CHANGE and not wanted_change_events(self.events):
            raise ValueError(
                f"mode '{self.mode.value}' batches change events: name some in events "
                "(change.applied, change.queued_for_review, change.approved, change.rejected "
                "or change.*)"
            )
        return self


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    mode: str
    batch_size: int
    batch_seconds: int
    catalogs: list[str]
    pending_changes: int = Field(0, description="Change events queued, not yet delivered.")


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="The signing secret; shown only in this response.")


class WebhooksPublic(BaseModel):
    data: list[WebhookPublic]
    count: int


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str | None
    job_id: int | None
    url: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    count: int


def _public(sub: WebhookSubscription, pending: dict[int, int] | None = None) -> dict[str, Any]:
    return {
        "id": str(sub.id),
        "url": sub.url,
        "events": sub.events or [],
        "active": sub.active,
        "created_at": sub.created_at,
        "mode": sub.mode,
        "batch_size": sub.batch_size,
        "batch_seconds": sub.batch_seconds,
        "catalogs": sub.catalogs or [],
        "pending_changes": (pending or {}).get(sub.id, 0),
    }


def _delivery(d: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=str(d.id),
        webhook_id=str(d.subscription_id) if d.subscription_id else None,
        job_id=d.run_id,
        url=d.url,
        event=d.event,
        payload=d.payload,
        status=d.status,
        attempts=d.attempts,
        response_status=d.response_status,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


@router.post("", status_code=201)
def create_webhook(
    body: WebhookCreate, session: SessionDep, org: CurrentOrganization
) -> WebhookCreated:
    """Subscribe an endpoint; the response carries the signing secret once."""
    require_public_url(str(body.url), field="url")
    sub = WebhookSubscription(
        organization_id=org.id,
        url=str(body.url),
        secret=body.secret or secrets.token_urlsafe(32),
        events=body.events,
        active=True,
        mode=body.mode.value,
        batch_size=body.batch_size,
        batch_seconds=body.batch_seconds,
        catalogs=body.catalogs,
    )
    session.add(sub)
    session.flush()
    return WebhookCreated(**_public(sub), secret=sub.secret)


@router.get("")
def list_webhooks(session: SessionDep, org: CurrentOrganization) -> WebhooksPublic:
    subs = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.organization_id == org.id)
        .order_by(WebhookSubscription.id)
    ).all()
    pending = pending_counts(session, organization_id=org.id)
    return WebhooksPublic(
        data=[WebhookPublic(**_public(s, pending)) for s in subs], count=len(subs)
    )


@router.get("/deliveries")
def list_deliveries(
    session: SessionDep,
    org: CurrentOrganization,
    event: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> DeliveriesPublic:
    """Every delivery of the organization, newest first, with its attempts and outcome."""
    where = [WebhookDelivery.organization_id == org.id]
    if event:
        where.append(WebhookDelivery.event == event)
    if status:
        where.append(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where))
    rows = session.scalars(
        select(WebhookDelivery)
        .where(*where)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return DeliveriesPublic(data=[_delivery(d) for d in rows], count=total or 0)


@router.get("/{webhook_id}")
def get_webhook(webhook_id: str, session: SessionDep, org: CurrentOrganization) -> WebhookPublic:
    sub = owned_or_404(session, WebhookSubscription, webhook_id, org, what="webhook")
    return WebhookPublic(**_public(sub, pending_counts(session, organization_id=org.id)))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, session: SessionDep, org: CurrentOrganization) -> Response:
    """Stop sending to the endpoint; its past deliveries stay in the log."""
    sub = owned_or_404(session, WebhookSubscription, webhook_id, org, what="webhook")
    session.delete(sub)
    return Response(status_code=204)
