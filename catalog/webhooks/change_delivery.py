"""The change-event webhooks, end to end: read the change log, plan deliveries, send them.

`deliver_change_events` is the one entry point the ``deliver-webhooks`` flow calls (on a
``skuflow.change.*`` event, on its interval schedule, and on the scheduled deployment's cron).
Each step commits before the next, so a run that stops anywhere loses nothing: queued events
are planned by the next run, planned deliveries still unsent are sent by it, and deliveries a
receiver could not take (down, 5xx, 429) are tried again on later runs (up to 30 tries in all).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session, sessionmaker

from catalog.db import transaction
from catalog.webhooks.delivery import UrlCheck, deliver
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
    check_url: UrlCheck | None = None,
) -> ChangeDeliveryReport:
    """Queue new change events, plan their deliveries, and send every unsent one.

    Args:
        sessions: The store.
        organization_id: Only this organization's subscriptions; all when None.
        flush_scheduled: Also deliver what ``scheduled`` subscriptions have queued.
        limit: The most change events planned in one call.
        timeout, attempts, backoff: Per delivery: seconds per try, tries, first pause.
        check_url: The outbound address policy each endpoint must pass.
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
    import httpx

    with httpx.Client(timeout=timeout, follow_redirects=False) as client:  # one pool per pass
        for delivery_id, tries in [(d, attempts) for d in unsent] + [(d, 1) for d in again]:
            status = deliver(
                sessions,
                delivery_id,
                timeout=timeout,
                attempts=tries,
                backoff=backoff,
                check_url=check_url,
                client=client,
            )
            if status == "delivered":
                report.delivered += 1
            else:
                report.failed += 1
    return report
