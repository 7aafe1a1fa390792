"""Google BigQuery: a query as a source, a table as a destination (append, upsert, replace).

Writes never touch the target until `commit()`: rows go to a local Parquet file (`FileExport`),
which one load job puts into a staging table; commit then runs one statement (INSERT, MERGE on
the key, or CREATE OR REPLACE) from staging into the target. Each BigQuery statement is atomic,
so readers see the table before or after the run, never half of it; the staging table is
dropped either way. The client's own retry (exponential backoff with jitter) covers 429 and
5xx, bounded by `retry_deadline`; what is left is sorted into transient or terminal here.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from catalog.rows import RowBatch, WriteMode, WriteResult
from connectors.base import (
    TerminalConnectorError,
    TransientConnectorError,
    WriterLifecycle,
    block_label,
    check_open_arguments,
)
from connectors.file_export import FileExport, FileExportWriter
from connectors.retry import call_with_retries

T = TypeVar("T")

ROW_COLUMN = "_skuflow_row"
"""Staging-only column numbering rows in write order, so a key written twice keeps its last row."""

BIGQUERY_TYPES = {"text": "STRING", "number": "FLOAT64", "integer": "INT64", "boolean": "BOOL"}
"""Column types as BigQuery holds them; arrays travel as JSON text (STRING)."""


def _bigquery() -> Any:
    try:
        from google.cloud import bigquery
    except ImportError:
        raise TerminalConnectorError(
            "BigQuery needs google-cloud-bigquery: pip install 'skuflow[bigquery]'"
        ) from None
    return bigquery


class BigQueryCredentials(Block):
    """A Google Cloud project and the credentials to use it.

    Attributes:
        project: The project that runs the jobs.
        service_account_info: A service-account key (JSON text), or None.
        access_token: A short-lived OAuth access token, or None.
        api_endpoint: A custom API endpoint (an emulator), or None for Google's.
        location: The location of datasets and jobs.

    Without a key or a token, Application Default Credentials are used (or none at all when
    `api_endpoint` points at an emulator).

    Example:
        Build a client:
        ```python
        from connectors.bigquery import BigQueryCredentials

        client = BigQueryCredentials.load("BLOCK_NAME").get_client()
        ```
    """

    _block_type_name = "skuflow BigQuery Credentials"
    _block_type_slug = "skuflow-bigquery-credentials"

    project: str = Field(..., description="The Google Cloud project that runs the jobs.")
    service_account_info: SecretStr | None = Field(
        None, description="A service-account key as JSON text, or None."
    )
    access_token: SecretStr | None = Field(
        None, description="A short-lived OAuth access token, or None."
    )
    api_endpoint: str | None = Field(
        None, description="A custom API endpoint, e.g. an emulator, or None for Google's."
    )
    location: str | None = Field(None, description="The location of datasets and jobs, e.g. EU.")

    def get_client(self) -> Any:
        """A BigQuery client; secrets are unwrapped only here."""
        import json

        bigquery = _bigquery()
        credentials: Any = None
        if self.service_account_info is not None:
            from google.oauth2 import service_account

            info = json.loads(self.service_account_info.get_secret_value())
            credentials = service_account.Credentials.from_service_account_info(info)
        elif self.access_token is not None:
            from google.oauth2.credentials import Credentials

            credentials = Credentials(token=self.access_token.get_secret_value())
        elif self.api_endpoint:
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        options = None
        if self.api_endpoint:
            from google.api_core.client_options import ClientOptions

            options = ClientOptions(api_endpoint=self.api_endpoint)
        return bigquery.Client(
            project=self.project,
            credentials=credentials,
            location=self.location,
            client_options=options,
        )


def bigquery_error(name: str, exc: Exception, *, doing: str) -> Exception:
    """Sort a google-api-core error into transient or terminal, with the block's name."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    message = getattr(exc, "message", None) or str(exc)
    cause = " ".join(str(message).split())[:300]
    if isinstance(exc, api.Unauthorized | api.Forbidden | auth.RefreshError):
        return TerminalConnectorError(f"{name}: {doing} failed: credentials rejected ({cause})")
    if isinstance(exc, api.TooManyRequests | api.ServerError | api.RetryError | ConnectionError):
        return TransientConnectorError(f"{name}: {doing} failed: {cause}")
    if isinstance(exc, api.GoogleAPICallError):
        return TerminalConnectorError(f"{name}: {doing} failed: {cause}")
    return exc


