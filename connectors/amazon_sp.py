"""Amazon listings through the Selling Partner API's Listings Items API (version 2021-08-01).

Each catalogue row becomes one listing: `PUT /listings/2021-08-01/items/{sellerId}/{sku}` with
its product type and attributes (a full listing), or `PATCH` with JSON-patch operations that
replace only the attributes named in `patch_attributes` (a price or stock update). Amazon answers
per SKU — ACCEPTED or INVALID, with issues (code, message, severity, attribute names) — and
those answers are kept per SKU: `commit()` fails naming every refused SKU and its issues, after
sending all the others, and warnings are kept on the writer.

Calls carry a Login with Amazon access token (`x-amz-access-token`), obtained from the refresh
token (`POST https://api.amazon.com/auth/o2/token`, grant `refresh_token`) and reused until a
minute before it expires; a 403 for an expired token refreshes it once. Requests are paced to
the rate Amazon reports in `x-amzn-RateLimit-Limit` (5 per second for this API), and a 429 waits
out that rate (or Retry-After) with a growing, jittered pause. Nothing is sent before `commit()`,
so a failed run sends nothing. The flat file (`MarketplaceExport`) stays for manual uploads.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from prefect.blocks.core import Block
from pydantic import Field, PrivateAttr, SecretStr

from catalog.gtin import normalize_gtin
from catalog.rows import WriteMode, WriteResult
from connectors.base import (
    TerminalConnectorError,
    TransientConnectorError,
    WriterLifecycle,
    block_label,
    to_text,
)

LISTINGS_PATH = "/listings/2021-08-01/items/{seller}/{sku}"
TOKEN_MARGIN_SECONDS = 60
ATTRIBUTE_KINDS = {
    "item_name": "localized",
    "brand": "localized",
    "product_description": "localized",
    "bullet_point": "localized",
    "manufacturer": "localized",
    "color": "localized",
    "material": "localized",
    "part_number": "plain",
    "model_number": "plain",
    "externally_assigned_product_identifier": "identifier",
    "purchasable_offer": "offer",
    "list_price": "price",
    "fulfillment_availability": "quantity",
    "main_product_image_locator": "image",
    "item_weight": "weight",
    "condition_type": "plain",
}
"""How each Amazon attribute's value is shaped; attributes not listed are localized text."""
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "item_name": ("title",),
    "brand": ("brand",),
    "product_description": ("description",),
    "part_number": ("mpn",),
    "externally_assigned_product_identifier": ("gtin", "upc", "ean"),
    "purchasable_offer": ("price",),
    "fulfillment_availability": ("stock", "quantity"),
    "main_product_image_locator": ("image_link", "images"),
    "color": ("colour", "color"),
    "material": ("material",),
    "item_weight": ("weight",),
}
"""Catalogue columns tried, in order, for each Amazon attribute that `fields` does not map."""
WEIGHT_UNITS = {"kg": "kilograms", "g": "grams", "lb": "pounds", "oz": "ounces"}
GTIN_TYPES = {8: "ean", 12: "upc", 13: "ean", 14: "gtin"}


