"""HTTPS pull against a real local server: JSON with page or cursor pagination, CSV, the auth
header from a Secret block, 503 then success, 401 and 404 fail at once, bad JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.https import HttpsSource
from tests.connectors.helpers import ingest_once, product_rows, small_schema, stored_titles
from tests.connectors.servers import LocalApi

TOKEN = "Bearer feed-token"
PRODUCTS = product_rows(23)
CHANGES: list[tuple[dict, int]] = [(p, 100 + i) for i, p in enumerate(product_rows(4))]


def _feed(method: str, path: str, headers: dict[str, str], body: bytes):
    """A supplier API: /paged?page=N (10 per page), /cursor?cursor=C, /feed.csv, /broken."""
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if headers.get("Authorization") != TOKEN:
        return 401, {"Content-Type": "application/json"}, b'{"error": "invalid token"}'
    if parts.path == "/paged":
        page = int(query.get("page", "1"))
        items = PRODUCTS[(page - 1) * 10 : page * 10]
        return 200, {}, json.dumps({"data": {"items": items}}).encode()
    if parts.path == "/cursor":
        start = int(query.get("cursor") or 0)
        following = start + 10 if start + 10 < len(PRODUCTS) else None
        body = {"products": PRODUCTS[start : start + 10], "meta": {"next": following}}
        return 200, {}, json.dumps(body).encode()
    if parts.path == "/feed.csv":
        lines = ["sku,title,price"] + [f"{p['sku']},{p['title']},{p['price']}" for p in PRODUCTS]
        return 200, {"Content-Type": "text/csv"}, "\n".join(lines).encode()
    if parts.path == "/changes":
        since = int(query.get("updated_since", "0"))
        items = [{**p, "updated_at": t} for p, t in CHANGES if t > since]
        return 200, {}, json.dumps(items).encode()
    if parts.path == "/broken":
        return 200, {}, b'{"data": [1, 2'
    return 404, {}, b"not found"


@pytest.fixture(scope="module")
def api() -> Iterator[LocalApi]:
    server = LocalApi(_feed)
    yield server
    server.stop()


def _rows(source: HttpsSource) -> list[dict]:
    return [row for batch in source.read_batches(batch_size=7) for row in batch.rows]


def test_page_numbers_are_followed_until_an_empty_page(api: LocalApi) -> None:
    source = HttpsSource(
        url=f"{api.url}/paged", auth_value=TOKEN, records_path="data.items", pagination="page"
    )
    assert source.columns() == ["sku", "title", "price"]
    assert _rows(source) == PRODUCTS


def test_cursors_are_followed_until_there_is_none(api: LocalApi) -> None:
    source = HttpsSource(
        url=f"{api.url}/cursor",
        auth_value=TOKEN,
        records_path="products",
        pagination="cursor",
        page_param="cursor",
        next_cursor_path="meta.next",
    )
    assert _rows(source) == PRODUCTS


@pytest.mark.usefixtures("prefect_harness")
def test_csv_feed_with_the_token_from_a_secret_block_ingests(api: LocalApi, tmp_path: Path) -> None:
    from prefect.blocks.system import Secret

    Secret(value=TOKEN).save("supplier-feed-token", overwrite=True)
    source = HttpsSource(url=f"{api.url}/feed.csv", format="csv", auth_secret="supplier-feed-token")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    _, schema = small_schema(tmp_path)
    assert ingest_once(store_url, schema, source)["inserted"] == 23
    assert stored_titles(store_url)["SKU-000022"] == "Hex bolt 22"


def test_a_503_is_retried_and_the_read_completes(api: LocalApi) -> None:
    source = HttpsSource(
        url=f"{api.url}/paged",
        auth_value=TOKEN,
        records_path="data.items",
        pagination="page",
        retry_base_seconds=0.01,
    )
    before = api.failures_served
    api.fail_next(2, status=503, headers={"Retry-After": "0"})
    assert _rows(source) == PRODUCTS
    assert api.failures_served - before == 2


def test_a_503_that_persists_is_transient(api: LocalApi) -> None:
    source = HttpsSource(url=f"{api.url}/paged", auth_value=TOKEN, attempts=2, retry_base_seconds=0)
    api.fail_next(2, status=502)
    with pytest.raises(TransientConnectorError, match="HTTP 502"):
        source.columns()


def test_a_bad_token_fails_at_once_naming_the_block(api: LocalApi) -> None:
    source = HttpsSource(url=f"{api.url}/paged", auth_value="Bearer wrong", attempts=3)
    sent = len(api.requests)
    with pytest.raises(TerminalConnectorError, match="credentials rejected") as raised:
        source.columns()
    assert f"HTTPS source {api.url}/paged" in str(raised.value)
    assert "wrong" not in str(raised.value)
    assert len(api.requests) - sent == 1  # not retried


def test_a_404_and_bad_json_are_terminal(api: LocalApi) -> None:
    with pytest.raises(TerminalConnectorError, match="HTTP 404"):
        HttpsSource(url=f"{api.url}/gone", auth_value=TOKEN).columns()
    with pytest.raises(TerminalConnectorError, match="not JSON"):
        HttpsSource(url=f"{api.url}/broken", auth_value=TOKEN).columns()


def test_a_cursor_field_makes_later_runs_ask_only_for_newer_records(
    api: LocalApi, tmp_path: Path
) -> None:
    source = HttpsSource(
        url=f"{api.url}/changes",
        auth_value=TOKEN,
        cursor_field="updated_at",
        since_param="updated_since",
    )
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    _, schema = small_schema(tmp_path)
    assert ingest_once(store_url, schema, source)["inserted"] == 4
    assert ingest_once(store_url, schema, source)["read"] == 0
    CHANGES.append(({**PRODUCTS[0], "title": "Renamed"}, 200))
    try:
        assert ingest_once(store_url, schema, source) == {
            "read": 1,
            "inserted": 0,
            "updated": 1,
            "unchanged": 0,
        }
    finally:
        CHANGES.pop()
    asked = [path for method, path, _, _ in api.requests if path.startswith("/changes")]
    assert asked[-1].endswith("updated_since=103")
    assert stored_titles(store_url)["SKU-000000"] == "Renamed"
