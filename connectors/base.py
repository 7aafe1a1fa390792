"""The two protocols every connector speaks: a source yields row batches, a destination takes them.

Flows move data in batches so a million-row feed is a few hundred task runs, and a destination
commits a whole run at once so a failed run never leaves half an export behind. Connector errors
carry one of two markers, transient or terminal, because retries look only at the marker.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol

from catalog.errors import SkuflowError
from catalog.rows import Source

COLUMN_TYPES = ("text", "number", "integer", "boolean", "array")
"""Column types a destination understands; schema types `enum` and `reference` go in as text."""


class TransientConnectorError(SkuflowError):
    """A failure that may pass if the same call is retried later (timeouts, locks, throttling)."""

    transient = True


class TerminalConnectorError(SkuflowError):
    """A failure that retrying cannot fix (bad credentials, missing table, wrong configuration)."""


class IncrementalRead(Source, Protocol):
    """One incremental pass over a source: what changed since a cursor, and where to start next.

    `cursor` is valid once `read_batches()` is exhausted; the caller stores it in the same
    transaction as the rows it read, so a failed run re-reads the same changes next time.
    `columns()` is empty when nothing changed.
    """

    cursor: dict[str, Any] | None


class IncrementalSource(Source, Protocol):
    """A source that can read only what changed since the last run (new objects, newer rows)."""

    def cursor_key(self) -> str:
        """A stable name for what this source reads (bucket+prefix, table+column): the cursor's
        key in the store, so two blocks reading the same thing share a position."""
        ...

    def since(self, cursor: dict[str, Any] | None) -> IncrementalRead:
        """A reader of what changed after `cursor` (None: everything)."""
        ...


class WriterLifecycle:
    """`with` support shared by writers: leaving the block without `commit()` discards the writes.

    Discarding rather than committing on a clean exit keeps "visible only after commit" true even
    when a caller forgets to commit; an error inside the block always aborts.
    """

    def __enter__(self) -> WriterLifecycle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def abort(self) -> None:  # pragma: no cover - every writer overrides it
        raise NotImplementedError


def check_open_arguments(
    *, destination: str, columns: list[str], key: str, mode: str, types: Mapping[str, str]
) -> dict[str, str]:
    """Refuse unusable `open()` arguments up front and return each column's type (default text)."""
    if mode not in ("append", "upsert", "replace"):
        raise TerminalConnectorError(f"{destination}: unknown write mode '{mode}'")
    blank = [i + 1 for i, name in enumerate(columns) if not str(name).strip()]
    if blank:
        raise TerminalConnectorError(f"{destination}: column(s) {blank} have no name")
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise TerminalConnectorError(f"{destination}: duplicate column(s) {duplicates}")
    if key not in columns:
        raise TerminalConnectorError(f"{destination}: key column '{key}' is not among the columns")
    resolved: dict[str, str] = {}
    for name in columns:
        kind = types.get(name, "text")
        kind = "text" if kind in ("enum", "reference") else kind
        if kind not in COLUMN_TYPES:
            raise TerminalConnectorError(
                f"{destination}: column '{name}' has unknown type '{kind}' "
                f"(one of {', '.join(COLUMN_TYPES)})"
            )
        resolved[name] = kind
    return resolved


def to_text(value: Any) -> str | None:
    """A value as the text a flat file or TEXT column holds: lists and dicts as JSON, NaN empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def block_label(block: Any, label: str) -> str:
    """`label`, plus the saved block's name when the block was loaded by name, so an error
    tells the user which of their saved blocks to fix."""
    name = getattr(block, "_block_document_name", None)
    return f"{label} (block '{name}')" if name else label
