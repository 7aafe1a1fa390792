"""The bundled example is what `make demo` onboards: it must load, resolve and parse as shipped,
and be exactly what its generator writes."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from catalog.normalize import normalize_units
from catalog.schema import CatalogSchema
from catalog.units import QUANTITY_PATTERN, canonical_unit
from taxonomy.importers import load_google

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CATALOG = EXAMPLES / "acme_supplier_catalog.csv"
HEADER = [
    "Item #",
    "Product Name",
    "Description",
    "Brand",
    "MFR Part No",
    "Supplier",
    "Supplier Website",
    "Unit Price",
    "Weight",
    "Colour",
    "Material",
    "Category",
    "UPC",
]
GENERATED = ["acme_supplier_catalog.csv", "suppliers.csv", "taxonomy.txt", "catalog.yaml"]


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _rows(path: Path = CATALOG) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _rows()


@pytest.fixture(scope="module")
def schema() -> CatalogSchema:
    return CatalogSchema.from_yaml(EXAMPLES / "catalog.yaml")


def test_schema_loads_and_maps_every_column(schema: CatalogSchema) -> None:
    assert schema.id == "sku"
    assert schema.id_attribute.source_columns == ["Item #"]
    assert schema.category_attribute is not None
    assert schema.category_attribute.source_columns == ["Category"]
    assert {a.name for a in schema.derived("extract")} == {
        "voltage",
        "power",
        "horsepower",
        "capacity_mah",
        "length",
        "pack_size",
    }
    assert {a.derive for a in schema.derived("firmographics")} == {
        "firmographics.employee_range",
        "firmographics.revenue",
        "firmographics.industry",
        "firmographics.country",
    }
    assert (schema.thresholds.auto_apply, schema.thresholds.reject) == (0.9, 0.5)
    mapped = {c.casefold() for a in schema.attributes for c in a.source if a.source}
    assert {c.casefold() for c in HEADER} <= mapped  # unknown_columns: error would stop ingest


def test_catalog_has_unique_ids_and_the_expected_header(rows: list[dict[str, str]]) -> None:
    assert list(rows[0]) == HEADER
    assert len(rows) >= 300
    ids = [r["Item #"].strip() for r in rows]
    assert len(set(ids)) == len(ids)
    assert any(r["Item #"] != r["Item #"].strip() for r in rows)  # the mess is there


def test_every_category_resolves_and_under_half_are_given(rows: list[dict[str, str]]) -> None:
    taxonomy = load_google(EXAMPLES / "taxonomy.txt", name="example")
    assert 60 <= len(taxonomy) <= 90
    assert taxonomy.depth == 3
    given = [r["Category"] for r in rows if r["Category"].strip()]
    unresolved = [c for c in given if taxonomy.resolve(c) is None]
    assert unresolved == []
    assert 0.40 <= len(given) / len(rows) <= 0.50
    assert any(c != taxonomy.resolve(c).path_text for c in given)  # case/spacing variants


def test_taxonomy_file_has_its_version_header() -> None:
    first = (EXAMPLES / "taxonomy.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# Example_Taxonomy_Version: 2026-11-01"


def test_every_row_parses_as_the_schema_asks(
    rows: list[dict[str, str]], schema: CatalogSchema
) -> None:
    frame = pd.DataFrame(rows)
    prices, failed = normalize_units(frame["Unit Price"], "USD")
    assert frame["Unit Price"][failed].tolist() == []
    assert (prices > 0).all()
    assert frame["Unit Price"].str.contains(",").any()  # `$1,249.00`, `12,50 USD`
    weights, failed = normalize_units(frame["Weight"], "kg")
    assert frame["Weight"][failed].tolist() == []
    assert (weights[frame["Weight"] != ""] > 0).all()
    colours = schema.by_name["colour"].canonical_enum()
    materials = schema.by_name["material"].canonical_enum()
    for line, row in enumerate(rows, start=2):
        assert not row["Colour"] or row["Colour"].strip().casefold() in colours, line
        assert not row["Material"] or row["Material"].strip().casefold() in materials, line
        assert row["Product Name"].strip(), line
    upcs = [r["UPC"] for r in rows if r["UPC"]]
    pattern = re.compile(schema.by_name["upc"].pattern or "")
    assert sum(bool(pattern.match(u)) for u in upcs) / len(upcs) > 0.95


def test_extractable_attributes_appear_in_the_text(rows: list[dict[str, str]]) -> None:
    quantity = re.compile(QUANTITY_PATTERN)

    def units(text: str) -> set[str]:
        return {canonical_unit(m.group("unit")) for m in quantity.finditer(text)}

    in_title = [units(r["Product Name"]) for r in rows]
    in_text = [units(r["Product Name"] + " " + r["Description"]) for r in rows]
    for unit in ("V", "W", "hp", "mAh", "mm", "ft", "in"):
        assert sum(unit in u for u in in_text) >= 3, unit
    only_in_description = sum(
        "V" in t and "V" not in n for n, t in zip(in_title, in_text, strict=True)
    )
    assert only_in_description >= 5
    assert (
        sum(
            bool(re.search(r"(?i)pack of \d+|box of \d+|\d+/(pk|box)", r["Product Name"]))
            for r in rows
        )
        >= 20
    )


def test_catalogue_suppliers_are_in_the_reference_table(rows: list[dict[str, str]]) -> None:
    suppliers = _rows(EXAMPLES / "suppliers.csv")
    assert 10 <= len(suppliers) <= 14
    domains = {s["website"] for s in suppliers}
    first_words = {s["name"].split()[0].casefold() for s in suppliers}
    assert all(d.endswith(".example.com") for d in domains)
    for row in rows:
        website = row["Supplier Website"]
        if website:
            domain = re.sub(r"^(https?://)?(www\.)?|^[^@]+@|/$", "", website)
            assert domain in domains, website
        assert row["Supplier"].split()[0].casefold() in first_words, row["Supplier"]
    assert len({r["Supplier"] for r in rows}) > len(suppliers)  # spelled inconsistently
    assert all(int(s["employees"]) > 0 and int(s["annual_revenue_usd"]) > 0 for s in suppliers)


def test_make_example_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLES / "make_example.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return _load(ROOT / "benchmarks" / "generate.py", "skuflow_benchmarks_generate")


def test_generator_writes_unique_ids_with_the_example_header(
    generate: ModuleType, tmp_path: Path
) -> None:
    path = generate.generate_catalog(tmp_path / "bench.csv", 2000, seed=7)
    rows = _rows(path)
    assert len(rows) == 2000
    assert list(rows[0]) == HEADER
    ids = [r["Item #"].strip() for r in rows]
    assert len(set(ids)) == len(ids)
    again = generate.generate_catalog(tmp_path / "again.csv", 2000, seed=7)
    assert again.read_bytes() == path.read_bytes()
    other = generate.generate_catalog(tmp_path / "other.csv", 2000, seed=8)
    assert other.read_bytes() != path.read_bytes()


def test_generator_writes_jsonl_and_refuses_unknown_formats(
    generate: ModuleType, tmp_path: Path
) -> None:
    path = generate.generate_catalog(tmp_path / "bench.jsonl", 50, fmt="jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 50 and all(list(r) == HEADER for r in records)
    with pytest.raises(ValueError, match="fmt must be one of"):
        generate.generate_catalog(tmp_path / "bench.xml", 10, fmt="xml")
