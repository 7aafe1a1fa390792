"""Bodies of the auto-enrichment contract. The seed leaves the config's fields open (its
examples send ``{}``), so every field has a default: ``PUT {}`` restores the defaults and
``PATCH`` changes only the fields it names."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from enrichment.output_schema import OutputField, OutputSchema

EntityType = Literal["product", "company"]
Trigger = Literal["on_create", "on_update"]
ConflictPolicy = Literal["review", "keep_existing", "overwrite"]
JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class ConfigFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Enrich records automatically when they arrive.")
    entity_types: list[EntityType] = Field(
        default_factory=lambda: ["product"], description="Which records are enriched."
    )
    triggers: list[Trigger] = Field(
        default_factory=lambda: ["on_create"],
        description="When: new records (on_create) and/or changed ones (on_update).",
    )
    fields: dict[EntityType, list[OutputField]] = Field(
        default_factory=dict, description="Fields to fill per entity type (seed 003's form)."
    )
    conflict_policy: ConflictPolicy = Field(
        "review",
        description="A found value that disagrees with an existing one: open a conflict for "
        "review, keep the existing value silently, or propose the new one as a change.",
    )
    auto_apply: float = Field(0.9, ge=0, le=1, description="Apply at or above this confidence.")
    reject: float = Field(0.5, ge=0, le=1, description="Drop below this confidence.")
    web_search: bool = Field(False, description="Also read web pages the records link to.")
    monthly_credit_limit: int | None = Field(
        None, ge=0, description="Stop enriching once this many credits are used this month."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ConfigFields:
        if self.reject > self.auto_apply:
            raise ValueError(
                f"reject ({self.reject}) must not be above auto_apply ({self.auto_apply})"
            )
        for entity, specs in self.fields.items():
            names = [f.name for f in specs]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"fields.{entity} names {', '.join(twice)} twice")
        return self

    def output_schema(self, entity: str) -> OutputSchema | None:
        specs = self.fields.get(entity)  # type: ignore[call-overload]
        return OutputSchema(fields=specs) if specs else None


class ConfigUpdate(BaseModel):
    """PATCH: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    entity_types: list[EntityType] | None = None
    triggers: list[Trigger] | None = None
    fields: dict[EntityType, list[OutputField]] | None = None
    conflict_policy: ConflictPolicy | None = None
    auto_apply: float | None = Field(None, ge=0, le=1)
    reject: float | None = Field(None, ge=0, le=1)
    web_search: bool | None = None
    monthly_credit_limit: int | None = Field(None, ge=0)


class ConfigPublic(ConfigFields):
    paused: bool
    updated_at: datetime | None


class JobPublic(BaseModel):
    id: str
    entityType: str  # the contract's spelling
    status: str
    trigger: str
    total: int
    processed: int
    failed: int
    conflicts: int
    credits_used: float
    error: str | None
    failures: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class ConflictPublic(BaseModel):
    id: str
    job_id: str | None
    record_id: str | None
    field: str
    existing_value: Any
    proposed_value: Any
    confidence: float
    sources: list[str]
    explanation: str | None
    status: str
    resolution: str | None
    resolved_value: Any
    resolver: str | None
    created_at: datetime
    resolved_at: datetime | None


class ConflictsPublic(BaseModel):
    data: list[ConflictPublic]
    count: int


Resolution = Literal["keep_existing", "accept_new", "custom"]


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Resolution = Field(
        "keep_existing",
        description="keep_existing, accept_new (the enrichment's value) or custom (give value).",
    )
    value: Any = Field(None, description="The value to set with resolution=custom.")
    resolver: str | None = Field(None, max_length=200, description="Who decided.")

    @model_validator(mode="after")
    def _custom_has_value(self) -> ResolveRequest:
        if self.resolution == "custom" and self.value is None:
            raise ValueError("resolution 'custom' needs a value")
        return self


class StatsPublic(BaseModel):
    paused: bool
    enabled: bool
    jobs: dict[str, int]
    records_processed: int
    records_failed: int
    changes: dict[str, int]
    conflicts: dict[str, int]
    credits_used: float
    last_job_at: datetime | None


class PauseState(BaseModel):
    paused: bool = Field(description="Whether this organization's auto-enrichment is paused.")


class CreditsPublic(BaseModel):
    period_start: datetime
    used_this_period: float
    monthly_limit: int | None
    remaining: float | None
    total: float
    by_operation: dict[str, float]
    by_day: list[dict[str, Any]]
