"""How an enrichment job or a dataset task calls the enrichment engine.

Turns a request's switches (``speed``, ``web_search``, ``allowed_domains``, ``prompt``,
quality and semantic checks) into an `EnrichConfig` — built into engine options by its one
builder — using only the providers this installation has and is configured for, and says so —
as ``review_info.flags`` — when a requested capability is not available, instead of pretending
it ran. A job with a ``catalog_id`` is prepared by the one enrich stage
(`enrichment.stage.prepare_enrichment`): the catalogue's learned extractor attached.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.orm import Session

from catalog.schema import Thresholds
from catalog.settings import SkuflowSettings, read_settings
from enrichment.config import EnrichConfig
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.output_schema import OutputField, OutputSchema
from enrichment.results import ItemEnrichment
from enrichment.stage import PreparedEnrichment

SPEED_PROVIDERS = {
    "cheap": ("record", "learned", "reference"),
    "fast": ("record", "learned", "reference", "web"),
    "medium": ("record", "learned", "reference", "web", "llm"),
    "slow": ("record", "learned", "reference", "web", "llm"),
}
"""Which providers each speed may use: ``cheap`` reads only the item, the catalogue's learned
extractor and reference data, ``fast`` adds web pages (the item's own, and search results when
a search backend is configured), ``medium``/``slow`` add the LLM (when configured)."""


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class FetchSettings(SkuflowSettings):
    """Which normally refused addresses jobs may fetch pages from (``SKUFLOW_API_FETCH_ALLOW``,
    comma-separated ``host:port`` or ``host``): for an intranet catalogue server, or tests."""

    model_config = SettingsConfigDict(env_prefix="SKUFLOW_API_", extra="ignore")

    fetch_allow: str = Field("", description="Addresses jobs may fetch despite the SSRF guard.")
    fetch_interval: float = Field(
        1.0, ge=0, description="Seconds between two requests to one host (politeness)."
    )

    @property
    def allow(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.fetch_allow.split(",") if a.strip())


@dataclass
class JobOptions:
    """A request's switches, as stored with the job."""

    speed: str = "medium"
    web_search: bool = True
    allowed_domains: list[str] = field(default_factory=list)
    prompt: str = ""
    quality_prompt: str | None = None
    validate_semantics: bool = False
    auto_apply: float = 0.9
    reject: float = 0.5
    companies_path: str | None = None
    """The app's companies table (jobs on a catalogue use it, as auto-enrichment does)."""
    models_dir: str | None = None
    """Where the catalogue's learned models are cached (the app's home)."""


@dataclass
class Plan:
    """The engine options to use, the flags every result of the job carries, and — for a job
    on a catalogue — the enrich stage's preparation."""

    options: EnrichOptions
    flags: list[str]
    prepared: PreparedEnrichment | None = None

    def close(self) -> None:
        self.options.close()


def plan(job: JobOptions) -> Plan:
    """Engine options for a job on request items, and flags naming what was asked for but is
    not available."""
    config, flags = job_config(job)
    return Plan(options=config.build(), flags=flags)


def plan_for_catalog(
    session: Session, job: JobOptions, *, catalog_id: int, output_schema: list[dict[str, Any]]
) -> Plan:
    """A job on a catalogue: prepared once by the enrich stage (its learned extractor trained
    or reused), its notes as ``info:`` flags."""
    from catalog.settings import get_settings
    from enrichment.stage import prepare_enrichment

    config, flags = job_config(job)
    prepared = prepare_enrichment(
        session,
        catalog_id=catalog_id,
        config=config,
        output_schema=output_schema,
        models_dir=Path(job.models_dir) if job.models_dir else get_settings().models_dir,
    )
    flags += [f"info:{note}" for note in prepared.notes]
    options = prepared.config.build(catalog=prepared.catalog)
    return Plan(options=options, flags=flags, prepared=prepared)


def job_config(job: JobOptions) -> tuple[EnrichConfig, list[str]]:
    """The job's switches as an `EnrichConfig`, and flags for what is not available."""
    from enrichment.search import SearchSettings
    from llm.client import LLMSettings

    flags: list[str] = []
    wanted = list(SPEED_PROVIDERS.get(job.speed, SPEED_PROVIDERS["medium"]))
    if not job.web_search and "web" in wanted:
        wanted.remove("web")
    if "llm" in wanted and not read_settings(LLMSettings).configured:
        wanted.remove("llm")
        if job.speed in ("medium", "slow"):
            flags.append("info:llm_not_configured")
    providers = tuple(p for p in wanted if _available(f"enrichment.providers.{p}"))
    if job.web_search and "web" not in providers:
        flags.append(
            "info:web_search_not_configured: web research is not available here; values "
            "come from the item's own data"
        )
    elif job.web_search and not read_settings(SearchSettings).url:
        flags.append(
            "info:web_search_not_configured: no search backend is configured "
            "(SKUFLOW_SEARCH_URL); only pages named by the item (url, product_url, website, …) "
            "are read"
        )
    fetch = read_settings(FetchSettings)
    config = EnrichConfig(
        providers=list(providers),
        web_search=job.web_search,
        allowed_domains=list(job.allowed_domains),
        companies_path=job.companies_path,
        llm="llm" in providers,
        prompt=job.prompt,
        quality_prompt=job.quality_prompt,
        validate_semantics=job.validate_semantics,
        thresholds=Thresholds(auto_apply=job.auto_apply, reject=job.reject),
        per_host_interval=fetch.fetch_interval,
        allow_addresses=list(fetch.allow),
    )
    return config, flags


def run_engine(
    items: Sequence[dict[str, Any]], schema: OutputSchema, planned: Plan
) -> list[ItemEnrichment]:
    """One batch through the engine, each result carrying the job's flags."""
    results = enrich_items(items, schema, planned.options)
    for result in results:
        add_flags(result, planned.flags)
    return results


def add_flags(result: ItemEnrichment, flags: Sequence[str]) -> None:
    result.flags.extend(f for f in flags if f not in result.flags)


def output_schema_for(columns: Sequence[Any]) -> OutputSchema:
    """A dataset's enrichment columns as an output schema (name, type, description, unit,
    enum)."""
    return OutputSchema(
        fields=[
            OutputField(
                name=c.name,
                type=c.type,
                description=c.description or "",
                unit=c.unit,
                enum=c.enum,
            )
            for c in columns
        ]
    )


def cell_meta(result: ItemEnrichment, name: str, *, task_id: int) -> dict[str, Any]:
    """How a task filled (or could not fill) one cell: shown with the cell, reset on edit."""
    meta: dict[str, Any] = {"taskId": str(task_id)}
    if name in result.values:
        meta |= {
            "confidence": round(result.confidence.get(name, 0.0), 4),
            "sources": result.sources.get(name, []),
            "explanation": result.explanations.get(name, ""),
            "decision": result.decisions.get(name),
        }
    else:
        meta["status"] = result.decisions.get(name, "not_found")
    issues = [i.as_dict() for i in result.field_issues if i.field == name]
    if issues:
        meta["issues"] = issues
    return meta
