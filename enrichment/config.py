"""Enrichment settings as plain data (a flow parameter, an API request body) → `EnrichOptions`.

`EnrichOptions` holds live objects (a fetcher, loaded tables, LLM settings); `EnrichConfig` is
what travels: paths, URLs and switches, validated, with the LLM off unless asked for.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from catalog.schema import Thresholds
from enrichment.engine import DEFAULT_ORDER, EnrichOptions


class EnrichConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[str] = Field(default_factory=lambda: list(DEFAULT_ORDER))
    web_search: bool = True
    urls: list[str] = Field(default_factory=list)
    url_templates: list[str] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    companies_path: str | None = None
    reference_paths: list[str] = Field(default_factory=list)
    """CSV product masters or other catalogues, cited by file stem."""
    learned: bool = True
    """Use the catalogue's learned extractor when it has labelled values. The caller that
    holds the store attaches it to the built options (`enrichment.learned.store
    .prepare_learned_extractor` → `EnrichOptions.learned`); off, the provider is dropped."""
    llm: bool = False
    """Use the LLM configured by `SKUFLOW_LLM_BASE_URL`/`SKUFLOW_LLM_MODEL` (off by default)."""
    prompt: str = ""
    quality_prompt: str | None = None
    validate_semantics: bool = False
    check_existing: bool = True
    thresholds: Thresholds = Field(default_factory=Thresholds)
    per_host_interval: float = Field(1.0, ge=0.0)
    """Seconds between two requests to one host (politeness)."""
    allow_addresses: list[str] = Field(default_factory=list)
    """Non-public addresses the fetcher may reach (`10.0.0.5`, `127.0.0.1:8080`): intranet or
    tests only."""

    def build(self) -> EnrichOptions:
        """Live options: tables loaded (once per process per file), fetcher and LLM set up."""
        from enrichment.apply import companies_from_file
        from enrichment.fetch import FetchPolicy, SafeFetcher
        from enrichment.providers.reference import ReferenceTable

        llm = None
        if self.llm:
            from llm.client import LLMSettings

            llm = LLMSettings()
        fetcher = SafeFetcher(
            policy=FetchPolicy(
                allow=tuple(self.allow_addresses),
                allowed_domains=tuple(self.allowed_domains),
                per_host_interval=self.per_host_interval,
            )
        )
        providers = [p for p in self.providers if self.learned or p != "learned"]
        return EnrichOptions(
            providers=tuple(providers),
            thresholds=self.thresholds,
            references=[ReferenceTable.from_csv(p) for p in self.reference_paths],
            companies=companies_from_file(self.companies_path) if self.companies_path else None,
            web_search=self.web_search,
            urls=list(self.urls),
            url_templates=list(self.url_templates),
            allowed_domains=list(self.allowed_domains),
            fetcher=fetcher,
            llm=llm,
            prompt=self.prompt,
            quality_prompt=self.quality_prompt,
            validate_semantics=self.validate_semantics,
            check_existing=self.check_existing,
        )


def reference_name(path: str) -> str:
    return Path(path).stem
