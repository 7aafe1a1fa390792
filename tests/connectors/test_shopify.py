"""ShopifyProducts against a local Admin GraphQL server, read back through ShopifyAPI itself."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.shopify import ShopifyCredentials, ShopifyProducts

COLUMNS = ["external_id", "title", "brand", "price", "sku", "size", "images", "material"]
READ_BACK = """
{ products(first: 50) { nodes { id handle title vendor
    variants(first: 10) { nodes { id sku price selectedOptions { name value } } }
    metafields(first: 10) { nodes { namespace key type value } }
    images(first: 10) { nodes { url } } } pageInfo { hasNextPage endCursor } } }
"""


def rows() -> list[dict[str, Any]]:
    return [
        {
            "external_id": "bolt-m6",
            "title": "Hex bolt M6",
            "brand": "Acme",
            "price": 0.12,
            "sku": "B-M6-S",
            "size": "Small",
            "images": ["https://img.example/b6.jpg"],
            "material": "steel",
        },
        {
            "external_id": "bolt-m6",
            "title": "Hex bolt M6",
            "brand": "Acme",
            "price": 0.15,
            "sku": "B-M6-L",
            "size": "Large",
            "images": ["https://img.example/b6.jpg"],
            "material": "steel",
        },
        {
            "external_id": "nut-m6",
            "title": "Hex nut M6",
            "brand": "Acme",
            "price": "0.05",
            "sku": "N-M6",
            "size": "One size",
            "images": None,
            "material": "brass",
        },
    ]


def block(products: ShopifyProducts) -> ShopifyProducts:
    return products.model_copy(
        update={"option_columns": ["size"], "metafields": {"material": "specs.material"}}
    )


def publish(destination: ShopifyProducts, batch: list[dict[str, Any]], mode: str = "upsert"):
    with destination.open(columns=COLUMNS, key="external_id", mode=mode) as writer:
        writer.write(batch)
        return writer.commit()


def read_back(url: str, token: str) -> dict[str, dict[str, Any]]:
    """The shop's products through ShopifyAPI's own session and GraphQL client."""
    import shopify

    shopify.Session.setup(protocol="http", port=urlsplit(url).port, myshopify_domain="0.0.1")
    try:
        session = shopify.Session("127", "2024-10", token)
        shopify.ShopifyResource.activate_session(session)
        data = json.loads(shopify.GraphQL().execute(READ_BACK))["data"]
    finally:
        shopify.ShopifyResource.clear_session()
        shopify.Session.setup(protocol="https", port=None, myshopify_domain="myshopify.com")
    return {p["handle"]: p for p in data["products"]["nodes"]}


def test_round_trip_products_variants_metafields_images(shopify_shop, shopify_products):
    shop, url = shopify_shop
    result = publish(block(shopify_products), rows())

    assert result.rows == 3
    products = read_back(url, shop.token)
    assert sorted(products) == ["bolt-m6", "nut-m6"]
    bolt = products["bolt-m6"]
    assert (bolt["title"], bolt["vendor"]) == ("Hex bolt M6", "Acme")
    assert [(v["sku"], v["price"], v["selectedOptions"]) for v in bolt["variants"]["nodes"]] == [
        ("B-M6-S", "0.12", [{"name": "Size", "value": "Small"}]),
        ("B-M6-L", "0.15", [{"name": "Size", "value": "Large"}]),
    ]
    assert bolt["metafields"]["nodes"] == [
        {
            "namespace": "specs",
            "key": "material",
            "type": "single_line_text_field",
            "value": "steel",
        }
    ]
    assert [i["url"] for i in bolt["images"]["nodes"]] == ["https://img.example/b6.jpg"]
    assert products["nut-m6"]["images"]["nodes"] == []


def test_upsert_by_handle_keeps_product_and_variant_ids(shopify_shop, shopify_products):
    shop, url = shopify_shop
    destination = block(shopify_products)
    publish(destination, rows())
    before = read_back(url, shop.token)
    changed = rows()
    changed[1]["price"] = 0.19
    publish(destination, changed)

    after = read_back(url, shop.token)
    assert len(shop.products) == 2
    assert after["bolt-m6"]["id"] == before["bolt-m6"]["id"]
    assert [v["id"] for v in after["bolt-m6"]["variants"]["nodes"]] == [
        v["id"] for v in before["bolt-m6"]["variants"]["nodes"]
    ]
    assert after["bolt-m6"]["variants"]["nodes"][1]["price"] == "0.19"


def test_existing_products_found_across_pages(shopify_shop, shopify_products):
    shop, _ = shopify_shop
    shop.page_limit = 2
    batch = [{"external_id": f"p-{i}", "title": f"Part {i}", "price": i} for i in range(7)]
    columns = ["external_id", "title", "price"]
    for _ in range(2):
        with shopify_products.open(columns=columns, key="external_id", mode="upsert") as writer:
            writer.write(batch)
            writer.commit()

    assert len(shop.products) == 7
    # first run: one empty page; second run: 7 existing products at 2 per page
    assert shop.requests.count("products") == 1 + 4


def test_bad_token_names_the_saved_block(shopify_shop, prefect_harness):
    _, url = shopify_shop
    credentials = ShopifyCredentials(shop="test-shop", access_token="shpat_wrong", endpoint=url)
    ShopifyProducts(credentials=credentials).save("shop-main", overwrite=True)
    loaded = ShopifyProducts.load("shop-main")

    assert loaded.credentials.access_token.get_secret_value() == "shpat_wrong"
    with pytest.raises(TerminalConnectorError) as caught:
        publish(loaded, rows()[2:])
    assert "block 'shop-main'" in str(caught.value)
    assert "credentials rejected (HTTP 401)" in str(caught.value)
    assert "shpat_wrong" not in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [(503, {}), (502, {}), (429, {"Retry-After": "0.05"})],
    ids=["503", "502", "429-retry-after"],
)
def test_server_error_or_rate_limit_then_success_is_retried(
    shopify_shop, shopify_products, failure
):
    shop, url = shopify_shop
    shop.failures.extend([failure, failure])
    publish(block(shopify_products), rows())

    assert not shop.failures
    assert sorted(read_back(url, shop.token)) == ["bolt-m6", "nut-m6"]


def test_a_stalled_call_times_out_and_is_retried(shopify_shop, shopify_products):
    shop, url = shopify_shop
    shop.stalls.append(2.0)
    publish(block(shopify_products).model_copy(update={"timeout_seconds": 0.3}), rows())

    assert not shop.stalls
    assert sorted(read_back(url, shop.token)) == ["bolt-m6", "nut-m6"]


def test_cost_throttling_waits_and_completes(shopify_shop, shopify_products):
    shop, url = shopify_shop
    shop.throttled = 3
    publish(block(shopify_products), rows())

    assert shop.throttled == 0
    assert sorted(read_back(url, shop.token)) == ["bolt-m6", "nut-m6"]


def test_permanent_client_error_fails_at_once(shopify_shop, shopify_products):
    shop, _ = shopify_shop
    shop.failures.extend([(404, {}), (404, {})])
    with pytest.raises(TerminalConnectorError, match=r"Shopify store test-shop: HTTP 404"):
        publish(block(shopify_products), rows())
    assert len(shop.failures) == 1  # not retried
    assert shop.products == {}


def test_user_errors_are_reported_per_product_and_nothing_is_kept(shopify_shop, shopify_products):
    shop, url = shopify_shop
    destination = block(shopify_products)
    publish(destination, rows())
    before = read_back(url, shop.token)
    batch = rows() + [
        {
            "external_id": f"long-{i}",
            "title": "x" * 300,
            "price": 1,
            "sku": f"L{i}",
            "size": "S",
            "images": None,
            "material": None,
        }
        for i in range(2)
    ]
    batch[0]["title"] = batch[1]["title"] = "Hex bolt M6, zinc"

    with pytest.raises(TerminalConnectorError) as caught:
        publish(destination, batch)
    message = str(caught.value)
    assert "refused 2 product(s)" in message
    assert "product 'long-0': input.title: Title is too long" in message
    assert "product 'long-1': input.title: Title is too long" in message
    assert read_back(url, shop.token) == before


def test_interrupted_write_sets_the_store_back(shopify_shop, shopify_products):
    shop, url = shopify_shop
    destination = block(shopify_products)
    publish(destination, rows()[2:])
    before = read_back(url, shop.token)
    shop.broken_handles.add("washer-m6")
    batch = rows()
    batch[2]["price"] = 9.99
    batch.append({**batch[2], "external_id": "washer-m6", "sku": "W-M6"})

    wider = destination.model_copy(
        update={"metafields": {"material": "specs.material", "brand": "specs.brand"}}
    )
    with pytest.raises(TransientConnectorError) as caught:
        publish(wider, batch)  # adds a metafield key to the existing product, then fails
    assert "HTTP 500" in str(caught.value)
    assert "were set back" in str(caught.value)
    assert read_back(url, shop.token) == before


def test_bad_rows_are_refused_before_anything_is_sent(shopify_shop, shopify_products):
    shop, _ = shopify_shop
    batch = rows()
    batch[1]["price"] = "twelve"
    with pytest.raises(TerminalConnectorError, match=r"product 'bolt-m6': price 'twelve'"):
        publish(block(shopify_products), batch)
    assert shop.requests == []


def test_append_refuses_existing_handles_and_replace_is_refused(shopify_shop, shopify_products):
    shop, _ = shopify_shop
    destination = block(shopify_products)
    publish(destination, rows())
    with pytest.raises(TerminalConnectorError, match=r"handles exist already: \['bolt-m6'"):
        publish(destination, rows(), mode="append")
    with pytest.raises(TerminalConnectorError, match="'replace' would delete"):
        publish(destination, rows(), mode="replace")


def test_a_write_without_a_title_column_is_refused_at_open(shopify_shop, shopify_products):
    with pytest.raises(TerminalConnectorError, match="needs a product title"):
        shopify_products.open(columns=["external_id", "price"], key="external_id", mode="upsert")
    assert shopify_shop[0].requests == []
