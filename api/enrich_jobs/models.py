"""Items of enrichment jobs. A job itself is a `catalog.models.Run` (operation
``enrich_job``): its request (without the items) is in ``params``, its progress in ``counts``.

Every submitted item is a row here (including those beyond ``max_rows``, kept so a later job
can resume them), and its result is written as soon as its batch is done: that is what makes
partial results visible while a job runs and keeps them after a cancel.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog.models import Base, Id, JsonType

JOB_OPERATION = "enrich_job"


class ItemState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class EnrichItem(Base):
    __tablename__ = "enrich_items"
    __table_args__ = (Index("ix_enrich_items_run_state", "run_id", "state", "position"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(Id, ForeignKey("runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    in_scope: Mapped[bool] = mapped_column(Boolean, default=True)
    """False for items past ``max_rows``: stored for a resume, not processed."""
    original: Mapped[dict[str, Any]] = mapped_column(JsonType)
    state: Mapped[str] = mapped_column(String(20), default=ItemState.PENDING.value)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
