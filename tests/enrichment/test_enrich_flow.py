"""The `enrich` flow (seed 003 request → response body) through a real Prefect harness."""

from __future__ import annotations

import pytest

from catalog.errors import InputError
from enrichment.config import EnrichConfig
from flows.enrich import enrich
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
