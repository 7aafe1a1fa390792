"""Send catalogue rows to a webhook: signed JSON POSTs, one per record or per batch.

Nothing is sent before `commit()`: rows wait in a temporary file, so a run that fails sends
nothing. At commit the batches go out in order, each signed with HMAC-SHA256
(`catalog.signing`: `X-Skuflow-Timestamp`, `X-Skuflow-Signature`) and carrying a delivery id
derived from its content (`X-Skuflow-Delivery`). A receiver that remembers delivery ids sees
every batch exactly once even when a commit that failed half-way is run again. 408/429/5xx are
retried with backoff and jitter; other statuses stop the commit with the receiver's answer.
Per-record (`batch_size: 1`) or batched; a schedule comes from the deployment that runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from catalog.rows import WriteMode, WriteResult
from catalog.signing import signature_headers
from connectors.base import (
    TerminalConnectorError,
    TransientConnectorError,
    WriterLifecycle,
    block_label,
    check_open_arguments,
)
from connectors.retry import call_with_retries, check_http_status

DELIVERY_HEADER = "X-Skuflow-Delivery"


class WebhookDestination(Block):
    """An HTTPS endpoint that receives catalogue rows as signed JSON POSTs.

    Body of each POST: `{"event": ..., "mode": ..., "key": ..., "batch": i, "rows": [...]}`.

    Attributes:
        url: The endpoint to POST to.
        secret: The shared secret that signs every body.
        event: The event name put in each body.
        batch_size: Rows per POST; 1 sends one request per record.
        timeout_seconds: Seconds to wait for one response.
        attempts: Tries per POST on 408, 429 and 5xx.
        retry_base_seconds: The first back-off pause; it doubles per retry (with jitter).

    Example:
        Notify a receiver of changed products:
        ```python
        from connectors.webhook import WebhookDestination

        hook = WebhookDestination.load("BLOCK_NAME")
        with hook.open(columns=["sku", "title"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow Webhook"
    _block_type_slug = "skuflow-webhook"

    url: str = Field(..., description="The endpoint that receives the POSTs.")
    secret: SecretStr = Field(..., description="The shared secret that signs every request body.")
    event: str = Field("skuflow.catalog.rows", description="The event name put in each body.")
    batch_size: int = Field(500, ge=1, description="Rows per request; 1 sends one per record.")
    timeout_seconds: float = Field(30.0, gt=0, description="Seconds to wait for one response.")
    attempts: int = Field(4, ge=1, description="Tries per request on 408, 429 and 5xx.")
    retry_base_seconds: float = Field(
        0.5, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    def describe(self) -> str:
        return block_label(self, f"webhook {self.url}")

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> WebhookWriter:
        """Start collecting rows; they are sent at `commit()`."""
        check_open_arguments(
            destination=self.describe(), columns=columns, key=key, mode=mode, types=types or {}
        )
        return WebhookWriter(self, columns=list(columns), key=key, mode=mode)


class WebhookWriter(WriterLifecycle):
    """Rows buffered to a temporary JSON Lines file; `commit()` posts them in batches."""

    def __init__(self, block: WebhookDestination, *, columns: list[str], key: str, mode: str):
        self._block = block
        self._columns = columns
        self._key = key
        self._mode = mode
        self._rows = 0
        self._state = "open"
        handle, self._path = tempfile.mkstemp(prefix="skuflow-webhook-", suffix=".jsonl")
        self._stream = os.fdopen(handle, "w", encoding="utf-8")

    def __enter__(self) -> WebhookWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self._state != "open":
            raise TerminalConnectorError(f"{self._block.describe()}: this write is {self._state}")
        unknown = set().union(*rows) - set(self._columns) if rows else set()
        if unknown:
            raise TerminalConnectorError(
                f"{self._block.describe()}: rows have columns not opened for writing: "
                f"{sorted(unknown)}"
            )
        self._stream.writelines(
            json.dumps({c: row.get(c) for c in self._columns}, default=str) + "\n" for row in rows
        )
        self._rows += len(rows)

    def commit(self) -> WriteResult:
        import httpx

        if self._state != "open":
            raise TerminalConnectorError(f"{self._block.describe()}: this write is {self._state}")
        block = self._block
        self._stream.close()
        sent = 0
        try:
            with httpx.Client(timeout=block.timeout_seconds) as client:
                for number, rows in enumerate(self._batches(), start=1):
                    body = json.dumps(
                        {
                            "event": block.event,
                            "mode": self._mode,
                            "key": self._key,
                            "batch": number,
                            "rows": rows,
                        },
                        separators=(",", ":"),
                    ).encode()
                    call_with_retries(
                        partial(self._post, client, body),
                        attempts=block.attempts,
                        base_delay=block.retry_base_seconds,
                        max_delay=max(block.retry_base_seconds * 2**block.attempts, 1.0),
                    )
                    sent += 1
        except (TerminalConnectorError, TransientConnectorError) as exc:
            self._state = "aborted"
            raise type(exc)(f"{exc} (after {sent} batch(es) delivered)") from None
        finally:
            os.unlink(self._path)
        self._state = "committed"
        return WriteResult(
            destination=block.describe(), rows=self._rows, location=f"{block.url} ({sent} POSTs)"
        )

    def abort(self) -> None:
        """Send nothing and drop the buffered rows."""
        if self._state == "open":
            self._state = "aborted"
            self._stream.close()
            os.unlink(self._path)

    def _batches(self) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        with open(self._path, encoding="utf-8") as stream:
            for line in stream:
                batch.append(json.loads(line))
                if len(batch) == self._block.batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _post(self, client: Any, body: bytes) -> None:
        import httpx

        block = self._block
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: hashlib.sha256(body).hexdigest()[:32],
            **signature_headers(block.secret.get_secret_value(), body),
        }
        try:
            response = client.post(block.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise TransientConnectorError(f"{block.describe()}: cannot reach it: {exc}") from None
        check_http_status(
            block.describe(),
            response.status_code,
            response.text,
            response.headers.get("Retry-After"),
        )
