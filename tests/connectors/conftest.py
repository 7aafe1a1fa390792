"""Fixtures shared by connector tests: local stand-ins for cloud services (see tests/fakes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.fakes.amazon_sp_server import FakeAmazon, start_amazon
from tests.fakes.google_server import FakeGoogle, start_google
from tests.fakes.shopify_server import FakeShopify, start_shopify
from tests.fakes.slack_server import FakeSlack, start_slack


@pytest.fixture(scope="module")
def shopify_server() -> Iterator[tuple[FakeShopify, str]]:
    """A fake Shopify Admin GraphQL API for the module: (shop state, base URL)."""
    with start_shopify() as served:
        yield served


@pytest.fixture
def shopify_shop(shopify_server: tuple[FakeShopify, str]) -> Iterator[tuple[FakeShopify, str]]:
    """The module's fake shop, emptied and with no failures pending, for one test."""
    shop, url = shopify_server
    with shop.lock:
        shop.products.clear()
        shop.failures.clear()
        shop.broken_handles.clear()
        shop.requests.clear()
        shop.throttled = 0
        shop.page_limit = 250
        shop.stalls.clear()
    yield shop, url


@pytest.fixture
def shopify_products(shopify_shop: tuple[FakeShopify, str]):  # -> ShopifyProducts
    """A `ShopifyProducts` block pointed at the fake shop, with short back-off pauses."""
    from connectors.shopify import ShopifyCredentials, ShopifyProducts

    shop, url = shopify_shop
    credentials = ShopifyCredentials(shop="test-shop", access_token=shop.token, endpoint=url)
    return ShopifyProducts(credentials=credentials, retry_base_seconds=0.01)


@pytest.fixture(scope="module")
def slack_server() -> Iterator[FakeSlack]:
    with start_slack() as slack:
        yield slack


@pytest.fixture
def slack(slack_server: FakeSlack) -> FakeSlack:
    """The module's fake Slack with no webhooks, messages or pending failures."""
    with slack_server.lock:
        slack_server.webhooks.clear()
        slack_server.revoked.clear()
        slack_server.messages.clear()
        slack_server.failures.clear()
    return slack_server


@pytest.fixture(scope="module")
def google_server() -> Iterator[tuple[FakeGoogle, str]]:
    with start_google() as served:
        yield served


@pytest.fixture
def google(google_server: tuple[FakeGoogle, str]) -> Iterator[tuple[FakeGoogle, str]]:
    """The module's fake Sheets/Drive, emptied, with no failures pending: (state, base URL)."""
    state, url = google_server
    with state.lock:
        state.spreadsheets.clear()
        state.files.clear()
        state.failures.clear()
        state.broken_paths.clear()
        state.requests.clear()
        state.page_limit = 100
    yield state, url


@pytest.fixture
def google_credentials(google: tuple[FakeGoogle, str]):  # -> GoogleCredentials
    from connectors.google_credentials import GoogleCredentials

    state, url = google
    return GoogleCredentials(access_token=state.token, api_base=url)


@pytest.fixture(scope="module")
def amazon_server() -> Iterator[FakeAmazon]:
    with start_amazon() as amazon:
        yield amazon


@pytest.fixture
def amazon(amazon_server: FakeAmazon) -> FakeAmazon:
    """The module's fake SP-API with no listings, tokens or throttles, at a fast rate limit."""
    with amazon_server.lock:
        amazon_server.listings.clear()
        amazon_server.tokens.clear()
        amazon_server.requests.clear()
        amazon_server.token_requests = 0
        amazon_server.throttles = 0
        amazon_server.rate_limit = 50.0
        amazon_server.expires_in = 3600
    return amazon_server


@pytest.fixture
def example_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The bundled example catalogue read into a fresh store (no models: its own values)."""
    from catalog.db import session_scope
    from catalog.ingest import ingest_source
    from catalog.repository import get_or_create_organization, upsert_catalog
    from catalog.schema import CatalogSchema
    from catalog.settings import get_settings, reload_settings
    from connectors.files import FileSource

    monkeypatch.setenv("SKUFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    reload_settings()
    schema = CatalogSchema.from_yaml(EXAMPLES / "catalog.yaml")
    with session_scope() as session:
        org = get_or_create_organization(session, name=get_settings().organization)
        stored = upsert_catalog(session, organization=org, schema=schema)
        result = ingest_source(
            session,
            catalog_id=stored.id,
            schema=schema,
            source=FileSource(path=str(EXAMPLES / "acme_supplier_catalog.csv")),
            batch_size=1000,
        )
    return result.rows_read
