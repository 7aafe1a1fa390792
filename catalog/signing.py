"""HMAC-SHA256 signatures for outgoing webhook bodies, and their verification.

The signature covers ``"{timestamp}.{body}"`` so a captured request cannot be replayed later
with a fresh timestamp, and the receiver refuses timestamps outside a replay window (five
minutes by default). Headers sent with every signed request:

- ``X-Skuflow-Timestamp``: Unix seconds when the request was signed.
- ``X-Skuflow-Signature``: ``v1=<hex digest>``.

A receiver recomputes the digest with the shared secret over the raw body it received and
compares in constant time (``verify_signature`` does exactly that).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from catalog.errors import SkuflowError

TIMESTAMP_HEADER = "X-Skuflow-Timestamp"
SIGNATURE_HEADER = "X-Skuflow-Signature"
SCHEME = "v1"
REPLAY_WINDOW_SECONDS = 300


class SignatureError(SkuflowError):
    """A signed request whose signature is missing, wrong, or outside the replay window."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}." + body`` under ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two headers to send with ``body``."""
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={sign(secret, body, timestamp)}",
    }


def verify_signature(
    secret: str,
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    tolerance: int = REPLAY_WINDOW_SECONDS,
    now: float | None = None,
) -> None:
    """Check a received request; raise ``SignatureError`` saying what is wrong.

    Args:
        secret: The subscription's shared secret.
        body: The raw request body, exactly as received.
        timestamp: The ``X-Skuflow-Timestamp`` header value.
        signature: The ``X-Skuflow-Signature`` header value (``v1=<hex>``).
        tolerance: Largest accepted age (or clock skew) in seconds.
        now: The current Unix time (for tests); the clock by default.
    """
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not timestamp.isascii() or not signature.isascii():
        # what a client sends is text; the digest comparison takes ASCII only (TypeError)
        raise SignatureError(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} must be ASCII")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not Unix seconds: {timestamp!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        raise SignatureError(
            f"timestamp {sent} is outside the {tolerance}s replay window (now {int(current)})"
        )
    scheme, _, digest = signature.partition("=")
    if scheme != SCHEME or not digest:
        raise SignatureError(f"{SIGNATURE_HEADER} must look like '{SCHEME}=<hex>'")
    if not hmac.compare_digest(digest, sign(secret, body, sent)):
        raise SignatureError("signature does not match the body and timestamp")
