"""The Google Merchant Center feed: items in Google's product data specification, as TSV and
as RSS 2.0 with the g: namespace, read back with csv and ElementTree; items Google would refuse
listed with their reasons instead of written; the bundled example through `skuflow export`."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.base import TerminalConnectorError
from connectors.google_merchant import FEED_ATTRIBUTES, REQUIRED, GoogleMerchantFeed

G = "{http://base.google.com/ns/1.0}"
COLUMNS = ["external_id", "title", "description", "price", "brand", "mpn", "upc", "stock",
           "images", "category", "weight"]  # fmt: skip
GOOD = {
    "external_id": "A-1",
    "title": "Hex bolt M6 x 80",
    "description": "Zinc plated, pack of 50.",
    "price": 12.49,
    "brand": "Northwind",
    "mpn": "NWF-1",
    "upc": 36000291452,  # a UPC-A that lost its leading zero in a spreadsheet
    "stock": 7,
    "images": ["https://cdn.example.com/a1.jpg", "https://cdn.example.com/a1-side.jpg"],
    "category": "Hardware > Fasteners",
    "weight": 0.94,
}


def feed(tmp_path: Path, name: str = "feed.tsv", **options: object) -> GoogleMerchantFeed:
    defaults = {
        "templates": {"link": "https://shop.example.com/p/{external_id}"},
        "category_map": {"Hardware > Fasteners": "500054"},
    }
    return GoogleMerchantFeed(path=str(tmp_path / name), **{**defaults, **options})


def write(block: GoogleMerchantFeed, rows: list[dict]) -> tuple[object, object]:
    with block.open(columns=COLUMNS, key="external_id", mode="replace") as writer:
        writer.write(rows)
        return writer.commit(), writer


def tsv_items(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def xml_items(path: Path) -> list[dict[str, list[str]]]:
    channel = ET.parse(path).getroot().find("channel")
    assert channel is not None and channel.findtext("title")
    items = []
    for element in channel.findall("item"):
        item: dict[str, list[str]] = {}
        for child in element:
            assert child.tag.startswith(G), child.tag
            item.setdefault(child.tag.removeprefix(G), []).append(child.text or "")
        items.append(item)
    return items


def rejects(block: GoogleMerchantFeed) -> dict[str, str]:
    with block.rejects_path().open(newline="", encoding="utf-8") as handle:
        return {row["id"]: row["reasons"] for row in csv.DictReader(handle)}


def test_a_good_row_becomes_a_complete_item_in_tsv_and_xml(tmp_path: Path) -> None:
    tsv, xml = feed(tmp_path), feed(tmp_path, "feed.xml")
    write(tsv, [GOOD])
    write(xml, [GOOD])

    (item,) = tsv_items(tmp_path / "feed.tsv")
    assert list(item) == FEED_ATTRIBUTES
    assert item["id"] == "A-1" and item["link"] == "https://shop.example.com/p/A-1"
    assert item["price"] == "12.49 USD" and item["availability"] == "in_stock"
    assert item["gtin"] == "036000291452" and item["identifier_exists"] == ""
    assert item["image_link"] == "https://cdn.example.com/a1.jpg"
    assert item["additional_image_link"] == "https://cdn.example.com/a1-side.jpg"
    assert item["google_product_category"] == "500054"
    assert item["product_type"] == "Hardware > Fasteners"
    assert item["shipping_weight"] == "0.94 kg" and item["condition"] == "new"

    (from_xml,) = xml_items(tmp_path / "feed.xml")
    assert {k: v[0] for k, v in from_xml.items()} == {k: v for k, v in item.items() if v}
    assert rejects(tsv) == {}


def test_items_google_would_refuse_are_listed_with_every_reason(tmp_path: Path) -> None:
    rows = [
        GOOD,
        {**GOOD, "external_id": "A-2", "upc": "4006381333932"},  # wrong check digit
        {**GOOD, "external_id": "A-3", "description": "", "images": None},
        {**GOOD, "external_id": "A-4", "price": 0},
        {**GOOD, "external_id": "A-5", "title": "x" * 151, "upc": "2012345678903"},
        {**GOOD, "external_id": "A-1", "title": "the same id again"},
        {**GOOD, "external_id": "A-6", "stock": 0, "upc": None, "mpn": None},
    ]
    result, writer = write(feed(tmp_path, "feed.xml"), rows)

    listed = rejects(feed(tmp_path, "feed.xml"))
    assert listed == {
        "A-2": "invalid GTIN: '4006381333932' has check digit 2, it should be 1",
        "A-3": "missing required attribute description; missing required attribute image_link",
        "A-4": "invalid price: '0' is not a positive amount",
        "A-5": "too long title: 151 characters (at most 150); invalid GTIN: '2012345678903' is "
        "an in-store code (prefix 20–29), not a trade item number",
        "A-1": "duplicate id: A-1",
    }
    items = {i["id"][0]: i for i in xml_items(tmp_path / "feed.xml")}
    assert set(items) == {"A-1", "A-6"}
    assert items["A-6"]["availability"] == ["out_of_stock"]
    assert items["A-6"]["identifier_exists"] == ["no"]  # no GTIN, no MPN
    assert result.rows == 2 and "5 rejected" in result.location
    assert writer.reasons()["invalid GTIN"] == 2


def test_required_attributes_cover_googles_list_and_no_default_availability_rejects(
    tmp_path: Path,
) -> None:
    assert set(REQUIRED) == {
        "id", "title", "description", "link", "image_link", "availability", "price"
    }  # fmt: skip
    block = feed(tmp_path, default_availability=None)
    write(block, [{**GOOD, "stock": None}])
    assert rejects(block) == {"A-1": "missing required attribute availability"}


def test_values_cannot_break_the_tsv_or_the_xml(tmp_path: Path) -> None:
    nasty = {**GOOD, "title": "Bolt\tM6\nzinc", "description": "<b>&amp;</b> \x0b ünïcode"}
    write(feed(tmp_path), [nasty])
    write(feed(tmp_path, "feed.xml"), [nasty])
    (item,) = tsv_items(tmp_path / "feed.tsv")
    assert item["title"] == "Bolt M6 zinc"
    (from_xml,) = xml_items(tmp_path / "feed.xml")
    assert from_xml["description"] == ["<b>&amp;</b>  ünïcode"]


def test_a_failed_write_keeps_the_previous_feed(tmp_path: Path) -> None:
    block = feed(tmp_path)
    write(block, [GOOD])
    before = (tmp_path / "feed.tsv").read_text()
    with pytest.raises(RuntimeError):
        with block.open(columns=COLUMNS, key="external_id", mode="replace") as writer:
            writer.write([{**GOOD, "external_id": "B-1"}])
            raise RuntimeError("the run failed")
    assert (tmp_path / "feed.tsv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.rejected.csv", "feed.tsv"]


def test_mapping_mistakes_are_refused_when_the_feed_is_opened(tmp_path: Path) -> None:
    with pytest.raises(TerminalConnectorError, match="not feed attributes"):
        GoogleMerchantFeed(path=str(tmp_path / "f.tsv"), fields={"colour": "colour"}).open(
            columns=COLUMNS, key="external_id", mode="replace"
        )
    with pytest.raises(TerminalConnectorError, match=r"unknown column\(s\) \['slug'\]"):
        GoogleMerchantFeed(
            path=str(tmp_path / "f.tsv"), templates={"link": "https://x.example/{slug}"}
        ).open(columns=COLUMNS, key="external_id", mode="replace")


@pytest.mark.parametrize("name", ["feed.xml", "feed.tsv"])
def test_the_bundled_example_as_a_feed_through_the_cli(
    example_store: int, tmp_path: Path, name: str
) -> None:
    from catalog.gtin import is_valid_gtin
    from cli.main import app

    out = tmp_path / name
    result = CliRunner().invoke(
        app,
        [
            "export", str(out), "--format", "google-merchant",
            "--link-template", "https://shop.example.com/p/{external_id}",
            "--image-template", "https://cdn.example.com/{sku}.jpg",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    if name.endswith(".xml"):
        items = [{k: v[0] for k, v in i.items()} for i in xml_items(out)]
    else:
        items = [{k: v for k, v in i.items() if v} for i in tsv_items(out)]
    with (tmp_path / "feed.rejected.csv").open(newline="", encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert len(items) + len(rejected) == example_store
    assert items and rejected
    assert all(set(REQUIRED) <= set(item) for item in items)
    assert all(is_valid_gtin(item["gtin"]) for item in items if "gtin" in item)
    assert all(item["price"].endswith(" USD") for item in items)
    for row in rejected:
        reasons = row["reasons"].split("; ")
        assert (
            row["id"]
            and reasons
            and all(
                r.startswith(("invalid GTIN: ", "missing required attribute ")) for r in reasons
            )
        ), row
    assert f"Wrote {len(items)} item(s)" in result.output
    assert f"{len(rejected)} item(s) Google would refuse were left out" in result.output


@pytest.mark.usefixtures("prefect_harness")
def test_a_saved_feed_block_is_what_the_export_deployment_writes(
    example_store: int, tmp_path: Path
) -> None:
    from flows.export import export

    feed(tmp_path, "nightly.xml", templates={
        "link": "https://shop.example.com/p/{external_id}",
        "image_link": "https://cdn.example.com/{sku}.jpg",
    }).save("merchant-center", overwrite=True)  # fmt: skip

    summary = export(
        catalog="acme-supplier-catalog", destination="skuflow-google-merchant-feed/merchant-center"
    )

    assert summary["status"] == "completed"
    items = xml_items(tmp_path / "nightly.xml")
    assert len(items) + len(rejects(feed(tmp_path, "nightly.xml"))) == example_store


def test_the_rejects_report_never_carries_a_live_spreadsheet_formula(tmp_path: Path) -> None:
    block = feed(tmp_path, default_availability=None)
    hostile = '=HYPERLINK("http://evil.example","open")'
    write(block, [{**GOOD, "external_id": "@A-1", "title": hostile, "stock": None}])
    with block.rejects_path().open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["id"], row["title"]) == ("'@A-1", "'" + hostile)
