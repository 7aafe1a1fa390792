"""`onboard` publishes to saved Shopify and Google Sheet blocks, named like any destination."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from connectors.google_sheets import GoogleSheet
from connectors.shopify import ShopifyCredentials, ShopifyProducts
from tests.connectors.helpers import small_schema


@pytest.mark.slow
def test_onboard_writes_the_catalogue_to_shopify_and_a_sheet(
    tmp_path, prefect_harness, shopify_shop, google, google_credentials
):
    from flows.onboard import onboard

    shop, shop_url = shopify_shop
    state, _ = google
    book = state.add_spreadsheet("Merch", {"Products": []})
    schema_path, _ = small_schema(tmp_path)
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,title,price\nWB-1,Wheel bearing,12.5\nWB-2,Axle nut,0.8\n")
    credentials = ShopifyCredentials(shop="test-shop", access_token=shop.token, endpoint=shop_url)
    ShopifyProducts(credentials=credentials, retry_base_seconds=0.01).save("shop", overwrite=True)
    GoogleSheet(
        credentials=google_credentials, spreadsheet_key=book.spreadsheet_id, range_name="Products"
    ).save("merch", overwrite=True)

    result = onboard(
        source=str(feed),
        catalog=str(schema_path),
        destinations=["skuflow-shopify-products/shop", "skuflow-google-sheet/merch"],
    )

    assert result  # the flow's summary
    import shopify

    shopify.Session.setup(protocol="http", port=urlsplit(shop_url).port, myshopify_domain="0.0.1")
    try:
        shopify.ShopifyResource.activate_session(shopify.Session("127", "2024-10", shop.token))
        query = (
            "{ products(first: 10) { nodes { handle title"
            " variants(first: 5) { nodes { price } } } } }"
        )
        nodes = json.loads(shopify.GraphQL().execute(query))["data"]["products"]["nodes"]
    finally:
        shopify.ShopifyResource.clear_session()
        shopify.Session.setup(protocol="https", port=None, myshopify_domain="myshopify.com")
    assert sorted((n["handle"], n["title"], n["variants"]["nodes"][0]["price"]) for n in nodes) == [
        ("wb-1", "Wheel bearing", "12.50"),
        ("wb-2", "Axle nut", "0.80"),
    ]
    values = (
        google_credentials.gspread_client().open_by_key(book.spreadsheet_id).sheet1.get_all_values()
    )
    assert values[0][:3] == ["external_id", "sku", "title"]
    assert sorted(row[0] for row in values[1:]) == ["WB-1", "WB-2"]
