"""Supplier firmographics from reference tables: loading, matching, and the values the
reference provider finds for a catalogue's `derive: firmographics.<field>` attributes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from catalog.errors import InputError
from catalog.schema import CatalogSchema
from enrichment.catalog_fields import catalog_output_schema, check_enrichable
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.firmographics import (
    CompanyTable,
    fuzzy_confidence,
    match_suppliers,
    normalise_name,
    registered_domain,
)
from tests.conftest import SHARED_DATA, shared_path

FORTUNE = SHARED_DATA / "companies" / "fortune500_2019.csv"
SP500 = SHARED_DATA / "companies" / "sp500_constituents.csv"


@pytest.fixture(scope="module")
def fortune() -> CompanyTable:
    return CompanyTable.from_csv(shared_path(FORTUNE))


@pytest.fixture(scope="module")
def sp500() -> CompanyTable:
    return CompanyTable.from_csv(shared_path(SP500))


def supplier_schema(**units: str) -> CatalogSchema:
    return CatalogSchema.from_dict(
        {
            "name": "suppliers",
            "kind": "suppliers",
            "id": "supplier_id",
            "supplier_name": "name",
            "supplier_website": "contact",
            "attributes": [
                {"name": "supplier_id"},
                {"name": "name"},
                {"name": "contact"},
                {"name": "size", "derive": "firmographics.employee_range"},
                {
                    "name": "revenue",
                    "type": "number",
                    "unit": units.get("revenue", "USD"),
                    "derive": "firmographics.revenue",
                },
                {"name": "industry", "derive": "firmographics.industry"},
                {"name": "country", "derive": "firmographics.country"},
                {"name": "website", "derive": "firmographics.website"},
            ],
        }
    )


def suppliers(rows: dict[str, dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass(frozen=True)
class Found:
    value: object
    sources: tuple[str, ...]
    method: str
    confidence: float
    explanation: str
    decision: str


def firmographic_values(
    frame: pd.DataFrame, schema: CatalogSchema, table: CompanyTable
) -> dict[tuple[str, str], Found]:
    """What enrichment finds for the suppliers in `frame` (records of `schema`), by
    (record id, field): values written and conflicts with the record's own values."""
    items = [
        {schema.id: key, **{c: v for c, v in row.items() if v is not None and v == v}}
        for key, row in frame.iterrows()
    ]
    options = EnrichOptions(providers=("reference",), companies=table, catalog=schema)
    out: dict[tuple[str, str], Found] = {}
    for item, result in zip(
        items, enrich_items(items, catalog_output_schema(schema), options), strict=True
    ):
        for name, decision in result.decisions.items():
            out[(item[schema.id], name)] = Found(
                result.values.get(name),
                tuple(result.sources.get(name, ())),
                "; ".join(result.methods.get(name, [])),
                result.confidence.get(name, 0.0),
                result.explanations.get(name, ""),
                decision,
            )
    return out


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("WALMART INC.", "walmart"),
        ("Exxon Mobil Corporation", "exxon mobil"),
        ("Alphabet Inc. (Class A)", "alphabet"),
        ("Procter & Gamble Co", "procter and gamble"),
        ("JPMorgan Chase & Co.", "jpmorgan chase"),
        ("Nestlé S.A.", "nestle"),
        ("The Home Depot", "home depot"),
        ("Siemens AG", "siemens"),
        ("Acme Tools GmbH", "acme tools"),
        ("Berkshire Hathaway Holdings, Ltd.", "berkshire hathaway"),
        ("Company Inc", "company"),  # never strips a name away entirely
    ],
)
def test_normalise_name(name: str, key: str) -> None:
    assert normalise_name(name) == key


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("http://www.walmart.com", "walmart.com"),
        ("sales@acme-tools.com", "acme-tools.com"),
        ("mailto:Info@Acme.COM", "acme.com"),
        ("https://shop.acme.co.uk/catalogue?x=1", "acme.co.uk"),
        ("investor.apple.com:443", "apple.com"),
        ("acme", None),
        ("", None),
        (None, None),
    ],
)
def test_registered_domain(value: str | None, domain: str | None) -> None:
    assert registered_domain(value) == domain


def test_fortune_500_columns_are_recognised(fortune: CompanyTable) -> None:
    walmart = fortune.frame.iloc[0]
    assert len(fortune) == 500
    assert walmart["name"] == "Walmart"
    assert walmart["revenue"] == pytest.approx(514_405e6)  # "$514,405.0" under "revenue ($M)"
    assert walmart["employees"] == 2_200_000
    assert walmart["industry"] == "General Merchandisers"
    assert walmart["domain"] == "walmart.com"
    assert fortune.reference(0) == "fortune500_2019.csv#row=2"  # spreadsheet row, header = 1


