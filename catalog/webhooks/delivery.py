"""Sending one webhook delivery: signed, retried with doubling back-off, every attempt logged.

The API's job notifications and the change-event flow both send through `deliver`, so a
receiver sees one envelope (``{"id": <delivery id>, "event": ..., "data": ...}``) and one
signature (`catalog.signing`: ``X-Skuflow-Timestamp``, ``X-Skuflow-Signature: v1=<hex>`` over
``"{timestamp}.{body}"``) whoever sent it. A 2xx answer delivers; a 4xx other than
408/425/429 fails at once (the receiver refused it); anything else is retried. The delivery id
in the body stays the same across retries and re-runs, so a receiver that remembers ids
processes each delivery once even when an answer was lost and it came again.

Every attempt first passes the outbound URL policy (`catalog.outbound`: public addresses
only, `SKUFLOW_OUTBOUND_ALLOW` opting others in), checked again at each attempt because DNS
answers change, and connects to the address it checked. A refused URL is logged as
``refused by outbound policy: <why>`` and never connected to, so the delivery log cannot be
used to learn which internal ports are open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from catalog.models import utcnow
from catalog.outbound import REFUSED, OutboundPolicy, OutboundRefused, OutboundUnresolved
from catalog.signing import signature_headers
from catalog.webhooks.models import WebhookDelivery, WebhookSubscription

RETRYABLE_4XX = {408, 425, 429}
USER_AGENT = "skuflow-webhooks"


def encode(
    event: str, delivery_id: int, payload: dict[str, Any], *, envelope: bool = True
) -> bytes:
    """The exact bytes sent (and signed): the event envelope around the payload, or the
    payload alone for a contract that fixes the body (an enrich job's completion POST)."""
    body = {"id": delivery_id, "event": event, "data": payload} if envelope else payload
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def deliver(
    sessions: sessionmaker[Session],
    delivery_id: int,
    *,
    timeout: float,
    attempts: int,
    backoff: float,
    policy: OutboundPolicy | None = None,
    client: Any = None,
    secret: str | None = None,
    envelope: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send one delivery until it succeeds, is refused, or runs out of attempts.

    Args:
        sessions: Where the delivery row lives; each attempt is logged in its own transaction.
        delivery_id: The `WebhookDelivery` to send.
        timeout: Seconds per attempt.
        attempts: Tries in all (the first included).
        backoff: The first pause between tries, doubling after each.
        policy: The outbound URL policy each attempt must pass; `OutboundPolicy.from_env`
            when None. A refused URL fails the delivery unsent.
        client: An ``httpx.Client`` to reuse across deliveries (its connections and TLS set-up);
            one is made for this delivery when None.
        secret: The signing key of a delivery without a subscription (an enrich job's own
            ``webhook_url``); a subscription's secret otherwise.
        envelope: Send the ``{"id", "event", "data"}`` envelope (else the payload alone).

    Returns:
        The final status: ``delivered`` or ``failed``.
    """
    import httpx

    with sessions() as session:
        delivery = session.get_one(WebhookDelivery, delivery_id)
        subscription = (
            session.get(WebhookSubscription, delivery.subscription_id)
            if delivery.subscription_id
            else None
        )
        url = delivery.url
        body = encode(delivery.event, delivery.id, delivery.payload, envelope=envelope)
        if subscription is not None:
            secret = subscription.secret
        done = delivery.attempts
    sending = _Sending(
        sessions, delivery_id, url, body, secret, policy or OutboundPolicy.from_env(), sleep
    )
    if client is None:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as own:
            return sending.attempts(own, done, attempts, backoff)
    return sending.attempts(client, done, attempts, backoff)


class _Sending:
    """The attempts at one delivery."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        delivery_id: int,
        url: str,
        body: bytes,
        secret: str | None,
        policy: OutboundPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.sessions, self.delivery_id, self.url, self.body = sessions, delivery_id, url, body
        self.secret, self.policy, self.sleep = secret, policy, sleep

    def attempts(self, client: Any, done: int, attempts: int, backoff: float) -> str:
        wait = backoff
        status = "failed"
        for attempt in range(done + 1, done + attempts + 1):
            try:
                code, error = self.post(client)
            except OutboundRefused as exc:  # not sent: a retry would be refused the same way
                _log(self.sessions, self.delivery_id, attempt, "failed", None, f"{REFUSED}: {exc}")
                return "failed"
            delivered = code is not None and 200 <= code < 300
            refused = code is not None and 400 <= code < 500 and code not in RETRYABLE_4XX
            final = delivered or refused or attempt == done + attempts
            status = "delivered" if delivered else ("failed" if final else "retrying")
            _log(self.sessions, self.delivery_id, attempt, status, code, error)
            if final:
                break
            self.sleep(wait)
            wait *= 2
        return status

    def post(self, client: Any) -> tuple[int | None, str | None]:
        """One attempt: (status code, error). Raises `OutboundRefused` when the policy does."""
        import httpx

        try:
            target = self.policy.resolve(self.url)
        except OutboundUnresolved as exc:  # DNS may answer next time
            return None, str(exc)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        headers["Host"] = target.host_header
        if self.secret:
            headers.update(signature_headers(self.secret, self.body))
        try:
            response = client.post(
                target.pinned_url, content=self.body, headers=headers, extensions=target.extensions
            )
        except httpx.TimeoutException:
            return None, "timed out"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None


def _log(
    sessions: sessionmaker[Session],
    delivery_id: int,
    attempt: int,
    status: str,
    code: int | None,
    error: str | None,
) -> None:
    with sessions() as session, session.begin():
        delivery = session.get_one(WebhookDelivery, delivery_id)
        delivery.attempts = attempt
        delivery.status = status
        delivery.response_status = code
        delivery.last_error = error or (f"HTTP {code}" if status != "delivered" else None)
        if status == "delivered":
            delivery.delivered_at = utcnow()
