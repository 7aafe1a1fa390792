"""Which records an operation acts on: one typed filter, applied in SQL where the store is read.

Scheduled deployments take it as their ``record_filter`` parameter (the Prefect UI renders it
as a form), so a team can export one supplier's range, re-enrich what changed this week, or
report on one branch of the taxonomy without a new flow. Unset fields don't filter; set
fields all have to match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import Select

from catalog.errors import InputError
from catalog.models import Change, Record

Scalar = str | int | float | bool
ChangeStatusName = Literal[
    "applied", "queued_for_review", "approved", "rejected", "dropped", "rolled_back"
]
LIKE_ESCAPE = "\\"


class RecordFilter(BaseModel):
    """Records of a catalogue to act on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_ids: list[str] | None = Field(
        None, description="Only these external ids (the supplier's SKUs)."
    )
    external_id_glob: str | None = Field(
        None,
        description="External ids matching this pattern (case-sensitive): * any text, ? one "
        "character.",
    )
    equals: dict[str, Scalar] | None = Field(
        None, description="Attributes whose current value equals the given value."
    )
    one_of: dict[str, list[Scalar]] | None = Field(
        None, description="Attributes whose current value is one of the given values."
    )
    updated_since: datetime | None = Field(
        None, description="Records imported or edited at or after this time."
    )
    change_status: ChangeStatusName | None = Field(
        None,
        description="Records with at least one change in this status (e.g. queued_for_review).",
    )
    category: str | None = Field(
        None,
        description="Records whose category path starts with this, in any case "
        "(e.g. 'Fasteners > Bolts').",
    )
    _category_field: str | None = PrivateAttr(None)
    """The catalogue's category attribute, set by ``bound_to`` from the schema (not a form
    field: a person names the category, the catalogue says where it is stored)."""

    @model_validator(mode="after")
    def _non_empty_lists(self) -> RecordFilter:
        if self.external_ids is not None and not self.external_ids:
            raise ValueError("external_ids is empty: leave it unset to take every record")
        for field, values in (self.one_of or {}).items():
            if not values:
                raise ValueError(f"one_of.{field} is empty: no record could match")
        return self

    def bound_to(self, category_field: str | None) -> RecordFilter:
        """This filter with the catalogue's category attribute filled in; a category filter on
        a catalogue without one is an input error rather than a silent no-op."""
        if self.category is not None and category_field is None:
            raise InputError.single(
                "record_filter",
                "category: this catalogue has no category attribute",
                column="category",
            )
        bound = self.model_copy()
        bound._category_field = category_field
        return bound

    def apply(self, query: Select, *, dialect: str) -> Select:
        """``query`` (which selects from ``records``) narrowed to the matching records."""
        conditions = self.conditions(dialect=dialect)
        return query.where(*conditions) if conditions else query

    def conditions(self, *, dialect: str) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.external_ids is not None:
            out.append(Record.external_id.in_(self.external_ids))
        if self.external_id_glob is not None:
            out.append(_id_matches(self.external_id_glob, dialect=dialect))
        for field, value in (self.equals or {}).items():
            out.append(_value_equals(field, value, dialect=dialect))
        for field, values in (self.one_of or {}).items():
            out.append(or_(*(_value_equals(field, v, dialect=dialect) for v in values)))
        if self.updated_since is not None:
            out.append(Record.updated_at >= self.updated_since)
        if self.change_status is not None:
            out.append(
                exists(
                    select(Change.id).where(
                        Change.record_id == Record.id, Change.status == self.change_status
                    )
                )
            )
        if self.category is not None:
            if self._category_field is None:
                out.append(false())
            else:
                pattern = _escape_like(self.category) + "%"
                out.append(
                    Record.values[self._category_field]
                    .as_string()
                    .ilike(pattern, escape=LIKE_ESCAPE)
                )
        return out


def _id_matches(pattern: str, *, dialect: str) -> ColumnElement[bool]:
    """External ids matching a shell-style pattern, case-sensitively on both stores (SQLite's
    LIKE ignores case, so it gets GLOB, with ``[`` made literal as in PostgreSQL's LIKE)."""
    if dialect == "sqlite":
        return Record.external_id.op("GLOB")(pattern.replace("[", "[[]"))
    return Record.external_id.like(glob_to_like(pattern), escape=LIKE_ESCAPE)


def glob_to_like(pattern: str) -> str:
    """A shell-style pattern (``AC-10*``) as a LIKE pattern, LIKE's own wildcards escaped."""
    return _escape_like(pattern).replace("*", "%").replace("?", "_")


def _escape_like(text: str) -> str:
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def _value_equals(field: str, value: Scalar, *, dialect: str) -> ColumnElement[bool]:
    """A current value equal to ``value``, type-aware (the number 12 is not the text "12").

    PostgreSQL: JSONB containment, which never casts (a text price can't break the query) and
    can use a GIN index. SQLite: ``json_extract`` yields native values (booleans as 1/0).
    """
    if dialect == "postgresql":
        return type_coerce(Record.values, JSONB).contains({field: value})
    extracted: Any = Record.values[field]
    if isinstance(value, bool):
        return and_(extracted.as_boolean() == value, _json_type(field).in_(["true", "false"]))
    if isinstance(value, int | float):
        return and_(extracted.as_float() == value, _json_type(field).in_(["integer", "real"]))
    return and_(extracted.as_string() == value, _json_type(field) == "text")


def _json_type(field: str) -> ColumnElement[str]:
    return func.json_type(Record.values, f'$."{field}"')
