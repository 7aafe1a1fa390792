"""Web enrichment end to end against a local server: every markup kind, per-field source URLs,
agreement raising confidence, nothing without evidence, conflicts instead of overwrites."""

from __future__ import annotations

import json

import pytest

from enrichment.engine import EnrichOptions, enrich_items
from enrichment.fetch import SafeFetcher
from enrichment.output_schema import OutputSchema
from tests.enrichment.web_server import HTML_ROOT, WebServer, shared_path

EXAMPLES = HTML_ROOT / "schemaorg_examples" / "schemaorg_product_examples.jsonl"

PRODUCT_SCHEMA = OutputSchema.parse(
    [
        {"name": "name", "type": "string", "description": "Product name"},
        {"name": "rating", "type": "number", "description": "Average rating"},
        {"name": "price", "type": "number", "description": "Price"},
    ]
)

ANVIL_JSONLD = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Product", "name": "Executive Anvil",
 "brand": {"@type": "Brand", "name": "ACME"}, "gtin13": "0012345678905", "color": "Red",
 "weight": {"@type": "QuantitativeValue", "value": 1.2, "unitCode": "KGM"}}
</script></head><body><h1>Executive Anvil</h1></body></html>"""

ANVIL_SPECS = """<html><body><h1>Anvil, executive</h1><table>
<tr><th>Weight</th><td>1200 g</td></tr><tr><th>Colour</th><td>red</td></tr>
<tr><th>Brand</th><td>ACME</td></tr></table></body></html>"""

ANVIL_OTHER = """<html><body><dl><dt>Weight:</dt><dd>1.5 kg</dd></dl></body></html>"""

ANVIL_SCHEMA = OutputSchema.parse(
    [
        {"name": "weight_kg", "type": "number", "unit": "kg", "description": "Weight"},
        {"name": "color", "type": "string", "enum": ["Red", "Blue"], "description": "Colour"},
        {"name": "brand", "type": "string", "description": "Brand"},
        {"name": "warranty_years", "type": "integer", "description": "Warranty", "required": True},
    ]
)


@pytest.fixture(scope="module")
def kenmore(web: WebServer) -> None:
    """schema.org's Kenmore example in its three markups, from the shared samples."""
    example = next(
        json.loads(line)
        for line in shared_path(EXAMPLES).read_text(encoding="utf-8").splitlines()
        if json.loads(line).get("example_id") == "#eg-0010"
    )
    web.pages["/kenmore/jsonld"] = f"<html><head>{example['jsonld']}</head><body></body></html>"
    web.pages["/kenmore/microdata"] = f"<html><body>{example['microdata']}</body></html>"
    web.pages["/kenmore/rdfa"] = f"<html><body>{example['rdfa']}</body></html>"


@pytest.fixture(scope="module", autouse=True)
def pages(web: WebServer) -> None:
    web.pages["/anvil/a"] = ANVIL_JSONLD
    web.pages["/anvil/b"] = ANVIL_SPECS
    web.pages["/anvil/c"] = ANVIL_OTHER


def web_options(fetcher: SafeFetcher, **kwargs) -> EnrichOptions:
    return EnrichOptions(providers=("web",), fetcher=fetcher, **kwargs)


@pytest.mark.parametrize(
    ("kind", "price"), [("jsonld", 55.0), ("microdata", 1000.0), ("rdfa", 1000.0)]
)
@pytest.mark.usefixtures("kenmore")
def test_each_schema_org_markup_kind_fills_fields_with_the_page_as_source(
    web: WebServer, fetcher: SafeFetcher, kind: str, price: float
) -> None:
    url = web.url(f"/kenmore/{kind}")
    [result] = enrich_items([{"url": url}], PRODUCT_SCHEMA, web_options(fetcher))
    assert result.values == {"name": 'Kenmore White 17" Microwave', "rating": 3.5, "price": price}
    assert result.sources == {"name": [url], "rating": [url], "price": [url]}
    method = {"jsonld": "json-ld"}.get(kind, kind)
    assert result.explanations["price"].startswith(f"{method} on {url}")


