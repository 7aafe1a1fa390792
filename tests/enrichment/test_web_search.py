"""`web_search: true` with a search backend: a local server answering in SearxNG's JSON format,
real product pages on another local server, the real `SafeFetcher` between them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enrichment.config import EnrichConfig
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.fetch import FetchPolicy, SafeFetcher
from enrichment.output_schema import OutputSchema
from enrichment.search import SearchClient, search_client
from tests.enrichment.searxng_server import SearxngServer
from tests.enrichment.web_server import WebServer

PAGE = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Product", "name": "Anvil Pro 3000",
 "brand": {"@type": "Brand", "name": "Acme"}, "color": "Red",
 "weight": {"@type": "QuantitativeValue", "value": 52, "unitCode": "KGM"}}
</script></head><body><h1>Anvil Pro 3000</h1></body></html>"""
OUTPUT = OutputSchema.parse(
    [
        {"name": "color", "type": "string", "description": "Colour"},
        {"name": "weight_kg", "type": "number", "unit": "kg", "description": "Weight"},
    ]
)
ITEM = {"sku": "A-3000", "name": "Anvil Pro 3000", "brand": "Acme"}
QUERY = "Anvil Pro 3000 Acme"


@pytest.fixture
def searxng() -> Iterator[SearxngServer]:
    with SearxngServer() as server:
        yield server


def _options(search: SearchClient, fetcher: SafeFetcher, **extra: object) -> EnrichOptions:
    return EnrichOptions(providers=("web",), search=search, fetcher=fetcher, **extra)


def test_search_results_are_fetched_extracted_and_cited(
    searxng: SearxngServer, web: WebServer, fetcher: SafeFetcher
) -> None:
    web.pages["/p/anvil"] = PAGE
    searxng.answers[QUERY] = [
        {"url": web.url("/p/anvil"), "title": "Anvil Pro 3000", "content": "", "engine": "bing"}
    ]
    with SearchClient(searxng.base_url) as search:
        [result] = enrich_items([ITEM], OUTPUT, _options(search, fetcher))
    assert searxng.queries == [{"q": QUERY, "format": "json"}]
    assert result.values == {"color": "Red", "weight_kg": 52.0}
    assert result.sources["color"] == [web.url("/p/anvil")]
    assert "searched via bing" in result.explanations["color"]
    assert f'search "{QUERY}"' in result.explanations["color"]
    # one searched page may be another product: it alone never auto-applies
    assert result.decisions["color"] == "review" and result.confidence["color"] < 0.9


def test_results_outside_allowed_domains_are_ignored(
    searxng: SearxngServer, web: WebServer, tmp_path: Path
) -> None:
    web.pages["/p/anvil"] = PAGE
    web.pages["/p/elsewhere"] = PAGE.replace("Red", "Blue")
    before = dict(web.hits)  # the server is shared by the module's tests
    searxng.answers[QUERY] = [
        {"url": "https://anvils.example/p/1", "title": "Anvil", "content": "", "engine": "ddg"},
        {"url": web.url("/p/elsewhere"), "title": "Anvil", "content": "", "engine": "ddg"},
        {"url": web.url("/p/anvil"), "title": "Anvil", "content": "", "engine": "ddg"},
    ]
    allowed = ["127.0.0.1"]
    policy = FetchPolicy(allow=web.allow, per_host_interval=0.0, allowed_domains=tuple(allowed))
    with (
        SafeFetcher(policy=policy, cache_dir=tmp_path / "pages") as fetcher,
        SearchClient(searxng.base_url) as search,
    ):
        options = _options(search, fetcher, allowed_domains=allowed, search_pages=1)
        [result] = enrich_items([ITEM], OUTPUT, options)
    # anvils.example is outside allowed_domains: skipped before anything is fetched, so the
    # first result within them is the one read, and only that one (search_pages=1)
    assert result.values["color"] == "Blue"
    assert result.sources["color"] == [web.url("/p/elsewhere")]
    read = {p: web.hits[p] - before.get(p, 0) for p in ("/p/elsewhere", "/p/anvil")}
    assert read == {"/p/elsewhere": 1, "/p/anvil": 0}
    assert not any("anvils.example" in flag for flag in result.flags)


def test_safe_fetcher_guards_every_searched_page(
    searxng: SearxngServer, web: WebServer, fetcher: SafeFetcher
) -> None:
    """Search results are data: a result on a private address (another local port, the cloud
    metadata service) is refused like any page, and nothing is read from it."""
    with WebServer() as inside:
        inside.pages["/admin"] = PAGE
        searxng.answers[QUERY] = [
            {"url": inside.url("/admin"), "title": "x", "content": "", "engine": "e"},
            {"url": "http://169.254.169.254/latest/meta-data/", "title": "x", "engine": "e"},
            {"url": "file:///etc/passwd", "title": "x", "content": "", "engine": "e"},
        ]
        with SearchClient(searxng.base_url) as search:
            [result] = enrich_items([ITEM], OUTPUT, _options(search, fetcher))
        assert inside.hits == {}
    assert result.values == {}
    refused = [f for f in result.flags if f.startswith("fetch_failed")]
    assert len(refused) == 2 and all("non-public address" in f for f in refused)
    assert not any("file://" in f for f in result.flags)  # not even offered to the fetcher


def test_without_a_backend_nothing_is_searched_and_a_failing_one_is_flagged(
    searxng: SearxngServer, fetcher: SafeFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SKUFLOW_SEARCH_URL", raising=False)
    assert search_client() is None
    options = EnrichConfig(providers=["web"]).build()
    try:
        assert options.search is None
    finally:
        options.close()
    monkeypatch.setenv("SKUFLOW_SEARCH_URL", searxng.base_url)
    built = EnrichConfig(providers=["web"]).build()
    try:
        assert built.search is not None and built.search.base_url == searxng.base_url
    finally:
        built.close()
    searxng.fail_status = 502
    with SearchClient(searxng.base_url) as search:
        [result] = enrich_items([ITEM], OUTPUT, _options(search, fetcher))
    assert result.values == {}
    assert any(f.startswith("search_failed:") and "HTTP 502" in f for f in result.flags)
