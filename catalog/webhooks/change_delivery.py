"""The change-event webhooks, end to end: read the change log, plan deliveries, send them.

`deliver_change_events` is the one entry point the ``deliver-webhooks`` flow calls (on a
``skuflow.change.*`` event, on its interval schedule, and on the scheduled deployment's cron).
Each step commits before the next, so a run that stops anywhere loses nothing: queued events
are planned by the next run, planned deliveries still unsent are sent by it, and deliveries a
receiver could not take (down, 5xx, 429) are tried again on later runs (up to 30 tries in all).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import transaction
from catalog.outbound import OutboundPolicy
from catalog.webhooks.delivery import deliver
from catalog.webhooks.dispatch import FairDispatcher
from catalog.webhooks.models import WebhookDelivery
from catalog.webhooks.outbox import (
    collect_change_events,
    plan_deliveries,
    undelivered_change_deliveries,
    unsent_change_deliveries,
)


@dataclass
class ChangeDeliveryReport:
    queued: int = 0
    """Change events newly read from the change log."""
    planned: int = 0
    """Deliveries made from queued events in this run."""
    events: int = 0
    """Change events those deliveries carry."""
    delivered: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def deliver_change_events(
    sessions: sessionmaker[Session],
    *,
    organization_id: int | None = None,
    flush_scheduled: bool = False,
    limit: int = 10_000,
    timeout: float = 10.0,
    attempts: int = 5,
    backoff: float = 1.0,
    policy: OutboundPolicy | None = None,
    workers: int = 8,
    per_organization: int = 2,
) -> ChangeDeliveryReport:
    """Queue new change events, plan their deliveries, and send every unsent one.

    Args:
        sessions: The store.
        organization_id: Only this organization's subscriptions; all when None.
        flush_scheduled: Also deliver what ``scheduled`` subscriptions have queued.
        limit: The most change events planned in one call.
        timeout, attempts, backoff: Per delivery: seconds per try, tries, first pause.
        policy: The outbound URL policy each endpoint must pass (`SKUFLOW_OUTBOUND_ALLOW`'s
            when None).
        workers, per_organization: Deliveries sent at once, in all and per organization, taken
            from the organizations in turn (`FairDispatcher`): one organization's slow
            receivers do not hold up the others'.
    """
    report = ChangeDeliveryReport()
    with transaction(sessions) as session:
        report.queued = collect_change_events(session, organization_id=organization_id)
    with transaction(sessions) as session:
        planned = plan_deliveries(
            session, organization_id=organization_id, flush_scheduled=flush_scheduled, limit=limit
        )
        report.planned, report.events = len(planned.delivery_ids), planned.events
    with sessions() as session:
        unsent = unsent_change_deliveries(session, organization_id=organization_id)
        again = undelivered_change_deliveries(session, organization_id=organization_id)
    # new deliveries get their retries now; ones that failed before get one more try per run,
    # so a receiver that is down does not hold the run in back-off pauses
    tries = dict.fromkeys(unsent, attempts) | dict.fromkeys(again, 1)
    owners = _owners(sessions, list(tries))
    policy = policy or OutboundPolicy.from_env()
    statuses: dict[int, str] = {}
    import httpx

    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:

        def send(delivery_id: int) -> None:
            statuses[delivery_id] = deliver(
                sessions,
                delivery_id,
                timeout=timeout,
                attempts=tries[delivery_id],
                backoff=backoff,
                policy=policy,
                client=client,
            )

        dispatcher = FairDispatcher(send, workers=workers, per_key=per_organization)
        for delivery_id in tries:
            dispatcher.submit(owners.get(delivery_id), delivery_id)
        dispatcher.shutdown(wait=True)
    report.delivered = sum(1 for s in statuses.values() if s == "delivered")
    report.failed = len(tries) - report.delivered
    return report


def _owners(sessions: sessionmaker[Session], delivery_ids: list[int]) -> dict[int, int]:
    """The organization of each delivery (whose turn it is sent in)."""
    owners: dict[int, int] = {}
    with sessions() as session:
        for start in range(0, len(delivery_ids), 1000):
            chunk = delivery_ids[start : start + 1000]
            rows = session.execute(
                select(WebhookDelivery.id, WebhookDelivery.organization_id).where(
                    WebhookDelivery.id.in_(chunk)
                )
            ).all()
            owners.update({int(d): int(o) for d, o in rows})
    return owners
