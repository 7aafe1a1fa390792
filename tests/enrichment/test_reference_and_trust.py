"""Reference data (product master, companies), conflicts in the store, quality and semantics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from catalog.db import session_scope
from catalog.errors import InputError
from catalog.models import Catalog, Change, Organization, Record
from catalog.schema import Thresholds
from enrichment.conflicts import list_conflicts, open_conflicts, resolve_conflict
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.firmographics import CompanyTable
from enrichment.output_schema import OutputSchema
from enrichment.providers.reference import ReferenceTable
from tests.conftest import shared_path

MASTER = pd.DataFrame(
    {
        "GTIN": ["00012345678905", "4006381333931"],
        "MPN": ["6205-2RS", "SK-9"],
        "Brand": ["SKF", "Stabilo"],
        "Name": ["Deep Groove Ball Bearing 6205", "Highlighter yellow"],
        "Outer diameter (mm)": ["52", ""],
        "Weight": ["0.128 kg", "12 g"],
    }
)
SCHEMA = OutputSchema.parse(
    [
        {"name": "outer_diameter", "type": "string", "description": "Outer diameter in mm"},
        {"name": "weight_g", "type": "number", "unit": "g", "description": "Weight"},
    ]
)


@pytest.fixture
def master() -> ReferenceTable:
    return ReferenceTable("product_master", MASTER)


def test_matched_by_gtin_across_gtin_lengths(master: ReferenceTable) -> None:
    [result] = enrich_items(
        [{"upc": "012345678905"}],
        SCHEMA,
        EnrichOptions(providers=("reference",), references=[master]),
    )
    assert result.values == {"outer_diameter": "52 mm", "weight_g": 128.0}
    assert result.sources["weight_g"] == ["reference:product_master#row=2"]
    assert "gtin-match" in result.explanations["weight_g"]


def test_matched_by_mpn_and_brand_then_by_name(master: ReferenceTable) -> None:
    items = [
        {"mpn": "6205 2RS", "brand": "skf"},
        {"name": "Highlighter, yellow"},
        {"mpn": "6205-2RS", "brand": "Other"},
    ]
    by_mpn, by_name, no_match = enrich_items(
        items, SCHEMA, EnrichOptions(providers=("reference",), references=[master])
    )
    assert by_mpn.values["outer_diameter"] == "52 mm"
    assert "mpn-brand-match" in by_mpn.explanations["outer_diameter"]
    assert by_name.values == {"weight_g": 12.0}  # its empty diameter cell is not a value
    assert no_match.values == {}


def test_reference_csv_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        ReferenceTable.from_csv(tmp_path / "missing.csv")


def test_firmographics_from_the_companies_tables() -> None:
    schema = OutputSchema.parse(
        [
            {"name": "employee_range", "type": "string", "description": "Employees"},
            {"name": "industry", "type": "string", "description": "Industry"},
            {"name": "country", "type": "string", "description": "HQ country"},
            {"name": "founding_year", "type": "integer", "description": "Year founded"},
            {"name": "revenue_range", "type": "string", "description": "Annual revenue band"},
        ]
    )
    fortune = CompanyTable.from_csv(shared_path("companies/fortune500_2019.csv"))
    sp500 = CompanyTable.from_csv(shared_path("companies/sp500_constituents.csv"))
    items = [{"supplier": "Walmart Inc.", "website": "https://www.walmart.com"}, {"supplier": "3M"}]
    walmart, three_m = enrich_items(
        items, schema, EnrichOptions(providers=("reference",), companies=fortune)
    )
    assert walmart.values["employee_range"] == "10001+"
    assert walmart.values["country"] == "United States"
    assert walmart.values["revenue_range"] == "$10B+"  # $514,405M: the one set of bands
    assert walmart.sources["industry"] == ["reference:fortune500_2019.csv#row=2"]
    [three_m] = enrich_items(
        [items[1]], schema, EnrichOptions(providers=("reference",), companies=sp500)
    )
    assert three_m.values["founding_year"] == 1902
    assert three_m.values["industry"] == "Industrials"


def test_a_field_below_auto_apply_is_judged_again_on_a_later_providers_evidence() -> None:
    """The engine combines a field's evidence once per provider that adds to it: the record's
    0.9 stops no one at auto-apply 0.95, so the reference is asked, and the verdict is the
    two together (agreeing: 0.99; disagreeing: capped for review)."""
    master = ReferenceTable(
        "pm",
        pd.DataFrame(
            {"GTIN": ["00012345678905", "4006381333931"], "Weight": ["0.128 kg", "0.2 kg"]}
        ),
    )
    text = {"title": "Bearing", "description": "A bearing of 128 g, sealed."}
    items = [{**text, "upc": "012345678905"}, {**text, "upc": "4006381333931"}, text]
    options = EnrichOptions(
        providers=("record", "reference"),
        references=[master],
        thresholds=Thresholds(auto_apply=0.95, reject=0.3),
    )
    agreeing, disagreeing, alone = enrich_items(items, SCHEMA, options)
    assert agreeing.confidence["weight_g"] == 0.99
    assert agreeing.sources["weight_g"] == ["input", "reference:pm#row=2"]
    assert agreeing.decisions["weight_g"] == "applied"
    assert disagreeing.confidence["weight_g"] == 0.6
    assert disagreeing.decisions["weight_g"] == "review"
    assert "sources_disagree" in disagreeing.flags
    assert (alone.confidence["weight_g"], alone.decisions["weight_g"]) == (0.9, "review")


def test_records_of_one_supplier_share_its_facts_each_under_its_own_item() -> None:
    table = CompanyTable.from_frame(
        pd.DataFrame(
            {
                "Company": ["Acme Tools Inc.", "Bolt & Nut GmbH"],
                "Website": ["acme-tools.com", "boltnut.de"],
                "Employees": ["250", ""],
                "Country": ["USA", "Germany"],
            }
        ),
        source="suppliers",
    )
    schema = OutputSchema.parse(
        [
            {"name": "employee_range", "type": "string", "description": "Employees"},
            {"name": "country", "type": "string", "description": "HQ country"},
        ]
    )
    items = [
        {"supplier": "ACME TOOLS", "website": "sales@acme-tools.com"},
        {"supplier": "Bolt and Nut"},
        {"supplier": "Acme Tools, Inc."},
        {"supplier": "Nobody Ltd"},
    ]
    by_domain, bolt, by_name, nobody = enrich_items(
        items, schema, EnrichOptions(providers=("reference",), companies=table)
    )
    assert (
        by_domain.values
        == by_name.values
        == {"employee_range": "201-500", "country": "United States"}
    )
    assert (
        by_domain.sources["country"] == by_name.sources["country"] == ["reference:suppliers#row=1"]
    )
    assert "domain-match" in by_domain.explanations["country"]
    assert "exact-name" in by_name.explanations["country"]
    assert (
        'suppliers row 1 "Acme Tools Inc.": country United States'
        in by_name.explanations["country"]
    )
    assert bolt.values == {"country": "Germany"}  # no head count: no employee range
    assert nobody.values == {}


def test_conflicts_are_stored_and_resolving_writes_a_change(
    store_url: str, master: ReferenceTable
) -> None:
    item = {"gtin": "12345678905", "weight_g": 150}
    [result] = enrich_items(
        [item], SCHEMA, EnrichOptions(providers=("reference",), references=[master])
    )
    [found] = result.conflicts
    assert (found.existing, found.proposed) == (150.0, 128.0)
    with session_scope(store_url) as session:
        org = Organization(name="acme")
        session.add(org)
        session.flush()
        catalog = Catalog(
            organization_id=org.id, name="bearings", schema={}, auto_apply=0.9, reject=0.5
        )
        session.add(catalog)
        session.flush()
        record = Record(
            catalog_id=catalog.id,
            external_id="B-1",
            source_values={"weight_g": 150},
            values={"weight_g": 150},
            content_hash="h1",
        )
        session.add(record)
        session.flush()
        found_in = [(record.id, "B-1", found)]
        [conflict] = open_conflicts(
            session, organization_id=org.id, catalog_id=catalog.id, found=found_in
        )
        assert (
            open_conflicts(session, organization_id=org.id, catalog_id=catalog.id, found=found_in)
            == []
        )  # re-running opens nothing twice
        assert record.values == {"weight_g": 150}  # not overwritten
        resolve_conflict(
            session,
            organization_id=org.id,
            conflict_id=conflict.id,
            resolution="accepted_new",
            resolver="ana",
        )
        assert record.values == {"weight_g": 128.0}
        change = session.scalar(select(Change).where(Change.record_id == record.id))
        assert (change.old_value, change.new_value, change.reviewer) == (150, 128.0, "ana")
        assert list_conflicts(session, organization_id=org.id, status="open") == []
        with pytest.raises(InputError, match="already resolved"):
            resolve_conflict(
                session,
                organization_id=org.id,
                conflict_id=conflict.id,
                resolution="kept_existing",
                resolver="ana",
            )


def test_quality_score_and_semantic_checks(master: ReferenceTable) -> None:
    schema = OutputSchema.parse(
        [
            {"name": "outer_diameter", "type": "string", "description": "Outer diameter in mm"},
            {"name": "homepage", "type": "string", "description": "Manufacturer URL"},
            {"name": "warranty", "type": "string", "description": "Warranty", "required": True},
        ]
    )
    frame = MASTER.assign(Homepage=["skf dot com", ""])
    options = EnrichOptions(
        providers=("reference",),
        references=[ReferenceTable("master", frame)],
        quality_prompt="Is this bearing listing complete?",
        validate_semantics=True,
    )
    [result] = enrich_items([{"gtin": "12345678905"}], schema, options)
    assert result.quality is not None and 1 <= result.quality.score <= 3
    assert any("warranty" in issue for issue in result.quality.issues)
    assert any(i.validator == "semantics" and i.field == "homepage" for i in result.field_issues)


def test_another_stored_catalogue_is_a_reference_cited_by_id(store_url: str) -> None:
    with session_scope(store_url) as session:
        org = Organization(name="acme")
        session.add(org)
        session.flush()
        master = Catalog(
            organization_id=org.id, name="master", schema={}, auto_apply=0.9, reject=0.5
        )
        session.add(master)
        session.flush()
        values = {"gtin": "4006381333931", "name": "Highlighter yellow", "weight": "12 g"}
        session.add(
            Record(
                catalog_id=master.id,
                external_id="M-7",
                source_values=values,
                values=values,
                content_hash="m7",
            )
        )
        session.flush()
        table = ReferenceTable.from_catalog(session, catalog_id=master.id, name="master")
    [result] = enrich_items(
        [{"ean": "4006381333931"}],
        SCHEMA,
        EnrichOptions(providers=("reference",), references=[table]),
    )
    assert result.values == {"weight_g": 12.0}
    assert result.sources["weight_g"] == ["reference:master#id=M-7"]