class AmazonSPCredentials(Block):
    """Login with Amazon (LWA) credentials of a Selling Partner API application.

    Attributes:
        client_id: The LWA client identifier of the application.
        client_secret: The LWA client secret.
        refresh_token: The seller's refresh token from authorising the application.
        token_url: The LWA token endpoint.

    Example:
        Get an access token:
        ```python
        from connectors.amazon_sp import AmazonSPCredentials

        credentials = AmazonSPCredentials.load("BLOCK_NAME")
        token = credentials.access_token()
        ```
    """

    _block_type_name = "skuflow Amazon SP-API Credentials"
    _block_type_slug = "skuflow-amazon-sp-credentials"

    client_id: str = Field(..., description="The LWA client identifier of the application.")
    client_secret: SecretStr = Field(..., description="The LWA client secret.")
    refresh_token: SecretStr = Field(..., description="The seller's LWA refresh token.")
    token_url: str = Field(
        "https://api.amazon.com/auth/o2/token", description="The LWA token endpoint."
    )

    _token: tuple[str, float] | None = PrivateAttr(None)

    def access_token(self, client: Any = None, *, refresh: bool = False) -> str:
        """A valid access token: the cached one until a minute before it expires, else a new
        one from the refresh token (``refresh`` forces a new one)."""
        if self._token and not refresh and time.monotonic() < self._token[1]:
            return self._token[0]
        import httpx

        where = block_label(self, "Amazon LWA")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token.get_secret_value(),
            "client_id": self.client_id,
            "client_secret": self.client_secret.get_secret_value(),
        }
        try:
            response = (client or httpx).post(self.token_url, data=form, timeout=30)
        except httpx.TransportError as exc:
            raise TransientConnectorError(
                f"{where}: cannot reach {self.token_url}: {exc}"
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientConnectorError(f"{where}: HTTP {response.status_code}")
        answer = _json(response)
        if response.status_code != 200 or "access_token" not in answer:
            reason = answer.get("error") or f"HTTP {response.status_code}"
            detail = answer.get("error_description") or ""
            raise TerminalConnectorError(
                f"{where}: the refresh token was refused ({reason}) {detail}"
            )
        lifetime = float(answer.get("expires_in") or 3600)
        self._token = (answer["access_token"], time.monotonic() + lifetime - TOKEN_MARGIN_SECONDS)
        return self._token[0]


@dataclass
class SkuResult:
    """Amazon's answer for one SKU: its status, submission id and issues."""

    sku: str
    status: str
    submission_id: str | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [i for i in self.issues if i.get("severity", "ERROR") == "ERROR"]

    def describe(self) -> str:
        issues = "; ".join(
            f"{i.get('severity', 'ERROR')} {i.get('code', '')}: {i.get('message', '')}".strip()
            + (f" ({', '.join(i['attributeNames'])})" if i.get("attributeNames") else "")
            for i in self.issues
        )
        return f"{self.sku}: {self.status}" + (f" — {issues}" if issues else "")


class AmazonListings(Block):
    """Amazon listings of the catalogue through the SP-API Listings Items API (PUT or PATCH).

    Attributes:
        credentials: The LWA credentials block.
        seller_id: The selling partner (merchant) identifier.
        marketplace_id: The marketplace listed in (ATVPDKIKX0DER is amazon.com).
        endpoint: The SP-API regional endpoint.
        product_type: Amazon's product type for every listing, e.g. SCREW or PRODUCT.
        product_type_column: A catalogue column holding each row's product type instead.
        method: put (whole listings) or patch (only `patch_attributes`).
        patch_attributes: The attributes a patch replaces, e.g. purchasable_offer.
        fields: Amazon attribute → catalogue column, on top of the defaults.
        requirements: LISTING, LISTING_OFFER_ONLY or LISTING_PRODUCT_ONLY.
        language_tag: The language of text attributes, e.g. en_US.
        currency: The currency of prices.
        condition: The condition of every listing, e.g. new_new.
        weight_unit: The unit of the weight column.
        max_requests_per_second: The pace before Amazon reports its rate limit.
        attempts: Tries per listing on 429 and 5xx.
        retry_base_seconds: The first back-off pause; it doubles per retry (with jitter).

    Example:
        List the catalogue on Amazon:
        ```python
        from connectors.amazon_sp import AmazonListings

        amazon = AmazonListings.load("BLOCK_NAME")
        with amazon.open(columns=["sku", "title"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow Amazon Listings"
    _block_type_slug = "skuflow-amazon-listings"

    credentials: AmazonSPCredentials = Field(..., description="The LWA credentials block.")
    seller_id: str = Field(..., description="The selling partner (merchant) identifier.")
    marketplace_id: str = Field("ATVPDKIKX0DER", description="The marketplace identifier.")
    endpoint: str = Field(
        "https://sellingpartnerapi-na.amazon.com", description="The SP-API regional endpoint."
    )
    product_type: str = Field("PRODUCT", description="Amazon's product type for every listing.")
    product_type_column: str | None = Field(
        None, description="A catalogue column with each row's product type instead."
    )
    method: Literal["put", "patch"] = Field(
        "put", description="put whole listings, or patch only the patch attributes."
    )
    patch_attributes: list[str] = Field(
        default_factory=lambda: ["purchasable_offer", "fulfillment_availability"],
        description="The attributes a patch replaces.",
    )
    fields: dict[str, str] = Field(
        default_factory=dict, description="Amazon attribute to catalogue column, over defaults."
    )
    requirements: Literal["LISTING", "LISTING_OFFER_ONLY", "LISTING_PRODUCT_ONLY"] = Field(
        "LISTING", description="Which attributes Amazon requires of each listing."
    )
    language_tag: str = Field("en_US", description="The language of text attributes.")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="The currency of prices.")
    condition: str = Field("new_new", description="The condition of every listing.")
    weight_unit: Literal["kg", "g", "lb", "oz"] = Field("kg", description="The weight unit.")
    max_requests_per_second: float = Field(
        5.0, gt=0, description="The pace until Amazon reports its rate limit."
    )
    attempts: int = Field(6, ge=1, description="Tries per listing on 429 and 5xx.")
    retry_base_seconds: float = Field(
        1.0, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    def describe(self) -> str:
        return block_label(self, f"Amazon listings of seller {self.seller_id}")

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> AmazonListingsWriter:
        """Start collecting rows; they are listed at `commit()`. `replace` is refused: listings
        missing from the catalogue are never deleted."""
        where = self.describe()
        if mode == "replace":
            raise TerminalConnectorError(
                f"{where}: listings are put or patched per SKU; use mode 'upsert'"
            )
        if key not in columns:
            raise TerminalConnectorError(f"{where}: key column '{key}' is not written")
        missing = sorted({c for c in self.fields.values() if c not in columns})
        if self.product_type_column and self.product_type_column not in columns:
            missing.append(self.product_type_column)
        if missing:
            raise TerminalConnectorError(f"{where}: unknown column(s) {missing}")
        mapped = {a: self.fields[a] for a in self.fields}
        for attribute, candidates in DEFAULT_FIELDS.items():
            if attribute not in mapped:
                column = next((c for c in candidates if c in columns), None)
                if column:
                    mapped[attribute] = column
        return AmazonListingsWriter(self, key=key, mapped=mapped)

    def attributes(self, row: dict[str, Any], mapped: dict[str, str]) -> dict[str, Any]:
        """The listing attributes of a row, shaped as the Listings Items API wants them."""
        attributes: dict[str, Any] = {}
        for attribute, column in mapped.items():
            value = row.get(column)
            shaped = self._shape(ATTRIBUTE_KINDS.get(attribute, "localized"), value)
            if shaped:
                attributes[attribute] = shaped
        attributes.setdefault("condition_type", [self._mark({"value": self.condition})])
        return attributes

    def _shape(self, kind: str, value: Any) -> list[dict[str, Any]] | None:
        values = value if isinstance(value, list) else [value]
        texts = [t for v in values if (t := (to_text(v) or "").strip())]
        if not texts:
            return None
        number = _number(texts[0])
        if kind == "localized":
            return [self._mark({"value": t, "language_tag": self.language_tag}) for t in texts]
        if kind == "plain":
            return [self._mark({"value": texts[0]})]
        if kind == "identifier":
            gtin = normalize_gtin(texts[0]) or texts[0]
            kind_name = GTIN_TYPES.get(len(gtin), "gtin")
            return [self._mark({"type": kind_name, "value": gtin})]
        if kind == "image":
            return [self._mark({"media_location": texts[0]})]
        if number is None:
            return None
        if kind == "offer":
            return [
                self._mark(
                    {
                        "currency": self.currency,
                        "our_price": [{"schedule": [{"value_with_tax": number}]}],
                    }
                )
            ]
        if kind == "price":
            return [self._mark({"value": number, "currency": self.currency})]
        if kind == "quantity":
            return [{"fulfillment_channel_code": "DEFAULT", "quantity": max(int(number), 0)}]
        return [self._mark({"value": number, "unit": WEIGHT_UNITS[self.weight_unit]})]

    def _mark(self, value: dict[str, Any]) -> dict[str, Any]:
        return {**value, "marketplace_id": self.marketplace_id}


class AmazonListingsWriter(WriterLifecycle):
    """Rows buffered to a temporary JSON Lines file; `commit()` lists them one SKU at a time."""

    def __init__(self, block: AmazonListings, *, key: str, mapped: dict[str, str]) -> None:
        self._block = block
        self._where = block.describe()
        self._key = key
        self._mapped = mapped
        self._state = "open"
        self._interval = 1 / block.max_requests_per_second
        self._last_request = 0.0
        self.results: list[SkuResult] = []
        """Amazon's answer per SKU, in the order sent."""
        handle, self._path = tempfile.mkstemp(prefix="skuflow-amazon-", suffix=".jsonl")
        self._stream = os.fdopen(handle, "w", encoding="utf-8")

    def __enter__(self) -> AmazonListingsWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self._state != "open":
            raise TerminalConnectorError(f"{self._where}: this write is {self._state}")
        self._stream.writelines(json.dumps(row, default=str) + "\n" for row in rows)

    def commit(self) -> WriteResult:
        """Put or patch every buffered row; raise naming each SKU Amazon refused."""
        import httpx

        if self._state != "open":
            raise TerminalConnectorError(f"{self._where}: this write is {self._state}")
        self._stream.close()
        try:
            with httpx.Client(base_url=self._block.endpoint, timeout=60) as client:
                for row in self._rows():
                    self.results.append(self._send(client, row))
        except (TerminalConnectorError, TransientConnectorError) as exc:
            self._state = "aborted"
            raise type(exc)(f"{exc} (after {len(self.results)} SKU(s) sent)") from None
        finally:
            os.unlink(self._path)
        self._state = "committed"
        refused = [r for r in self.results if r.status != "ACCEPTED" or r.errors]
        if refused:
            shown = "\n".join(r.describe() for r in refused[:20])
            more = f"\n… and {len(refused) - 20} more" if len(refused) > 20 else ""
            raise TerminalConnectorError(
                f"{self._where}: Amazon refused {len(refused)} of {len(self.results)} "
                f"listing(s):\n{shown}{more}"
            )
        warned = sum(1 for r in self.results if r.issues)
        return WriteResult(
            destination=self._where,
            rows=len(self.results),
            location=f"{self._block.endpoint} ({len(self.results)} accepted, {warned} with "
            "warnings)",
        )

    def abort(self) -> None:
        """Send nothing and drop the buffered rows."""
        if self._state == "open":
            self._state = "aborted"
            self._stream.close()
            os.unlink(self._path)

    def _rows(self) -> Iterator[dict[str, Any]]:
        with open(self._path, encoding="utf-8") as stream:
            for line in stream:
                yield json.loads(line)

    def _body(self, row: dict[str, Any]) -> dict[str, Any]:
        block = self._block
        product_type = (
            to_text(row.get(block.product_type_column)) if block.product_type_column else None
        ) or block.product_type
        attributes = block.attributes(row, self._mapped)
        if block.method == "put":
            return {
                "productType": product_type,
                "requirements": block.requirements,
                "attributes": attributes,
            }
        patches = [
            {"op": "replace", "path": f"/attributes/{name}", "value": attributes[name]}
            for name in block.patch_attributes
            if name in attributes
        ]
        return {"productType": product_type, "patches": patches}

    def _send(self, client: Any, row: dict[str, Any]) -> SkuResult:
        import httpx

        block = self._block
        sku = to_text(row.get(self._key)) or ""
        path = LISTINGS_PATH.format(seller=quote(block.seller_id, safe=""), sku=quote(sku, safe=""))
        params = {"marketplaceIds": block.marketplace_id, "issueLocale": block.language_tag}
        body = self._body(row)
        if block.method == "patch" and not body["patches"]:
            return SkuResult(sku, "SKIPPED", issues=[{"severity": "INFO", "message": "no values"}])
        refreshed = refresh = False
        for attempt in range(1, block.attempts + 1):
            self._pace()
            token = block.credentials.access_token(client, refresh=refresh)
            refresh = False
            headers = {
                "x-amz-access-token": token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            try:
                response = client.request(
                    block.method.upper(), path, params=params, json=body, headers=headers
                )
            except httpx.TransportError as exc:  # a dropped connection, a timeout
                if attempt == block.attempts:
                    raise TransientConnectorError(f"{self._where}: {sku}: {exc}") from None
                self._back_off(attempt, None)
                continue
            self._learn_rate(response.headers.get("x-amzn-RateLimit-Limit"))
            status = response.status_code
            answer = _json(response)
            if status == 403 and not refreshed and _expired_token(answer):
                refreshed = refresh = True
                continue
            if status == 429 or status >= 500:
                if attempt == block.attempts:
                    raise TransientConnectorError(
                        f"{self._where}: {sku}: HTTP {status} after {attempt} tries"
                    )
                self._back_off(attempt, response.headers.get("Retry-After"))
                continue
            if status in (401, 403):
                raise TerminalConnectorError(
                    f"{self._where}: credentials rejected (HTTP {status}): {_errors_text(answer)}"
                )
            return _result(sku, status, answer)
        raise TransientConnectorError(f"{self._where}: {sku}: no answer")  # pragma: no cover

    def _pace(self) -> None:
        wait = self._last_request + self._interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request = time.monotonic()

    def _learn_rate(self, header: str | None) -> None:
        rate = _number(header)
        if rate and rate > 0:
            self._interval = 1 / rate

    def _back_off(self, attempt: int, retry_after: str | None) -> None:
        base = self._block.retry_base_seconds * 2 ** (attempt - 1)
        pause = max(self._interval, random.uniform(base / 2, base))
        seconds = _number(retry_after)
        time.sleep(max(pause, seconds or 0.0))


def _result(sku: str, status: int, answer: dict[str, Any]) -> SkuResult:
    if "status" in answer:
        return SkuResult(
            sku=answer.get("sku") or sku,
            status=str(answer["status"]),
            submission_id=answer.get("submissionId"),
            issues=list(answer.get("issues") or []),
        )
    issues = [
        {"code": e.get("code"), "message": e.get("message"), "severity": "ERROR"}
        for e in answer.get("errors") or []
    ] or [{"code": f"HTTP {status}", "message": "no answer body", "severity": "ERROR"}]
    return SkuResult(sku=sku, status="INVALID", issues=issues)


def _json(response: Any) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _expired_token(answer: dict[str, Any]) -> bool:
    return any(
        e.get("code") == "Unauthorized" and "expired" in str(e.get("details", "")).lower()
        for e in answer.get("errors") or []
    )


def _errors_text(answer: dict[str, Any]) -> str:
    return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in answer.get("errors") or [])


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "").strip()) if value is not None else None
    except ValueError:
        return None
