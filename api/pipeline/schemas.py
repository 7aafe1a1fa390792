"""Request and response bodies of the pipeline contract, with its documented limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.ids import MAX_ID

MAX_RECORDS = 10_000

Destination = Literal["erp", "procurement", "warehouse", "crm", "custom"]
SyncFormat = Literal["json", "csv", "xml"]


class IngestRequest(BaseModel):
    source: str = Field(
        min_length=1, max_length=200, description='Originating platform id, e.g. "sap-s4hana".'
    )
    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_RECORDS,
        description="Raw product/supplier objects; at most 10,000 per call.",
    )


class IngestResponse(BaseModel):
    job_id: int
    status: str
    record_count: int
    created_at: datetime


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int = Field(description="Your id of the product.")
    name: str | None = None
    description: str | None = None


class ClassifyRequest(BaseModel):
    job_id: int = Field(ge=1, le=MAX_ID, description="ID from the /api/ingest response.")
    records: list[ProductIn] = Field(min_length=1, max_length=MAX_RECORDS)


class Classification(BaseModel):
    id: str
    category: str | None = Field(description="Full category path, or null when nothing fit.")
    category_id: str | None = None
    confidence: float
    taxonomy_version: str
    method: str


class ClassifyResponse(BaseModel):
    job_id: int
    classified_count: int
    classifications: list[Classification]


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    company_name: str | None = Field(None, max_length=500)
    domain: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _one_given(self) -> CompanyIn:
        if not (self.company_name or "").strip() and not (self.domain or "").strip():
            raise ValueError("at least one of company_name or domain is required")
        return self


class EnrichRequest(BaseModel):
    records: list[CompanyIn] = Field(min_length=1, max_length=MAX_RECORDS)


class Firmographics(BaseModel):
    employee_range: str | None = None
    annual_revenue: str | None = None
    industry: str | None = None
    tech_stack: list[str] = Field(default_factory=list)


class Enrichment(BaseModel):
    input: dict[str, Any]
    enriched: Firmographics
    confidence: float
    matched: bool
    source: str | None = Field(None, description="Reference row the values came from.")
    method: str | None = None


class EnrichResponse(BaseModel):
    enriched_count: int
    enrichments: list[Enrichment]


class SyncRequest(BaseModel):
    job_id: int = Field(ge=1, le=MAX_ID, description="ID from the /api/ingest response.")
    destination: Destination
    format: SyncFormat = "json"
    data: list[dict[str, Any]] | None = Field(
        None, max_length=MAX_RECORDS, description="Inline rows; the job's records when omitted."
    )


class SyncResponse(BaseModel):
    sync_id: int
    job_id: int
    destination: str
    status: str
    estimated_completion: str


class JobPublic(BaseModel):
    job_id: int
    operation: str
    status: str
    record_count: int
    completed: int
    failed: int
    credits_used: float
    errors: list[dict[str, Any]] = Field(default_factory=list)
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int
