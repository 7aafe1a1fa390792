"""The two shapes data crosses the catalogue's edge in: batches of raw rows a source yields
(with the row numbers a user sees), and the write sessions a destination opens.

They live here, beside the catalogue, because ingest consumes sources and the distribute stage
feeds destinations; connectors implement them (``connectors/`` depends on ``catalog/``, never
the other way round). A destination commits a whole run at once, so a failed run never leaves
half an export behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class RowBatch:
    """Rows read from one source, with the row numbers a user sees, so errors can point at them."""

    rows: list[dict[str, Any]]
    row_numbers: list[int]
    source: str


class Source(Protocol):
    """Anything that yields row batches: a file, a bucket, a table, an API."""

    def describe(self) -> str: ...

    def columns(self) -> list[str]: ...

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]: ...


WriteMode = Literal["append", "upsert", "replace"]


@dataclass(frozen=True)
class WriteResult:
    """What a committed write produced: how many rows went where."""

    destination: str
    rows: int
    location: str


class DestinationWriter(Protocol):
    """One write session: nothing is visible until `commit()`; an exception in `with` aborts."""

    def __enter__(self) -> DestinationWriter: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def write(self, rows: list[dict[str, Any]]) -> None: ...

    def commit(self) -> WriteResult: ...

    def abort(self) -> None: ...


class Destination(Protocol):
    def describe(self) -> str: ...

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> DestinationWriter: ...
