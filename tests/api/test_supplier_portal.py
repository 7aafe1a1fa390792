"""The supplier portal over HTTP: tokens issued with an API key, files PUT with a supplier token."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from catalog.db import session_scope
from catalog.models import Record
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema

SCHEMA = """
name: parts
kind: products
id: sku
text: [title]
unknown_columns: ignore
attributes:
  - {name: sku, type: text, required: true, source: ["sku"]}
  - {name: title, type: text, required: true, source: ["title"]}
  - {name: price, type: number, min: 0, source: ["price"]}
"""


def owner_with_catalogue(api, tmp_path) -> httpx.Client:
    organization, key = api.new_key()
    (tmp_path / "parts.yaml").write_text(SCHEMA)
    with session_scope(api.store_url) as session:
        org = get_or_create_organization(session, name=organization)
        upsert_catalog(
            session, organization=org, schema=CatalogSchema.from_yaml(tmp_path / "parts.yaml")
        )
    return api.client(key=key)


def stored_skus(api, catalog_id_of: str) -> set[str]:
    with session_scope(api.store_url) as session:
        return set(
            session.scalars(
                sa.select(Record.external_id).where(Record.external_id.like(f"{catalog_id_of}%"))
            )
        )


def test_supplier_uploads_a_good_file_and_a_bad_one(api, tmp_path):
    owner = owner_with_catalogue(api, tmp_path)
    issued = owner.post("/api/catalogs/parts/supplier-tokens", json={"supplier": "Acme"})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    supplier = httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )

    good = supplier.put("/api/portal/uploads/acme.csv", content=b"sku,title,price\nPP-1,Bolt,1.5\n")
    assert good.status_code == 201, good.text
    assert good.json() | {"run_id": None} == {
        "supplier": "Acme",
        "file": "acme.csv",
        "run_id": None,
        "rows": 1,
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "onboarding": "completed",
    }

    bad = supplier.put(
        "/api/portal/uploads/acme.csv", content=b"sku,title,price\nPP-2,Nut,-3\nPP-3,,1\n"
    )
    assert bad.status_code == 422
    details = bad.json()["error"]["details"]
    assert [(d["row"], d["field"]) for d in details] == [(2, "price"), (3, "title")]
    assert all(d["source"] == "acme.csv" for d in details)
    assert stored_skus(api, "PP-") == {"PP-1"}

    assert (
        supplier.put(
            "/api/portal/uploads/x.csv",
            headers={"Authorization": "Bearer sup_x_y"},
            content=b"sku\n",
        ).status_code
        == 401
    )
    assert owner.delete(f"/api/supplier-tokens/{issued.json()['id']}").status_code == 204
    again = supplier.put("/api/portal/uploads/acme.csv", content=b"sku,title\nPP-9,Pin\n")
    assert again.status_code == 401
    supplier.close()


def test_tokens_of_another_organization_cannot_be_revoked(api, tmp_path):
    owner = owner_with_catalogue(api, tmp_path)
    issued = owner.post("/api/catalogs/parts/supplier-tokens", json={"supplier": "Acme"}).json()
    stranger = api.client()
    assert stranger.delete(f"/api/supplier-tokens/{issued['id']}").status_code == 404
    assert (
        stranger.post("/api/catalogs/parts/supplier-tokens", json={"supplier": "X"}).status_code
        == 404
    )
