"""Fixtures shared by connector tests: local stand-ins for cloud services (see tests/fakes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