class _Calls:
    """Runs client calls with a bounded retry and maps what escapes to connector errors."""

    def __init__(self, name: str, deadline: float) -> None:
        self.name = name
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

        self.retry = DEFAULT_RETRY.with_deadline(deadline)
        self.job_retry = DEFAULT_JOB_RETRY.with_deadline(deadline)

    def __call__(self, doing: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            mapped = bigquery_error(self.name, exc, doing=doing)
            if mapped is exc:
                raise
            raise mapped from exc


class BigQuerySource(Block):
    """The rows of a BigQuery query, read page by page.

    Attributes:
        credentials: The project and credentials.
        query: The GoogleSQL query to read.
        retry_deadline: Seconds to keep retrying throttling and server errors.

    Example:
        Read a query:
        ```python
        from connectors.bigquery import BigQuerySource

        source = BigQuerySource.load("BLOCK_NAME")
        for batch in source.read_batches(batch_size=1000):
            print(len(batch.rows))
        ```
    """

    _block_type_name = "skuflow BigQuery Source"
    _block_type_slug = "skuflow-bigquery-source"

    credentials: BigQueryCredentials = Field(..., description="The project and credentials.")
    query: str = Field(..., min_length=1, description="The GoogleSQL query whose rows are read.")
    retry_deadline: float = Field(
        60.0, gt=0, description="Seconds to keep retrying throttling and server errors."
    )

    def describe(self) -> str:
        return block_label(self, f"BigQuery query in {self.credentials.project}")

    def columns(self) -> list[str]:
        return [field.name for field in self._result().schema]

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        calls = _Calls(self.describe(), self.retry_deadline)
        result = self._result(page_size=batch_size)
        names = [field.name for field in result.schema]
        number = 0
        pages = iter(result.pages)
        while True:
            page = calls("reading results", lambda: next(pages, None))
            if page is None:
                return
            rows = [dict(zip(names, row.values(), strict=True)) for row in page]
            if rows:
                numbers = list(range(number + 1, number + len(rows) + 1))
                number += len(rows)
                yield RowBatch(rows=rows, row_numbers=numbers, source=self.describe())

    def _result(self, page_size: int | None = None) -> Any:
        calls = _Calls(self.describe(), self.retry_deadline)
        client = calls("connecting", self.credentials.get_client)
        job = calls(
            "running the query",
            lambda: client.query(self.query, retry=calls.retry, job_retry=calls.job_retry),
        )
        return calls("running the query", lambda: job.result(page_size=page_size))


class BigQueryTable(Block):
    """A BigQuery table that receives catalogue rows: appended, merged on the key, or replaced.

    The table is created when missing, typed from `types` (arrays as JSON text), and partitioned
    by day on `partition_field` when given (a column of dates, e.g. "2026-11-22", stored as
    DATE).

    Attributes:
        credentials: The project and credentials.
        dataset: The dataset holding the table.
        table: The table to write.
        partition_field: A column of dates to partition a new table by day, or None.
        types: Column types for a new table.
        retry_deadline: Seconds to keep retrying throttling and server errors.

    Example:
        Merge products into a table:
        ```python
        from connectors.bigquery import BigQueryTable

        table = BigQueryTable.load("BLOCK_NAME")
        with table.open(columns=["sku", "title"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow BigQuery Table"
    _block_type_slug = "skuflow-bigquery-table"

    credentials: BigQueryCredentials = Field(..., description="The project and credentials.")
    dataset: str = Field(..., min_length=1, description="The dataset holding the table.")
    table: str = Field(..., min_length=1, description="The name of the table to write.")
    partition_field: str | None = Field(
        None, description="A column of dates (stored as DATE) to partition a new table by day."
    )
    types: dict[str, str] = Field(
        default_factory=dict,
        description="Types of a new table's columns: text, number, integer, boolean or array.",
    )
    retry_deadline: float = Field(
        60.0, gt=0, description="Seconds to keep retrying throttling and server errors."
    )

    def describe(self) -> str:
        return block_label(self, f"BigQuery table {self.table_id()}")

    def table_id(self) -> str:
        return f"{self.credentials.project}.{self.dataset}.{self.table}"

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> BigQueryWriter:
        """Start a write; nothing reaches the table before `commit()`."""
        kinds = check_open_arguments(
            destination=self.describe(),
            columns=columns,
            key=key,
            mode=mode,
            types={**self.types, **(types or {})},
        )
        return BigQueryWriter(block=self, columns=list(columns), key=key, mode=mode, kinds=kinds)


class BigQueryWriter(WriterLifecycle):
    """Rows gather in a local Parquet file; `commit()` loads it and applies it in one statement."""

    def __init__(
        self,
        *,
        block: BigQueryTable,
        columns: list[str],
        key: str,
        mode: str,
        kinds: dict[str, str],
    ) -> None:
        self._block = block
        self._columns = columns
        self._key = key
        self._mode = mode
        self._kinds = {c: ("text" if k == "array" else k) for c, k in kinds.items()}
        self._state = "open"
        self._calls = _Calls(block.describe(), block.retry_deadline)
        self._client = self._calls("connecting", block.credentials.get_client)
        self._calls(
            "finding the dataset",
            lambda: self._client.get_dataset(
                f"{block.credentials.project}.{block.dataset}", retry=self._calls.retry
            ),
        )
        self._workdir = tempfile.TemporaryDirectory(prefix="skuflow-bq-")
        export = FileExport(path=os.path.join(self._workdir.name, "rows.parquet"))
        self._local: FileExportWriter = export.open(
            columns=[*columns, ROW_COLUMN],
            key=key,
            mode="replace",
            types={**self._kinds, ROW_COLUMN: "integer"},
        )
        self._written = 0

    def __enter__(self) -> BigQueryWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        first = self._written
        self._local.write([{**row, ROW_COLUMN: first + i} for i, row in enumerate(rows)])
        self._written += len(rows)

    def commit(self) -> WriteResult:
        if self._state != "open":
            raise TerminalConnectorError(f"{self._block.describe()}: this write is {self._state}")
        block = self._block
        staging = f"{block.table_id()}_skuflow_{uuid.uuid4().hex[:8]}"
        try:
            written = self._local.commit()
            self._load(written.location, staging)
            exists = self._target_exists()
            self._query("applying the rows", self._statement(staging, exists=exists))
        except BaseException:
            self._state = "aborted"
            raise
        else:
            self._state = "committed"
        finally:
            self._drop(staging)
            self._workdir.cleanup()
        return WriteResult(
            destination=block.describe(), rows=written.rows, location=block.table_id()
        )

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._local.abort()
            self._workdir.cleanup()

    # -- helpers --------------------------------------------------------------------------------

    def _staging_schema(self) -> list[Any]:
        bigquery = _bigquery()
        fields = [bigquery.SchemaField(c, BIGQUERY_TYPES[self._kinds[c]]) for c in self._columns]
        return [*fields, bigquery.SchemaField(ROW_COLUMN, "INT64")]

    def _load(self, path: str, staging: str) -> None:
        bigquery = _bigquery()
        config = bigquery.LoadJobConfig(
            schema=self._staging_schema(),
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition="WRITE_TRUNCATE",
        )

        def load() -> None:
            with open(path, "rb") as stream:
                job = self._calls(
                    "loading rows",
                    lambda: self._client.load_table_from_file(stream, staging, job_config=config),
                )
            self._calls("loading rows", lambda: job.result(retry=self._calls.retry))

        call_with_retries(load, attempts=3)

    def _target_exists(self) -> bool:
        from google.api_core.exceptions import NotFound

        block = self._block
        try:
            self._client.get_table(block.table_id(), retry=self._calls.retry)
        except NotFound:
            return False
        except Exception as exc:
            raise bigquery_error(block.describe(), exc, doing="finding the table") from exc
        return True

    def _statement(self, staging: str, *, exists: bool) -> str:
        """One statement from staging into the target; a missing target is created by it, so
        even the first write leaves nothing behind when it fails."""
        block = self._block
        target = f"`{block.table_id()}`"
        columns = ", ".join(f"`{c}`" for c in self._columns)
        selected = ", ".join(
            f"CAST(`{c}` AS DATE) AS `{c}`" if c == block.partition_field else f"`{c}`"
            for c in self._columns
        )
        rows = f"(SELECT {selected} FROM `{staging}`)"
        latest = (  # a key written twice keeps its last row, as in the SQL destinations
            f"(SELECT {selected} FROM `{staging}` WHERE TRUE QUALIFY ROW_NUMBER() OVER "
            f"(PARTITION BY `{self._key}` ORDER BY `{ROW_COLUMN}` DESC) = 1)"
        )
        source = rows if self._mode == "append" else latest
        if self._mode == "replace" or not exists:
            replace = "OR REPLACE " if self._mode == "replace" else ""
            partition = f" PARTITION BY `{block.partition_field}`" if block.partition_field else ""
            return f"CREATE {replace}TABLE {target}{partition} AS SELECT * FROM {source}"
        if self._mode == "append":
            return f"INSERT INTO {target} ({columns}) SELECT * FROM {source}"
        others = [c for c in self._columns if c != self._key]
        updates = ", ".join(f"`{c}` = S.`{c}`" for c in others)
        values = ", ".join(f"S.`{c}`" for c in self._columns)
        matched = f" WHEN MATCHED THEN UPDATE SET {updates}" if others else ""
        return (
            f"MERGE {target} T USING {source} S ON T.`{self._key}` = S.`{self._key}`"
            f"{matched} WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({values})"
        )

    def _query(self, doing: str, sql: str) -> None:
        job = self._calls(
            doing,
            lambda: self._client.query(
                sql, retry=self._calls.retry, job_retry=self._calls.job_retry
            ),
        )
        self._calls(doing, lambda: job.result(retry=self._calls.retry))

    def _drop(self, staging: str) -> None:
        try:
            self._client.delete_table(staging, not_found_ok=True, retry=self._calls.retry)
        except Exception:  # a leftover staging table is harmless; the write's outcome stands
            pass