def test_opengraph_and_tech_fingerprints_from_a_real_shop_page(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    url = web.url("/shared/extruct_samples/misc__opengraph_ns_product_test.html")
    schema = OutputSchema.parse(
        [
            {"name": "gtin", "type": "string", "description": "GTIN"},
            {"name": "tech_stack", "type": "array", "description": "Software the site uses"},
        ]
    )
    [result] = enrich_items([{"url": url}], schema, web_options(fetcher))
    assert result.values["gtin"] == "32429335302"
    assert "opengraph" in result.explanations["gtin"]
    assert "Salesforce Commerce Cloud" in result.values["tech_stack"]
    assert result.sources["tech_stack"] == [url]


def test_spec_tables_are_read_and_units_converted(web: WebServer, fetcher: SafeFetcher) -> None:
    url = web.url("/anvil/b")
    [result] = enrich_items([{"url": url}], ANVIL_SCHEMA, web_options(fetcher))
    assert result.values["weight_kg"] == 1.2
    assert result.values["color"] == "Red"
    assert "spec-table" in result.explanations["weight_kg"]


def test_a_value_on_two_sources_is_more_confident_than_on_one(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    one = {"url": web.url("/anvil/a")}
    two = {"url": web.url("/anvil/a"), "product_url": web.url("/anvil/b")}
    single, double = enrich_items([one, two], ANVIL_SCHEMA, web_options(fetcher))
    assert single.values["weight_kg"] == double.values["weight_kg"] == 1.2
    assert double.confidence["weight_kg"] > single.confidence["weight_kg"]
    assert double.sources["weight_kg"] == [web.url("/anvil/a"), web.url("/anvil/b")]
    assert single.decisions["weight_kg"] == "review"  # one source alone is below auto-apply
    assert double.decisions["weight_kg"] == "applied"


def test_a_value_without_evidence_is_never_written(web: WebServer, fetcher: SafeFetcher) -> None:
    [result] = enrich_items([{"url": web.url("/anvil/a")}], ANVIL_SCHEMA, web_options(fetcher))
    assert "warranty_years" not in result.values
    assert "warranty_years" not in result.sources
    assert "warranty_years" not in result.after_data()
    issue = next(i for i in result.field_issues if i.field == "warranty_years")
    assert issue.severity == "error" and "no evidence" in issue.message
    assert result.flag_record


def test_disagreeing_sources_are_capped_and_flagged(web: WebServer, fetcher: SafeFetcher) -> None:
    item = {"url": web.url("/anvil/a"), "product_url": web.url("/anvil/c")}
    [result] = enrich_items([item], ANVIL_SCHEMA, web_options(fetcher))
    assert result.confidence["weight_kg"] <= 0.6
    assert result.decisions["weight_kg"] == "review"
    assert "sources_disagree" in result.flags
    assert any(i.validator == "agreement" and "1.5" in i.message for i in result.field_issues)


def test_a_disagreeing_existing_value_becomes_a_conflict_not_an_overwrite(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    item = {"sku": "A-1", "weight_kg": 2.0, "brand": "ACME", "url": web.url("/anvil/a")}
    [result] = enrich_items([item], ANVIL_SCHEMA, web_options(fetcher))
    assert result.after_data()["weight_kg"] == 2.0
    assert "weight_kg" not in result.values
    [conflict] = result.conflicts
    assert (conflict.field, conflict.existing, conflict.proposed) == ("weight_kg", 2.0, 1.2)
    assert conflict.sources == (web.url("/anvil/a"),)
    assert result.decisions["brand"] == "confirmed"
    assert result.flag_record


def test_a_failed_fetch_flags_the_item_and_adds_nothing(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    [result] = enrich_items(
        [{"url": web.url("/missing"), "product_url": "http://10.0.0.1/x"}],
        ANVIL_SCHEMA,
        web_options(fetcher),
    )
    assert result.values == {}
    assert any("HTTP 404" in f for f in result.flags)
    assert any("non-public address" in f for f in result.flags)
    assert result.flag_record


def test_url_templates_and_allowed_domains(web: WebServer, fetcher: SafeFetcher) -> None:
    template = web.origin + "/anvil/{code}"
    options = web_options(fetcher, url_templates=[template])
    [found, missing_key] = enrich_items([{"code": "a"}, {"other": 1}], ANVIL_SCHEMA, options)
    assert found.sources["weight_kg"] == [web.url("/anvil/a")]
    assert missing_key.values == {}
    fenced = web_options(fetcher, url_templates=[template], allowed_domains=["example.com"])
    [result] = enrich_items([{"code": "a"}], ANVIL_SCHEMA, fenced)
    assert result.values == {} and web.hits["/anvil/a"] >= 1


COMPANY_SITE = """<html><head>
<meta name="generator" content="WordPress 6.4.2">
<script src="https://www.googletagmanager.com/gtm.js?id=GTM-ABCD12"></script>
<link rel="stylesheet" href="/wp-content/themes/acme/style.css">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Organization", "name": "Acme Tools Ltd",
 "foundingDate": "1987-05-01", "numberOfEmployees": {"@type": "QuantitativeValue", "value": 250},
 "address": {"@type": "PostalAddress", "addressCountry": "United Kingdom"}}
</script></head><body><h1>Acme Tools</h1></body></html>"""


def test_firmographics_and_tech_stack_from_the_company_site(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    web.pages["/company"] = COMPANY_SITE
    schema = OutputSchema.parse(
        [
            {"name": "founding_year", "type": "integer", "description": "Year founded"},
            {"name": "employee_range", "type": "string", "description": "Employees"},
            {"name": "country", "type": "string", "description": "Headquarters country"},
            {"name": "tech_stack", "type": "array", "description": "Technologies used"},
        ]
    )
    [result] = enrich_items(
        [{"supplier": "Acme Tools", "website": web.url("/company")}], schema, web_options(fetcher)
    )
    assert result.values["founding_year"] == 1987
    assert result.values["employee_range"] == "201-500"
    assert result.values["country"] == "United Kingdom"
    assert result.values["tech_stack"] == ["WordPress", "Google Tag Manager"]


def test_merge_adds_found_items_to_an_existing_array(web: WebServer, fetcher: SafeFetcher) -> None:
    web.pages["/certs"] = (
        "<html><body><table><tr><th>Certifications</th><td>CE; UL</td></tr></table></body></html>"
    )
    schema = OutputSchema.parse(
        [{"name": "certifications", "type": "array", "merge": True, "description": "Certs"}]
    )
    [result] = enrich_items(
        [{"certifications": ["RoHS", "CE"], "url": web.url("/certs")}], schema, web_options(fetcher)
    )
    assert result.values["certifications"] == ["RoHS", "CE", "UL"]
    assert result.decisions["certifications"] == "merged"
    assert result.sources["certifications"] == ["input", web.url("/certs")]
    assert result.conflicts == []


def test_pages_under_allowed_domains_are_found_through_the_sitemap(
    web: WebServer, fetcher: SafeFetcher
) -> None:
    web.pages["/sitemap.xml"] = (
        '<?xml version="1.0"?><sitemapindex><sitemap><loc>'
        + web.url("/sitemap-products.xml")
        + "</loc></sitemap></sitemapindex>"
    )
    web.pages["/sitemap-products.xml"] = (
        "<urlset>"
        + "".join(
            f"<url><loc>{web.url(path)}</loc></url>"
            for path in ("/catalog/anvil-ax-1200-executive", "/catalog/hammer-hm-77", "/about")
        )
        + "</urlset>"
    )
    web.pages["/catalog/anvil-ax-1200-executive"] = ANVIL_SPECS
    options = web_options(fetcher, allowed_domains=[web.origin])
    found, unknown = enrich_items(
        [{"sku": "AX-1200", "name": "Anvil"}, {"sku": "ZZ-0000"}], ANVIL_SCHEMA, options
    )
    page = web.url("/catalog/anvil-ax-1200-executive")
    assert found.values["weight_kg"] == 1.2 and found.sources["weight_kg"] == [page]
    assert unknown.values == {}
    assert web.hits["/catalog/hammer-hm-77"] == 0
