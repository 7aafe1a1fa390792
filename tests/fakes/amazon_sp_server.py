"""A local Selling Partner API: Login with Amazon's token endpoint and the Listings Items API.

- `POST /auth/o2/token` (form, grant_type=refresh_token): a new `Atza|…` access token that
  expires after `expires_in` seconds, or 400 `invalid_grant` for an unknown refresh token.
- `PUT /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…`: a whole listing
  (`productType`, `requirements`, `attributes`); INVALID with an ERROR issue per missing
  required attribute (item_name, brand; purchasable_offer for LISTING), a WARNING when there is
  no product_description, ACCEPTED otherwise (the listing is kept).
- `PATCH` on the same path: `patches` (JSON patch: add / replace / delete of `/attributes/x`)
  applied to a kept listing; INVALID for an unknown SKU or a bad path.
- `x-amz-access-token` must be a token issued and not expired, else 403 `Unauthorized`
  ("The access token you provided has expired."). Queued throttles answer 429 `QuotaExceeded`.
  Every answer carries `x-amzn-RateLimit-Limit`; request times are kept to check the pace.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.server import JsonHandler, LocalServer

CLIENT_ID = "amzn1.application-oa2-client.skuflow"
CLIENT_SECRET = "lwa-client-secret"
REFRESH_TOKEN = "Atzr|skuflow-refresh-token"
MARKETPLACE = "ATVPDKIKX0DER"
LISTINGS = "/listings/2021-08-01/items/"


@dataclass
class FakeAmazon:
    rate_limit: float = 20.0
    """What `x-amzn-RateLimit-Limit` says (requests per second)."""
    expires_in: int = 3600
    tokens: dict[str, float] = field(default_factory=dict)
    """Issued access token → when it expires (monotonic seconds)."""
    token_requests: int = 0
    listings: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(seller, sku) → {"productType": …, "attributes": {…}}."""
    requests: list[tuple[str, str, float]] = field(default_factory=list)
    """(method, sku, time) of every listings call, answered or not."""
    throttles: int = 0
    """How many of the next listings calls answer 429."""
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.token_requests += 1
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client", "error_description": "Client auth failed"}
            if form.get("refresh_token") != REFRESH_TOKEN:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter",
                }
            token = f"Atza|{uuid.uuid4().hex}"
            self.tokens[token] = time.monotonic() + self.expires_in
            return 200, {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "refresh_token": REFRESH_TOKEN,
            }

    def listing(
        self, method: str, path: str, token: str | None, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        url = urlsplit(path)
        seller, _, sku = url.path.removeprefix(LISTINGS).partition("/")
        seller, sku = unquote(seller), unquote(sku)
        query = parse_qs(url.query)
        with self.lock:
            self.requests.append((method, sku, time.monotonic()))
            if self.throttles:
                self.throttles -= 1
                return 429, {
                    "errors": [
                        {
                            "code": "QuotaExceeded",
                            "message": "You exceeded your quota for the requested resource.",
                        }
                    ]
                }
            if token not in self.tokens or self.tokens[token] < time.monotonic():
                return 403, {
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "The access token you provided has expired.",
                        }
                    ]
                }
            if query.get("marketplaceIds") != [MARKETPLACE]:
                return 400, {"errors": [{"code": "InvalidInput", "message": "marketplaceIds"}]}
            if method == "PUT":
                return self._put(seller, sku, body)
            return self._patch(seller, sku, body)

    def _put(self, seller: str, sku: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        attributes = body.get("attributes") or {}
        required = ["item_name", "brand"]
        if body.get("requirements", "LISTING") == "LISTING":
            required.append("purchasable_offer")
        issues = [
            {
                "code": "90220",
                "message": f"'{name}' is required but not supplied.",
                "severity": "ERROR",
                "attributeNames": [name],
            }
            for name in required
            if not attributes.get(name)
        ]
        if not body.get("productType"):
            issues.append({"code": "4000001", "message": "no productType", "severity": "ERROR"})
        if not attributes.get("product_description"):
            issues.append(
                {
                    "code": "99022",
                    "message": "'product_description' is recommended.",
                    "severity": "WARNING",
                    "attributeNames": ["product_description"],
                }
            )
        if any(i["severity"] == "ERROR" for i in issues):
            return 400, {"sku": sku, "status": "INVALID", "submissionId": _id(), "issues": issues}
        self.listings[(seller, sku)] = {
            "productType": body["productType"],
            "attributes": json.loads(json.dumps(attributes)),
        }
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": _id(), "issues": issues}

    def _patch(self, seller: str, sku: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        listing = self.listings.get((seller, sku))
        if listing is None:
            return 404, {"errors": [{"code": "NOT_FOUND", "message": f"SKU {sku} not found"}]}
        for patch in body.get("patches") or []:
            name = str(patch.get("path", "")).removeprefix("/attributes/")
            if not patch.get("path", "").startswith("/attributes/") or not name:
                return 400, {
                    "sku": sku,
                    "status": "INVALID",
                    "issues": [{"code": "4000003", "message": "bad path", "severity": "ERROR"}],
                }
            if patch.get("op") == "delete":
                listing["attributes"].pop(name, None)
            else:
                listing["attributes"][name] = patch.get("value")
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": _id(), "issues": []}


def _id() -> str:
    return uuid.uuid4().hex


class _Handler(JsonHandler):
    def do_POST(self) -> None:  # stdlib name
        amazon: FakeAmazon = self.server.state  # type: ignore[attr-defined]
        if urlsplit(self.path).path != "/auth/o2/token":
            self.reply(404, {"errors": [{"code": "NotFound", "message": self.path}]})
            return
        form = {k: v[0] for k, v in parse_qs(self.read_body().decode()).items()}
        status, answer = amazon.token(form)
        self.reply(status, answer)

    def do_PUT(self) -> None:  # stdlib name
        self._listing("PUT")

    def do_PATCH(self) -> None:  # stdlib name
        self._listing("PATCH")

    def _listing(self, method: str) -> None:
        amazon: FakeAmazon = self.server.state  # type: ignore[attr-defined]
        if not self.path.startswith(LISTINGS):
            self.reply(404, {"errors": [{"code": "NotFound", "message": self.path}]})
            return
        body = self.read_json() or {}
        status, answer = amazon.listing(
            method, self.path, self.headers.get("x-amz-access-token"), body
        )
        self.reply(status, answer, headers={"x-amzn-RateLimit-Limit": str(amazon.rate_limit)})


@contextmanager
def start_amazon() -> Iterator[FakeAmazon]:
    amazon = FakeAmazon()
    server = LocalServer(_Handler, amazon).start()
    amazon.base_url = server.url
    try:
        yield amazon
    finally:
        server.stop()
