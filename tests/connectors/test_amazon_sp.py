"""Amazon listings through the SP-API Listings Items API, against a local server speaking it:
PUT whole listings, PATCH partial updates, LWA tokens cached and refreshed, 429 backed off at
the rate Amazon reports, and Amazon's issues reported per SKU."""

from __future__ import annotations

import pytest

from connectors.amazon_sp import AmazonListings, AmazonSPCredentials
from connectors.base import TerminalConnectorError, TransientConnectorError
from tests.fakes.amazon_sp_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    MARKETPLACE,
    REFRESH_TOKEN,
    FakeAmazon,
)

SELLER = "A2SKUFLOW"
COLUMNS = ["external_id", "title", "description", "brand", "mpn", "upc", "price", "stock",
           "weight", "colour"]  # fmt: skip
BOLT = {
    "external_id": "AC-1",
    "title": "Hex bolt M6 x 80, pack of 50",
    "description": "Zinc plated.",
    "brand": "Northwind",
    "mpn": "NWF-1",
    "upc": "036000291452",
    "price": 12.49,
    "stock": 40,
    "weight": 0.94,
    "colour": "Silver",
}


def listings(amazon: FakeAmazon, **options: object) -> AmazonListings:
    credentials = AmazonSPCredentials(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=options.pop("refresh_token", REFRESH_TOKEN),
        token_url=f"{amazon.base_url}/auth/o2/token",
    )
    settings = {
        "seller_id": SELLER,
        "marketplace_id": MARKETPLACE,
        "endpoint": amazon.base_url,
        "product_type": "SCREW",
        "retry_base_seconds": 0.05,
        "max_requests_per_second": 50.0,
    }
    return AmazonListings(credentials=credentials, **{**settings, **options})


def send(block: AmazonListings, rows: list[dict], mode: str = "upsert"):
    with block.open(columns=COLUMNS, key="external_id", mode=mode) as writer:
        writer.write(rows)
        return writer.commit(), writer


def test_put_lists_each_sku_with_its_product_type_and_attributes(amazon: FakeAmazon) -> None:
    result, writer = send(listings(amazon), [BOLT, {**BOLT, "external_id": "AC 2/x"}])

    assert result.rows == 2 and "2 accepted" in result.location
    listing = amazon.listings[(SELLER, "AC-1")]
    assert listing["productType"] == "SCREW"
    attributes = listing["attributes"]
    mark = {"marketplace_id": MARKETPLACE}
    assert attributes["item_name"] == [
        {"value": "Hex bolt M6 x 80, pack of 50", "language_tag": "en_US", **mark}
    ]
    assert attributes["externally_assigned_product_identifier"] == [
        {"type": "upc", "value": "036000291452", **mark}
    ]
    assert attributes["purchasable_offer"] == [
        {"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 12.49}]}], **mark}
    ]
    assert attributes["fulfillment_availability"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 40}
    ]
    assert attributes["item_weight"] == [{"value": 0.94, "unit": "kilograms", **mark}]
    assert attributes["condition_type"] == [{"value": "new_new", **mark}]
    assert (SELLER, "AC 2/x") in amazon.listings  # the SKU is escaped in the path
    assert [r.status for r in writer.results] == ["ACCEPTED", "ACCEPTED"]
    assert amazon.token_requests == 1  # one LWA token, reused


def test_amazons_issues_are_reported_per_sku_after_sending_the_rest(amazon: FakeAmazon) -> None:
    rows = [
        BOLT,
        {**BOLT, "external_id": "AC-2", "brand": None},
        {**BOLT, "external_id": "AC-3", "description": ""},
        {**BOLT, "external_id": "AC-4", "brand": "", "price": None},
    ]
    block = listings(amazon)
    with block.open(columns=COLUMNS, key="external_id", mode="upsert") as writer:
        writer.write(rows)
        with pytest.raises(TerminalConnectorError) as refused:
            writer.commit()

    message = str(refused.value)
    assert "Amazon refused 2 of 4 listing(s)" in message
    assert "AC-2: INVALID — ERROR 90220: 'brand' is required but not supplied. (brand)" in message
    assert "AC-4: INVALID — ERROR 90220: 'brand' is required" in message
    assert "'purchasable_offer' is required" in message
    assert set(amazon.listings) == {(SELLER, "AC-1"), (SELLER, "AC-3")}
    by_sku = {r.sku: r for r in writer.results}
    (warning,) = by_sku["AC-3"].issues
    assert by_sku["AC-3"].status == "ACCEPTED" and warning["severity"] == "WARNING"
    assert warning["attributeNames"] == ["product_description"]


