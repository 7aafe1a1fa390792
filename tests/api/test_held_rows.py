"""Held rows in review: the rows a quarantining ingest kept out are listed by the change API
with their values and reasons, and the run's detail counts them."""

from __future__ import annotations

from pathlib import Path

from catalog.db import session_scope
from catalog.ingest import ingest_source
from catalog.repository import get_or_create_organization, start_run, upsert_catalog
from catalog.schema import CatalogSchema
from connectors.files import FileSource
from tests.api.conftest import Api

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "held-api",
        "id": "sku",
        "on_invalid": "quarantine",
        "attributes": [
            {"name": "sku", "required": True},
            {"name": "title", "required": True},
            {"name": "price", "type": "number", "min": 0, "required": True},
            {"name": "gtin", "type": "gtin"},
        ],
    }
)


def _ingest(api: Api, organization: str, path: Path) -> int:
    with session_scope(api.store_url) as session:
        org = get_or_create_organization(session, name=organization)
        catalog = upsert_catalog(session, organization=org, schema=SCHEMA)
        run = start_run(session, organization=org, catalog=catalog, operation="onboard")
        ingest_source(
            session,
            catalog_id=catalog.id,
            schema=SCHEMA,
            source=FileSource(path=str(path)),
            batch_size=100,
            run_id=run.id,
            hold_invalid=True,
        )
        return run.id


def test_held_rows_are_listed_with_their_reasons_and_counted_on_the_run(
    api: Api, tmp_path: Path
) -> None:
    organization, key = api.new_key()
    client = api.client(key=key)
    path = tmp_path / "feed.csv"
    path.write_text(
        "sku,title,price,gtin\n"
        "H-1,Bolt,1.5,036000291452\n"
        "H-2,Nut,-2,\n"
        "H-3,Washer,0.1,9800000000007\n",
        encoding="utf-8",
    )
    run_id = _ingest(api, organization, path)

    page = client.get("/api/catalogs/held-api/held").json()
    assert page["count"] == 2
    by_id = {row["external_id"]: row for row in page["data"]}
    assert set(by_id) == {"H-2", "H-3"}
    nut = by_id["H-2"]
    assert (nut["row"], nut["status"], nut["new_record"], nut["halted"]) == (3, "held", True, False)
    assert nut["values"]["price"] == -2
    assert nut["reasons"][0]["rule"] == "price_at_least_0"
    assert "coupon" in by_id["H-3"]["reasons"][0]["message"]
    assert client.get(f"/api/catalogs/held-api/runs/{run_id}").json()["held"] == 2
    assert client.get("/api/catalogs/held-api/held", params={"status": "resolved"}).json() == {
        "data": [],
        "count": 0,
    }
    # another organization sees none of them
    assert api.client().get("/api/catalogs/held-api/held").status_code == 404