def test_messy_supplier_names_and_emails_match(fortune: CompanyTable) -> None:
    matches = match_suppliers(
        ["WALMART INC.", "Exxon Mobil Corporation", None, "Berkshire Hathway", "Nobody Ltd", None],
        [None, None, "sales@walmart.com", None, None, None],
        fortune,
    )
    names = [None if m is None else fortune.frame.at[m.row_index, "name"] for m in matches]

    assert names == ["Walmart", "Exxon Mobil", "Walmart", "Berkshire Hathaway", None, None]
    assert [m.method for m in matches[:3]] == ["exact-name", "exact-name", "domain-match"]
    assert (matches[0].confidence, matches[2].confidence) == (0.95, 0.98)
    fuzzy = matches[3]
    assert fuzzy.method.startswith("fuzzy-name ")
    assert 0.7 < fuzzy.confidence < 0.9  # never auto-applied with the default threshold


def test_domain_beats_a_conflicting_name(fortune: CompanyTable) -> None:
    [match] = match_suppliers(["Apple"], ["https://corporate.exxonmobil.com/en"], fortune)
    assert match is not None and match.method == "domain-match"
    assert fortune.frame.at[match.row_index, "name"] == "Exxon Mobil"


def test_fuzzy_confidence_scales_with_score() -> None:
    assert fuzzy_confidence(90) == pytest.approx(0.75)
    assert fuzzy_confidence(88) < fuzzy_confidence(95) <= 0.87
    assert fuzzy_confidence(100) == 0.87


def test_repeated_suppliers_get_the_same_match(fortune: CompanyTable) -> None:
    names = ["WALMART INC.", "Walmart Inc", "Exxon Mobil Corp"] * 2000
    matches = match_suppliers(names, [None] * len(names), fortune)
    assert len(matches) == 6000
    assert {m.row_index for m in matches[0::3]} == {0}
    assert matches[2] == matches[-1]


def test_proposals_from_fortune_500(fortune: CompanyTable) -> None:
    frame = suppliers(
        {
            "S1": {"name": "WALMART INC.", "contact": None},
            "S2": {"name": "Unknown Widgets", "contact": "orders@walmart.com"},
            "S3": {
                "name": "Exxon Mobil Corporation",
                "contact": None,
                "country": "USA",
                "industry": "Oil & Gas",
            },
            "S4": {"name": "Tiny Family Firm", "contact": "tiny@gmail.com"},
        }
    )
    by = firmographic_values(frame, supplier_schema(revenue="MUSD"), fortune)

    s1 = {
        field: by[("S1", field)].value
        for field in ("size", "revenue", "industry", "country", "website")
    }
    assert s1 == {
        "size": "10001+",
        "revenue": 514_405.0,
        "industry": "General Merchandisers",
        "country": "United States",
        "website": "https://walmart.com",
    }
    assert by[("S1", "size")].sources == ("reference:fortune500_2019.csv#row=2",)
    assert by[("S1", "size")].decision == "applied"
    assert 'fortune500_2019.csv row 2 "Walmart"' in by[("S1", "size")].explanation
    s2 = by[("S2", "revenue")]
    assert (s2.method, s2.confidence) == ("domain-match", 0.95)
    # Values the source already has are never overwritten: a disagreement is a conflict.
    assert by[("S3", "country")].decision == "conflict" and by[("S3", "country")].value is None
    assert by[("S3", "industry")].decision == "conflict"
    assert by[("S3", "revenue")].value == 290_212.0
    assert not [key for key in by if key[0] == "S4"]


def test_country_from_locations_and_industry_from_sectors(sp500: CompanyTable) -> None:
    frame = suppliers(
        {
            "A": {"name": "3M Company"},  # Saint Paul, Minnesota
            "B": {"name": "Accenture plc"},  # Dublin, Ireland
            "C": {"name": "ExxonMobil"},
        }
    )
    by = {
        key: found.value
        for key, found in firmographic_values(frame, supplier_schema(), sp500).items()
    }

    assert by[("A", "country")] == "United States"
    assert by[("B", "country")] == "Ireland"
    assert by[("A", "industry")] == "Industrials"
    assert by[("C", "industry")] == "Energy"
    assert ("A", "revenue") not in by and ("A", "size") not in by  # the table has neither


