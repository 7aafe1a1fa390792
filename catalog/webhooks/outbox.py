"""Change events for webhook subscriptions: read from the change log after the commit, queued
once per subscription, then grouped into deliveries by each subscription's mode.

Why the change log and not the Prefect events alone: an event can be lost (no server running
when the CLI approved something, a server restart), the change log cannot. A change's status is
its latest state, but every earlier event of a change is implied by it, so reading the log later
still finds each event exactly once:

==========================  ====================================================  ============
event                       happened when the change …                            at
==========================  ====================================================  ============
change.applied              is applied, or was applied automatically and rolled   created_at
                            back (no reviewer, or it is itself an undo)
change.queued_for_review    waits, or was decided after it was created            created_at
                            (approved, rejected, superseded, rolled back)
change.approved             is approved, or was approved and then rolled back     decided_at
change.rejected             is rejected                                           decided_at
==========================  ====================================================  ============

Each read covers what happened since the subscription's last read minus `SWEEP_MARGIN` (so a
transaction that committed late, with earlier timestamps, is still seen); the outbox's unique
(subscription, change, event) makes the overlap harmless. A subscription hears only about
changes made after it was created, in its organization's catalogues (or the ones it names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from catalog.models import Catalog, Change, ChangeStatus, Record, utcnow
from catalog.outbound import REFUSED
from catalog.webhooks.models import (
    DeliveryMode,
    WebhookChangeEvent,
    WebhookDelivery,
    WebhookSubscription,
)

CHANGE_EVENTS = (
    "change.applied",
    "change.queued_for_review",
    "change.approved",
    "change.rejected",
)
ALL_CHANGES = "change.*"
BATCH_EVENT = "change.batch"
SWEEP_MARGIN = timedelta(minutes=10)
UNSENT = ("pending", "retrying")
PLAN_CHUNK = 1000
"""Deliveries inserted per statement while planning."""
MAX_ATTEMPTS = 30
"""Tries a change delivery gets in all, over successive runs, before it stays failed."""

_REVIEWED = and_(Change.reviewer.is_not(None), Change.operation != "rollback")
_ROLLED_BACK = Change.status == ChangeStatus.ROLLED_BACK.value
EVENT_RULES: dict[str, tuple[Any, Any]] = {
    "change.applied": (
        or_(Change.status == ChangeStatus.APPLIED.value, and_(_ROLLED_BACK, ~_REVIEWED)),
        Change.created_at,
    ),
    "change.queued_for_review": (
        or_(Change.decided_at.is_(None), Change.decided_at > Change.created_at),
        Change.created_at,
    ),
    "change.approved": (
        or_(Change.status == ChangeStatus.APPROVED.value, and_(_ROLLED_BACK, _REVIEWED)),
        Change.decided_at,
    ),
    "change.rejected": (Change.status == ChangeStatus.REJECTED.value, Change.decided_at),
}
"""Per event: which changes it happened to, and the column that says when."""


def wanted_change_events(events: list[str] | None) -> list[str]:
    """The change events a subscription's event list asks for (``change.*`` is all of them).
    An empty list means every *job* event, not change events: those are opt-in."""
    names = set(events or [])
    if ALL_CHANGES in names:
        return list(CHANGE_EVENTS)
    return [e for e in CHANGE_EVENTS if e in names]


def change_subscriptions(
    session: Session, *, organization_id: int | None = None
) -> list[WebhookSubscription]:
    """Active subscriptions that asked for change events."""
    query = select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    if organization_id is not None:
        query = query.where(WebhookSubscription.organization_id == organization_id)
    return [
        s
        for s in session.scalars(query.order_by(WebhookSubscription.id))
        if wanted_change_events(s.events)
    ]


def collect_change_events(
    session: Session, *, organization_id: int | None = None, now: datetime | None = None
) -> int:
    """Queue every change event since each subscription's last read; how many were new.

    One ``INSERT … SELECT`` per subscription and event, skipping rows already queued, so the
    cost is a range read of the change log's timestamps, not a row at a time.
    """
    now = now or utcnow()
    queued = 0
    for subscription in change_subscriptions(session, organization_id=organization_id):
        since = subscription.created_at
        if subscription.swept_until is not None:
            since = max(since, subscription.swept_until - SWEEP_MARGIN)
        catalogs = select(Catalog.id).where(Catalog.organization_id == subscription.organization_id)
        if subscription.catalogs:
            catalogs = catalogs.where(Catalog.name.in_(subscription.catalogs))
        for event in wanted_change_events(subscription.events):
            happened, at = EVENT_RULES[event]
            chosen = select(
                literal(subscription.organization_id),
                literal(subscription.id),
                Change.id,
                literal(event),
                literal(now),
            ).where(Change.catalog_id.in_(catalogs), happened, at >= since)
            queued += _insert_new(session, chosen)
        subscription.swept_until = now
    session.flush()
    return queued


def _insert_new(session: Session, chosen: Any) -> int:
    table = WebhookChangeEvent.__table__
    columns = ["organization_id", "subscription_id", "change_id", "event", "created_at"]
    from sqlalchemy.dialects import postgresql, sqlite

    insert = (
        postgresql.insert(table)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    statement = insert.from_select(columns, chosen).on_conflict_do_nothing().returning(table.c.id)
    return len(session.execute(statement).all())


@dataclass(frozen=True)
class Planned:
    """Deliveries made from queued change events: their ids, and how many events they carry."""

    delivery_ids: list[int]
    events: int


def plan_deliveries(
    session: Session,
    *,
    organization_id: int | None = None,
    flush_scheduled: bool = False,
    limit: int = 10_000,
    now: datetime | None = None,
) -> Planned:
    """Turn queued change events into deliveries, per each subscription's mode.

    Per change: one delivery per event. Batched: a delivery per ``batch_size`` events, and the
    remainder once its oldest event has waited ``batch_seconds``. Scheduled: only when
    ``flush_scheduled`` (the scheduled deployment's run), in groups of ``batch_size``. Each event
    is linked to its delivery in the same transaction, so it is never planned twice. At most
    ``limit`` events per call; the rest wait for the next one.
    """
    now = now or utcnow()
    ids: list[int] = []
    carried = 0
    for subscription in change_subscriptions(session, organization_id=organization_id):
        if carried >= limit:
            break
        mode = subscription.mode
        if mode == DeliveryMode.SCHEDULED.value and not flush_scheduled:
            continue
        pending = session.execute(
            select(
                WebhookChangeEvent.id,
                WebhookChangeEvent.change_id,
                WebhookChangeEvent.event,
                WebhookChangeEvent.created_at,
            )
            .where(
                WebhookChangeEvent.subscription_id == subscription.id,
                WebhookChangeEvent.delivery_id.is_(None),
            )
            .order_by(WebhookChangeEvent.id)
            .limit(limit - carried)
        ).all()
        if not pending:
            continue
        size = 1 if mode == DeliveryMode.PER_CHANGE.value else max(subscription.batch_size, 1)
        groups = [pending[i : i + size] for i in range(0, len(pending), size)]
        if mode == DeliveryMode.BATCHED.value and len(groups[-1]) < size:
            waited = now - _aware(groups[-1][0].created_at, now)
            if waited < timedelta(seconds=subscription.batch_seconds):
                groups.pop()
        for start in range(0, len(groups), PLAN_CHUNK):
            chunk = groups[start : start + PLAN_CHUNK]
            payloads = change_payloads(session, [e.change_id for g in chunk for e in g])
            made = session.scalars(
                insert(WebhookDelivery).returning(WebhookDelivery.id, sort_by_parameter_order=True),
                [
                    {
                        "organization_id": subscription.organization_id,
                        "subscription_id": subscription.id,
                        "url": subscription.url,
                        "event": group[0].event if size == 1 else BATCH_EVENT,
                        "payload": _payload(group, payloads, batched=size > 1),
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                    for group in chunk
                ],
            ).all()
            session.execute(
                update(WebhookChangeEvent),
                [
                    {"id": event.id, "delivery_id": delivery_id}
                    for group, delivery_id in zip(chunk, made, strict=True)
                    for event in group
                ],
            )
            ids += made
            carried += sum(len(group) for group in chunk)
    session.flush()
    return Planned(ids, carried)


def unsent_change_deliveries(session: Session, *, organization_id: int | None = None) -> list[int]:
    """Change deliveries planned but not finished (a run stopped half-way): to send again."""
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.event.like("change.%"), WebhookDelivery.status.in_(UNSENT)
    )
    if organization_id is not None:
        query = query.where(WebhookDelivery.organization_id == organization_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id)))


def undelivered_change_deliveries(
    session: Session, *, organization_id: int | None = None, max_attempts: int = MAX_ATTEMPTS
) -> list[int]:
    """Change deliveries that failed for a reason that may pass (no answer, 408/425/429, 5xx)
    and have been tried fewer than ``max_attempts`` times: a receiver that was down gets them
    on a later run. A receiver that refused one (any other 4xx) does not get it again."""
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.event.like("change.%"),
        WebhookDelivery.status == "failed",
        WebhookDelivery.attempts < max_attempts,
        or_(
            WebhookDelivery.response_status.is_(None),
            WebhookDelivery.response_status >= 500,
            WebhookDelivery.response_status.in_([408, 425, 429]),
        ),
        ~WebhookDelivery.last_error.like("refused:%"),  # the policy's older wording
        ~WebhookDelivery.last_error.like(f"{REFUSED}%"),
    )
    if organization_id is not None:
        query = query.where(WebhookDelivery.organization_id == organization_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id)))


def pending_counts(session: Session, *, organization_id: int | None = None) -> dict[int, int]:
    """Queued, not yet delivered change events per subscription."""
    query = (
        select(WebhookChangeEvent.subscription_id, func.count())
        .where(WebhookChangeEvent.delivery_id.is_(None))
        .group_by(WebhookChangeEvent.subscription_id)
    )
    if organization_id is not None:
        query = query.where(WebhookChangeEvent.organization_id == organization_id)
    return {int(sub): int(count) for sub, count in session.execute(query).tuples()}


def change_payloads(session: Session, change_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each change as a receiver sees it: the value, the record and catalogue it belongs to,
    and its provenance (stage, run, provider, model, method, sources, explanation, reviewer)."""
    payloads: dict[int, dict[str, Any]] = {}
    for start in range(0, len(change_ids), 1000):
        rows = session.execute(
            select(Change, Record.external_id, Catalog.name)
            .join(Record, Record.id == Change.record_id)
            .join(Catalog, Catalog.id == Change.catalog_id)
            .where(Change.id.in_(change_ids[start : start + 1000]))
        ).all()
        for change, external_id, catalog in rows:
            payloads[change.id] = {
                "change_id": change.id,
                "catalog": catalog,
                "record": external_id,
                "field": change.field,
                "old_value": change.old_value,
                "new_value": change.new_value,
                "confidence": change.confidence,
                "status": change.status,
                "provenance": {
                    "operation": change.operation,
                    "run_id": change.run_id,
                    "provider": change.provider,
                    "model": change.model,
                    "method": change.method,
                    "sources": list(change.sources or []),
                    "explanation": change.explanation,
                    "reviewer": change.reviewer,
                },
                "created_at": change.created_at,
                "decided_at": change.decided_at,
            }
    return payloads


def _payload(
    group: Sequence[Any], payloads: dict[int, dict[str, Any]], *, batched: bool
) -> dict[str, Any]:
    if not batched:
        return _jsonable(payloads[group[0].change_id])
    return {
        "count": len(group),
        "changes": [
            _jsonable({"event": e.event, **payloads[e.change_id]})
            for e in group
            if e.change_id in payloads
        ],
    }


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in payload.items()}


def _aware(moment: datetime, like: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    if moment.tzinfo is None and like.tzinfo is not None:
        return moment.replace(tzinfo=like.tzinfo)
    return moment
