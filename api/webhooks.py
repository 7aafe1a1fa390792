"""Outgoing webhooks: signed JSON POSTs, retried with exponential backoff, every attempt logged.

`enqueue` stores a delivery row (the log users read through the API); `WebhookSender.dispatch`
sends it in the background through `catalog.webhooks.delivery.deliver`, the one way skuflow
sends a webhook (signed with the subscription's secret, retried ``webhook_attempts`` times,
waiting ``webhook_backoff`` seconds and doubling, every attempt logged, every attempt through
the outbound URL policy). Deliveries wait in one queue per organization and are sent in turn,
at most two of an organization at once (`catalog.webhooks.dispatch.FairDispatcher`), so one
organization's slow receivers do not delay the others'. Change events are not sent from here:
the ``deliver-webhooks`` flow reads them from the change log.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.webhooks.delivery import deliver
from catalog.webhooks.dispatch import FairDispatcher
from catalog.webhooks.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger("skuflow.api.webhooks")


def enqueue(
    session: Session,
    *,
    organization_id: int,
    url: str,
    event: str,
    payload: dict[str, Any],
    subscription_id: int | None = None,
    run_id: int | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        organization_id=organization_id,
        subscription_id=subscription_id,
        run_id=run_id,
        url=url,
        event=event,
        payload=payload,
        status="pending",
        attempts=0,
    )
    session.add(delivery)
    session.flush()
    return delivery


def notify_subscribers(
    session: Session,
    *,
    organization_id: int,
    event: str,
    payload: dict[str, Any],
    run_id: int | None = None,
) -> list[WebhookDelivery]:
    """A delivery for every active subscription of the organization that wants ``event``
    (a subscription with no event list wants them all)."""
    subscriptions = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.organization_id == organization_id,
            WebhookSubscription.active.is_(True),
        )
    ).all()
    return [
        enqueue(
            session,
            organization_id=organization_id,
            url=sub.url,
            event=event,
            payload=payload,
            subscription_id=sub.id,
            run_id=run_id,
        )
        for sub in subscriptions
        if not sub.events or event in sub.events
    ]


class WebhookSender:
    """Delivers queued webhooks in the background, fairly across organizations (one per app)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        timeout: float,
        attempts: int,
        backoff: float,
        workers: int = 8,
        per_organization: int = 2,
    ) -> None:
        self.sessions = sessions
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._dispatcher = FairDispatcher(
            self.deliver, workers=workers, per_key=per_organization, name="skuflow-hook"
        )

    def dispatch(self, delivery_ids: list[int], **options: Any) -> None:
        """Queue stored deliveries, each behind its own organization's earlier ones;
        ``options`` override `deliver`'s (``attempts``, ``timeout``, ``secret``, ``envelope``)
        for these deliveries."""
        if not delivery_ids:
            return
        with self.sessions() as session:
            owners = dict(
                session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.organization_id).where(
                        WebhookDelivery.id.in_(delivery_ids)
                    )
                ).all()
            )
        for delivery_id in delivery_ids:
            self._dispatcher.submit(owners.get(delivery_id), (delivery_id, options))

    def deliver(self, item: tuple[int, dict[str, Any]]) -> str:
        """Send one delivery (`catalog.webhooks.delivery.deliver`); return its final status
        (``delivered`` or ``failed``)."""
        delivery_id, options = item
        settings = {"timeout": self.timeout, "attempts": self.attempts, "backoff": self.backoff}
        return deliver(self.sessions, delivery_id, **(settings | options))

    def shutdown(self, wait: bool = True) -> None:
        self._dispatcher.shutdown(wait=wait)


def job_event(status: str) -> str:
    return f"job.{status}"


def job_notifier(sessions: sessionmaker[Session], sender: WebhookSender):
    """An ``on_finish`` callback for `JobRunner.submit`: tells the organization's
    subscribers that a job ended (``job.completed``, ``job.failed`` or ``job.cancelled``)."""
    from catalog.models import Run

    def on_finish(run_id: int) -> None:
        with sessions() as session, session.begin():
            run = session.get(Run, run_id)
            payload = {
                "job_id": run.id,
                "operation": run.operation,
                "status": run.status,
                "counts": run.counts,
                "credits_used": run.credits,
                "error": run.error,
            }
            ids = [
                d.id
                for d in notify_subscribers(
                    session,
                    organization_id=run.organization_id,
                    event=job_event(run.status),
                    payload=payload,
                    run_id=run.id,
                )
            ]
        sender.dispatch(ids)

    return on_finish
