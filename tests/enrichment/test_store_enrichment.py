"""Stored records enriched from web evidence: changes with sources, conflicts, safe re-runs."""

from __future__ import annotations

from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Catalog, Change, Organization, Record
from catalog.schema import CatalogSchema
from enrichment.config import EnrichConfig
from enrichment.engine import EnrichOptions
from enrichment.fetch import SafeFetcher
from enrichment.models import Conflict
from enrichment.stage import enrich_stored_records, plan_enrichment
from tests.enrichment.web_server import WebServer

PAGE_A = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Product", "name": "Anvil",
 "weight": {"@type": "QuantitativeValue", "value": 1.2, "unitCode": "KGM"}, "color": "Red"}
</script></head></html>"""
PAGE_B = (
    "<table><tr><th>Weight</th><td>1200 g</td></tr><tr><th>Colour</th><td>Red</td></tr></table>"
)

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "anvils",
        "id": "sku",
        "attributes": [
            {"name": "sku"},
            {"name": "url"},
            {"name": "product_url"},
            {"name": "weight_kg", "type": "number", "unit": "kg"},
            {"name": "color"},
        ],
    }
)
OUTPUT = [
    {"name": "weight_kg", "type": "number", "unit": "kg", "description": "Weight"},
    {"name": "color", "type": "string", "description": "Colour"},
]


def test_stored_records_get_changes_and_conflicts(
    store_url: str, web: WebServer, fetcher: SafeFetcher
) -> None:
    web.pages["/store/a"], web.pages["/store/b"] = PAGE_A, PAGE_B
    rows = {
        "A-1": {"sku": "A-1", "url": web.url("/store/a"), "product_url": web.url("/store/b")},
        "A-2": {"sku": "A-2", "url": web.url("/store/a"), "color": "Blue"},
    }
    with session_scope(store_url) as session:
        org = Organization(name="acme")
        session.add(org)
        session.flush()
        catalog = Catalog(
            organization_id=org.id,
            name="anvils",
            schema=SCHEMA.model_dump(mode="json"),
            auto_apply=0.9,
            reject=0.5,
        )
        session.add(catalog)
        session.flush()
        records = {
            key: Record(
                catalog_id=catalog.id,
                external_id=key,
                source_values=values,
                values=values,
                content_hash=key,
            )
            for key, values in rows.items()
        }
        session.add_all(records.values())
        session.flush()
        ids = sorted(r.id for r in records.values())
        prepared = plan_enrichment(
            session,
            catalog_id=catalog.id,
            config=EnrichConfig(providers=["web"]),
            output_schema=OUTPUT,
        )
        run = {
            "prepared": prepared,
            "record_ids": ids,
            "options": EnrichOptions(providers=("web",), fetcher=fetcher, catalog=SCHEMA),
        }
        counts = enrich_stored_records(session, **run).counts
        assert counts["applied"] == 2  # weight and colour from two agreeing pages
        assert counts["queued_for_review"] == 1  # weight from one page only
        assert counts["conflicts"] == 1  # Red found, Blue kept
        session.refresh(records["A-1"])  # changes are written with Core statements
        session.refresh(records["A-2"])
        assert records["A-1"].values["weight_kg"] == 1.2
        assert records["A-2"].values["color"] == "Blue"
        change = session.scalar(
            select(Change).where(Change.record_id == records["A-1"].id, Change.field == "color")
        )
        assert change.sources == [web.url("/store/a"), web.url("/store/b")]
        conflict = session.scalar(select(Conflict))
        assert (conflict.existing_value, conflict.proposed_value) == ("Blue", "Red")
        assert conflict.record_key == "A-2"
        again = enrich_stored_records(session, **run).counts
        assert again["applied"] == again["queued_for_review"] == again["conflicts"] == 0
