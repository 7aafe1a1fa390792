"""The ingest stage: a source's rows, mapped onto the schema, upserted into the store.

The whole source is read in one transaction, batch by batch, so memory stays flat in file size
and a bad file stores nothing: every problem found (up to a limit) is reported together, with
its file, row and column, and the records already in the catalogue stay exactly as they were.

Rows that can be read but break a blocking rule of the schema (a negative price, a value
outside an enum, a bad GTIN) are held when the caller asks (`hold_invalid`, as onboard does):
they are stored as held rows with their reasons instead of being applied (`catalog.held`).
With the catalogue's `on_invalid: halt` none of the file's edits are applied then (the run
halts); with `quarantine` the other rows are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session

from catalog.collector import collector_paused
from catalog.errors import InputError, InputProblem
from catalog.held import Held, any_held, hold_rows, resolve_holds
from catalog.mapping import (
    MappedBatch,
    content_hashes,
    find_duplicate_ids,
    map_batch,
    resolve_columns,
)
from catalog.records import UpsertCounts, frame_to_dicts, upsert_records
from catalog.rows import Source
from catalog.schema import CatalogSchema
from catalog.validation import ExpectationSpec, rule_breaks, source_rules

MAX_REPORTED_PROBLEMS = 50


@dataclass
class IngestResult:
    rows_read: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    ignored_columns: tuple[str, ...] = ()
    held: list[Held] = field(default_factory=list)
    """Rows not applied because they broke a blocking rule."""
    halted: bool = False
    """The catalogue says `on_invalid: halt` and rows were held: none of the source's edits
    were applied (`counts` says what would have been)."""

    def as_dict(self) -> dict[str, int]:
        counts = {
            "read": self.rows_read,
            "inserted": self.counts.inserted,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
        }
        if self.held:
            counts["held"] = len(self.held)
        return counts


def ingest_source(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    source: Source,
    batch_size: int,
    column_overrides: Mapping[str, str] | None = None,
    run_id: int | None = None,
    hold_invalid: bool = False,
    halt_on_held: bool = True,
) -> IngestResult:
    """Read ``source`` into the catalogue; raise ``InputError`` listing every problem found.

    The caller owns the transaction: on ``InputError`` it must roll back (``session_scope``
    does), which is what leaves a half-read file unstored. Held rows (``hold_invalid``) are
    stored in that transaction too, so the caller commits a halted result as any other.
    ``halt_on_held=False`` holds them without halting even under `on_invalid: halt`: a run with
    a record filter judges only its selection, so a bad row outside it is held, not fatal.
    """
    name = source.describe()
    mapping = resolve_columns(source.columns(), schema, source=name, overrides=column_overrides)
    result = IngestResult(ignored_columns=mapping.ignored)
    problems: list[InputProblem] = []
    seen_ids: dict[str, int] = {}
    too_many = 0
    rules = source_rules(schema, mapping.attribute_for_column.values()) if hold_invalid else []
    closing = bool(rules) and any_held(session, catalog_id=catalog_id)
    edits = session.begin_nested()  # the source's edits, undone as one if the run halts
    try:
        for batch in source.read_batches(batch_size):
            with collector_paused():
                result.rows_read += len(batch.rows)
                mapped = map_batch(batch, mapping, schema)
                found = list(mapped.problems)
                ids = [str(i) for i in mapped.frame.index]
                found += find_duplicate_ids(
                    ids, [mapped.row_numbers[i] for i in ids], seen_ids, name
                )
                if found:
                    room = MAX_REPORTED_PROBLEMS - len(problems)
                    problems.extend(found[: max(room, 0)])
                    too_many += max(len(found) - max(room, 0), 0)
                if problems:
                    continue  # keep reading to report every problem, but store nothing more
                frame = mapped.frame
                if rules:
                    frame, held = _hold_invalid(mapped, schema, rules, source=batch.source)
                    result.held += held
                    if closing and len(frame):
                        resolve_holds(
                            session, catalog_id=catalog_id, external_ids=list(frame.index)
                        )
                result.counts.add(
                    upsert_records(
                        session,
                        catalog_id=catalog_id,
                        frame=frame,
                        hashes=content_hashes(frame),
                        source=name,
                        run_id=run_id,
                    )
                )
    except BaseException:
        edits.rollback()
        raise
    if problems:
        edits.rollback()
        raise InputError(problems, truncated=too_many)
    if result.rows_read == 0:
        edits.rollback()
        raise InputError.single(name, "has a header but no data rows")
    result.halted = bool(result.held) and schema.on_invalid == "halt" and halt_on_held
    if result.halted:
        edits.rollback()
    else:
        edits.commit()
    if result.held:
        hold_rows(
            session,
            catalog_id=catalog_id,
            run_id=run_id,
            rows=result.held,
            halted=result.halted,
        )
    return result


def _hold_invalid(
    mapped: MappedBatch, schema: CatalogSchema, rules: list[ExpectationSpec], *, source: str
) -> tuple[pd.DataFrame, list[Held]]:
    """The batch's rows that break no rule, and the others as held rows with their reasons."""
    frame = mapped.frame
    breaks = rule_breaks(frame, schema, rules)
    if not breaks:
        return frame, []
    positions = sorted(breaks)
    ids = [str(frame.index[p]) for p in positions]
    values = frame_to_dicts(frame.iloc[positions])
    held = [
        Held(
            external_id=external_id,
            source=source,
            row=mapped.row_numbers.get(external_id),
            values=row_values,
            reasons=breaks[position],
        )
        for position, external_id, row_values in zip(positions, ids, values, strict=True)
    ]
    keep = [p for p in range(len(frame)) if p not in breaks]
    return frame.iloc[keep], held
