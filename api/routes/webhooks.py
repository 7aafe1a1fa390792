"""Webhook subscriptions and the delivery log (``/api/webhooks``).

A subscription receives ``job.completed`` / ``job.failed`` / ``job.cancelled`` (and whatever
events other families emit), signed with its secret; every delivery and its attempts are
listed here.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AnyHttpUrl, BaseModel, Field
from sqlalchemy import func, select

from api.deps import CurrentOrganization, SessionDep, owned_or_404
from api.models import WebhookDelivery, WebhookSubscription

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    url: AnyHttpUrl = Field(description="Where to POST events.")
    events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, description="Events wanted; empty means all."
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Signing secret; generated if omitted."
    )


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


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


def _public(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": str(sub.id),
        "url": sub.url,
        "events": sub.events or [],
        "active": sub.active,
        "created_at": sub.created_at,
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
    sub = WebhookSubscription(
        organization_id=org.id,
        url=str(body.url),
        secret=body.secret or secrets.token_urlsafe(32),
        events=body.events,
        active=True,
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
    return WebhooksPublic(data=[WebhookPublic(**_public(s)) for s in subs], count=len(subs))


@router.get("/deliveries")
def list_deliveries(
    session: SessionDep,
    org: CurrentOrganization,
    event: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
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
    return WebhookPublic(**_public(sub))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, session: SessionDep, org: CurrentOrganization) -> Response:
    """Stop sending to the endpoint; its past deliveries stay in the log."""
    sub = owned_or_404(session, WebhookSubscription, webhook_id, org, what="webhook")
    session.delete(sub)
    return Response(status_code=204)
