"""Tables the HTTP API adds to the store: API keys, the credits ledger, each organization's
auto-enrichment settings, and supplier-portal upload tokens. (Webhook subscriptions and their
delivery log are the domain's, `catalog.webhooks.models`: flows deliver change events too.)

Jobs are the store's `catalog.models.Run` rows: a job is a run started over HTTP, so the CLI,
the flows and the API see one history. Progress lives in ``Run.counts`` (``total``,
``completed``, ``failed``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, JsonType, utcnow


class ApiKey(Base):
    """A bearer key. Only ``sha256(secret)`` is kept; ``lookup_id`` (the visible part of the key)
    finds the row so the hash comparison is one constant-time compare, not a table scan."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    lookup_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UsageEntry(Base):
    """Credits charged for one item of one job. Unique per (run, item) so a retried or resumed
    job never charges an item twice."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        UniqueConstraint("run_id", "item", name="uq_usage_ledger_run_item"),
        Index("ix_usage_ledger_org_created", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    operation: Mapped[str] = mapped_column(String(50))
    item: Mapped[str] = mapped_column(String(500))
    credits: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AutoEnrichmentSettings(Base):
    """An organization's auto-enrichment configuration (free-form JSON validated by the API)
    and whether the pipeline is paused."""

    __tablename__ = "auto_enrichment_settings"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class SupplierToken(Base):
    """A supplier's upload token for one catalogue: a lookup id and the SHA-256 of the secret
    part, so a leaked database does not leak tokens; the full token is shown once, when issued.
    """

    __tablename__ = "supplier_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(Id, ForeignKey("catalogs.id", ondelete="CASCADE"))
    supplier: Mapped[str] = mapped_column(String(200))
    lookup_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
