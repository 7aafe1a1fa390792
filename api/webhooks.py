"""Outgoing webhooks: signed JSON POSTs, retried with exponential backoff, every attempt logged.

`enqueue` stores a delivery row (the log users read through the API); `WebhookSender.dispatch`
sends it in the background. The body is signed with the subscription's secret
(`catalog.signing`: ``X-Skuflow-Timestamp`` and ``X-Skuflow-Signature: v1=<hex>`` over
``"{timestamp}.{body}"``; receivers should refuse timestamps older than five minutes).
A 2xx answer delivers; a 4xx other than 408/429 fails at once (the receiver refused it);
anything else is retried ``webhook_attempts`` times, waiting ``webhook_backoff`` seconds and
doubling.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.models import WebhookDelivery, WebhookSubscription
from catalog.models import utcnow
from catalog.signing import signature_headers

log = logging.getLogger("skuflow.api.webhooks")
RETRYABLE_4XX = {408, 425, 429}


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


def encode(event: str, delivery_id: int, payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): the event envelope around the payload."""
    body = {"id": delivery_id, "event": event, "data": payload}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


class WebhookSender:
    """Delivers queued webhooks from a small thread pool (one per app)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        timeout: float,
        attempts: int,
        backoff: float,
        workers: int = 2,
    ) -> None:
        self.sessions = sessions
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skuflow-hook")

    def dispatch(self, delivery_ids: list[int]) -> None:
        for delivery_id in delivery_ids:
            self._pool.submit(self.deliver, delivery_id)

    def deliver(self, delivery_id: int) -> str:
        """Send one delivery until it succeeds, is refused, or runs out of attempts; return
        its final status (``delivered`` or ``failed``)."""
        with self.sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            subscription = (
                session.get(WebhookSubscription, delivery.subscription_id)
                if delivery.subscription_id
                else None
            )
            url, body = delivery.url, encode(delivery.event, delivery.id, delivery.payload)
            secret = subscription.secret if subscription is not None else None
        wait = self.backoff
        status = "failed"
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            for attempt in range(1, self.attempts + 1):
                headers = {"Content-Type": "application/json", "User-Agent": "skuflow-webhooks"}
                if secret:
                    headers.update(signature_headers(secret, body))
                code, error = None, None
                try:
                    code = client.post(url, content=body, headers=headers).status_code
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                delivered = code is not None and 200 <= code < 300
                refused = code is not None and 400 <= code < 500 and code not in RETRYABLE_4XX
                final = delivered or refused or attempt == self.attempts
                status = "delivered" if delivered else ("failed" if final else "retrying")
                self._log(delivery_id, attempt, status, code, error)
                if final:
                    break
                time.sleep(wait)
                wait *= 2
        return status

    def _log(
        self, delivery_id: int, attempt: int, status: str, code: int | None, error: str | None
    ) -> None:
        with self.sessions() as session, session.begin():
            delivery = session.get(WebhookDelivery, delivery_id)
            delivery.attempts = attempt
            delivery.status = status
            delivery.response_status = code
            delivery.last_error = error or (f"HTTP {code}" if status != "delivered" else None)
            if status == "delivered":
                delivery.delivered_at = utcnow()

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def job_event(status: str) -> str:
    return f"job.{status}"


def job_notifier(sessions: sessionmaker[Session], sender: WebhookSender):  # noqa: ANN201
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
