"""Sending one webhook delivery: signed, retried with doubling back-off, every attempt logged.

The API's job notifications and the change-event flow both send through `deliver`, so a
receiver sees one envelope (``{"id": <delivery id>, "event": ..., "data": ...}``) and one
signature (`catalog.signing`: ``X-Skuflow-Timestamp``, ``X-Skuflow-Signature: v1=<hex>`` over
``"{timestamp}.{body}"``) whoever sent it. A 2xx answer delivers; a 4xx other than
408/425/429 fails at once (the receiver refused it); anything else is retried. The delivery id
in the body stays the same across retries and re-runs, so a receiver that remembers ids
processes each delivery once even when an answer was lost and it came again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from catalog.models import utcnow
from catalog.signing import signature_headers
from catalog.webhooks.models import WebhookDelivery, WebhookSubscription

RETRYABLE_4XX = {408, 425, 429}
USER_AGENT = "skuflow-webhooks"

UrlCheck = Callable[[str], None]
"""Raises when a URL must not be called (the outbound address policy); returns otherwise."""


def encode(event: str, delivery_id: int, payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): the event envelope around the payload."""
    body = {"id": delivery_id, "event": event, "data": payload}
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def deliver(
    sessions: sessionmaker[Session],
    delivery_id: int,
    *,
    timeout: float,
    attempts: int,
    backoff: float,
    check_url: UrlCheck | None = None,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send one delivery until it succeeds, is refused, or runs out of attempts.

    Args:
        sessions: Where the delivery row lives; each attempt is logged in its own transaction.
        delivery_id: The `WebhookDelivery` to send.
        timeout: Seconds per attempt.
        attempts: Tries in all (the first included).
        backoff: The first pause between tries, doubling after each.
        check_url: The outbound address policy; a refused URL fails the delivery unsent.
        client: An ``httpx.Client`` to reuse across deliveries (its connections and TLS set-up);
            one is made for this delivery when None.

    Returns:
        The final status: ``delivered`` or ``failed``.
    """
    import httpx

    with sessions() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        subscription = (
            session.get(WebhookSubscription, delivery.subscription_id)
            if delivery.subscription_id
            else None
        )
        url, body = delivery.url, encode(delivery.event, delivery.id, delivery.payload)
        secret = subscription.secret if subscription is not None else None
        done = delivery.attempts
    if check_url is not None:
        try:
            check_url(url)
        except Exception as exc:  # the policy's own error type: its message says why
            _log(sessions, delivery_id, done + 1, "failed", None, f"refused: {exc}")
            return "failed"
    if client is None:
        with httpx.Client(timeout=timeout, follow_redirects=False) as own:
            return _attempts(
                sessions, delivery_id, own, url, body, secret, done, attempts, backoff, sleep
            )
    return _attempts(
        sessions, delivery_id, client, url, body, secret, done, attempts, backoff, sleep
    )


def _attempts(
    sessions: sessionmaker[Session],
    delivery_id: int,
    client: Any,
    url: str,
    body: bytes,
    secret: str | None,
    done: int,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> str:
    import httpx

    wait = backoff
    status = "failed"
    for attempt in range(done + 1, done + attempts + 1):
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if secret:
            headers.update(signature_headers(secret, body))
        code, error = None, None
        try:
            code = client.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = code is not None and 200 <= code < 300
        refused = code is not None and 400 <= code < 500 and code not in RETRYABLE_4XX
        final = delivered or refused or attempt == done + attempts
        status = "delivered" if delivered else ("failed" if final else "retrying")
        _log(sessions, delivery_id, attempt, status, code, error)
        if final:
            break
        sleep(wait)
        wait *= 2
    return status


def _log(
    sessions: sessionmaker[Session],
    delivery_id: int,
    attempt: int,
    status: str,
    code: int | None,
    error: str | None,
) -> None:
    with sessions() as session, session.begin():
        delivery = session.get(WebhookDelivery, delivery_id)
        delivery.attempts = attempt
        delivery.status = status
        delivery.response_status = code
        delivery.last_error = error or (f"HTTP {code}" if status != "delivered" else None)
        if status == "delivered":
            delivery.delivered_at = utcnow()