def test_patch_replaces_only_the_named_attributes(amazon: FakeAmazon) -> None:
    send(listings(amazon), [BOLT])
    before = dict(amazon.listings[(SELLER, "AC-1")]["attributes"])

    repriced = {**BOLT, "title": "a new title that must not be sent", "price": 11.99, "stock": 3}
    result, writer = send(listings(amazon, method="patch"), [repriced])

    after = amazon.listings[(SELLER, "AC-1")]["attributes"]
    assert after["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] == 11.99
    assert after["fulfillment_availability"][0]["quantity"] == 3
    assert after["item_name"] == before["item_name"]
    assert [m for m, _, _ in amazon.requests] == ["PUT", "PATCH"]
    assert writer.results[0].status == "ACCEPTED"


def test_a_429_backs_off_at_the_rate_amazon_reports(amazon: FakeAmazon) -> None:
    amazon.rate_limit = 5.0
    amazon.throttles = 2
    rows = [BOLT, {**BOLT, "external_id": "AC-2"}, {**BOLT, "external_id": "AC-3"}]

    result, _ = send(listings(amazon, max_requests_per_second=100.0), rows)

    assert result.rows == 3 and len(amazon.listings) == 3
    times = [t for _, _, t in amazon.requests]
    assert len(times) == 5  # two throttled tries, then three listings
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # 1 / 5 per second, learnt from x-amzn-RateLimit-Limit: the client spaces its sends 0.2 s
    # apart; the server's receipt times jitter on a busy machine, so the mean gap is the measure
    assert sum(gaps) / len(gaps) >= 0.19, gaps
    assert min(gaps) >= 0.1, gaps


def test_throttling_that_never_ends_is_a_transient_error(amazon: FakeAmazon) -> None:
    amazon.throttles = 100
    with pytest.raises(TransientConnectorError, match=r"AC-1: HTTP 429 after 3 tries"):
        send(listings(amazon, attempts=3), [BOLT])


def test_an_expired_token_is_refreshed_once(amazon: FakeAmazon) -> None:
    block = listings(amazon)
    send(block, [BOLT])
    with amazon.lock:
        for token in amazon.tokens:
            amazon.tokens[token] = 0.0  # Amazon now says it expired
    send(block, [{**BOLT, "external_id": "AC-2"}])
    assert amazon.token_requests == 2
    assert (SELLER, "AC-2") in amazon.listings


def test_a_refused_refresh_token_is_named_without_leaking_secrets(amazon: FakeAmazon) -> None:
    with pytest.raises(TerminalConnectorError) as refused:
        send(listings(amazon, refresh_token="Atzr|revoked"), [BOLT])
    message = str(refused.value)
    assert "refresh token was refused (invalid_grant)" in message
    assert "Atzr|revoked" not in message and CLIENT_SECRET not in message
    assert amazon.listings == {}


def test_nothing_is_sent_before_commit_and_replace_is_refused(amazon: FakeAmazon) -> None:
    block = listings(amazon)
    with block.open(columns=COLUMNS, key="external_id", mode="upsert") as writer:
        writer.write([BOLT])  # no commit: the run failed
    assert amazon.requests == [] and amazon.token_requests == 0
    with pytest.raises(TerminalConnectorError, match="use mode 'upsert'"):
        block.open(columns=COLUMNS, key="external_id", mode="replace")
    with pytest.raises(TerminalConnectorError, match=r"unknown column\(s\) \['asin'\]"):
        listings(amazon, fields={"item_name": "asin"}).open(
            columns=COLUMNS, key="external_id", mode="upsert"
        )


def test_the_catalogue_is_distributed_to_amazon(amazon: FakeAmazon, example_store: int) -> None:
    from catalog.db import session_scope
    from catalog.distribute import distribute
    from catalog.filters import RecordFilter
    from catalog.repository import catalog_schema, get_catalog
    from catalog.settings import get_settings

    amazon.rate_limit = 1000.0
    with session_scope() as session:
        stored = get_catalog(
            session, organization=get_settings().organization, name="acme-supplier-catalog"
        )
        schema = catalog_schema(stored)
        block = listings(amazon, product_type="PRODUCT", max_requests_per_second=1000.0)
        picked = RecordFilter(external_id_glob="AC-100*").bound_to(None)
        (result,) = distribute(
            session,
            catalog_id=stored.id,
            schema=schema,
            targets=[(block, "upsert")],
            batch_size=50,
            record_filter=picked,
        )
    sent = {sku for _, sku, _ in amazon.requests}
    assert len(sent) == result.rows == 33  # the example's AC-10000 … AC-10099
    assert {sku for _, sku in amazon.listings} == sent
    assert all(sku.startswith("AC-100") for sku in sent)
