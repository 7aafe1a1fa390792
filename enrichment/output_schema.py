"""The fields a user asks enrichment to fill (seed 003's `output_schema`), and how a found value
is made to fit one.

A provider finds text ("5.2 cm", "Yes", "Red; Blue"); the schema decides what may be written:
the value in the field's type and unit ("5.2 cm" for a `number` in `mm` is 52), one of its enum
values, or nothing with a `FieldIssue` saying why. Nothing is guessed: a value that does not fit
is rejected, never rounded into shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from catalog.errors import InputError, InputProblem
from catalog.units import UnitError, canonical_unit, parse_number, to_unit

FieldType = Literal["string", "number", "integer", "boolean", "array"]
ElementType = Literal["string", "number", "integer", "boolean", "image_url"]
Severity = Literal["error", "warning", "info"]

_TRUE = {"true", "yes", "y", "1", "on", "included", "x", "✓", "✔"}
_FALSE = {"false", "no", "n", "0", "off", "none", "not included", "-"}
# Both patterns run on text a client sends, so neither may backtrack: the splitter matches one
# character (items are stripped afterwards) and the unit pattern only ever sees the last few
# words of a description, joined by single spaces.
_ARRAY_SPLIT = re.compile(r"[;|\n]|,(?=\s)")
_UNIT_IN_DESCRIPTION = re.compile(r"(?:\bin|\(|\[) ?([A-Za-z°µ²³/]{1,12}) ?[)\]]?$")
_UNIT_TAIL_WORDS = 4
MAX_DESCRIPTION = 4000
"""Longest field description accepted: a sentence or two for a person or an LLM, not a file."""


@dataclass(frozen=True)
class FieldIssue:
    """Something wrong with one field of one item, as seed 003's `review_info.field_issues`."""

    field: str
    severity: Severity
    message: str
    validator: str = "schema"

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "severity": self.severity,
            "message": self.message,
            "validator": self.validator,
        }


class OutputField(BaseModel):
    """One field to fill. `unit` applies to numbers (and to strings holding a quantity, which
    are written as "52 mm"); `merge` makes an array field add to existing items instead of
    replacing them."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: FieldType = "string"
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    unit: str | None = None
    enum: list[str] | None = None
    sample_values: list[Any] | None = None
    array_element_type: ElementType | None = None
    items_enum: list[str] | None = None
    required: bool = False
    merge: bool = False

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return canonical_unit(value)
        except UnitError as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _consistent(self) -> OutputField:
        if self.type != "array" and (self.array_element_type or self.items_enum):
            raise ValueError(
                f"field '{self.name}': array_element_type/items_enum need type 'array'"
            )
        if self.enum is not None and not self.enum:
            raise ValueError(f"field '{self.name}': enum must list at least one value")
        return self

    @property
    def effective_unit(self) -> str | None:
        """The declared unit, or one the description states ("Inner diameter in mm")."""
        if self.unit:
            return self.unit
        if self.type not in ("number", "integer", "string"):
            return None
        tail = " ".join(self.description.split()[-_UNIT_TAIL_WORDS:])
        found = _UNIT_IN_DESCRIPTION.search(tail)
        if found is None:
            return None
        try:
            return canonical_unit(found.group(1))
        except UnitError:
            return None

    @property
    def element_type(self) -> ElementType:
        return self.array_element_type or "string"

    def coerce(self, raw: Any) -> tuple[Any, FieldIssue | None]:
        """`raw` in this field's type and unit, or (None, issue) when it does not fit.

        An empty raw value gives (None, None): nothing found is not a problem of the value.
        """
        if _empty(raw):
            return None, None
        try:
            if self.type == "array":
                return self._coerce_array(raw)
            value = _coerce_scalar(raw, self.type, self.effective_unit)
        except _Misfit as misfit:
            return None, FieldIssue(self.name, "error", str(misfit), "type")
        return self._check_enum(value, self.enum, "enum")

    def _check_enum(
        self, value: Any, allowed: list[str] | None, validator: str
    ) -> tuple[Any, FieldIssue | None]:
        if allowed is None or value is None:
            return value, None
        found = _enum_lookup(tuple(allowed)).get(str(value).strip().casefold())
        if found is None:
            shown = ", ".join(map(str, allowed[:10]))
            return None, FieldIssue(
                self.name,
                "error",
                f"{value!r} is not one of the allowed values ({shown})",
                validator,
            )
        return found, None

    def _coerce_array(self, raw: Any) -> tuple[Any, FieldIssue | None]:
        if isinstance(raw, list | tuple):
            items: list[Any] | tuple[Any, ...] = raw
        else:
            items = [part.strip() for part in _ARRAY_SPLIT.split(str(raw))]
        out: list[Any] = []
        rejected: list[str] = []
        for item in items:
            if _empty(item):
                continue
            try:
                if self.element_type == "image_url":
                    value: Any = _image_url(item)
                else:
                    value = _coerce_scalar(item, self.element_type, self.effective_unit)
            except _Misfit as misfit:
                rejected.append(str(misfit))
                continue
            value, issue = self._check_enum(value, self.items_enum, "items_enum")
            if issue is not None:
                rejected.append(issue.message)
                continue
            if value not in out:
                out.append(value)
        issue = None
        if rejected:
            issue = FieldIssue(
                self.name,
                "error" if not out else "warning",
                f"{len(rejected)} item(s) dropped: " + "; ".join(rejected[:3]),
                "items",
            )
        return (out or None), issue

    def render(self, value: Any) -> Any:
        """How a coerced value is shown in `after_data`: a string field with a unit reads
        "52 mm", everything else is the value itself."""
        if self.type == "string" and isinstance(value, float) and self.effective_unit:
            return f"{_plain(value)} {self.effective_unit}"
        return value


@lru_cache(maxsize=1024)
def _enum_lookup(allowed: tuple[Any, ...]) -> dict[str, Any]:
    return {str(a).casefold(): a for a in allowed}


class _Misfit(ValueError):
    """A value that cannot be read as the field's type (message names the value)."""


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return isinstance(value, list | tuple | dict) and not value


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _coerce_scalar(raw: Any, kind: str, unit: str | None) -> Any:
    if kind == "boolean":
        return _boolean(raw)
    if kind in ("number", "integer"):
        number = _number(raw, unit)
        if kind == "integer":
            if not float(number).is_integer():
                raise _Misfit(f"{raw!r} is not a whole number")
            return int(number)
        return number
    if kind == "string":
        if isinstance(raw, dict | list | tuple):
            raise _Misfit(f"{raw!r} is not a single text value")
        if unit and not isinstance(raw, bool):
            try:
                number = _number(raw, unit)
            except _Misfit:
                return " ".join(str(raw).split())
            return number
        return " ".join(str(raw).split())
    raise _Misfit(f"unsupported type {kind!r}")


