"""A local Shopify Admin GraphQL API: products with variants, metafields and images, in memory.

It answers `POST /admin/api/<version>/graphql.json` as Shopify does, so ShopifyAPI's
`shopify.GraphQL` runs against it unmodified: the access token in `X-Shopify-Access-Token`
(401 with Shopify's body otherwise), cursor pagination (`first`/`after`, `pageInfo`), `userErrors`
on mutations, cost-based throttling (a 200 whose `errors` carry `THROTTLED` and whose
`extensions.cost.throttleStatus` says how fast the bucket refills), and 429 with Retry-After.
Operations are recognised by their root field (`products`, `productSet`, `productDelete`,
`metafieldsDelete`); the
reply carries every field the operations select rather than interpreting the selection set.

Use `start_shopify()` in a fixture; `FakeShopify` holds the shop's data and the failures to inject.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.fakes.server import JsonHandler, LocalServer

TOKEN = "shpat_fake_token"
UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
_ROOT_FIELD = re.compile(r"\{\s*(\w+)\s*[({]")


@dataclass
class FakeShopify:
    """One shop's products and the failures the next requests should meet."""

    token: str = TOKEN
    page_limit: int = 250
    """The largest `first` honoured; lower it to make small data span pages."""
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """HTTP statuses (with headers) answered to the next requests, in order, before any work."""
    throttled: int = 0
    """How many of the next requests are refused with a THROTTLED error."""
    broken_handles: set[str] = field(default_factory=set)
    """`productSet` for these handles always answers HTTP 500 (a permanently failing write)."""
    requests: list[str] = field(default_factory=list)
    """Root field of every request that reached the shop (after auth), for assertions."""
    stalls: list[float] = field(default_factory=list)
    """Seconds the next requests wait before being answered (a stalled connection)."""
    _next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- operations ---------------------------------------------------------------------------

    def products_page(self, variables: dict[str, Any]) -> dict[str, Any]:
        first = min(int(variables.get("first") or 50), self.page_limit)
        handles = _handles_in(variables.get("query"))
        items = [p for p in self.products.values() if handles is None or p["handle"] in handles]
        items.sort(key=lambda p: int(p["id"].rsplit("/", 1)[1]))
        after = variables.get("after")
        start = 0
        if after:
            ids = [p["id"] for p in items]
            start = ids.index(_decode_cursor(after)) + 1 if _decode_cursor(after) in ids else 0
        page = items[start : start + first]
        return {
            "products": {
                "nodes": [_public(p) for p in page],
                "pageInfo": {
                    "hasNextPage": start + first < len(items),
                    "endCursor": _encode_cursor(page[-1]["id"]) if page else None,
                },
            }
        }

    def product_set(self, variables: dict[str, Any]) -> dict[str, Any] | int:
        data = variables.get("input") or {}
        if data.get("handle") in self.broken_handles:
            return 500
        errors = _product_errors(data)
        existing = self.products.get(data["id"]) if data.get("id") else None
        if data.get("id") and existing is None:
            errors.append(_user_error(["input", "id"], "Product does not exist", "NOT_FOUND"))
        taken = [
            p
            for p in self.products.values()
            if p["handle"] == data.get("handle") and p["id"] != data.get("id")
        ]
        if taken:
            errors.append(
                _user_error(["input", "handle"], "Handle has already been taken", "TAKEN")
            )
        if errors:
            return {"productSet": {"product": None, "userErrors": errors}}
        product = existing or {"id": self._new_id("Product")}
        product.update(
            handle=data["handle"],
            title=data["title"],
            descriptionHtml=data.get("descriptionHtml") or "",
            vendor=data.get("vendor") or "",
            productType=data.get("productType") or "",
            tags=list(data.get("tags") or []),
            status=data.get("status") or "ACTIVE",
        )
        old_variants = {v["id"]: v for v in product.get("variants", [])}
        product["variants"] = [
            {
                "id": v.get("id")
                if v.get("id") in old_variants
                else self._new_id("ProductVariant"),
                "sku": v.get("sku"),
                "price": str(Decimal(str(v.get("price") or "0")).quantize(Decimal("0.01"))),
                "barcode": v.get("barcode"),
                "selectedOptions": [
                    {"name": o["optionName"], "value": o["name"]}
                    for o in v.get("optionValues") or []
                ],
            }
            for v in data.get("variants") or []
        ]
        if "metafields" in data:
            kept = {(m["namespace"], m["key"]): m for m in product.get("metafields", [])}
            for metafield in data["metafields"] or []:
                kept[(metafield["namespace"], metafield["key"])] = dict(metafield)
            product["metafields"] = list(kept.values())
        product.setdefault("metafields", [])
        if "files" in data:
            product["images"] = [
                {"url": f["originalSource"], "altText": f.get("alt")} for f in data["files"] or []
            ]
        product.setdefault("images", [])
        self.products[product["id"]] = product
        return {
            "productSet": {
                "product": {"id": product["id"], "handle": product["handle"]},
                "userErrors": [],
            }
        }

    def product_delete(self, variables: dict[str, Any]) -> dict[str, Any]:
        product_id = (variables.get("input") or {}).get("id")
        if self.products.pop(product_id, None) is None:
            return {
                "productDelete": {
                    "deletedProductId": None,
                    "userErrors": [_user_error(["id"], "Product does not exist", "NOT_FOUND")],
                }
            }
        return {"productDelete": {"deletedProductId": product_id, "userErrors": []}}

    def metafields_delete(self, variables: dict[str, Any]) -> dict[str, Any]:
        deleted = []
        for target in variables.get("metafields") or []:
            product = self.products.get(target["ownerId"])
            if product is None:
                continue
            before = len(product["metafields"])
            product["metafields"] = [
                m
                for m in product["metafields"]
                if (m["namespace"], m["key"]) != (target["namespace"], target["key"])
            ]
            if len(product["metafields"]) < before:
                deleted.append(target)
        return {"metafieldsDelete": {"deletedMetafields": deleted, "userErrors": []}}

    def _new_id(self, kind: str) -> str:
        gid = f"gid://shopify/{kind}/{self._next_id}"
        self._next_id += 1
        return gid

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, token: str | None, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            if token != self.token:
                return 401, UNAUTHORIZED, {}
            if self.failures:
                status, headers = self.failures.pop(0)
                return status, {"errors": f"injected HTTP {status}"}, headers
            if self.throttled:
                self.throttled -= 1
                return 200, _throttled(), {}
            match = _ROOT_FIELD.search(body.get("query") or "")
            root = match.group(1) if match else ""
            self.requests.append(root)
            variables = body.get("variables") or {}
            operations = {
                "products": self.products_page,
                "productSet": self.product_set,
                "productDelete": self.product_delete,
                "metafieldsDelete": self.metafields_delete,
            }
            if root not in operations:
                message = f"Field '{root}' doesn't exist on type 'QueryRoot'"
                return 200, {"errors": [{"message": message}]}, {}
            result = operations[root](variables)
            if isinstance(result, int):
                return result, {"errors": "Internal error"}, {}
            return 200, {"data": result, "extensions": {"cost": _cost(1000.0)}}, {}


