"""Slack's request signature: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:{timestamp}:{raw body}">`` with the app's signing secret, and ``X-Slack-Request-Timestamp``
no more than five minutes from now (so a captured request cannot be replayed later).
https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import hashlib
import hmac
import time

from catalog.errors import SkuflowError

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
VERSION = "v0"
WINDOW_SECONDS = 300


class SlackSignatureError(SkuflowError):
    """A request that did not come from Slack (or came too late)."""


def slack_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The ``v0=<hex>`` Slack sends for ``body`` at ``timestamp``."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack_request(
    secret: str,
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    now: float | None = None,
) -> None:
    """Raise `SlackSignatureError` unless Slack signed exactly this body, recently.

    Args:
        secret: The Slack app's signing secret.
        body: The raw request body, byte for byte as received.
        timestamp: The ``X-Slack-Request-Timestamp`` header.
        signature: The ``X-Slack-Signature`` header.
        now: The current Unix time (for tests).
    """
    if not timestamp or not signature:
        raise SlackSignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SlackSignatureError(f"{TIMESTAMP_HEADER} is not Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - sent) > WINDOW_SECONDS:
        raise SlackSignatureError("the request timestamp is more than five minutes away")
    if not hmac.compare_digest(
        signature.encode(), slack_signature(secret, body, timestamp).encode()
    ):
        raise SlackSignatureError("the signature does not match the request")
