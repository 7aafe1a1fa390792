"""Amazon S3 (and S3-compatible stores: MinIO, R2): a prefix of supplier files as a source, and
periodic catalogue dumps as a destination.

Reading: every object under the prefix is downloaded to a temporary file and read by
`FileSource`, so CSV, XLSX, JSON and JSONL behave exactly as local files do. Later runs read only
objects that are new or whose ETag changed (the cursor holds each key's ETag).
Writing: a dump is built with `FileExport` in a temporary file and uploaded as one object under
a date-partitioned key; S3 shows an object only once its upload completed, so a reader never
sees half a dump. botocore retries throttling and 5xx with exponential backoff and jitter
("standard" mode); what is left is sorted into transient or terminal here.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from catalog.errors import InputError
from catalog.rows import RowBatch, WriteMode, WriteResult
from connectors.base import (
    TerminalConnectorError,
    TransientConnectorError,
    WriterLifecycle,
    block_label,
)
from connectors.file_export import FileExport, FileExportWriter
from connectors.files import EXTENSIONS as READABLE_EXTENSIONS
from connectors.files import FileFormat, FileSource

_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "ExpiredToken",
    "InvalidToken",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}
_TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "503"}


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise TerminalConnectorError("S3 needs boto3: pip install 'skuflow[s3]'") from None
    return boto3


class S3Credentials(Block):
    """An AWS access key (or an S3-compatible store's) and where to reach the service.

    Attributes:
        aws_access_key_id: The access key id.
        aws_secret_access_key: The secret access key.
        region_name: The AWS region.
        endpoint_url: A custom endpoint for S3-compatible stores, or None for AWS.
        max_attempts: How many tries botocore makes on throttling and 5xx.

    Example:
        Build an S3 client:
        ```python
        from connectors.s3 import S3Credentials

        client = S3Credentials.load("BLOCK_NAME").get_client()
        ```
    """

    _block_type_name = "skuflow S3 Credentials"
    _block_type_slug = "skuflow-s3-credentials"

    aws_access_key_id: str | None = Field(
        None, description="The access key id, or None for the environment's credentials."
    )
    aws_secret_access_key: SecretStr | None = Field(None, description="The secret access key.")
    region_name: str = Field("us-east-1", description="The AWS region of the bucket.")
    endpoint_url: str | None = Field(
        None, description="The endpoint of an S3-compatible store, or None for AWS itself."
    )
    max_attempts: int = Field(
        5, ge=1, description="Tries per call on throttling and server errors (with backoff)."
    )

    def get_client(self) -> Any:
        """A boto3 S3 client; the secret is unwrapped only here."""
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            connect_timeout=10,
            read_timeout=60,
            s3={"addressing_style": "path"} if self.endpoint_url else {},
        )
        secret = self.aws_secret_access_key
        return _boto3().client(
            "s3",
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            config=config,
        )


def s3_error(name: str, exc: Exception, *, doing: str) -> Exception:
    """Sort a botocore error into transient or terminal, with a message naming the block."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    inner = exc.__cause__ or exc.__context__  # boto3's S3UploadFailedError wraps a ClientError
    if not isinstance(exc, ClientError) and isinstance(inner, ClientError):
        exc = inner
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        cause = f"{code}: {error.get('Message', '')}".strip(": ")
        if code in _CREDENTIAL_CODES or status in (401, 403):
            return TerminalConnectorError(f"{name}: {doing} failed: credentials rejected ({cause})")
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientConnectorError(f"{name}: {doing} failed: {cause} (HTTP {status})")
        return TerminalConnectorError(f"{name}: {doing} failed: {cause} (HTTP {status})")
    if isinstance(exc, EndpointConnectionError | BotoCoreError):
        return TransientConnectorError(f"{name}: {doing} failed: {exc}")
    return exc


class S3Source(Block):
    """Supplier files under an S3 prefix, read as row batches; later runs read only new or
    changed objects.

    Attributes:
        credentials: The access key and endpoint.
        bucket: The bucket to read.
        prefix: The key prefix (a folder) whose objects are read.
        format: The file format, or "auto" from each key's extension.
        encoding: The text encoding of CSV and JSON objects.
        delimiter: The CSV delimiter, or None to sniff it.

    Example:
        Read new feed files:
        ```python
        from connectors.s3 import S3Source

        source = S3Source.load("BLOCK_NAME")
        for batch in source.read_batches(batch_size=1000):
            print(batch.source, len(batch.rows))
        ```
    """

    _block_type_name = "skuflow S3 Source"
    _block_type_slug = "skuflow-s3-source"

    credentials: S3Credentials = Field(
        default_factory=S3Credentials, description="The access key and endpoint to use."
    )
    bucket: str = Field(..., min_length=1, description="The bucket holding the files.")
    prefix: str = Field("", description="The key prefix whose objects are read, e.g. feeds/.")
    format: FileFormat = Field(
        "auto", description="The file format: csv, xlsx, json, jsonl, or auto from the key."
    )
    encoding: str = Field("utf-8", description="The text encoding of CSV and JSON objects.")
    delimiter: str | None = Field(None, description="The CSV delimiter, or None to sniff it.")

    def describe(self) -> str:
        return block_label(self, f"S3 s3://{self.bucket}/{self.prefix}")

    def cursor_key(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def columns(self) -> list[str]:
        return self.since(None).columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        return self.since(None).read_batches(batch_size)

    def since(self, cursor: dict[str, Any] | None) -> S3Read:
        """The objects added or changed after `cursor` (every object when None)."""
        return S3Read(self, (cursor or {}).get("etags", {}))

    def list_objects(self, client: Any = None) -> dict[str, str]:
        """Readable objects under the prefix: {key: ETag}, in key order."""
        client = client or self.credentials.get_client()
        found: dict[str, str] = {}
        try:
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith("/"):
                        continue
                    suffix = PurePosixPath(key).suffix.lower()
                    if self.format != "auto" or suffix in READABLE_EXTENSIONS:
                        found[key] = item["ETag"]
        except Exception as exc:
            raise s3_error(self.describe(), exc, doing="listing objects") from exc
        return dict(sorted(found.items()))


class S3Read:
    """One read of new or changed objects; `cursor` holds every listed key's ETag afterwards."""

    def __init__(self, source: S3Source, seen: Mapping[str, str]) -> None:
        self._source = source
        self._client = source.credentials.get_client()  # one client for the whole read
        listed = source.list_objects(self._client)
        self.keys = [key for key, etag in listed.items() if seen.get(key) != etag]
        self.cursor: dict[str, Any] | None = {"etags": listed}
        self._workdir = tempfile.TemporaryDirectory(prefix="skuflow-s3-")
        self._files: dict[str, FileSource] = {}

    def describe(self) -> str:
        return self._source.describe()

    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for key in self.keys:
            with self._as_s3_error(key):
                names.update(dict.fromkeys(self._file(key).columns()))
        return list(names)

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        try:
            for key in self.keys:
                url = f"s3://{self._source.bucket}/{key}"
                with self._as_s3_error(key):
                    for batch in self._file(key).read_batches(batch_size):
                        yield dataclasses.replace(batch, source=url)
        finally:
            self._workdir.cleanup()

    def _file(self, key: str) -> FileSource:
        """The object downloaded once to a temporary file, as a `FileSource`."""
        if key not in self._files:
            local = Path(self._workdir.name) / f"{len(self._files)}{PurePosixPath(key).suffix}"
            source = self._source
            try:
                self._client.download_file(source.bucket, key, str(local))
            except Exception as exc:
                raise s3_error(source.describe(), exc, doing=f"downloading {key}") from exc
            self._files[key] = FileSource(
                path=str(local),
                format=source.format,
                encoding=source.encoding,
                delimiter=source.delimiter,
            )
        return self._files[key]

    @contextmanager
    def _as_s3_error(self, key: str) -> Iterator[None]:
        """Problems in a downloaded file name the object, not the temporary path."""
        try:
            yield
        except InputError as exc:
            if key not in self._files:
                raise
            local, url = self._files[key].path, f"s3://{self._source.bucket}/{key}"
            problems = [
                dataclasses.replace(p, source=p.source.replace(local, url)) for p in exc.problems
            ]
            raise InputError(problems, exc.truncated) from None


DumpFormat = Literal["csv", "jsonl", "parquet"]


class S3Dump(Block):
    """Catalogue dumps written to S3 as CSV, JSONL or Parquet under date-partitioned keys.

    Each commit uploads one whole object, `<prefix>/dt=YYYY-MM-DD/<name>-<HHMMSS>-<random>.<ext>`,
    so every dump is a complete snapshot and older dumps stay for history.

    Attributes:
        credentials: The access key and endpoint.
        bucket: The bucket to write to.
        prefix: The key prefix of the dumps.
        name: The file name stem of each dump.
        format: The file format of the dumps.

    Example:
        Dump the catalogue:
        ```python
        from connectors.s3 import S3Dump

        dump = S3Dump.load("BLOCK_NAME")
        with dump.open(columns=["sku", "title"], key="sku", mode="replace") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            print(writer.commit().location)
        ```
    """

    _block_type_name = "skuflow S3 Dump"
    _block_type_slug = "skuflow-s3-dump"

    credentials: S3Credentials = Field(
        default_factory=S3Credentials, description="The access key and endpoint to use."
    )
    bucket: str = Field(..., min_length=1, description="The bucket to write dumps to.")
    prefix: str = Field("skuflow", description="The key prefix under which dumps are written.")
    name: str = Field("catalog", min_length=1, description="The file name stem of each dump.")
    format: DumpFormat = Field("parquet", description="The dump format: csv, jsonl or parquet.")

    def describe(self) -> str:
        return block_label(self, f"S3 dump s3://{self.bucket}/{self.prefix}")

    def dump_key(self) -> str:
        now = datetime.now(UTC)
        stem = f"{self.name}-{now:%H%M%S}-{uuid.uuid4().hex[:6]}"
        parts = [self.prefix.strip("/"), f"dt={now:%Y-%m-%d}", f"{stem}.{self.format}"]
        return "/".join(p for p in parts if p)

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> S3DumpWriter:
        """Start a dump; `mode` must be "replace" (each dump is a whole snapshot)."""
        workdir = tempfile.TemporaryDirectory(prefix="skuflow-s3-dump-")
        local = FileExport(
            path=os.path.join(workdir.name, f"dump.{self.format}"), format=self.format
        )
        try:
            writer = local.open(columns=columns, key=key, mode=mode, types=types)
        except TerminalConnectorError as exc:
            workdir.cleanup()
            raise TerminalConnectorError(
                str(exc).replace(local.describe(), self.describe())
            ) from None
        return S3DumpWriter(block=self, local=writer, workdir=workdir)


class S3DumpWriter(WriterLifecycle):
    """Rows go to a local temporary file; `commit()` uploads it as one object."""

    def __init__(
        self, *, block: S3Dump, local: FileExportWriter, workdir: tempfile.TemporaryDirectory[str]
    ) -> None:
        self._block = block
        self._local = local
        self._workdir = workdir
        self._state = "open"

    def __enter__(self) -> S3DumpWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._local.write(rows)

    def commit(self) -> WriteResult:
        block = self._block
        try:
            written = self._local.commit()
            key = block.dump_key()
            try:
                block.credentials.get_client().upload_file(written.location, block.bucket, key)
            except Exception as exc:
                raise s3_error(block.describe(), exc, doing=f"uploading {key}") from exc
        finally:
            self._state = "committed"
            self._workdir.cleanup()
        return WriteResult(
            destination=block.describe(), rows=written.rows, location=f"s3://{block.bucket}/{key}"
        )

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._local.abort()
            self._workdir.cleanup()
