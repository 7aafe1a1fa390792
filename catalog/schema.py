"""Catalogue schema: the typed attributes a catalogue holds, read from YAML.

The schema is the single contract every stage reads: ingest maps source columns onto it,
classify and enrich know which attributes they may fill and how sure they must be, validate
derives its expectations from it, distribute writes its columns.

Example::

    name: acme-mro
    kind: products
    id: sku
    text: [title, description]
    thresholds: {auto_apply: 0.9, reject: 0.4}
    attributes:
      - {name: sku, type: text, required: true, source: ["SKU", "Item #"]}
      - {name: voltage, type: number, unit: V, derive: extract}
      - {name: category, type: reference, derive: classify}
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class AttributeType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    ARRAY = "array"
    REFERENCE = "reference"
    GTIN = "gtin"
    """A GS1 trade item number (UPC-A, EAN-8/13, GTIN-14): stored as its 14-digit form, so the
    UPC-A and EAN-13 of one product are one value; a wrong length or check digit, or a
    restricted or coupon prefix, breaks the attribute's `gtin` rule (see `catalog.gtin`)."""


FIRMOGRAPHIC_FIELDS = ("employee_range", "revenue", "industry", "country", "website")
"""What the firmographics provider can fill (`derive: firmographics.<field>`)."""


class Thresholds(BaseModel):
    """Confidence cut-offs: at or above `auto_apply` a change is applied, below `reject` dropped,
    in between it waits for a person."""

    model_config = ConfigDict(extra="forbid")

    auto_apply: float = Field(0.9, ge=0.0, le=1.0)
    reject: float = Field(0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.reject > self.auto_apply:
            raise ValueError(
                f"reject ({self.reject}) must not be above auto_apply ({self.auto_apply})"
            )
        return self


class Attribute(BaseModel):
    """One typed field of a catalogue record."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: AttributeType = AttributeType.TEXT
    description: str = ""
    unit: str | None = None
    """Canonical unit of a number (`mm`, `kg`, `V`, `W`, `hp`, …); values are converted to it."""
    required: bool = False
    enum: list[str] | None = None
    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    """Other spellings of enum values (`{stainless steel: [ss, inox]}`)."""
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    items: AttributeType = AttributeType.TEXT
    """Element type of an `array` attribute."""
    separator: str = ";"
    """How an `array` value is split when it arrives as one string."""
    source: list[str] = Field(default_factory=list)
    """Source column names (first match wins, compared case- and space-insensitively);
    defaults to the attribute's own name."""
    derive: str | None = None
    """How a model fills it: `classify`, `extract`, or `firmographics.<field>`."""
    auto_apply: float | None = Field(None, ge=0.0, le=1.0)
    reject: float | None = Field(None, ge=0.0, le=1.0)
    severity: Literal["error", "warning"] = "error"
    """`error` rules halt a run when broken; `warning` rules are only reported."""

    @field_validator("source", mode="before")
    @classmethod
    def _source_as_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regex: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Attribute:
        if self.type is AttributeType.ENUM and not self.enum:
            raise ValueError(f"attribute '{self.name}': an enum needs `enum:` values")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"attribute '{self.name}': min ({self.min}) is above max ({self.max})")
        if self.derive is not None:
            kind, _, field = self.derive.partition(".")
            if kind not in ("classify", "extract", "firmographics"):
                raise ValueError(
                    f"attribute '{self.name}': derive must be classify, extract or "
                    f"firmographics.<field>, not '{self.derive}'"
                )
            if kind == "firmographics" and field not in FIRMOGRAPHIC_FIELDS:
                raise ValueError(
                    f"attribute '{self.name}': unknown firmographic '{field}' "
                    f"(one of {', '.join(FIRMOGRAPHIC_FIELDS)})"
                )
        return self

    @property
    def source_columns(self) -> list[str]:
        return self.source or [self.name]

    def canonical_enum(self) -> dict[str, str]:
        """Lower-cased spelling (value or synonym) → canonical enum value."""
        lookup: dict[str, str] = {}
        for value in self.enum or []:
            lookup[value.casefold()] = value
            for synonym in self.synonyms.get(value, []):
                lookup[synonym.casefold()] = value
        return lookup


Survivorship = Literal["most_recent", "most_complete", "trusted_source"]


