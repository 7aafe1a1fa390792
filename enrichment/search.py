"""Web search through a self-hosted SearxNG instance, so `web_search: true` can find pages an
item does not name.

SearxNG is a metasearch service a team runs beside skuflow; its JSON API is
`GET <base>/search?q=<query>&format=json` → `{"results": [{"url", "title", "content",
"engine"}, …]}` (the instance must list `json` under `search.formats` in its settings.yml).
The base URL is the operator's configuration, not data, so the client talks to it directly
(an intranet address is fine); the result pages are data and are fetched only through
`SafeFetcher`, and only within `allowed_domains` when that is set (`web_provider`).

Configured by `EnrichConfig.search_url`, the `SKUFLOW_SEARCH_URL` variable, or a saved
`skuflow-searxng` block (`connectors.searxng`); without one nothing is searched. Answers are
cached per query for the client's lifetime; an unreachable or failing instance raises
`SearchError` (transient for timeouts and 5xx), which the web provider turns into a flag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from catalog.errors import SkuflowError
from catalog.limits import TooDeeplyNested, loads
from catalog.settings import SkuflowSettings, read_settings

MAX_QUERY_CHARS = 200
MAX_RESPONSE_BYTES = 2_000_000
_SPACES = re.compile(r"\s+")


class SearchError(SkuflowError):
    """The search backend could not answer; `transient` says whether trying later may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class SearchSettings(SkuflowSettings):
    """Where the search backend is (`SKUFLOW_SEARCH_*`)."""

    model_config = SettingsConfigDict(env_prefix="SKUFLOW_SEARCH_", extra="ignore")

    url: str | None = Field(None, description="Base URL of a SearxNG instance.")
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for one search.")
    engines: str = Field("", description="Comma-separated SearxNG engines; its defaults if empty.")
    language: str | None = Field(None, description="Search language (`en`, `de-DE`, …).")


@dataclass(frozen=True)
class SearchResult:
    """One hit: the page, what the search engine said about it, and who found it."""

    url: str
    title: str
    content: str
    engine: str
    query: str


class SearchClient:
    """A SearxNG instance's JSON API. The HTTP client is made on first use and kept;
    `close()` releases it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        engines: tuple[str, ...] = (),
        language: str | None = None,
        max_results: int = 10,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"search URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.engines = engines
        self.language = language
        self.max_results = max_results
        self._client: Any = None
        self._answers: dict[str, list[SearchResult]] = {}

    def __enter__(self) -> SearchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def search(self, query: str) -> list[SearchResult]:
        """The instance's results for `query` (whitespace squeezed, cut to 200 characters),
        best first, at most `max_results`, http(s) URLs only.

        Raises:
            SearchError: the instance is unreachable, answers an HTTP error, or not JSON in
                SearxNG's shape.
        """
        query = _SPACES.sub(" ", query).strip()[:MAX_QUERY_CHARS]
        if not query:
            return []
        if query not in self._answers:
            self._answers[query] = self._ask(query)
        return self._answers[query]

    def _ask(self, query: str) -> list[SearchResult]:
        import httpx

        params: dict[str, str] = {"q": query, "format": "json"}
        if self.engines:
            params["engines"] = ",".join(self.engines)
        if self.language:
            params["language"] = self.language
        where = f"search backend {self.base_url}"
        try:
            with self._http().stream("GET", f"{self.base_url}/search", params=params) as response:
                if response.status_code != 200:
                    raise SearchError(
                        f"{where} answered HTTP {response.status_code}",
                        transient=response.status_code == 429 or response.status_code >= 500,
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise SearchError(
                            f"{where}: answer larger than {MAX_RESPONSE_BYTES} bytes",
                            transient=False,
                        )
        except httpx.TimeoutException:
            raise SearchError(
                f"{where} did not answer within {self.timeout}s", transient=True
            ) from None
        except httpx.HTTPError as exc:
            raise SearchError(f"cannot reach {where}: {exc}", transient=True) from None
        try:
            data = loads(bytes(body))
        except (ValueError, TooDeeplyNested) as exc:
            raise SearchError(f"{where}: answer is not JSON ({exc})", transient=False) from None
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise SearchError(
                f"{where}: answer has no `results` list (is `json` in search.formats?)",
                transient=False,
            )
        out: list[SearchResult] = []
        for hit in data["results"]:
            if not isinstance(hit, dict) or not isinstance(hit.get("url"), str):
                continue
            if urlsplit(hit["url"]).scheme not in ("http", "https"):
                continue
            out.append(
                SearchResult(
                    url=hit["url"],
                    title=str(hit.get("title") or "")[:500],
                    content=str(hit.get("content") or "")[:2000],
                    engine=str(hit.get("engine") or "")[:100],
                    query=query,
                )
            )
            if len(out) >= self.max_results:
                break
        return out

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client


def search_client(
    url: str | None = None, *, engines: Sequence[str] = (), language: str | None = None
) -> SearchClient | None:
    """The configured search backend: `url`, else `SKUFLOW_SEARCH_URL`; None when neither.
    Engines and language as given, else from `SKUFLOW_SEARCH_ENGINES` / `_LANGUAGE`."""
    settings = read_settings(SearchSettings)
    base = url or settings.url
    if not base:
        return None
    chosen = tuple(engines) or tuple(e.strip() for e in settings.engines.split(",") if e.strip())
    return SearchClient(
        base, timeout=settings.timeout, engines=chosen, language=language or settings.language
    )
