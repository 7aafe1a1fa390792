"""Pull rows from an HTTPS endpoint: a JSON or CSV feed, page by page.

Supplier and marketplace APIs page their results either by page number or by an opaque cursor
found in each response; both are followed here until a page comes back empty (or without a next
cursor). The auth header's value is a secret: given inline (`auth_value`) or by the name of a
Prefect `Secret` block, and never logged. 408/429/5xx are retried with backoff and jitter
(honouring Retry-After); other error statuses fail at once, naming the block and the URL.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from functools import partial
from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from catalog.rows import RowBatch
from connectors.base import TerminalConnectorError, TransientConnectorError, block_label
from connectors.retry import call_with_retries, check_http_status


class HttpsSource(Block):
    """A JSON or CSV endpoint read as row batches, following page-number or cursor pagination.

    Attributes:
        url: The endpoint to read.
        format: json (an array of objects, at `records_path`) or csv.
        params: Query parameters sent with every request.
        auth_header: The header carrying the credential.
        auth_value: The header's value (e.g. "Bearer <token>"), or None.
        auth_secret: The name of a Prefect Secret block holding the header's value, or None.
        records_path: The dotted path of the records array in a JSON response ("" = the body).
        pagination: none, page (page-number parameter) or cursor (a cursor from each response).
        page_param: The query parameter carrying the page number or the cursor.
        first_page: The number of the first page.
        next_cursor_path: The dotted path of the next cursor in a JSON response.
        cursor_field: A record field that only grows (updated_at, id), for incremental reads.
        since_param: The query parameter given the last run's highest `cursor_field` value.
        max_pages: A safety stop for endpoints that never return an empty page.
        attempts: Tries per request on 408, 429 and 5xx.
        retry_base_seconds: The first back-off pause; it doubles per retry (with jitter).

    Example:
        Read a supplier API:
        ```python
        from connectors.https import HttpsSource

        source = HttpsSource.load("BLOCK_NAME")
        for batch in source.read_batches(batch_size=1000):
            print(len(batch.rows))
        ```
    """

    _block_type_name = "skuflow HTTPS Source"
    _block_type_slug = "skuflow-https-source"

    url: str = Field(..., description="The URL of the endpoint to read.")
    format: Literal["json", "csv"] = Field("json", description="The response format: json or csv.")
    params: dict[str, str] = Field(
        default_factory=dict, description="Query parameters sent with every request."
    )
    auth_header: str = Field("Authorization", description="The header carrying the credential.")
    auth_value: SecretStr | None = Field(
        None, description="The auth header's value, e.g. 'Bearer <token>', or None."
    )
    auth_secret: str | None = Field(
        None, description="The name of a Prefect Secret block holding the auth header's value."
    )
    records_path: str = Field(
        "", description="The dotted path of the records array in a JSON response; '' = the body."
    )
    pagination: Literal["none", "page", "cursor"] = Field(
        "none", description="How pages are requested: none, page number, or cursor."
    )
    page_param: str = Field("page", description="The query parameter for the page or cursor.")
    first_page: int = Field(1, description="The number of the first page.")
    next_cursor_path: str = Field(
        "next_cursor", description="The dotted path of the next cursor in a JSON response."
    )
    cursor_field: str | None = Field(
        None, description="A record field that grows (updated_at): later runs ask past it."
    )
    since_param: str | None = Field(
        None, description="The query parameter that asks for records after the stored cursor."
    )
    max_pages: int = Field(10_000, ge=1, description="The most pages read in one pass.")
    timeout_seconds: float = Field(30.0, gt=0, description="Seconds to wait for one response.")
    attempts: int = Field(4, ge=1, description="Tries per request on 408, 429 and 5xx.")
    retry_base_seconds: float = Field(
        0.5, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    def describe(self) -> str:
        return block_label(self, f"HTTPS source {self.url}")

    def cursor_key(self) -> str:
        return f"https:{self.url}?{sorted(self.params.items())}"

    def since(self, cursor: dict[str, Any] | None) -> HttpsRead:
        """What changed after `cursor`: sent as `since_param` when `cursor_field` is set."""
        return HttpsRead(self, cursor if self.cursor_field and self.since_param else None)

    def columns(self, extra: dict[str, str] | None = None) -> list[str]:
        for records in self._pages(extra):
            names: dict[str, None] = {}
            for record in records:
                names.update(dict.fromkeys(record))
            return list(names)
        return []

    def read_batches(
        self, batch_size: int = 5000, extra: dict[str, str] | None = None
    ) -> Iterator[RowBatch]:
        rows: list[dict[str, Any]] = []
        numbers: list[int] = []
        number = 1 if self.format == "csv" else 0  # CSV: row 1 is the header
        for records in self._pages(extra):
            for record in records:
                number += 1
                rows.append(record)
                numbers.append(number)
                if len(rows) == batch_size:
                    yield RowBatch(rows=rows, row_numbers=numbers, source=self.describe())
                    rows, numbers = [], []
        if rows:
            yield RowBatch(rows=rows, row_numbers=numbers, source=self.describe())

    # -- helpers --------------------------------------------------------------------------------

    def _pages(self, extra: dict[str, str] | None = None) -> Iterator[list[dict[str, Any]]]:
        import httpx

        headers = {self.auth_header: value} if (value := self._auth()) else {}
        page: Any = self.first_page if self.pagination == "page" else None
        with httpx.Client(timeout=self.timeout_seconds, headers=headers) as client:
            for _ in range(self.max_pages):
                params = {**self.params, **(extra or {})}
                if page is not None:
                    params[self.page_param] = str(page)
                body = call_with_retries(
                    partial(self._get, client, params),
                    attempts=self.attempts,
                    base_delay=self.retry_base_seconds,
                    max_delay=max(self.retry_base_seconds * 2**self.attempts, 1.0),
                )
                records, next_cursor = self._parse(body)
                if records:
                    yield records
                if self.pagination == "none" or not records:
                    return
                if self.pagination == "page":
                    page += 1
                elif next_cursor in (None, ""):
                    return
                else:
                    page = next_cursor
        raise TerminalConnectorError(
            f"{self.describe()}: still more pages after max_pages={self.max_pages}"
        )

    def _get(self, client: Any, params: dict[str, str]) -> bytes:
        import httpx

        try:
            response = client.get(self.url, params=params)
        except httpx.TransportError as exc:
            raise TransientConnectorError(f"{self.describe()}: cannot reach it: {exc}") from None
        check_http_status(
            self.describe(),
            response.status_code,
            response.text,
            response.headers.get("Retry-After"),
        )
        return response.content

    def _parse(self, body: bytes) -> tuple[list[dict[str, Any]], Any]:
        if self.format == "csv":
            text = body.decode("utf-8-sig")
            return [
                {k: (v or None) for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(text))
            ], None
        try:
            payload = json.loads(body)
        except json.JSONDecodeError as exc:
            raise TerminalConnectorError(
                f"{self.describe()}: the response is not JSON: {exc.msg} (character {exc.pos + 1})"
            ) from None
        records = _at(payload, self.records_path)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            where = f"at '{self.records_path}'" if self.records_path else "at the top level"
            raise TerminalConnectorError(
                f"{self.describe()}: expected an array of objects {where} of the response"
            )
        next_cursor = _at(payload, self.next_cursor_path) if self.pagination == "cursor" else None
        return records, next_cursor

    def _auth(self) -> str | None:
        if self.auth_value is not None:
            return self.auth_value.get_secret_value()
        if self.auth_secret:
            from prefect.blocks.system import Secret

            try:
                secret = Secret.load(self.auth_secret)
                assert isinstance(secret, Secret)  # sync code: the block, no coroutine
                return str(secret.get())
            except ValueError as exc:
                raise TerminalConnectorError(
                    f"{self.describe()}: no Secret block named '{self.auth_secret}': {exc}"
                ) from None
        return None


def _at(payload: Any, path: str) -> Any:
    """The value at a dotted path (`data.items`); None when a step is missing."""
    for step in [p for p in path.split(".") if p]:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(step)
    return payload


class HttpsRead:
    """One read of an `HttpsSource` after a cursor; `cursor` is the highest `cursor_field`
    value seen (or the old one when nothing new came)."""

    def __init__(self, source: HttpsSource, after: dict[str, Any] | None) -> None:
        self._source = source
        self._extra = (
            {source.since_param: str(after["value"])} if after and source.since_param else {}
        )
        self.cursor: dict[str, Any] | None = after if source.cursor_field else None

    def describe(self) -> str:
        return self._source.describe()

    def columns(self) -> list[str]:
        return self._source.columns(self._extra)

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        field = self._source.cursor_field
        for batch in self._source.read_batches(batch_size, self._extra):
            if field:
                values = [row[field] for row in batch.rows if row.get(field) is not None]
                if values:
                    highest = max(values)
                    if self.cursor is None or highest > self.cursor["value"]:
                        self.cursor = {"field": field, "value": highest}
            yield batch
