"""The credits ledger: one row per charged item of a job, never two."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import UsageEntry
from catalog.bulk import insert_rows
from catalog.models import Run, utcnow


def charge(
    session: Session,
    *,
    organization_id: int,
    run_id: int | None,
    operation: str,
    items: Sequence[str] | Mapping[str, float],
    credits_each: float = 1.0,
) -> None:
    """Charge ``credits_each`` for every item (or, given a mapping, each item its own amount:
    an item's LLM tokens); items this run was already charged for are skipped, so a retried
    chunk or a resumed job costs nothing twice. The run's ``credits`` total is refreshed from
    the ledger."""
    if not items:
        return
    now = utcnow()
    amounts = items if isinstance(items, Mapping) else dict.fromkeys(items, credits_each)
    columns = ("organization_id", "run_id", "operation", "item", "credits", "created_at")
    rows = [
        (organization_id, run_id, operation, str(item)[:500], float(credits), now)
        for item, credits in amounts.items()
    ]
    for start in range(0, len(rows), 5000):
        insert_rows(
            session,
            UsageEntry.__table__,
            columns,
            rows[start : start + 5000],
            conflict=("run_id", "item"),
        )
    if run_id is not None:
        run = session.get(Run, run_id)
        if run is not None:
            run.credits = run_credits(session, run_id=run_id)
    session.flush()


def run_credits(session: Session, *, run_id: int) -> float:
    return float(
        session.scalar(
            select(func.coalesce(func.sum(UsageEntry.credits), 0.0)).where(
                UsageEntry.run_id == run_id
            )
        )
    )


def usage_breakdown(
    session: Session, *, organization_id: int, since: datetime | None = None
) -> dict[str, Any]:
    """Credits used by the organization: total, per operation, per day."""
    where = [UsageEntry.organization_id == organization_id]
    if since is not None:
        where.append(UsageEntry.created_at >= since)
    by_operation = dict(
        session.execute(
            select(UsageEntry.operation, func.sum(UsageEntry.credits))
            .where(*where)
            .group_by(UsageEntry.operation)
        )
        .tuples()
        .all()
    )
    day = func.date(UsageEntry.created_at)
    by_day = (
        session.execute(
            select(day, func.sum(UsageEntry.credits)).where(*where).group_by(day).order_by(day)
        )
        .tuples()
        .all()
    )
    return {
        "total": float(sum(by_operation.values())),
        "by_operation": {k: float(v) for k, v in sorted(by_operation.items())},
        "by_day": [{"date": str(d), "credits": float(c)} for d, c in by_day],
    }
