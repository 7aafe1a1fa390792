"""The distribute stage: the catalogue's current values, streamed to every destination.

All destinations are opened first and committed only after every batch was written to every
one of them; any failure aborts them all, so no destination is left half-written.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from sqlalchemy.orm import Session

from catalog.collector import collector_paused
from catalog.filters import RecordFilter
from catalog.records import iter_current_values
from catalog.rows import Destination, WriteMode, WriteResult
from catalog.schema import CatalogSchema

ID_COLUMN = "external_id"


def output_columns(schema: CatalogSchema) -> list[str]:
    return [ID_COLUMN] + [a.name for a in schema.attributes if a.name != ID_COLUMN]


def output_types(schema: CatalogSchema) -> dict[str, str]:
    """Column types for typed destinations (Parquet, SQL)."""
    types = {ID_COLUMN: "text"}
    for attribute in schema.attributes:
        kind = attribute.type.value
        types[attribute.name] = (
            kind if kind in ("number", "integer", "boolean", "array") else "text"
        )
    return types


def distribute(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    targets: Sequence[tuple[Destination, WriteMode]],
    batch_size: int,
    record_filter: RecordFilter | None = None,
) -> list[WriteResult]:
    """Stream the catalogue to each ``(destination, mode)`` target: files are rewritten whole
    (``replace``), tables usually take an ``upsert`` keyed by external id. With
    ``record_filter`` only the matching records are written. A record quarantined at validation
    (an open `validate` hold, see `catalog.held`) is not written until it passes."""
    columns = output_columns(schema)
    attributes = columns[1:]  # after the id column
    types = output_types(schema)
    with ExitStack() as stack:
        writers = [
            stack.enter_context(
                destination.open(columns=columns, key=ID_COLUMN, mode=mode, types=types)
            )
            for destination, mode in targets
        ]
        for external_ids, values in iter_current_values(
            session,
            catalog_id=catalog_id,
            batch_size=batch_size,
            record_filter=record_filter,
            include_quarantined=False,
        ):
            with collector_paused():
                rows = [
                    dict(zip(columns, (external_id, *map(row.get, attributes)), strict=True))
                    for external_id, row in zip(external_ids, values, strict=True)
                ]
                for writer in writers:
                    writer.write(rows)
        return [writer.commit() for writer in writers]
