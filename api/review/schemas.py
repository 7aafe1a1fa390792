"""Schemas of the change API: one family per entity, list wrappers with ``data`` and ``count``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.ids import MAX_ID, BoundedId, Offset  # noqa: F401 - the change API's names for them
from catalog.filters import RecordFilter
from catalog.models import ChangeStatus

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
MAX_BULK_IDS = 10_000
ChangeStatusName = Literal[tuple(s.value for s in ChangeStatus)]  # type: ignore[valid-type]
ChangeOrder = Literal["oldest", "newest", "confidence_desc", "confidence_asc"]
Reviewer = Annotated[
    str | None,
    Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Who decides (recorded on every change); the API key's id when unset.",
    ),
]


class ChangePublic(BaseModel):
    """One change: the proposed value, its score, its evidence and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    record: str = Field(description="The record's external id.")
    record_title: str | None = Field(None, description="The record's title, when it has one.")
    field: str
    old_value: Any = None
    new_value: Any = None
    confidence: float
    status: str
    operation: str
    run_id: int | None = None
    provider: str | None = None
    model: str | None = None
    method: str | None = None
    sources: list[str] = []
    explanation: str | None = None
    reviewer: str | None = None
    created_at: datetime
    decided_at: datetime | None = None


class ChangesPublic(BaseModel):
    data: list[ChangePublic]
    count: int = Field(description="Changes matching the filters (not just this page).")


class EvidenceText(BaseModel):
    """A record attribute a change cites as its source, with the spans that support it."""

    source: str
    text: str
    spans: list[tuple[int, int]] = Field(
        default_factory=list, description="[start, end) offsets of the quoted/proposed value."
    )


class ChangeDetail(ChangePublic):
    evidence: list[EvidenceText] = []
    history: list[ChangePublic] = Field(
        default_factory=list, description="Every change to this field of this record, oldest first."
    )


class ChangeSelection(BaseModel):
    """Queued changes to act on by filter; unset fields don't filter."""

    model_config = ConfigDict(extra="forbid")

    field: str | None = Field(None, max_length=200)
    operation: str | None = Field(None, max_length=50)
    run_id: int | None = Field(None, ge=1, le=MAX_ID)
    min_confidence: float | None = Field(None, ge=0, le=1, description="At or above.")
    max_confidence: float | None = Field(None, ge=0, le=1, description="Below.")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: Reviewer = None


class BulkDecisionRequest(BaseModel):
    """Decide many queued changes: name them (``ids``) or select them (``filter``; ``{}`` is the
    whole queue)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, min_length=1, max_length=MAX_BULK_IDS
    )
    filter: ChangeSelection | None = None
    reviewer: Reviewer = None

    @model_validator(mode="after")
    def _one_selection(self) -> BulkDecisionRequest:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("give either `ids` or `filter` (use `filter: {}` for the whole queue)")
        return self


class ChangeDecisionPublic(BaseModel):
    change: ChangePublic
    changed: bool = Field(description="False when the change already had this decision.")
    message: str


class BulkDecisionPublic(BaseModel):
    status: Literal["approved", "rejected"]
    decided: int
    ids: list[int] = Field(description="Changes decided by this request.")
    unchanged: list[int] = Field(
        default_factory=list, description="Named changes that already had this decision."
    )
    message: str


class FieldHistory(BaseModel):
    field: str
    current: Any = None
    changes: list[ChangePublic]


class RecordSummary(BaseModel):
    id: str = Field(description="The external id.")
    title: str | None = None
    values: dict[str, Any]
    queued: int = Field(0, description="Changes waiting for review on this record.")
    updated_at: datetime


class RecordsPublic(BaseModel):
    data: list[RecordSummary]
    count: int


class RecordDetail(BaseModel):
    id: str
    title: str | None = None
    values: dict[str, Any]
    source_values: dict[str, Any]
    source: str | None = None
    created_at: datetime
    updated_at: datetime
    fields: list[FieldHistory] = Field(
        description="Every field that has changes, with its history."
    )


class RecordSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: RecordFilter | None = None
    q: str | None = Field(None, max_length=200, description="Text in the id or the title.")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class RollbackRequest(BaseModel):
    """What to roll back: one field of a record (its latest change in effect), one change, or
    everything a run applied that is still in effect."""

    model_config = ConfigDict(extra="forbid")

    record: str | None = Field(None, min_length=1, max_length=500)
    field: str | None = Field(None, min_length=1, max_length=200)
    change_id: int | None = Field(None, ge=1, le=MAX_ID)
    run_id: int | None = Field(None, ge=1, le=MAX_ID)
    reviewer: Reviewer = None

    @model_validator(mode="after")
    def _one_target(self) -> RollbackRequest:
        targets = [
            self.record is not None or self.field is not None,
            self.change_id is not None,
            self.run_id is not None,
        ]
        if sum(targets) != 1:
            raise ValueError("give exactly one of: `record` with `field`, `change_id`, `run_id`")
        if (self.record is None) != (self.field is None):
            raise ValueError("a field rollback needs both `record` and `field`")
        return self


class RollbackPublic(BaseModel):
    rolled_back: list[int] = Field(description="The changes undone.")
    undo: list[ChangePublic] = Field(description="The `rollback` changes that undid them.")
    message: str


class ConflictPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    record: str | None = None
    field: str
    existing_value: Any = None
    proposed_value: Any = None
    confidence: float
    sources: list[str] = []
    explanation: str | None = None
    status: str
    resolution: str | None = None
    resolved_value: Any = None
    resolver: str | None = None
    run_id: int | None = None
    created_at: datetime
    resolved_at: datetime | None = None


class ConflictsPublic(BaseModel):
    data: list[ConflictPublic]
    count: int


class ConflictResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Literal["kept_existing", "accepted_new", "custom"]
    value: Any = Field(None, description="The value to set, for a `custom` resolution.")
    resolver: Reviewer = None


class ConflictResolvePublic(BaseModel):
    conflict: ConflictPublic
    changed: bool
    message: str


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    operation: str
    status: str
    counts: dict[str, Any] = {}
    params: dict[str, Any] = {}
    error: str | None = None
    flow_run_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class RunDetail(RunPublic):
    changes: dict[str, int] = Field(description="The run's changes by status, as they are now.")
    validation: dict[str, Any] | None = Field(
        None, description="The run's validation report (expectations, failing rows, examples)."
    )
    held: int = Field(
        0, description="Source rows the run held back for breaking a blocking rule (see /held)."
    )


class HeldReason(BaseModel):
    rule: str = Field(description="The expectation broken, as the validation report names it.")
    attribute: str
    value: Any = None
    message: str = Field(description="Why, in words a supplier can act on.")


class HeldRowPublic(BaseModel):
    """A source row a run did not apply because it broke a blocking rule."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str = Field(description="The record's id in the source.")
    run_id: int | None = None
    source: str = Field(description="The file or source the row came from.")
    row: int | None = Field(None, description="Its row in the source (header included).")
    values: dict[str, Any] = Field(description="The row's values as read (not applied).")
    reasons: list[HeldReason]
    status: Literal["held", "resolved"]
    halted: bool = Field(description="Whether the run halted on it (`on_invalid: halt`).")
    new_record: bool = Field(description="True when the catalogue has no record of this id.")
    created_at: datetime
    resolved_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, value: Any) -> Any:
        if hasattr(value, "record_id"):
            names = [c for c in cls.model_fields if c != "new_record"]
            return {
                **{n: getattr(value, n) for n in names},
                "new_record": value.record_id is None,
            }
        return value


class HeldRowsPublic(BaseModel):
    data: list[HeldRowPublic]
    count: int