def _number(raw: Any, unit: str | None) -> float:
    if isinstance(raw, bool):
        raise _Misfit(f"{raw!r} is a boolean, not a number")
    if unit:
        try:
            value = to_unit(raw, unit)
        except UnitError as exc:
            raise _Misfit(f"{raw!r} is not in {unit}: {exc}") from exc
        if value is None:
            raise _Misfit(f"{raw!r} is not a quantity in {unit}")
        return float(f"{value:.10g}")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and math.isnan(raw):
            raise _Misfit("NaN is not a number")
        return float(raw)
    text = str(raw).strip()
    value = parse_number(text) if text else None
    if value is None:
        raise _Misfit(f"{raw!r} is not a number")
    return value


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    key = str(raw).strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise _Misfit(f"{raw!r} is not yes/no")


def _image_url(raw: Any) -> str:
    text = str(raw).strip()
    if not re.match(r"^https?://[^\s/]+/\S*$", text):
        raise _Misfit(f"{raw!r} is not an http(s) image URL")
    return text


class OutputSchema(BaseModel):
    """The ordered fields to fill; names are unique."""

    model_config = ConfigDict(extra="forbid")

    fields: list[OutputField]

    @model_validator(mode="after")
    def _unique(self) -> OutputSchema:
        seen: set[str] = set()
        for f in self.fields:
            if f.name in seen:
                raise ValueError(f"output_schema names field '{f.name}' twice")
            seen.add(f.name)
        return self

    @classmethod
    def parse(cls, fields: Sequence[dict[str, Any] | OutputField]) -> OutputSchema:
        """Read seed 003's list form; problems name the field's position and cause.

        Raises:
            InputError: a field is malformed (unknown type, unknown unit, duplicate name, …).
        """
        from pydantic import ValidationError

        problems: list[InputProblem] = []
        parsed: list[OutputField] = []
        for i, raw in enumerate(fields):
            try:
                parsed.append(raw if isinstance(raw, OutputField) else OutputField(**raw))
            except (ValidationError, TypeError) as exc:
                name = raw.get("name") if isinstance(raw, dict) else None
                problems.append(
                    InputProblem(
                        source="output_schema",
                        message=f"field {i + 1}{f' ({name!r})' if name else ''}: {exc}",
                    )
                )
        if problems:
            raise InputError(problems)
        try:
            return cls(fields=parsed)
        except ValidationError as exc:
            raise InputError.single("output_schema", str(exc)) from exc

    def __iter__(self):
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def field(self, name: str) -> OutputField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def coerce(self, values: dict[str, Any]) -> tuple[dict[str, Any], list[FieldIssue]]:
        """Every schema field present in `values`, coerced; issues for those that do not fit
        (they are left out of the result)."""
        out: dict[str, Any] = {}
        issues: list[FieldIssue] = []
        for f in self.fields:
            if f.name not in values:
                continue
            value, issue = f.coerce(values[f.name])
            if issue is not None:
                issues.append(issue)
            if value is not None:
                out[f.name] = value
        return out, issues
