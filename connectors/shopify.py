"""Shopify as a destination: products with variants, metafields and images, through the Admin
GraphQL API (ShopifyAPI's `shopify.GraphQL`).

Shopify has no transactions, so a write is made all-or-nothing by hand: every row is checked
before the first call, existing products (found by handle, cursor-paginated) are kept as they
were, and if any product fails (`userErrors`, or an HTTP error that retries did not cure) the
products this write created are deleted and the ones it changed are set back. Throttling is
normal with Shopify: a THROTTLED answer waits as long as the cost bucket needs to refill, a 429
honours Retry-After, and 5xx back off; all of that lives in `connectors.retry`.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from catalog.rows import WriteMode, WriteResult
from connectors.base import (
    TerminalConnectorError,
    TransientConnectorError,
    WriterLifecycle,
    block_label,
    check_open_arguments,
    to_text,
)
from connectors.retry import call_with_retries, http_status_error

PRODUCTS_QUERY = """
query SkuflowProducts($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) {
    nodes {
      id handle title descriptionHtml vendor productType tags status
      variants(first: 100) { nodes { id sku price barcode selectedOptions { name value } } }
      metafields(first: 50) { nodes { namespace key type value } }
      images(first: 50) { nodes { url altText } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
PRODUCT_SET = """
mutation SkuflowProductSet($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) {
    product { id handle }
    userErrors { field message code }
  }
}
"""
PRODUCT_DELETE = """
mutation SkuflowProductDelete($input: ProductDeleteInput!) {
  productDelete(input: $input) { deletedProductId userErrors { field message } }
}
"""
METAFIELDS_DELETE = """
mutation SkuflowMetafieldsDelete($metafields: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $metafields) {
    deletedMetafields { ownerId namespace key }
    userErrors { field message }
  }
}
"""
DEFAULT_FIELDS = {
    "title": "title",
    "descriptionHtml": "description",
    "vendor": "brand",
    "productType": "category",
    "tags": "tags",
    "sku": "sku",
    "price": "price",
    "barcode": "gtin",
    "images": "images",
}
METAFIELD_TYPES = {
    "number": "number_decimal",
    "integer": "number_integer",
    "boolean": "boolean",
    "array": "json",
}
HANDLES_PER_QUERY = 50


class ShopifyCredentials(Block):
    """How to reach one Shopify store's Admin API: the shop and an Admin API access token.

    Attributes:
        shop: The shop's myshopify domain or its first label.
        access_token: An Admin API access token (custom app), `shpat_…`.
        api_version: The Admin API version.
        endpoint: A base URL that replaces https://<shop>.myshopify.com (a proxy, a test server).

    Example:
        Load saved credentials and print the GraphQL endpoint:
        ```python
        from connectors.shopify import ShopifyCredentials

        credentials = ShopifyCredentials.load("BLOCK_NAME")
        print(credentials.graphql_url())
        ```
    """

    _block_type_name = "skuflow Shopify Credentials"
    _block_type_slug = "skuflow-shopify-credentials"

    shop: str = Field(..., description="The shop, as my-store or my-store.myshopify.com.")
    access_token: SecretStr = Field(..., description="An Admin API access token of a custom app.")
    api_version: str = Field("2024-10", description="The Admin API version, such as 2024-10.")
    endpoint: str | None = Field(
        None, description="A base URL used instead of https://<shop>.myshopify.com, or None."
    )

    def graphql_url(self) -> str:
        shop = re.sub(r"^https?://", "", self.shop).split("/")[0]
        if "." not in shop:
            shop += ".myshopify.com"
        base = (self.endpoint or f"https://{shop}").rstrip("/")
        return f"{base}/admin/api/{self.api_version}/graphql.json"


class ShopifyProducts(Block):
    """A Shopify store's products, written from catalogue rows: upserted by handle, variants
    matched by SKU.

    Rows that share a handle become variants of one product (their `option_columns` values tell
    the variants apart); product fields come from the group's first row.

    Attributes:
        credentials: The store to write to.
        handle_column: The column holding the product handle, or None to use the write's key.
        fields: Which column feeds each Shopify field (title, descriptionHtml, vendor,
            productType, tags, sku, price, barcode, images); a column absent from the write
            is skipped.
        option_columns: Columns whose values tell a product's variants apart (size, colour).
        metafields: Columns written as metafields, each mapped to "namespace.key".
        status: The status of products this write creates or updates.
        attempts: Tries per API call before a transient failure fails the write.
        retry_base_seconds: The first back-off pause; it doubles on every retry.
        timeout_seconds: How long one API call may wait for an answer.

    Example:
        Publish two products:
        ```python
        from connectors.shopify import ShopifyProducts

        shop = ShopifyProducts.load("BLOCK_NAME")
        with shop.open(columns=["sku", "title", "price"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6", "price": 0.12}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow Shopify Products"
    _block_type_slug = "skuflow-shopify-products"

    credentials: ShopifyCredentials = Field(..., description="The store to write to.")
    handle_column: str | None = Field(
        None, description="The column holding product handles, or None for the write's key."
    )
    fields: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FIELDS),
        description="Which column feeds each Shopify product or variant field.",
    )
    option_columns: list[str] = Field(
        default_factory=list, description="Columns whose values tell a product's variants apart."
    )
    metafields: dict[str, str] = Field(
        default_factory=dict, description="Columns written as metafields, as namespace.key."
    )
    status: Literal["ACTIVE", "DRAFT"] = Field(
        "ACTIVE", description="The status given to products this write creates or updates."
    )
    attempts: int = Field(5, ge=1, description="Tries per API call before a failure is final.")
    retry_base_seconds: float = Field(
        1.0, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )
    timeout_seconds: float = Field(
        60.0, gt=0, description="How long one API call may wait for Shopify's answer."
    )

    def describe(self) -> str:
        return block_label(self, f"Shopify store {self.credentials.shop}")

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> ShopifyWriter:
        """Start a write; nothing reaches Shopify before `commit()`."""
        kinds = check_open_arguments(
            destination=self.describe(), columns=columns, key=key, mode=mode, types=types or {}
        )
        if mode == "replace":
            raise TerminalConnectorError(
                f"{self.describe()}: 'replace' would delete the store's other products; "
                "use 'upsert' (or 'append' to only create)"
            )
        handle = self.handle_column or key
        needed = [handle, *self.option_columns, *self.metafields]
        missing = [c for c in needed if c not in columns]
        if missing:
            raise TerminalConnectorError(f"{self.describe()}: column(s) {missing} are not written")
        for column, target in self.metafields.items():
            if target.count(".") != 1:
                raise TerminalConnectorError(
                    f"{self.describe()}: metafield for '{column}' must be namespace.key, "
                    f"not '{target}'"
                )
        fields = {name: column for name, column in self.fields.items() if column in columns}
        if "title" not in fields:
            raise TerminalConnectorError(
                f"{self.describe()}: Shopify needs a product title, and no written column feeds "
                f"it (fields maps title to '{self.fields.get('title')}')"
            )
        return ShopifyWriter(self, handle_column=handle, mode=mode, kinds=kinds, fields=fields)

    def read_products(self, handles: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Products as the API returns them, every page followed; only `handles` if given."""
        groups = (
            [None]
            if handles is None
            else [
                handles[i : i + HANDLES_PER_QUERY]
                for i in range(0, len(handles), HANDLES_PER_QUERY)
            ]
        )
        for group in groups:
            query = None if group is None else " OR ".join(f"handle:{h}" for h in group)
            after = None
            while True:
                page = self.execute(PRODUCTS_QUERY, {"first": 250, "after": after, "query": query})
                yield from page["products"]["nodes"]
                info = page["products"]["pageInfo"]
                if not info["hasNextPage"]:
                    break
                after = info["endCursor"]

    def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL call with retries; returns `data`, or raises a classified error."""
        client = _client(self.credentials, timeout=self.timeout_seconds)
        return call_with_retries(
            lambda: self._execute_once(client, query, variables),
            attempts=self.attempts,
            base_delay=self.retry_base_seconds,
            max_delay=max(self.retry_base_seconds * 2 ** (self.attempts - 1), 1.0),
        )

    def _execute_once(self, client: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            text = client.execute(query, variables)
        except urllib.error.HTTPError as exc:
            retry_after = _seconds(exc.headers.get("Retry-After")) if exc.headers else None
            detail = "check the access token" if exc.code in (401, 403) else ""
            raise http_status_error(
                self.describe(), exc.code, detail, retry_after=retry_after
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransientConnectorError(
                f"{self.describe()}: cannot reach {self.credentials.graphql_url()}: {reason}"
            ) from None
        payload = json.loads(text)
        errors = payload.get("errors") or []
        if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
            error = TransientConnectorError(f"{self.describe()}: throttled (query cost)")
            error.retry_after = _refill_seconds(payload)  # type: ignore[attr-defined]
            raise error
        if errors:
            messages = "; ".join(str(e.get("message", e)) for e in errors)
            raise TerminalConnectorError(
                f"{self.describe()}: Shopify refused the query: {messages}"
            )
        return payload["data"]


class ShopifyWriter(WriterLifecycle):
    """Collects rows grouped by handle; `commit()` publishes them all or sets everything back."""

    def __init__(
        self,
        block: ShopifyProducts,
        *,
        handle_column: str,
        mode: str,
        kinds: dict[str, str],
        fields: dict[str, str],
    ) -> None:
        self._block = block
        self._fields = fields
        """Shopify field -> column, for the fields whose column this write has."""
        self._handle_column = handle_column
        self._mode = mode
        self._kinds = kinds
        self._groups: dict[str, list[dict[str, Any]]] = {}
        self._rows = 0
        self._state = "open"

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._check_open()
        problems = []
        for row in rows:
            handle = _handle(row.get(self._handle_column))
            title = to_text(row.get(self._fields["title"]))
            price = row.get(self._fields["price"]) if "price" in self._fields else None
            if not handle:
                problems.append(f"a row has no value in '{self._handle_column}'")
            elif not (title or "").strip():
                problems.append(f"product '{handle}': no title")
            elif to_text(price) is not None and _price(price) is None:
                problems.append(f"product '{handle}': price {price!r} is not a number")
            else:
                self._groups.setdefault(handle, []).append(row)
                self._rows += 1
        if problems:
            self.abort()
            raise TerminalConnectorError(
                f"{self._block.describe()}: nothing was sent; " + "; ".join(problems[:20])
            )

    def commit(self) -> WriteResult:
        self._check_open()
        block = self._block
        existing = {p["handle"]: p for p in block.read_products(list(self._groups))}
        if self._mode == "append" and existing:
            self.abort()
            raise TerminalConnectorError(
                f"{block.describe()}: append only creates products, and these handles exist "
                f"already: {sorted(existing)[:20]}"
            )
        attempted: list[str] = []
        failures: list[str] = []
        try:
            for handle, rows in self._groups.items():
                attempted.append(handle)  # before the call: a timeout may still have applied it
                before = existing.get(handle)
                result = block.execute(
                    PRODUCT_SET, {"input": self._product_input(handle, rows, before)}
                )["productSet"]
                if result["userErrors"]:
                    failures.append(f"product '{handle}': {_user_errors(result['userErrors'])}")
        except (TransientConnectorError, TerminalConnectorError) as exc:
            raise type(exc)(f"{exc}; {self._undo(attempted, existing)}") from exc
        if failures:
            raise TerminalConnectorError(
                f"{block.describe()}: Shopify refused {len(failures)} product(s):\n"
                + "\n".join(failures)
                + f"\n{self._undo(attempted, existing)}"
            )
        self._state = "committed"
        return WriteResult(
            destination=block.describe(), rows=self._rows, location=block.credentials.graphql_url()
        )

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._groups.clear()

    def _product_input(
        self, handle: str, rows: list[dict[str, Any]], before: dict[str, Any] | None
    ) -> dict[str, Any]:
        fields = self._fields
        first = rows[0]

        def value(name: str, row: dict[str, Any] = first) -> Any:
            return row.get(fields[name]) if name in fields else None

        product: dict[str, Any] = {"handle": handle, "status": self._block.status}
        if before is not None:
            product["id"] = before["id"]
        for name in ("title", "descriptionHtml", "vendor", "productType"):
            if name in fields and fields[name] in first:
                product[name] = to_text(value(name)) or ""
        if "tags" in fields and fields["tags"] in first:
            product["tags"] = _as_list(value("tags"))
        if "images" in fields and fields["images"] in first:
            product["files"] = [
                {"originalSource": url, "contentType": "IMAGE", "alt": product.get("title")}
                for url in _as_list(value("images"))
            ]
        if self._block.metafields:
            product["metafields"] = [
                {
                    "namespace": target.split(".")[0],
                    "key": target.split(".")[1],
                    "type": METAFIELD_TYPES.get(
                        self._kinds.get(column, "text"), "single_line_text_field"
                    ),
                    "value": to_text(first.get(column)) or "",
                }
                for column, target in self._block.metafields.items()
                if to_text(first.get(column)) is not None
            ]
        old_ids = {v["sku"]: v["id"] for v in (before or {}).get("variants", {}).get("nodes", [])}
        variants = []
        for index, row in enumerate(rows):
            options = _options(self._block.option_columns, row, index, value("sku", row))
            variant: dict[str, Any] = {"optionValues": options}
            sku = to_text(value("sku", row))
            if sku is not None:
                variant["sku"] = sku
                if sku in old_ids:
                    variant["id"] = old_ids[sku]
            price = _price(value("price", row))
            if price is not None:
                variant["price"] = str(price)
            barcode = to_text(value("barcode", row))
            if barcode is not None:
                variant["barcode"] = barcode
            variants.append(variant)
        product["variants"] = variants
        product["productOptions"] = _product_options(variants)
        return product

    def _undo(self, attempted: list[str], existing: dict[str, dict[str, Any]]) -> str:
        """Put every product this write may have touched back as it was: delete the ones that
        did not exist, restore the others (fields, variants, images, and metafields, dropping
        keys the write added). Says how that went."""
        block = self._block
        self._state = "aborted"
        try:
            now = {p["handle"]: p for p in block.read_products(attempted)} if attempted else {}
            for handle in attempted:
                before, current = existing.get(handle), now.get(handle)
                if current is None:
                    continue
                if before is None:
                    block.execute(PRODUCT_DELETE, {"input": {"id": current["id"]}})
                    continue
                block.execute(PRODUCT_SET, {"input": _restore_input(before)})
                kept = {(m["namespace"], m["key"]) for m in before["metafields"]["nodes"]}
                added = [
                    {"ownerId": before["id"], "namespace": m["namespace"], "key": m["key"]}
                    for m in current["metafields"]["nodes"]
                    if (m["namespace"], m["key"]) not in kept
                ]
                if added:
                    block.execute(METAFIELDS_DELETE, {"metafields": added})
        except (TransientConnectorError, TerminalConnectorError) as exc:
            return (
                f"setting back the products written before it failed ({exc}); re-run the write "
                "to complete it (an upsert by handle is safe to repeat)"
            )
        touched = [h for h in attempted if h in now]
        if not touched:
            return "no product was changed"
        return f"the {len(touched)} product(s) it had touched were set back"

    def _check_open(self) -> None:
        if self._state != "open":
            raise TerminalConnectorError(
                f"{self._block.describe()}: this write session is already {self._state}"
            )


def _client(credentials: ShopifyCredentials, *, timeout: float) -> Any:
    """ShopifyAPI's GraphQL client for these credentials, without a process-wide session, so
    blocks for different shops can run side by side in one worker."""
    try:
        import shopify
    except ImportError:
        raise TerminalConnectorError(
            "Shopify needs ShopifyAPI: pip install 'skuflow[shopify]'"
        ) from None

    class _ShopGraphQL(shopify.GraphQL):
        def __init__(self) -> None:
            self.endpoint = credentials.graphql_url()
            self.headers = {"X-Shopify-Access-Token": credentials.access_token.get_secret_value()}

        def execute(
            self, query: str, variables: Any = None, operation_name: str | None = None
        ) -> str:
            """ShopifyAPI's request, plus a timeout (its own waits forever on a stalled
            connection) and without printing error bodies to stdout."""
            headers = self.merge_headers(
                {"Accept": "application/json", "Content-Type": "application/json"}, self.headers
            )
            body = {"query": query, "variables": variables, "operationName": operation_name}
            request = urllib.request.Request(self.endpoint, json.dumps(body).encode(), headers)
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read().decode("utf-8")

    return _ShopGraphQL()


def _restore_input(before: dict[str, Any]) -> dict[str, Any]:
    """A productSet input that sets a product back to how `read_products` saw it."""
    variants = [
        {
            "id": v["id"],
            "sku": v.get("sku"),
            "price": v.get("price"),
            "barcode": v.get("barcode"),
            "optionValues": [
                {"optionName": o["name"], "name": o["value"]} for o in v.get("selectedOptions", [])
            ],
        }
        for v in before["variants"]["nodes"]
    ]
    return {
        **{k: before[k] for k in ("id", "handle", "title", "descriptionHtml", "vendor")},
        **{k: before[k] for k in ("productType", "tags", "status")},
        "variants": variants,
        "productOptions": _product_options(variants),
        "metafields": before["metafields"]["nodes"],
        "files": [
            {"originalSource": i["url"], "contentType": "IMAGE", "alt": i.get("altText")}
            for i in before["images"]["nodes"]
        ],
    }


def _options(columns: list[str], row: dict[str, Any], index: int, sku: Any) -> list[dict[str, str]]:
    if columns:
        return [
            {
                "optionName": column.replace("_", " ").title(),
                "name": to_text(row.get(column)) or "-",
            }
            for column in columns
        ]
    if index == 0 and sku is None:
        return [{"optionName": "Title", "name": "Default Title"}]
    return [{"optionName": "Title", "name": to_text(sku) or f"Variant {index + 1}"}]


def _product_options(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    values: dict[str, dict[str, None]] = {}
    for variant in variants:
        for option in variant["optionValues"]:
            values.setdefault(option["optionName"], {})[option["name"]] = None
    return [{"name": name, "values": [{"name": v} for v in seen]} for name, seen in values.items()]


def _handle(value: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (to_text(value) or "").lower()).strip("-")


def _price(value: Any) -> Decimal | None:
    text = to_text(value)
    if text is None or not text.strip():
        return None
    try:
        price = Decimal(text.strip())
    except InvalidOperation:
        return None
    return price if price.is_finite() else None


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    text = to_text(value)
    if not text:
        return []
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text) if v not in (None, "")]
        except json.JSONDecodeError:
            pass
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def _user_errors(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{'.'.join(e.get('field') or []) or 'product'}: {e.get('message')}" for e in errors
    )


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None


def _refill_seconds(payload: dict[str, Any]) -> float:
    """How long until the cost bucket holds what the refused query asked for."""
    cost = (payload.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    missing = float(cost.get("requestedQueryCost") or 0) - float(
        status.get("currentlyAvailable") or 0
    )
    rate = float(status.get("restoreRate") or 50)
    return max(missing, 0.0) / rate
