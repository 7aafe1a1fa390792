"""Fixtures for enrichment tests: one local web server per module, a fetcher that may reach it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enrichment.fetch import FetchPolicy, SafeFetcher
from tests.enrichment.web_server import WebServer


@pytest.fixture(scope="module")
def web() -> Iterator[WebServer]:
    with WebServer() as server:
        yield server


@pytest.fixture
def fetcher(web: WebServer, tmp_path: Path) -> Iterator[SafeFetcher]:
    """Opted in to the test server's port only; no politeness delay; a fresh page cache."""
    policy = FetchPolicy(allow=web.allow, per_host_interval=0.0, max_bytes=1_000_000)
    with SafeFetcher(policy=policy, cache_dir=tmp_path / "pages") as f:
        yield f
