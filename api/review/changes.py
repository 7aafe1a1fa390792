"""Listing changes and deciding queued ones, for the API and the workbench alike.

Decisions go through `catalog.changes.approve` / `reject` — the functions `skuflow review`
and the review checkpoint call — so the audit trail, the stale-content check and the training
data they feed are the same whichever door a reviewer used. A decision repeated changes
nothing and says so; a decision on a change someone already decided otherwise is refused
(`StateConflict`, 409) and changes nothing. Events are announced by ``announce()``, which a
caller runs after committing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.review.catalogs import title_attribute
from api.review.schemas import ChangeDetail, ChangeOrder, ChangePublic, EvidenceText
from catalog.changes import ChangeFilter, approve, reject
from catalog.errors import NotFound, StateConflict
from catalog.events import emit_decision_events
from catalog.models import Catalog, Change, ChangeStatus, Record

Action = Literal["approve", "reject"]
_STATUS_OF: dict[Action, Literal["approved", "rejected"]] = {
    "approve": "approved",
    "reject": "rejected",
}
_ORDER = {
    "oldest": (Change.id,),
    "newest": (Change.id.desc(),),
    "confidence_desc": (Change.confidence.desc(), Change.id),
    "confidence_asc": (Change.confidence, Change.id),
}


def list_changes(
    session: Session,
    *,
    catalog: Catalog,
    where: ChangeFilter,
    record: str | None = None,
    order: ChangeOrder = "oldest",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ChangePublic], int]:
    """A page of the catalogue's changes matching ``where`` (and one record's, by external
    id), with how many match in all."""
    where = replace(where, catalog_id=catalog.id)
    query = where.apply(select(Change))
    counted = where.apply(select(func.count()).select_from(Change))
    if record is not None:
        query = query.join(Record, Record.id == Change.record_id).where(
            Record.external_id == record
        )
        counted = counted.join(Record, Record.id == Change.record_id).where(
            Record.external_id == record
        )
    changes = list(session.scalars(query.order_by(*_ORDER[order]).limit(limit).offset(offset)))
    return public_changes(session, catalog=catalog, changes=changes), session.scalar(counted) or 0


def public_changes(
    session: Session, *, catalog: Catalog, changes: Sequence[Change]
) -> list[ChangePublic]:
    """Changes as the API shows them, each with its record's external id and title."""
    labels = _record_labels(session, catalog=catalog, record_ids={c.record_id for c in changes})
    return [_public(change, labels) for change in changes]


def change_detail(session: Session, *, catalog: Catalog, change_id: int) -> ChangeDetail:
    """One change with its evidence (the record text it cites, with the proposed value marked)
    and the history of its field."""
    change = _change_in(session, catalog=catalog, change_id=change_id)
    record = session.get(Record, change.record_id)
    history = list(
        session.scalars(
            select(Change)
            .where(Change.record_id == change.record_id, Change.field == change.field)
            .order_by(Change.id)
        )
    )
    labels = _record_labels(session, catalog=catalog, record_ids={change.record_id})
    return ChangeDetail(
        **_public(change, labels).model_dump(),
        evidence=evidence_for(change, record.values if record else {}),
        history=[_public(c, labels) for c in history],
    )


def evidence_for(change: Change, values: dict[str, Any]) -> list[EvidenceText]:
    """The record attributes a change cites (``record:<attribute>``), with the spans that hold
    the proposed value or a text the explanation quotes, so a reviewer sees where it came from."""
    needles = _quoted(change.explanation or "")
    if change.new_value is not None and not isinstance(change.new_value, dict | list):
        needles.append(_plain(change.new_value))
    out = []
    for source in change.sources or []:
        kind, _, name = source.partition(":")
        if kind != "record" or not isinstance(values.get(name), str):
            continue
        text = values[name]
        out.append(EvidenceText(source=source, text=text, spans=_spans(text, needles)))
    return out


@dataclass
class DecisionOutcome:
    """What a decision did: the changes it decided now, the named ones that already had it."""

    status: Literal["approved", "rejected"]
    reviewer: str
    catalog: str
    decided: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = []
        if self.decided:
            parts.append(f"{self.status.capitalize()} {len(self.decided)} change(s).")
        if len(self.unchanged) == 1:
            c = self.unchanged[0]
            who = f" by {c.reviewer}" if c.reviewer else ""
            parts.append(f"Change {c.id} was already {self.status}{who}; nothing changed.")
        elif self.unchanged:
            ids = ", ".join(str(c.id) for c in self.unchanged[:20])
            more = "…" if len(self.unchanged) > 20 else ""
            parts.append(f"Changes {ids}{more} were already {self.status}; left as they were.")
        return " ".join(parts) or f"No queued change matched; nothing was {self.status}."

    def announce(self) -> None:
        """``skuflow.change.approved|rejected`` for what was decided (call after commit)."""
        if self.decided:
            emit_decision_events(
                self.decided, status=self.status, reviewer=self.reviewer, catalog=self.catalog
            )


