"""Marketplace upload files: Shopify's product CSV and an Amazon listings flat file.

Both are `FileExport` CSVs (written whole, renamed into place at commit) whose columns are the
marketplace's template columns; each catalogue row is mapped onto them by `fields` (template
column → catalogue column) and `constants` (template column → fixed value). Shopify handles are
made from the key (lower case, dashes); Amazon's flat file is tab-delimited with its
`TemplateType=` line and the label row above the attribute names, as Seller Central expects.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field

from catalog.rows import WriteMode, WriteResult
from connectors.base import TerminalConnectorError, WriterLifecycle, to_text
from connectors.file_export import FileExportWriter

SHOPIFY_COLUMNS = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Variant SKU", "Variant Grams", "Variant Inventory Qty",
    "Variant Price", "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable",
    "Variant Barcode", "Image Src", "Image Position", "SEO Title", "SEO Description", "Status",
]  # fmt: skip
SHOPIFY_FIELDS = {
    "Title": "title",
    "Body (HTML)": "description",
    "Vendor": "brand",
    "Type": "category",
    "Tags": "tags",
    "Variant SKU": "sku",
    "Variant Price": "price",
    "Variant Barcode": "gtin",
    "Variant Inventory Qty": "stock",
    "Image Src": "images",
}
SHOPIFY_CONSTANTS = {
    "Published": "TRUE",
    "Option1 Name": "Title",
    "Option1 Value": "Default Title",
    "Variant Requires Shipping": "TRUE",
    "Variant Taxable": "TRUE",
    "Status": "active",
}

AMAZON_COLUMNS = {
    "feed_product_type": "Product Type",
    "item_sku": "Seller SKU",
    "brand_name": "Brand Name",
    "item_name": "Item Name",
    "external_product_id": "Product ID",
    "external_product_id_type": "Product ID Type",
    "manufacturer": "Manufacturer",
    "part_number": "Manufacturer Part Number",
    "standard_price": "Standard Price",
    "quantity": "Quantity",
    "product_description": "Product Description",
    "main_image_url": "Main Image URL",
    "update_delete": "Update Delete",
}
AMAZON_FIELDS = {
    "brand_name": "brand",
    "item_name": "title",
    "external_product_id": "gtin",
    "manufacturer": "brand",
    "part_number": "mpn",
    "standard_price": "price",
    "quantity": "stock",
    "product_description": "description",
    "main_image_url": "images",
}

Marketplace = Literal["shopify_csv", "amazon_flat_file"]


class MarketplaceExport(Block):
    """A Shopify product CSV or an Amazon listings flat file of the catalogue, rewritten whole.

    Attributes:
        path: The file to write.
        marketplace: shopify_csv or amazon_flat_file.
        fields: Template column → catalogue column, on top of the marketplace's defaults.
        constants: Template column → a fixed value for every row.
        template_type: Amazon's TemplateType (the category template), e.g. "Home".
        product_type: Amazon's feed_product_type for every row, e.g. "hardware".

    Example:
        Write a Shopify import file:
        ```python
        from connectors.marketplace_export import MarketplaceExport

        export = MarketplaceExport.load("BLOCK_NAME")
        with export.open(columns=["sku", "title"], key="sku", mode="replace") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow Marketplace Export"
    _block_type_slug = "skuflow-marketplace-export"

    path: str = Field(..., description="The file to write; its folder is created if missing.")
    marketplace: Marketplace = Field(
        "shopify_csv", description="The file layout: shopify_csv or amazon_flat_file."
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Template column to catalogue column, on top of the marketplace's defaults.",
    )
    constants: dict[str, str] = Field(
        default_factory=dict, description="Template column to a fixed value for every row."
    )
    template_type: str = Field("Custom", description="Amazon's TemplateType, e.g. Home.")
    product_type: str | None = Field(
        None, description="Amazon's feed_product_type for every row, e.g. hardware."
    )

    def describe(self) -> str:
        return f"{self.marketplace.replace('_', ' ')} {self.path}"

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> MarketplaceWriter:
        """Start a new version of the file; `mode` must be "replace"."""
        if self.marketplace == "shopify_csv":
            template, delimiter = SHOPIFY_COLUMNS, ","
            preamble: list[list[str]] = []
            fields = {**SHOPIFY_FIELDS, **self.fields}
            constants = {**SHOPIFY_CONSTANTS, **self.constants}
        else:
            template = list(AMAZON_COLUMNS)
            preamble = [
                [f"TemplateType={self.template_type}", "Version=skuflow"],
                list(AMAZON_COLUMNS.values()),
            ]
            delimiter = "\t"
            fields = {**AMAZON_FIELDS, "item_sku": key, **self.fields}
            constants = {"update_delete": "Update", **self.constants}
            if self.product_type:
                constants.setdefault("feed_product_type", self.product_type)
        unknown = sorted((set(self.fields) | set(self.constants)) - set(template))
        if unknown:
            raise TerminalConnectorError(
                f"{self.describe()}: {unknown} are not columns of the {self.marketplace} template"
            )
        if mode != "replace":
            raise TerminalConnectorError(
                f"{self.describe()}: a marketplace file is rewritten whole, so mode must be "
                f"'replace', not '{mode}'"
            )
        if key not in columns:
            raise TerminalConnectorError(f"{self.describe()}: key column '{key}' is not written")
        writer = FileExportWriter(
            destination=self.describe(),
            path=Path(os.path.expanduser(self.path)),
            fmt="csv",
            columns=template,
            types={},
            delimiter=delimiter,
            preamble=preamble,
        )
        chosen = {column: f for column, f in fields.items() if f in columns}
        if self.marketplace == "shopify_csv":
            chosen.setdefault("Variant SKU", key)
        return MarketplaceWriter(
            block=self, local=writer, key=key, fields=chosen, constants=constants
        )


class MarketplaceWriter(WriterLifecycle):
    """Maps each catalogue row onto the template's columns, then writes it to the file."""

    def __init__(
        self,
        *,
        block: MarketplaceExport,
        local: FileExportWriter,
        key: str,
        fields: dict[str, str],
        constants: dict[str, str],
    ) -> None:
        self._block = block
        self._local = local
        self._key = key
        self._fields = fields
        self._constants = constants

    def __enter__(self) -> MarketplaceWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._local.write([self._mapped(row) for row in rows])

    def commit(self) -> WriteResult:
        return self._local.commit()

    def abort(self) -> None:
        self._local.abort()

    def _mapped(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = dict(self._constants)
        for column, source in self._fields.items():
            out[column] = _cell(column, row.get(source))
        if self._block.marketplace == "shopify_csv":
            out["Handle"] = handle(str(row[self._key]))
            if out.get("Image Src"):
                out["Image Position"] = 1
            if isinstance(row.get("weight"), int | float) and "Variant Grams" not in self._fields:
                out["Variant Grams"] = round(row["weight"] * 1000)  # catalogue weights are kg
        elif out.get("external_product_id") and "external_product_id_type" not in out:
            digits = len(str(out["external_product_id"]))
            out["external_product_id_type"] = {12: "UPC", 13: "EAN", 14: "GTIN"}.get(digits, "")
        return out


def handle(value: str) -> str:
    """A Shopify handle: lower case letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _cell(column: str, value: Any) -> Any:
    """Lists: Shopify tags comma-joined; a single image column takes the first image URL."""
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if isinstance(value, list):
        if column in ("Image Src", "main_image_url"):
            return value[0] if value else None
        return ", ".join(str(v) for v in value)
    return to_text(value) if not isinstance(value, int | float) else value