def test_hand_written_csv_with_other_spellings(tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        "Company,Domain,Employee Count,Annual Revenue,Sector,Country,Location\n"
        'Acme Tools GmbH,acme-tools.de,"1,200",$1.2B,Industrial Machinery,Germany,Atlantis\n'
        'Widget Co,https://www.widget.co.uk,8,"$950,000",Hardware,,"Springfield, Ill."\n'
        "Gadget Corp,gadget.io,n/a,,Electronics,,Atlantis\n",
        encoding="utf-8",
    )
    table = CompanyTable.from_csv(path)
    frame = suppliers(
        {
            "1": {"name": "ACME TOOLS", "contact": None},
            "2": {"name": None, "contact": "buyer@widget.co.uk"},
            "3": {"name": "Gadget Corporation", "contact": None},
        }
    )
    by = firmographic_values(frame, supplier_schema(), table)

    assert by[("1", "country")].value == "Germany"  # a country column is used as is
    assert by[("1", "revenue")].value == 1.2e9
    assert by[("1", "size")].value == "1001-5000"
    assert by[("1", "size")].sources == ("reference:companies.csv#row=2",)
    assert by[("2", "country")].value == "United States"  # "Springfield, Ill."
    assert by[("2", "revenue")].value == 950_000.0
    assert by[("2", "size")].value == "1-10"
    assert by[("2", "website")].value == "https://widget.co.uk"
    assert ("3", "country") not in by  # "Atlantis" is no country: nothing invented
    assert ("3", "size") not in by and ("3", "revenue") not in by
    assert by[("3", "industry")].value == "Electronics"


def test_employee_ranges_in_the_table_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "ranges.csv"
    path.write_text('name,employee_range\nAcme,51 – 200\nBeta,"10,001+"\n', encoding="utf-8")
    table = CompanyTable.from_csv(path)
    frame = suppliers({"a": {"name": "Acme"}, "b": {"name": "Beta"}})
    values = {
        key: f.value for key, f in firmographic_values(frame, supplier_schema(), table).items()
    }
    assert values == {("a", "size"): "51-200", ("b", "size"): "10001+"}


def test_bad_cells_are_reported_by_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,employees,revenue ($M)\nAcme,lots,$5.0\nBeta,12,five\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        CompanyTable.from_csv(path)
    problems = [(p.source, p.row, p.column) for p in caught.value.problems]
    assert problems == [("bad.csv", 2, "employees"), ("bad.csv", 3, "revenue ($M)")]
    assert "'lots' is not a number" in str(caught.value)


def test_table_without_a_name_column_or_file(tmp_path: Path) -> None:
    path = tmp_path / "nameless.csv"
    path.write_text("ticker,website\nWMT,walmart.com\n", encoding="utf-8")
    with pytest.raises(InputError, match="no company-name column.*ticker, website"):
        CompanyTable.from_csv(path)
    with pytest.raises(InputError, match="file not found"):
        CompanyTable.from_csv(tmp_path / "missing.csv")


def test_from_sql_reads_a_sqlite_table(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'ref.db'}"
    engine = sa.create_engine(url)
    pd.read_csv(shared_path(FORTUNE)).head(50).to_sql("companies", engine, index=False)
    engine.dispose()

    table = CompanyTable.from_sql(url, "companies")
    [match] = match_suppliers(["Exxon Mobil Corporation"], [None], table)
    assert match is not None and table.frame.at[match.row_index, "name"] == "Exxon Mobil"
    assert table.reference(match.row_index) == "companies#row=2"
    found = firmographic_values(suppliers({"x": {"name": "APPLE INC"}}), supplier_schema(), table)
    assert found[("x", "revenue")].value == pytest.approx(265_595e6)

    with pytest.raises(InputError, match="no such table"):
        CompanyTable.from_sql(url, "nope")


def test_schema_mistakes_are_explained() -> None:
    with pytest.raises(InputError, match="revenue unit 'EUR' is not a USD scale"):
        check_enrichable(supplier_schema(revenue="EUR"), ["revenue"])
    schema = CatalogSchema.from_dict(
        {
            "name": "s",
            "id": "id",
            "attributes": [
                {"name": "id"},
                {"name": "industry", "derive": "firmographics.industry"},
            ],
        }
    )
    with pytest.raises(InputError, match="neither supplier_name nor supplier_website"):
        check_enrichable(schema, ["industry"])


def test_a_domain_shared_by_several_companies_matches_only_on_full_host(tmp_path: Path) -> None:
    path = tmp_path / "hosted.csv"
    path.write_text(
        "name,website\nAlpha Parts,alpha.example.com\nBeta Tools,https://beta.example.com\n",
        encoding="utf-8",
    )
    table = CompanyTable.from_csv(path)
    matches = match_suppliers(
        [None, None, None],
        [
            "https://www.beta.example.com/shop",
            "orders@gamma.example.com",
            "sales@alpha.example.com",
        ],
        table,
    )
    assert [None if m is None else table.frame.at[m.row_index, "name"] for m in matches] == [
        "Beta Tools",
        None,
        "Alpha Parts",
    ]
    found = firmographic_values(suppliers({"b": {"name": "Beta Tools"}}), supplier_schema(), table)
    assert {k[1]: f.value for k, f in found.items()} == {"website": "https://beta.example.com"}
