"""What ingest reads: batches of raw rows from any source, with the row numbers a user sees.

The shapes live here, beside the catalogue, because ingest consumes them; connectors produce
them (``connectors/`` depends on ``catalog/``, never the other way round).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


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
