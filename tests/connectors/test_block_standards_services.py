"""Prefect's block standards over the Shopify, Google, Merchant Center, Amazon, Slack, email
and SearxNG blocks."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

import connectors
from connectors.amazon_sp import AmazonListings, AmazonSPCredentials
from connectors.email import EmailSource, ImapCredentials
from connectors.google_credentials import GoogleCredentials
from connectors.google_drive import GoogleDriveFolder
from connectors.google_merchant import GoogleMerchantFeed
from connectors.google_sheets import GoogleSheet
from connectors.searxng import SearxngSearch
from connectors.shopify import ShopifyCredentials, ShopifyProducts
from connectors.slack import SlackNotifier

BLOCKS = [
    AmazonListings,
    AmazonSPCredentials,
    EmailSource,
    GoogleCredentials,
    GoogleDriveFolder,
    GoogleMerchantFeed,
    GoogleSheet,
    ImapCredentials,
    ShopifyCredentials,
    SearxngSearch,
    ShopifyProducts,
    SlackNotifier,
]


class TestServiceBlockStandards(BlockStandardTestSuite):
    @pytest.fixture(params=BLOCKS, ids=lambda cls: cls.__name__)
    def block(self, request: pytest.FixtureRequest) -> type[Block]:
        return request.param

    @pytest.mark.skip(reason="skuflow has no documentation site to link yet")
    def test_has_a_documentation_url(self, block: type[Block]) -> None: ...

    @pytest.mark.skip(reason="offline: no logo to fetch")
    def test_has_a_valid_image(self, block: type[Block]) -> None: ...


def test_the_package_exposes_these_blocks() -> None:
    assert {cls.__name__ for cls in BLOCKS} <= set(dir(connectors))