def decide(
    session: Session,
    *,
    catalog: Catalog,
    action: Action,
    reviewer: str,
    ids: Sequence[int] | None = None,
    where: ChangeFilter | None = None,
) -> DecisionOutcome:
    """Approve or reject queued changes, named by ``ids`` or selected by ``where``.

    Named changes are all-or-nothing: an unknown id is NotFound, and one that someone decided
    otherwise (or that was superseded, rolled back, applied) is a StateConflict — either way
    nothing is decided. Named changes that already have this decision are left as they are.

    Raises:
        NotFound: an id is not a change of this catalogue.
        StateConflict: a named change is no longer queued, or (approve) a change was proposed
            from content the record no longer has (`catalog.changes.StaleChange`).
    """
    status = _STATUS_OF[action]
    outcome = DecisionOutcome(status=status, reviewer=reviewer, catalog=catalog.name)
    run = approve if action == "approve" else reject
    if ids is not None:
        wanted = sorted(set(ids))
        found = {
            c.id: c
            for c in session.scalars(
                select(Change).where(Change.catalog_id == catalog.id, Change.id.in_(wanted))
            )
        }
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"change {_listing(missing)} not found in catalogue '{catalog.name}'")
        blocked = [
            c
            for c in found.values()
            if c.status not in (ChangeStatus.QUEUED_FOR_REVIEW.value, status)
        ]
        if blocked:
            raise StateConflict(_not_queued(blocked, action))
        outcome.unchanged = [c for c in found.values() if c.status == status]
        queued = [c.id for c in found.values() if c.status == ChangeStatus.QUEUED_FOR_REVIEW.value]
        if queued:
            outcome.decided = run(
                session,
                where=ChangeFilter(catalog_id=catalog.id, change_ids=queued),
                reviewer=reviewer,
            )
        return outcome
    selection = replace(where or ChangeFilter(), catalog_id=catalog.id, change_ids=None)
    outcome.decided = run(session, where=selection, reviewer=reviewer)
    return outcome


def change_in(session: Session, *, catalog: Catalog, change_id: int) -> Change:
    return _change_in(session, catalog=catalog, change_id=change_id)


def _change_in(session: Session, *, catalog: Catalog, change_id: int) -> Change:
    change = session.get(Change, change_id)
    if change is None or change.catalog_id != catalog.id:
        raise NotFound(f"change {change_id} not found in catalogue '{catalog.name}'")
    return change


def _not_queued(changes: Sequence[Change], action: Action) -> str:
    def one(c: Change) -> str:
        who = f" by {c.reviewer}" if c.reviewer else ""
        when = f" at {c.decided_at:%Y-%m-%d %H:%M} UTC" if c.decided_at else ""
        return f"change {c.id} is {c.status}{who}{when}"

    shown = "; ".join(one(c) for c in sorted(changes, key=lambda c: c.id)[:10])
    more = f" (and {len(changes) - 10} more)" if len(changes) > 10 else ""
    hint = (
        " Roll it back instead."
        if action == "reject"
        and any(
            c.status in (ChangeStatus.APPROVED.value, ChangeStatus.APPLIED.value) for c in changes
        )
        else ""
    )
    verb = _STATUS_OF[action]
    return f"{shown}{more}: not queued for review, so it cannot be {verb}; nothing changed.{hint}"


def _record_labels(
    session: Session, *, catalog: Catalog, record_ids: set[int]
) -> dict[int, tuple[str, str | None]]:
    if not record_ids:
        return {}
    title = title_attribute(catalog)
    columns: list[Any] = [Record.id, Record.external_id]
    if title is not None:
        columns.append(Record.values[title].as_string())
    rows = session.execute(select(*columns).where(Record.id.in_(sorted(record_ids))))
    return {row[0]: (row[1], row[2] if title is not None else None) for row in rows}


def _public(change: Change, labels: dict[int, tuple[str, str | None]]) -> ChangePublic:
    external_id, title = labels.get(change.record_id, ("?", None))
    return ChangePublic(
        id=change.id,
        record=external_id,
        record_title=title,
        field=change.field,
        old_value=change.old_value,
        new_value=change.new_value,
        confidence=change.confidence,
        status=change.status,
        operation=change.operation,
        run_id=change.run_id,
        provider=change.provider,
        model=change.model,
        method=change.method,
        sources=list(change.sources or []),
        explanation=change.explanation,
        reviewer=change.reviewer,
        created_at=change.created_at,
        decided_at=change.decided_at,
    )


def _quoted(text: str) -> list[str]:
    """Texts an explanation quotes ('…', "…", “…”), at least two characters long."""
    return list(re.findall(r"['\"“‘]([^'\"”’]{2,200})['\"”’]", text))


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _spans(text: str, needles: Sequence[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    lowered = text.casefold()
    for needle in {n.casefold() for n in needles if n.strip()}:
        start = lowered.find(needle)
        while start != -1 and len(spans) < 20:
            spans.append((start, start + len(needle)))
            start = lowered.find(needle, start + len(needle))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _listing(ids: Sequence[int]) -> str:
    shown = ", ".join(map(str, ids[:10]))
    return shown + (f" (and {len(ids) - 10} more)" if len(ids) > 10 else "")


def selection_filter(
    *,
    field: str | None = None,
    operation: str | None = None,
    run_id: int | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    status: str | None = None,
) -> ChangeFilter:
    """The domain's `ChangeFilter` from the API's and the workbench's query fields."""
    return ChangeFilter(
        field=field or None,
        operation=operation or None,
        run_id=run_id,
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        status=status or None,
    )


__all__ = ["DecisionOutcome", "change_detail", "decide", "list_changes", "selection_filter"]
