"""The ingest stage: a source's rows, mapped onto the schema, upserted into the store.

The whole source is read in one transaction, batch by batch, so memory stays flat in file size
and a bad file stores nothing: every problem found (up to a limit) is reported together, with
its file, row and column, and the records already in the catalogue stay exactly as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from catalog.errors import InputError, InputProblem
from catalog.mapping import content_hashes, find_duplicate_ids, map_batch, resolve_columns
from catalog.records import UpsertCounts, upsert_records
from catalog.rows import Source
from catalog.schema import CatalogSchema

MAX_REPORTED_PROBLEMS = 50


@dataclass
class IngestResult:
    rows_read: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    ignored_columns: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, int]:
        return {
            "read": self.rows_read,
            "inserted": self.counts.inserted,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
        }


def ingest_source(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    source: Source,
    batch_size: int,
    column_overrides: Mapping[str, str] | None = None,
    run_id: int | None = None,
) -> IngestResult:
    """Read ``source`` into the catalogue; raise ``InputError`` listing every problem found.

    The caller owns the transaction: on ``InputError`` it must roll back (``session_scope``
    does), which is what leaves a half-read file unstored.
    """
    name = source.describe()
    mapping = resolve_columns(source.columns(), schema, source=name, overrides=column_overrides)
    result = IngestResult(ignored_columns=mapping.ignored)
    problems: list[InputProblem] = []
    seen_ids: dict[str, int] = {}
    too_many = 0
    for batch in source.read_batches(batch_size):
        result.rows_read += len(batch.rows)
        mapped = map_batch(batch, mapping, schema)
        found = list(mapped.problems)
        ids = [str(i) for i in mapped.frame.index]
        found += find_duplicate_ids(ids, [mapped.row_numbers[i] for i in ids], seen_ids, name)
        if found:
            room = MAX_REPORTED_PROBLEMS - len(problems)
            problems.extend(found[: max(room, 0)])
            too_many += max(len(found) - max(room, 0), 0)
        if problems:
            continue  # keep reading to report every problem, but store nothing more
        result.counts.add(
            upsert_records(
                session,
                catalog_id=catalog_id,
                frame=mapped.frame,
                hashes=content_hashes(mapped.frame),
                source=name,
                run_id=run_id,
            )
        )
    if problems:
        raise InputError(problems, truncated=too_many)
    if result.rows_read == 0:
        raise InputError.single(name, "has a header but no data rows")
    return result
