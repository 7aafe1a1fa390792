"""SearxNG: the self-hosted search service enrichment asks for pages an item does not name.

The block only says where the instance is and how to ask it; the client that speaks its JSON
API lives with the enrichment domain (`enrichment.search`), which takes these settings as plain
values. A flow given the block's name copies them into its `EnrichConfig`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from prefect.blocks.core import Block
from pydantic import Field, field_validator

from connectors.base import block_label


class SearxngSearch(Block):
    """A self-hosted SearxNG instance (its `json` output format enabled) that `web_search`
    asks for candidate pages; only results within a request's `allowed_domains` are read.

    Attributes:
        base_url: Where the instance answers, e.g. `http://searxng.internal:8080`.
        engines: SearxNG engines to ask; the instance's defaults when empty.
        language: Search language, e.g. `en` or `de-DE`; the instance's default when unset.

    Example:
        Search with a saved instance:
        ```python
        from connectors.searxng import SearxngSearch

        search = SearxngSearch.load("BLOCK_NAME")
        print(search.base_url)
        ```
    """

    _block_type_name = "skuflow SearxNG"
    _block_type_slug = "skuflow-searxng"

    base_url: str = Field(..., description="Base URL of the SearxNG instance.")
    engines: list[str] = Field(
        default_factory=list, description="SearxNG engines to ask; its defaults when empty."
    )
    language: str | None = Field(None, description="Search language, e.g. en or de-DE.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port][/path], not {value!r}")
        return value.strip().rstrip("/")

    def describe(self) -> str:
        return block_label(self, "SearxNG search")
