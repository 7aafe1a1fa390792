"""The safe fetcher against a real local server: SSRF refusals, size and robots limits, cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from enrichment.fetch import FetchPolicy, FetchRefused, SafeFetcher
from tests.enrichment.web_server import WebServer


def test_fetches_an_allowed_local_page(web: WebServer, fetcher: SafeFetcher) -> None:
    page = fetcher.fetch(web.url("/shared/extruct_samples/schema.org__product.html"))
    assert "Executive Anvil" in page.text
    assert page.status == 200 and len(page.sha256) == 64


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://192.168.1.1/",
        "http://localhost/",  # a name: checked after DNS resolution
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped IPv6
    ],
)
def test_refuses_private_loopback_and_metadata_addresses(fetcher: SafeFetcher, url: str) -> None:
    with pytest.raises(FetchRefused, match="non-public address"):
        fetcher.fetch(url)
    assert fetcher.requests_made == 0


def test_refuses_other_schemes(fetcher: SafeFetcher) -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://x/"):
        with pytest.raises(FetchRefused, match="not http"):
            fetcher.fetch(url)


def test_refuses_a_redirect_to_loopback(web: WebServer, fetcher: SafeFetcher) -> None:
    with WebServer() as internal:
        internal.pages["/secret"] = "<p>internal</p>"
        with pytest.raises(FetchRefused, match="127.0.0.1, a non-public address"):
            fetcher.fetch(web.url(f"/redirect?to=http://127.0.0.1:{internal.port}/secret"))
        assert internal.hits["/secret"] == 0


def test_refuses_a_redirect_to_the_metadata_service(web: WebServer, fetcher: SafeFetcher) -> None:
    with pytest.raises(FetchRefused, match="169.254.169.254"):
        fetcher.fetch(web.url("/redirect?to=http://169.254.169.254/latest/meta-data/"))


def test_refuses_a_declared_5gb_body_without_reading_it(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    with pytest.raises(FetchRefused, match="5,368,709,120 bytes is over"):
        fetcher.fetch(web.url("/huge"))


def test_aborts_an_endless_body_at_the_limit(web: WebServer, fetcher: SafeFetcher) -> None:
    with pytest.raises(FetchRefused, match="exceeds the 1,000,000 byte limit"):
        fetcher.fetch(web.url("/endless"))


def test_honours_robots_txt(web: WebServer, fetcher: SafeFetcher) -> None:
    web.pages["/private/page"] = "<p>no robots</p>"
    with pytest.raises(FetchRefused, match="robots.txt"):
        fetcher.fetch(web.url("/private/page"))
    assert web.hits["/private/page"] == 0


def test_allowed_domains_restrict_hosts(web: WebServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allow=web.allow, allowed_domains=("example.com",), per_host_interval=0)
    fetcher = SafeFetcher(policy=policy, cache_dir=tmp_path / "c")
    with pytest.raises(FetchRefused, match="outside allowed_domains"):
        fetcher.fetch(web.url("/shared/extruct_samples/schema.org__product.html"))


def test_a_page_is_fetched_once_per_ttl(web: WebServer, tmp_path: Path) -> None:
    web.pages["/cached"] = "<p>cached page</p>"
    policy = FetchPolicy(allow=web.allow, per_host_interval=0.0)
    first = SafeFetcher(policy=policy, cache_dir=tmp_path / "c").fetch(web.url("/cached"))
    again = SafeFetcher(policy=policy, cache_dir=tmp_path / "c").fetch(web.url("/cached"))
    assert web.hits["/cached"] == 1
    assert again.from_cache and again.text == first.text and again.sha256 == first.sha256
    expired = FetchPolicy(allow=web.allow, per_host_interval=0.0, cache_ttl=0.0)
    SafeFetcher(policy=expired, cache_dir=tmp_path / "c").fetch(web.url("/cached"))
    assert web.hits["/cached"] == 2


def test_fetch_many_reports_each_url(web: WebServer, fetcher: SafeFetcher) -> None:
    web.pages["/a"] = "<p>a</p>"
    results = fetcher.fetch_many([web.url("/a"), "http://10.0.0.1/", web.url("/missing")])
    assert results[web.url("/a")].text == "<p>a</p>"
    assert isinstance(results["http://10.0.0.1/"], FetchRefused)
    assert "HTTP 404" in str(results[web.url("/missing")])


def test_per_host_concurrency_is_capped(tmp_path: Path) -> None:
    with WebServer() as web:
        policy = FetchPolicy(
            allow=web.allow, per_host_interval=0.0, per_host_concurrency=1, concurrency=4
        )
        fetcher = SafeFetcher(policy=policy, cache_dir=tmp_path / "c")
        pages = fetcher.fetch_many(web.url(f"/slow/{n}") for n in range(4))
        assert all(not isinstance(p, Exception) for p in pages.values())
        assert web.max_in_flight == 1