class _Handler(JsonHandler):
    def do_POST(self) -> None:  # stdlib name
        shop: FakeShopify = self.server.state  # type: ignore[attr-defined]
        if not re.fullmatch(r"/admin/api/[\w-]+/graphql\.json", self.path):
            self.reply(404, {"errors": "Not Found"})
            return
        with shop.lock:
            stall = shop.stalls.pop(0) if shop.stalls else 0.0
        body = self.read_json() or {}
        if stall:
            time.sleep(stall)
        status, payload, headers = shop.handle(self.headers.get("X-Shopify-Access-Token"), body)
        self.reply(status, payload, headers=headers)


@contextmanager
def start_shopify(shop: FakeShopify | None = None) -> Iterator[tuple[FakeShopify, str]]:
    """Serve a fake shop; yields it and its base URL (`http://127.0.0.1:<port>`)."""
    shop = shop or FakeShopify()
    server = LocalServer(_Handler, shop).start()
    try:
        yield shop, server.url
    finally:
        server.stop()


def _public(product: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: v for k, v in product.items() if k not in ("variants", "metafields", "images")},
        "variants": {"nodes": product.get("variants", [])},
        "metafields": {"nodes": product.get("metafields", [])},
        "images": {"nodes": product.get("images", [])},
    }


def _product_errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    errors = []
    if not str(data.get("title") or "").strip():
        errors.append(_user_error(["input", "title"], "Title can't be blank", "BLANK"))
    if len(str(data.get("title") or "")) > 255:
        errors.append(
            _user_error(
                ["input", "title"], "Title is too long (maximum is 255 characters)", "TOO_LONG"
            )
        )
    if not str(data.get("handle") or "").strip():
        errors.append(_user_error(["input", "handle"], "Handle can't be blank", "BLANK"))
    for index, variant in enumerate(data.get("variants") or []):
        try:
            Decimal(str(variant.get("price") or "0"))
        except InvalidOperation:
            errors.append(
                _user_error(
                    ["input", "variants", str(index), "price"], "Price is invalid", "INVALID"
                )
            )
    return errors


def _user_error(path: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": path, "message": message, "code": code}


def _handles_in(query: str | None) -> set[str] | None:
    if not query:
        return None
    return set(re.findall(r"handle:'?([^'\s]+)'?", query))


def _encode_cursor(product_id: str) -> str:
    return product_id.encode().hex()


def _decode_cursor(cursor: str) -> str:
    return bytes.fromhex(cursor).decode()


def _cost(available: float) -> dict[str, Any]:
    return {
        "requestedQueryCost": 12,
        "actualQueryCost": 12,
        "throttleStatus": {
            "maximumAvailable": 1000.0,
            "currentlyAvailable": available,
            "restoreRate": 1000.0,
        },
    }


def _throttled() -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {"cost": _cost(2.0)},
    }
