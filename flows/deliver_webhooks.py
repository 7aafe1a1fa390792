"""Flow `deliver-webhooks`: signed webhook deliveries of catalogue changes, per change, batched
or on a schedule, to the subscriptions that asked for change events (``/api/webhooks``).

Reads the store's change log after the commit (not the triggering event's payload), queues each
change event once per subscription, plans deliveries by each subscription's mode, and sends
them with retries, every attempt in the delivery log. Safe to re-run and to run often: a
change event already queued is not queued again, a delivery already sent is not sent again, and
a run stopped half-way is finished by the next. prefect.yaml runs it on every
``skuflow.change.*`` event and on an interval (the timer of batched subscriptions, and the
catch-up for events the server never received); the ``deliver-webhooks-scheduled`` deployment
runs it with ``flush_scheduled`` for scheduled subscriptions.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Organization
from catalog.settings import get_settings, normalize_database_url
from tasks.webhooks import deliver_change_webhooks


@flow(name="deliver-webhooks")
def deliver_webhooks(
    organization: str | None = None,
    flush_scheduled: bool = False,
    reason: str | None = None,
    limit: int = 10_000,
    timeout_seconds: float = 10.0,
    attempts: int = 5,
    backoff_seconds: float = 1.0,
    database_url: SkipJsonSchema[str | None] = None,
) -> dict[str, Any]:
    """Deliver the change events waiting for webhook subscriptions.

    Args:
        organization: Only this organization's subscriptions; every organization's when None.
        flush_scheduled: Also send what ``scheduled`` subscriptions have gathered.
        reason: What started the run (the triggering event's name), for the run's log.
        limit: The most change events planned per run; the rest wait for the next.
        timeout_seconds: Seconds per delivery attempt.
        attempts: Attempts per delivery (408, 425, 429, 5xx and network errors are retried).
        backoff_seconds: The first pause between attempts; it doubles.
    """
    store_url = normalize_database_url(database_url) if database_url else get_settings().store_url
    organization_id = None
    if organization:
        with session_scope(store_url) as session:
            org = session.scalar(select(Organization).where(Organization.name == organization))
            if org is None:
                raise ValueError(f"no organization '{organization}' in the store")
            organization_id = org.id
    if reason:
        get_run_logger().info("started by %s", reason)
    report = deliver_change_webhooks(
        store_url=store_url,
        organization_id=organization_id,
        flush_scheduled=flush_scheduled,
        limit=limit,
        timeout=timeout_seconds,
        attempts=attempts,
        backoff=backoff_seconds,
    )
    return {"organization": organization, "flush_scheduled": flush_scheduled, **report}