class MatchingSettings(BaseModel):
    """The `matching:` section: turns dedupe on and says how merges happen.

    Example::

        matching:
          enabled: true
          compare: [title, brand, mpn, upc, price]   # default: text attributes + identifiers
          auto_merge: 0.95      # at or above: merged without asking
          reject: 0.5           # below: not a match (kept in the log); in between: review
          survivorship: most_complete   # or most_recent, trusted_source
          trusted_sources: [acme-master.csv]
          attributes: {price: most_recent}    # per-attribute rule
          model: models/match.joblib          # trained pair model; default: unsupervised
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    compare: list[str] = Field(default_factory=list)
    """Attributes compared (their names give their roles: title, brand, mpn, gtin/upc, price,
    category, description). Empty: the schema's text attributes plus brand/mpn/upc/price when
    the catalogue has them."""
    auto_merge: float = Field(0.95, ge=0.0, le=1.0)
    reject: float = Field(0.5, ge=0.0, le=1.0)
    survivorship: Survivorship = "most_complete"
    trusted_sources: list[str] = Field(default_factory=list)
    """Source names (files, blocks) in order of trust, for `trusted_source`."""
    attributes: dict[str, Survivorship] = Field(default_factory=dict)
    model: str | None = None
    """Pair model from `skuflow match train`; none: Fellegi–Sunter, capped below auto-merge."""

    @model_validator(mode="after")
    def _ordered(self) -> MatchingSettings:
        if self.reject > self.auto_merge:
            raise ValueError(
                f"reject ({self.reject}) must not be above auto_merge ({self.auto_merge})"
            )
        return self

    def thresholds(self) -> Thresholds:
        """As change thresholds: auto-merge applies, reject drops, in between waits."""
        return Thresholds(auto_apply=self.auto_merge, reject=self.reject)


class CatalogSchema(BaseModel):
    """A catalogue's attributes, identity, text fields and confidence thresholds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["products", "suppliers"] = "products"
    description: str = ""
    id: str
    """The attribute whose value is the record's stable external id."""
    text: list[str] = Field(default_factory=list)
    """Attributes whose text describes the record (classification and extraction read them)."""
    supplier_name: str | None = None
    """Attribute holding the supplier's name, for firmographics matching."""
    supplier_website: str | None = None
    """Attribute holding the supplier's website or e-mail domain, for firmographics matching."""
    thresholds: Thresholds = Field(default_factory=Thresholds)
    unknown_columns: Literal["error", "ignore"] = "error"
    """What ingest does with a source column no attribute maps: stop with an error, or skip it."""
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    """Duplicate detection and merging (off unless `enabled`)."""
    on_invalid: Literal["halt", "quarantine"] = "halt"
    """What a run does with source rows that break a blocking rule: `halt` stops the run and
    applies none of the file's edits; `quarantine` holds those rows (with their reasons, for
    review) and applies and publishes the rest. Either way a held row never changes the
    catalogue's current values."""
    attributes: list[Attribute]

    @model_validator(mode="after")
    def _references_exist(self) -> CatalogSchema:
        names = [a.name for a in self.attributes]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"attributes defined twice: {', '.join(sorted(duplicated))}")
        known = set(names)
        for label, refs in (
            ("id", [self.id]),
            ("text", self.text),
            ("supplier_name", [self.supplier_name] if self.supplier_name else []),
            ("supplier_website", [self.supplier_website] if self.supplier_website else []),
            ("matching.compare", self.matching.compare),
            ("matching.attributes", list(self.matching.attributes)),
        ):
            missing = [r for r in refs if r not in known]
            if missing:
                raise ValueError(f"{label} names unknown attribute(s): {', '.join(missing)}")
        classified = [a.name for a in self.attributes if a.derive == "classify"]
        if len(classified) > 1:
            raise ValueError(f"only one attribute may be derived by classify: {classified}")
        return self

    @property
    def by_name(self) -> dict[str, Attribute]:
        return {a.name: a for a in self.attributes}

    @property
    def id_attribute(self) -> Attribute:
        return self.by_name[self.id]

    @property
    def category_attribute(self) -> Attribute | None:
        return next((a for a in self.attributes if a.derive == "classify"), None)

    def derived(self, kind: str) -> list[Attribute]:
        """Attributes filled by one kind of model (`extract`, `firmographics`, `classify`)."""
        return [a for a in self.attributes if a.derive and a.derive.split(".")[0] == kind]

    def thresholds_for(self, attribute: str) -> Thresholds:
        """The catalogue's thresholds with the attribute's own overrides applied."""
        attr = self.by_name.get(attribute)
        if attr is None or (attr.auto_apply is None and attr.reject is None):
            return self.thresholds
        base = self.thresholds
        return Thresholds(
            auto_apply=base.auto_apply if attr.auto_apply is None else attr.auto_apply,
            reject=base.reject if attr.reject is None else attr.reject,
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> CatalogSchema:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SchemaError(f"{path}: schema file not found") from None
        except yaml.YAMLError as exc:
            raise SchemaError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise SchemaError(f"{path}: a schema is a YAML mapping with name, id and attributes")
        return cls.from_dict(raw, origin=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], origin: str = "schema") -> CatalogSchema:
        from pydantic import ValidationError

        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'schema'}: {err['msg']}"
                for err in exc.errors()
            )
            raise SchemaError(f"{origin}: invalid catalogue schema: {problems}") from exc


class SchemaError(ValueError):
    """The schema YAML cannot be used; the message names the file and the offending key."""
