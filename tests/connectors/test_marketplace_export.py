"""Marketplace files: Shopify's product CSV and Amazon's tab-delimited listings flat file, read
back with the csv module as the marketplaces' importers would."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from connectors.base import TerminalConnectorError
from connectors.marketplace_export import SHOPIFY_COLUMNS, MarketplaceExport

COLUMNS = ["external_id", "title", "brand", "price", "gtin", "images", "tags", "weight", "mpn"]
ROWS: list[dict[str, Any]] = [
    {
        "external_id": "AC-10001 Bolt",
        "title": "Hex bolt M6",
        "brand": "Steelhart",
        "price": 12.49,
        "gtin": "710103048846",
        "images": ["https://img.example/a.jpg", "https://img.example/b.jpg"],
        "tags": ["fasteners", "m6"],
        "weight": 0.65,
        "mpn": "SH-1",
    },
    {"external_id": "AC-10002", "title": "Nut", "price": 0.2, "gtin": "4006381333931"},
]


def _export(block: MarketplaceExport, rows: list[dict[str, Any]]) -> Any:
    with block.open(columns=COLUMNS, key="external_id", mode="replace") as writer:
        writer.write(rows)
        return writer.commit()


def test_shopify_product_csv_has_the_import_columns_and_one_variant_per_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shopify.csv"
    assert _export(MarketplaceExport(path=str(path)), ROWS).rows == 2
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        assert reader.fieldnames == SHOPIFY_COLUMNS
        first, second = list(reader)
    assert first["Handle"] == "ac-10001-bolt"
    assert (first["Title"], first["Vendor"], first["Variant Price"]) == (
        "Hex bolt M6",
        "Steelhart",
        "12.49",
    )
    assert first["Variant SKU"] == "AC-10001 Bolt"
    assert first["Image Src"] == "https://img.example/a.jpg" and first["Image Position"] == "1"
    assert first["Tags"] == "fasteners, m6" and first["Variant Grams"] == "650"
    assert first["Option1 Value"] == "Default Title" and first["Status"] == "active"
    assert second["Handle"] == "ac-10002" and second["Vendor"] == ""


def test_amazon_flat_file_has_template_rows_and_tab_separated_listings(tmp_path: Path) -> None:
    path = tmp_path / "amazon.txt"
    block = MarketplaceExport(
        path=str(path),
        marketplace="amazon_flat_file",
        template_type="Home",
        product_type="hardware",
    )
    _export(block, ROWS)
    lines = list(csv.reader(path.open(newline="", encoding="utf-8"), delimiter="\t"))
    assert lines[0][0] == "TemplateType=Home"
    assert lines[1][:2] == ["Product Type", "Seller SKU"]
    listings = [dict(zip(lines[2], line, strict=True)) for line in lines[3:]]
    assert [row["item_sku"] for row in listings] == ["AC-10001 Bolt", "AC-10002"]
    assert listings[0]["external_product_id_type"] == "UPC"
    assert listings[1]["external_product_id_type"] == "EAN"
    assert listings[0]["feed_product_type"] == "hardware"
    assert listings[0]["main_image_url"] == "https://img.example/a.jpg"
    assert listings[0]["update_delete"] == "Update"


def test_unknown_template_columns_and_other_modes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TerminalConnectorError, match="not columns of the shopify_csv template"):
        MarketplaceExport(path=str(tmp_path / "x.csv"), fields={"Colour": "colour"}).open(
            columns=COLUMNS, key="external_id", mode="replace"
        )
    with pytest.raises(TerminalConnectorError, match="mode must be 'replace'"):
        MarketplaceExport(path=str(tmp_path / "x.csv")).open(
            columns=COLUMNS, key="external_id", mode="upsert"
        )
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_export_leaves_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "shopify.csv"
    block = MarketplaceExport(path=str(path))
    _export(block, ROWS)
    before = path.read_bytes()
    with (
        pytest.raises(RuntimeError),
        block.open(columns=COLUMNS, key="external_id", mode="replace") as w,
    ):
        w.write(ROWS[:1])
        raise RuntimeError("power cut")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["shopify.csv"]
