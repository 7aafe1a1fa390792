"""Held rows: source rows a run kept out of the catalogue because they broke a blocking rule.

A catalogue's `on_invalid` says what a run does with them: `halt` stops the run and applies
none of the file's edits, `quarantine` applies the rest and publishes it. Either way the held
rows themselves are stored here, with what the supplier sent and why each was held, for review
(the change API, the workbench, the run's report), and the catalogue's current values stay
exactly as they were, so the next good file is not blocked by them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, insert, select, update
from sqlalchemy.orm import Session

from catalog.models import HeldRow, HeldRowStatus, Record, utcnow
from catalog.validation import RuleBreak


@dataclass(frozen=True)
class Held:
    """One row held back: its id, where it came from, its typed values and the rules it broke."""

    external_id: str
    source: str
    row: int | None
    values: dict[str, Any]
    reasons: list[RuleBreak] = field(default_factory=list)

    def describe(self) -> str:
        """One line per row for logs and errors: `file, row 7, id 'A-1': price …`."""
        where = self.source + (f", row {self.row}" if self.row is not None else "")
        why = "; ".join(f"{r.attribute}: {r.message}" for r in self.reasons)
        return f"{where}, id '{self.external_id}': {why}"


def hold_rows(
    session: Session,
    *,
    catalog_id: int,
    run_id: int | None,
    rows: Sequence[Held],
    halted: bool = False,
    stage: str = "ingest",
) -> None:
    """Store held rows (one executemany), each linked to the stored record it is about, if
    any, so a reviewer sees which record a held edit was for."""
    if not rows:
        return
    record_ids = _record_ids(session, catalog_id, [row.external_id for row in rows])
    now = utcnow()
    session.connection().execute(
        insert(HeldRow.__table__),
        [
            {
                "catalog_id": catalog_id,
                "run_id": run_id,
                "record_id": record_ids.get(row.external_id),
                "external_id": row.external_id,
                "source": row.source,
                "row": row.row,
                "values": row.values,
                "reasons": [r.to_dict() for r in row.reasons],
                "status": HeldRowStatus.HELD.value,
                "halted": halted,
                "stage": stage,
                "created_at": now,
            }
            for row in rows
        ],
    )


def any_held(session: Session, *, catalog_id: int) -> bool:
    """Whether the catalogue has a hold still open (so ingest knows to close holds at all)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    HeldRow.catalog_id == catalog_id, HeldRow.status == HeldRowStatus.HELD.value
                )
            )
        )
    )


def resolve_holds(
    session: Session, *, catalog_id: int, external_ids: Sequence[str], stage: str = "ingest"
) -> int:
    """Close the open holds of one stage for these records: at `ingest`, records a later run
    has just applied; at `validate`, records that now pass. Returns how many were closed."""
    closed = 0
    ids = list(external_ids)
    for start in range(0, len(ids), 5000):
        result = session.execute(
            update(HeldRow)
            .where(
                HeldRow.catalog_id == catalog_id,
                HeldRow.status == HeldRowStatus.HELD.value,
                HeldRow.stage == stage,
                HeldRow.external_id.in_(ids[start : start + 5000]),
            )
            .values(status=HeldRowStatus.RESOLVED.value, resolved_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        closed += cast(CursorResult[Any], result).rowcount or 0
    return closed


def open_validate_holds(
    session: Session, *, catalog_id: int, external_ids: Sequence[str]
) -> set[str]:
    """Which of these records already have an open `validate` hold (so none is added twice)."""
    found: set[str] = set()
    ids = list(external_ids)
    for start in range(0, len(ids), 5000):
        found.update(
            session.scalars(
                select(HeldRow.external_id).where(
                    HeldRow.catalog_id == catalog_id,
                    HeldRow.status == HeldRowStatus.HELD.value,
                    HeldRow.stage == "validate",
                    HeldRow.external_id.in_(ids[start : start + 5000]),
                )
            )
        )
    return found


def _record_ids(session: Session, catalog_id: int, external_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), 5000):
        rows = session.execute(
            select(Record.external_id, Record.id).where(
                Record.catalog_id == catalog_id,
                Record.external_id.in_(external_ids[start : start + 5000]),
            )
        )
        found.update({row.external_id: row.id for row in rows})
    return found


def list_held(
    session: Session,
    *,
    catalog_id: int,
    status: str | None = HeldRowStatus.HELD.value,
    run_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[HeldRow], int]:
    """Held rows of a catalogue, oldest first, and how many match in all."""
    query = select(HeldRow).where(HeldRow.catalog_id == catalog_id)
    if status is not None:
        query = query.where(HeldRow.status == status)
    if run_id is not None:
        query = query.where(HeldRow.run_id == run_id)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(HeldRow.id).limit(limit).offset(offset))
    return list(rows), count


def held_of_run(
    session: Session, *, run_id: int, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows a run held and the first `limit` of them (id, source, row, reasons), for
    its report."""
    count = session.scalar(select(func.count()).where(HeldRow.run_id == run_id)) or 0
    rows = session.scalars(
        select(HeldRow).where(HeldRow.run_id == run_id).order_by(HeldRow.id).limit(limit)
    )
    return count, [
        {"id": r.external_id, "source": r.source, "row": r.row, "reasons": r.reasons} for r in rows
    ]
