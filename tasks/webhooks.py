"""Webhook task: deliver the change events the change log holds for webhook subscriptions."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from catalog.db import session_factory
from catalog.webhooks.change_delivery import deliver_change_events


@task(name="deliver-change-webhooks", cache_policy=NO_CACHE)
def deliver_change_webhooks(
    *,
    store_url: str,
    organization_id: int | None,
    flush_scheduled: bool,
    limit: int,
    timeout: float,
    attempts: int,
    backoff: float,
) -> dict[str, int]:
    """One pass (no task retries: each delivery is retried and logged on its own, and an
    interrupted pass is finished by the next run)."""
    report = deliver_change_events(
        session_factory(store_url),
        organization_id=organization_id,
        flush_scheduled=flush_scheduled,
        limit=limit,
        timeout=timeout,
        attempts=attempts,
        backoff=backoff,
    )
    get_run_logger().info("change webhooks: %s", report.as_dict())
    return report.as_dict()
