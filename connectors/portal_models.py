"""Supplier upload tokens: each supplier of a catalogue gets its own, revocable, token.

Stored as a lookup id and the SHA-256 of the secret part, so a leaked database does not leak
tokens; the full token is shown once, when issued.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, utcnow


class SupplierToken(Base):
    __tablename__ = "supplier_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    catalog_id: Mapped[int] = mapped_column(Id, ForeignKey("catalogs.id", ondelete="CASCADE"))
    supplier: Mapped[str] = mapped_column(String(200))
    lookup_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
