"""Rolling back one field, one change or a run: the domain's `catalog.changes.rollback`, which
writes an undo change per value restored (so a rollback is audited and can be undone too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.review.changes import change_in
from catalog.changes import ChangeFilter, rollback, rollback_field
from catalog.errors import NotFound, StateConflict
from catalog.events import emit_decision_events
from catalog.models import IN_EFFECT, Catalog, Change, ChangeStatus, Run


@dataclass
class RollbackOutcome:
    reviewer: str
    catalog: str
    undo: list[Change] = field(default_factory=list)
    """The `rollback` changes written."""
    originals: list[Change] = field(default_factory=list)
    """The changes they undid (now `rolled_back`)."""
    already: list[int] = field(default_factory=list)
    """A named change that was already rolled back (nothing done)."""

    @property
    def message(self) -> str:
        if self.originals:
            return f"Rolled back {len(self.originals)} change(s)."
        if self.already:
            return f"Change {self.already[0]} was already rolled back; nothing changed."
        return "Nothing in effect matched; nothing was rolled back."

    def announce(self) -> None:
        """``skuflow.change.rolled_back`` for the undone changes (call after commit)."""
        if self.originals:
            emit_decision_events(
                self.originals, status="rolled_back", reviewer=self.reviewer, catalog=self.catalog
            )


def roll_back(
    session: Session,
    *,
    catalog: Catalog,
    reviewer: str,
    record: str | None = None,
    field: str | None = None,
    change_id: int | None = None,
    run_id: int | None = None,
) -> RollbackOutcome:
    """Undo a field's latest change in effect, one change, or what a run applied.

    Rolling back a change twice changes nothing the second time (it is no longer in effect);
    a field rollback undoes whatever is its latest change in effect *now*, so to retry safely
    name the change. A change that never took effect (queued, rejected, dropped) or that a
    later change in effect has overwritten is refused with StateConflict, nothing changed.
    """
    outcome = RollbackOutcome(reviewer=reviewer, catalog=catalog.name)
    if record is not None and field is not None:
        undo = rollback_field(
            session, catalog_id=catalog.id, external_id=record, field=field, reviewer=reviewer
        )
        outcome.undo = [undo]
    elif change_id is not None:
        change = change_in(session, catalog=catalog, change_id=change_id)
        if change.status == ChangeStatus.ROLLED_BACK.value:
            outcome.already = [change.id]
            return outcome
        if change.status not in IN_EFFECT:
            raise StateConflict(
                f"change {change.id} is {change.status}: only applied or approved changes "
                "can be rolled back; nothing changed"
            )
        later = session.scalar(
            select(Change.id)
            .where(
                Change.record_id == change.record_id,
                Change.field == change.field,
                Change.status.in_(IN_EFFECT),
                Change.id > change.id,
            )
            .order_by(Change.id.desc())
            .limit(1)
        )
        if later is not None:
            raise StateConflict(
                f"change {later}, made after change {change.id}, now holds '{change.field}': "
                f"roll back change {later} first; nothing changed"
            )
        outcome.undo = rollback(
            session,
            where=ChangeFilter(catalog_id=catalog.id, change_ids=[change.id]),
            reviewer=reviewer,
        )
    elif run_id is not None:
        run = session.get(Run, run_id)
        if run is None or run.catalog_id != catalog.id:
            raise NotFound(f"run {run_id} not found in catalogue '{catalog.name}'")
        outcome.undo = rollback(
            session, where=ChangeFilter(catalog_id=catalog.id, run_id=run_id), reviewer=reviewer
        )
    else:
        raise ValueError("roll_back needs record and field, change_id or run_id")
    undone_ids = [int(u.basis.removeprefix("rollback:")) for u in outcome.undo]
    outcome.originals = (
        list(session.scalars(select(Change).where(Change.id.in_(undone_ids)).order_by(Change.id)))
        if undone_ids
        else []
    )
    return outcome
