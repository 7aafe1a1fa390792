"""The webhook tables: subscriptions, the delivery log, and the outbox of change events.

The outbox (`WebhookChangeEvent`) holds one row per (subscription, change, event) — unique, so
a change event is queued for a subscription once however often the change log is read — and
points at the delivery that carried it once it is sent, so nothing queued is lost when a
delivery run stops half-way.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, JsonType, utcnow


class DeliveryMode(StrEnum):
    PER_CHANGE = "per_change"
    """One signed delivery per change event, sent as soon as the change is seen."""
    BATCHED = "batched"
    """Change events grouped: a delivery per ``batch_size`` events, or after ``batch_seconds``."""
    SCHEDULED = "scheduled"
    """Change events kept until the scheduled delivery deployment runs, then grouped."""


class WebhookSubscription(Base):
    """An endpoint that receives signed event notifications. The secret is kept as given: it
    is a shared signing key, needed in the clear to sign each delivery."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mode: Mapped[str] = mapped_column(String(20), default=DeliveryMode.PER_CHANGE.value)
    batch_size: Mapped[int] = mapped_column(Integer, default=100)
    batch_seconds: Mapped[int] = mapped_column(Integer, default=60)
    catalogs: Mapped[list[str]] = mapped_column(JsonType, default=list)
    """Names of the catalogues whose changes it hears about; empty for all of them."""
    swept_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """How far the change log has been read for it (re-read with a margin each time)."""


class WebhookDelivery(Base):
    """One notification and every attempt to deliver it (the delivery log users can read)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_org_created", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookChangeEvent(Base):
    """A change event queued for one subscription; ``delivery_id`` is set once it is sent."""

    __tablename__ = "webhook_change_events"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "change_id", "event", name="uq_webhook_change_events_event"
        ),
        Index("ix_webhook_change_events_pending", "subscription_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
