"""Retries for connector calls: exponential backoff with full jitter, on transient errors only.

Every connector sorts its SDK's errors into `TransientConnectorError` / `TerminalConnectorError`
where they enter; this module looks only at that marker, so a bad password fails at once and a
503 is tried again after a random, growing pause (jitter keeps many workers from retrying in
step). HTTP status codes are sorted here once for the connectors that speak plain HTTP.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from connectors.base import TerminalConnectorError, TransientConnectorError

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Timeouts, throttling and server-side failures: a later try may succeed."""


def backoff_delays(attempts: int, *, base: float, cap: float) -> list[float]:
    """Pauses before retries 1..attempts-1, each uniform in [0, min(cap, base * 2**n)]."""
    return [random.uniform(0, min(cap, base * 2**n)) for n in range(attempts - 1)]


def call_with_retries(
    call: Callable[[], T],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`; on `TransientConnectorError` wait and try again, up to `attempts` tries.

    The last transient error is re-raised as it was (its message names the block), so a Prefect
    task around it may still retry the whole batch later. A server's Retry-After (set on the error
    by `http_status_error`) lengthens the pause, up to `max_delay`.
    """
    delays = backoff_delays(attempts, base=base_delay, cap=max_delay)
    for delay in delays:
        try:
            return call()
        except TransientConnectorError as exc:
            retry_after = getattr(exc, "retry_after", None)
            sleep(max(delay, min(retry_after or 0.0, max_delay)))
    return call()


def http_status_error(
    block: str, status: int, detail: str = "", *, retry_after: float | None = None
) -> TerminalConnectorError | TransientConnectorError:
    """The connector error for an HTTP error status: transient for 408/425/429/5xx, else terminal.

    401 and 403 say the credentials were refused, which is what a user needs to fix.
    """
    detail = " ".join(detail.split())[:300]
    if status in (401, 403):
        cause = f"credentials rejected (HTTP {status})"
    else:
        cause = f"HTTP {status}"
    message = f"{block}: {cause}" + (f": {detail}" if detail else "")
    if status in TRANSIENT_STATUSES or status >= 500:
        error = TransientConnectorError(message)
        error.retry_after = retry_after  # type: ignore[attr-defined]
        return error
    return TerminalConnectorError(message)


def check_http_status(block: str, status: int, text: str, retry_after: str | None) -> None:
    """Raise `http_status_error` for an error status (>= 400), passing on a numeric Retry-After."""
    if status >= 400:
        seconds = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
        raise http_status_error(block, status, text[:200], retry_after=seconds)
