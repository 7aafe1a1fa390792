"""The `enrich` and `enrich-catalog` flows through a real Prefect harness."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.db import session_scope
from catalog.errors import InputError
from catalog.models import Record, Run
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema
from enrichment.config import EnrichConfig
from enrichment.models import Conflict
from flows.enrich import enrich
from flows.enrich_catalog import enrich_catalog
from tests.enrichment.web_server import WebServer

PAGE = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Product", "name": "6205-2RS",
 "additionalProperty": [
   {"@type": "PropertyValue", "name": "Bore diameter", "value": 25, "unitCode": "MMT"},
   {"@type": "PropertyValue", "name": "Outer diameter", "value": "5.2 cm"}]}
</script></head><body></body></html>"""


@pytest.mark.usefixtures("prefect_harness")
def test_the_enrich_flow_returns_seed_003_results(web: WebServer) -> None:
    web.pages["/bearings/6205-2RS"] = PAGE
    config = EnrichConfig(
        url_templates=[web.origin + "/bearings/{part_number}"],
        allow_addresses=list(web.allow),
        per_host_interval=0.0,
        quality_prompt="complete bearing data?",
    )
    body = enrich(
        items=[
            {"part_number": "6205-2RS", "name": "Deep Groove Ball Bearing"},
            {"part_number": "NOPE", "name": "Unknown"},
        ],
        output_schema=[
            {"name": "bore_diameter", "type": "string", "description": "Inner diameter in mm"},
            {"name": "outer_diameter", "type": "string", "description": "Outer diameter in mm"},
        ],
        config=config,
        include_source_explanations=True,
    )
    assert body["status"] == "completed" and body["total_items"] == 2
    found, missing = body["results"]
    url = web.url("/bearings/6205-2RS")
    after = found["after_data"]
    assert after["bore_diameter"] == "25 mm" and after["outer_diameter"] == "52 mm"
    assert after["sources"] == {"bore_diameter": [url], "outer_diameter": [url]}
    assert "json-ld" in after["source_explanations"]["bore_diameter"]
    assert found["all_sources"] == [url]
    assert 1 <= found["quality_score"] <= 5
    assert "bore_diameter" not in missing["after_data"]
    assert missing["review_info"]["flag_record"] is True
    assert any("HTTP 404" in f for f in missing["review_info"]["flags"])


@pytest.mark.usefixtures("prefect_harness")
def test_a_malformed_output_schema_fails_before_any_work() -> None:
    with pytest.raises(InputError, match="field 1"):
        enrich(items=[{"a": 1}], output_schema=[{"name": "x", "type": "decimal"}])


@pytest.mark.usefixtures("prefect_harness")
def test_the_enrich_catalog_flow_enriches_stored_records_once(
    web: WebServer, tmp_path: Path
) -> None:
    web.pages["/bearings/6205-2RS"] = PAGE
    url = f"sqlite:///{tmp_path / 'store.db'}"
    schema = CatalogSchema.from_dict(
        {
            "name": "bearings",
            "id": "part_number",
            "attributes": [
                {"name": "part_number"},
                {"name": "bore_diameter", "type": "number", "unit": "mm"},
                {"name": "outer_diameter", "type": "number", "unit": "mm"},
            ],
        }
    )
    with session_scope(url) as session:
        org = get_or_create_organization(session, name="acme")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        session.add_all(
            Record(
                catalog_id=catalog.id,
                external_id=key,
                source_values=values,
                values=values,
                content_hash=key,
            )
            for key, values in {
                "6205-2RS": {"part_number": "6205-2RS", "outer_diameter": 47.0},
                "NOPE": {"part_number": "NOPE"},
            }.items()
        )
    params = {
        "catalog": "bearings",
        "output_schema": [
            {"name": "bore_diameter", "type": "number", "unit": "mm", "description": "Bore"},
            {"name": "outer_diameter", "type": "number", "unit": "mm", "description": "OD"},
        ],
        "config": EnrichConfig(
            providers=["web"],
            url_templates=[web.origin + "/bearings/{part_number}"],
            allow_addresses=list(web.allow),
            per_host_interval=0.0,
        ),
        "organization": "acme",
        "database_url": url,
    }
    first = enrich_catalog(**params)
    assert first["counts"]["processed"] == 2
    assert first["counts"]["queued_for_review"] == 1  # bore 25 mm from one page
    assert first["counts"]["conflicts"] == 1  # page says 52 mm, record holds 47
    with session_scope(url) as session:
        conflict = session.scalar(select(Conflict))
        assert (conflict.existing_value, conflict.proposed_value) == (47.0, 52.0)
        run = session.get(Run, first["run_id"])
        assert run.status == "completed"
    again = enrich_catalog(**params)
    assert again["counts"] == {}  # nothing left to do at this content and version
