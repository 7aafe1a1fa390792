"""Enrichment settings as plain data (a flow parameter, an API request body) → `EnrichOptions`.

`EnrichOptions` holds live objects (a fetcher, loaded tables, a learned model, LLM settings);
`EnrichConfig` is what travels: paths, URLs and switches, validated, with the LLM off unless
asked for. `EnrichConfig.build` is the one options builder every door uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from catalog.schema import CatalogSchema, Thresholds
from enrichment.engine import DEFAULT_ORDER, EnrichOptions

ConflictPolicy = Literal["review", "keep_existing", "overwrite"]


class EnrichConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[str] = Field(default_factory=lambda: list(DEFAULT_ORDER))
    web_search: bool = True
    """Read web pages: those the items name, `urls`, `url_templates`, the sitemaps of
    `allowed_domains`, and — with a search backend configured — search results."""
    urls: list[str] = Field(default_factory=list)
    url_templates: list[str] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    companies_path: str | None = None
    reference_paths: list[str] = Field(default_factory=list)
    """CSV product masters or other catalogues, cited by file stem."""
    learned: bool = True
    """Use the catalogue's learned extractor when it has labelled values
    (`enrichment.stage.prepare_enrichment` trains or reuses it); off, the provider is dropped."""
    llm: bool = False
    """Use the LLM configured by `SKUFLOW_LLM_BASE_URL`/`SKUFLOW_LLM_MODEL` (off by default)."""
    llm_batch_size: int = Field(5, ge=1, le=50)
    """Items asked about in one LLM request."""
    llm_demonstrations: int = Field(10, ge=0, le=50)
    """Labelled records of the catalogue shown to the LLM per request, the most similar."""
    search_url: str | None = None
    """Base URL of a self-hosted SearxNG instance; `SKUFLOW_SEARCH_URL` when unset. Without
    one, nothing is searched."""
    search_engines: list[str] = Field(default_factory=list)
    """SearxNG engines to ask (`SKUFLOW_SEARCH_ENGINES`, else the instance's defaults)."""
    search_language: str | None = None
    """Search language (`SKUFLOW_SEARCH_LANGUAGE`, else the instance's default)."""
    search_pages: int = Field(3, ge=0, le=10)
    """Search results (within `allowed_domains`) fetched per item."""
    prompt: str = ""
    quality_prompt: str | None = None
    validate_semantics: bool = False
    check_existing: bool = True
    thresholds: Thresholds | None = None
    """Cut-offs for this run; the catalogue's own when unset (the defaults without one)."""
    conflicts: ConflictPolicy = "review"
    """A found value that disagrees with an existing one: open a conflict for a person
    (`review`), drop it (`keep_existing`) or propose it as a change (`overwrite`)."""
    per_host_interval: float = Field(1.0, ge=0.0)
    """Seconds between two requests to one host (politeness)."""
    allow_addresses: list[str] = Field(default_factory=list)
    """Non-public addresses the fetcher may reach (`10.0.0.5`, `127.0.0.1:8080`): intranet or
    tests only."""
    learned_model: str | None = None
    """Set by `prepare_enrichment`: the catalogue's learned model file for this run."""
    demonstrations_path: str | None = None
    """Set by `prepare_enrichment`: the catalogue's labelled records for LLM demonstrations."""

    def with_search_block(self, name: str) -> EnrichConfig:
        """This config searching with the saved `skuflow-searxng` block `name` (loads it: needs
        the Prefect API)."""
        from connectors.searxng import SearxngSearch

        block = SearxngSearch.load(name)
        assert isinstance(block, SearxngSearch)  # called from sync code: the block, no coroutine
        return self.model_copy(
            update={
                "search_url": block.base_url,
                "search_engines": list(block.engines),
                "search_language": block.language,
            }
        )

    def build(self, catalog: CatalogSchema | None = None) -> EnrichOptions:
        """Live options: tables and models loaded (once per process per file), fetcher, search
        and LLM set up. Close them with `EnrichOptions.close()`.

        Args:
            catalog: the catalogue the items are records of, if they are.
        """
        from enrichment.fetch import FetchPolicy, SafeFetcher
        from enrichment.firmographics import load_companies
        from enrichment.providers.reference import ReferenceTable

        llm = None
        if self.llm:
            from catalog.settings import read_settings
            from llm.client import LLMSettings

            llm = read_settings(LLMSettings)
        learned = None
        if self.learned and self.learned_model:
            from enrichment.learned.store import load_extractor

            learned = load_extractor(self.learned_model)
        demonstrations = None
        if llm is not None and self.demonstrations_path:
            from enrichment.demonstrations import load_pool

            demonstrations = load_pool(self.demonstrations_path)
        fetcher = SafeFetcher(
            policy=FetchPolicy(
                allow=tuple(self.allow_addresses),
                allowed_domains=tuple(self.allowed_domains),
                per_host_interval=self.per_host_interval,
            )
        )
        search = None
        if self.web_search:
            from enrichment.search import search_client

            search = search_client(
                self.search_url, engines=self.search_engines, language=self.search_language
            )
        providers = [p for p in self.providers if self.learned or p != "learned"]
        thresholds = self.thresholds or (catalog.thresholds if catalog else Thresholds())
        return EnrichOptions(
            providers=tuple(providers),
            thresholds=thresholds,
            references=[ReferenceTable.from_csv(p) for p in self.reference_paths],
            companies=load_companies(self.companies_path) if self.companies_path else None,
            web_search=self.web_search,
            urls=list(self.urls),
            url_templates=list(self.url_templates),
            allowed_domains=list(self.allowed_domains),
            fetcher=fetcher,
            llm=llm,
            learned=learned,
            catalog=catalog,
            search=search,
            search_pages=self.search_pages,
            demonstrations=demonstrations,
            llm_batch_size=self.llm_batch_size,
            llm_demonstrations=self.llm_demonstrations,
            prompt=self.prompt,
            quality_prompt=self.quality_prompt,
            validate_semantics=self.validate_semantics,
            check_existing=self.check_existing,
        )


def reference_name(path: str) -> str:
    return Path(path).stem
