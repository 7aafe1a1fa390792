"""A Google Merchant Center product feed (Google's product data specification), TSV or RSS 2.0.

Each catalogue row becomes one feed item: `fields` say which column fills which feed attribute
(sensible defaults: `title`, `description`, `price`, `brand`, `gtin` or `upc`, …), `templates`
build what the catalogue does not hold (`link` from `https://shop.example.com/p/{external_id}`),
`constants` fill the rest. `google_product_category` comes from the catalogue's category:
translated through `category_map` (fill it from Shopify's cross-walk with
`taxonomy.shopify.load_shopify_google_crosswalk(...).google_category_map()`), or passed through
when the catalogue is classified into Google's own taxonomy (`category_is_google`).

Google disapproves an item that lacks a required attribute or carries an invalid one (a GTIN
with a wrong check digit, a price that is not a positive amount, …). Such an item is not
written: it goes to a rejects file beside the feed (`FEED.rejected.csv`: id, title, every
reason), so the feed Google fetches holds only items it will accept. Both files are written to
temporary files and renamed into place at commit, so a scheduled fetch never sees half a feed.
"""

from __future__ import annotations

import csv
import os
import re
import string
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from prefect.blocks.core import Block
from pydantic import Field

from catalog.export_cells import spreadsheet_text, xml_text
from catalog.gtin import gtin_problem, normalize_gtin
from catalog.rows import WriteMode, WriteResult
from connectors.base import TerminalConnectorError, WriterLifecycle, block_label, to_text

FEED_ATTRIBUTES = [
    "id", "title", "description", "link", "image_link", "additional_image_link",
    "availability", "price", "brand", "gtin", "mpn", "identifier_exists", "condition",
    "google_product_category", "product_type", "shipping_weight",
]  # fmt: skip
REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price")
"""Attributes Google requires of every product."""
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name"),
    "description": ("description", "body"),
    "link": ("link", "url", "product_url"),
    "image_link": ("image_link", "images", "image", "image_url"),
    "availability": ("availability",),
    "price": ("price",),
    "brand": ("brand", "vendor"),
    "gtin": ("gtin", "upc", "ean", "barcode"),
    "mpn": ("mpn", "part_number"),
    "google_product_category": ("google_product_category",),
    "product_type": ("category", "product_type"),
    "shipping_weight": ("weight", "shipping_weight"),
}
"""Catalogue columns tried, in order, for each feed attribute that `fields` does not map."""
STOCK_COLUMNS = ("stock", "quantity", "inventory")
AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")
CONDITIONS = ("new", "refurbished", "used")
MAX_LENGTH = {"id": 50, "title": 150, "description": 5000, "link": 2000, "image_link": 2000}
MAX_ADDITIONAL_IMAGES = 10
G_NAMESPACE = "http://base.google.com/ns/1.0"
_CELL_BREAKS = re.compile(r"[\t\r\n]+")

FeedFormat = Literal["auto", "tsv", "xml"]


class GoogleMerchantFeed(Block):
    """A Google Merchant Center feed of the catalogue (TSV or RSS 2.0 XML), rewritten whole,
    with the items Google would refuse listed in a rejects file instead of written.

    Attributes:
        path: The feed file (`.tsv`/`.txt` or `.xml`).
        format: tsv, xml, or auto from the extension.
        fields: Feed attribute → catalogue column, on top of the defaults.
        templates: Feed attribute → a text with `{column}` placeholders, for empty values.
        constants: Feed attribute → a fixed value for every item.
        currency: ISO 4217 code written after each price.
        weight_unit: The unit of the shipping-weight column (kg, lb, g, oz).
        default_availability: Availability of items with neither an availability nor a stock
            column value.
        category_map: Catalogue category (node id or path) → Google category id or path.
        category_is_google: The catalogue's categories are nodes of Google's taxonomy.
        channel_title: The RSS channel's title.
        channel_link: The RSS channel's link (the shop).

    Example:
        Publish the feed Merchant Center fetches:
        ```python
        from connectors.google_merchant import GoogleMerchantFeed

        feed = GoogleMerchantFeed.load("BLOCK_NAME")
        with feed.open(columns=["sku", "title"], key="sku", mode="replace") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            result = writer.commit()
        ```
    """

    _block_type_name = "skuflow Google Merchant Feed"
    _block_type_slug = "skuflow-google-merchant-feed"

    path: str = Field(..., description="The feed file to write; its folder is created if missing.")
    format: FeedFormat = Field("auto", description="tsv, xml, or auto from the file extension.")
    fields: dict[str, str] = Field(
        default_factory=dict, description="Feed attribute to catalogue column, over the defaults."
    )
    templates: dict[str, str] = Field(
        default_factory=dict,
        description="Feed attribute to a text with {column} placeholders, used when it is empty.",
    )
    constants: dict[str, str] = Field(
        default_factory=dict, description="Feed attribute to a fixed value for every item."
    )
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 price currency.")
    weight_unit: Literal["kg", "g", "lb", "oz"] = Field(
        "kg", description="The unit of the shipping-weight column."
    )
    default_availability: Literal["in_stock", "out_of_stock", "preorder", "backorder"] | None = (
        Field("in_stock", description="Availability when no column gives one; none to reject.")
    )
    category_map: dict[str, str] = Field(
        default_factory=dict,
        description="Catalogue category (id or path) to Google category id or path.",
    )
    category_is_google: bool = Field(
        False, description="The catalogue's categories are already Google taxonomy nodes."
    )
    channel_title: str = Field("skuflow catalogue", description="The RSS channel's title.")
    channel_link: str = Field("https://example.com/", description="The RSS channel's link.")

    def describe(self) -> str:
        return block_label(self, f"Google Merchant feed {self.path}")

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> GoogleMerchantWriter:
        """Start a new version of the feed; a feed is always whole (`replace`, or `upsert`
        which means the same for a file)."""
        where = self.describe()
        if mode == "append":
            raise TerminalConnectorError(f"{where}: a feed is rewritten whole; use mode 'replace'")
        if key not in columns:
            raise TerminalConnectorError(f"{where}: key column '{key}' is not written")
        unknown = sorted(
            (set(self.fields) | set(self.templates) | set(self.constants)) - set(FEED_ATTRIBUTES)
        )
        if unknown:
            raise TerminalConnectorError(
                f"{where}: {unknown} are not feed attributes ({', '.join(FEED_ATTRIBUTES)})"
            )
        missing = sorted({c for c in self.fields.values() if c not in columns})
        if missing:
            raise TerminalConnectorError(f"{where}: fields name unknown column(s) {missing}")
        for attribute, template in self.templates.items():
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            if names - set(columns):
                raise TerminalConnectorError(
                    f"{where}: template for {attribute} names unknown column(s) "
                    f"{sorted(names - set(columns))}"
                )
        fmt = self.format
        if fmt == "auto":
            fmt = "xml" if Path(self.path).suffix.lower() == ".xml" else "tsv"
        return GoogleMerchantWriter(self, columns=columns, key=key, fmt=fmt)

    def rejects_path(self) -> Path:
        """Where the items left out are listed: ``FEED.rejected.csv`` beside the feed."""
        path = Path(os.path.expanduser(self.path))
        return path.with_name(f"{path.stem}.rejected.csv")

    def column_for(self, attribute: str, columns: list[str], key: str) -> str | None:
        """The catalogue column that fills ``attribute`` (mapped, else the first default)."""
        if attribute in self.fields:
            return self.fields[attribute]
        if attribute == "id":
            return key
        return next((c for c in DEFAULT_COLUMNS.get(attribute, ()) if c in columns), None)


class GoogleMerchantWriter(WriterLifecycle):
    """Maps and checks each row, streaming accepted items to the feed and the others to the
    rejects file; `commit()` renames both into place."""

    def __init__(self, block: GoogleMerchantFeed, *, columns: list[str], key: str, fmt: str):
        self._block = block
        self._where = block.describe()
        self._format = fmt
        self._columns = {a: block.column_for(a, columns, key) for a in FEED_ATTRIBUTES}
        self._stock = next((c for c in STOCK_COLUMNS if c in columns), None)
        self._category = next((c for c in ("category", "product_type") if c in columns), None)
        self._seen: set[str] = set()
        self.written = 0
        self.rejected: list[tuple[str, list[str]]] = []
        """(item id, reasons) of every item left out of the feed."""
        self._state = "open"
        self._path = Path(os.path.expanduser(block.path))
        self._rejects_path = block.rejects_path()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._feed, self._feed_tmp = _temporary(self._path)
            self._rejects, self._rejects_tmp = _temporary(self._rejects_path)
        except OSError as exc:
            raise TerminalConnectorError(f"{self._where}: cannot write there: {exc}") from exc
        self._rejects_csv = csv.writer(self._rejects)
        self._rejects_csv.writerow(["id", "title", "reasons"])
        if fmt == "tsv":
            self._feed.write("\t".join(FEED_ATTRIBUTES) + "\n")
        else:
            self._feed.write(
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<rss version="2.0" xmlns:g="{G_NAMESPACE}">\n<channel>\n'
                f"<title>{_xml(block.channel_title)}</title>\n"
                f"<link>{_xml(block.channel_link)}</link>\n"
                "<description>Product feed written by skuflow</description>\n"
            )

    def __enter__(self) -> GoogleMerchantWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self._state != "open":
            raise TerminalConnectorError(f"{self._where}: this feed is {self._state}")
        for row in rows:
            item, reasons = self.item(row)
            if reasons:
                self.rejected.append((item.get("id") or "", reasons))
                self._rejects_csv.writerow(  # a report people open in a spreadsheet
                    [
                        spreadsheet_text(item.get("id") or ""),
                        spreadsheet_text(item.get("title") or ""),
                        "; ".join(reasons),
                    ]
                )
                continue
            self._seen.add(item["id"])
            self._feed.write(_tsv_line(item) if self._format == "tsv" else _xml_item(item))
            self.written += 1

    def item(self, row: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
        """One row as feed attributes, and every reason Google would refuse it (none: valid)."""
        block = self._block
        item: dict[str, str] = {}
        for attribute in FEED_ATTRIBUTES:
            column = self._columns[attribute]
            value = _text(row.get(column)) if column else None
            if value is None and attribute in block.templates:
                value = _template(block.templates[attribute], row)
            if value is None and attribute in block.constants:
                value = block.constants[attribute]
            if value is not None:
                item[attribute] = value
        self._derive(item, row)
        return item, self._problems(item)

    def _derive(self, item: dict[str, str], row: dict[str, Any]) -> None:
        block = self._block
        images = _split_images(item.pop("image_link", None))
        if images:
            item["image_link"] = images[0]
            if len(images) > 1 and "additional_image_link" not in item:
                item["additional_image_link"] = ",".join(images[1 : 1 + MAX_ADDITIONAL_IMAGES])
        if "availability" not in item:
            stock = _number(row.get(self._stock)) if self._stock else None
            if stock is not None:
                item["availability"] = "in_stock" if stock > 0 else "out_of_stock"
            elif block.default_availability:
                item["availability"] = block.default_availability
        price = _number(item.get("price"))
        if price is not None and price > 0:
            item["price"] = f"{price:.2f} {block.currency}"
        if "gtin" in item and not gtin_problem(item["gtin"]):
            item["gtin"] = normalize_gtin(item["gtin"]) or item["gtin"]
        weight = _number(item.get("shipping_weight"))
        if weight is not None:
            item["shipping_weight"] = f"{weight:g} {block.weight_unit}"
        if "google_product_category" not in item and self._category:
            category = _text(row.get(self._category))
            google = block.category_map.get(category or "") or (
                category if block.category_is_google else None
            )
            if google:
                item["google_product_category"] = google
        item.setdefault("condition", "new")
        if "gtin" not in item and not ("mpn" in item and "brand" in item):
            item.setdefault("identifier_exists", "no")

    def _problems(self, item: dict[str, str]) -> list[str]:
        """Each reason as ``kind: detail`` (the kind is what `reasons()` counts)."""
        problems = [f"missing required attribute {name}" for name in REQUIRED if not item.get(name)]
        for name, limit in MAX_LENGTH.items():
            if len(item.get(name, "")) > limit:
                problems.append(f"too long {name}: {len(item[name])} characters (at most {limit})")
        if item.get("id") in self._seen:
            problems.append(f"duplicate id: {item['id']}")
        if "gtin" in item and (problem := gtin_problem(item["gtin"])):
            problems.append(f"invalid GTIN: {problem}")
        if item.get("price") and not item["price"].endswith(f" {self._block.currency}"):
            problems.append(f"invalid price: '{item['price']}' is not a positive amount")
        if item.get("availability") and item["availability"] not in AVAILABILITY:
            problems.append(
                f"invalid availability: '{item['availability']}' is not one of "
                + ", ".join(AVAILABILITY)
            )
        if item.get("condition") not in CONDITIONS:
            problems.append(
                f"invalid condition: '{item['condition']}' is not one of {', '.join(CONDITIONS)}"
            )
        for name in ("link", "image_link"):
            if item.get(name) and not _is_web_url(item[name]):
                problems.append(
                    f"invalid {name}: '{item[name][:80]}' is not an absolute http(s) URL"
                )
        return problems

    def commit(self) -> WriteResult:
        if self._state != "open":
            raise TerminalConnectorError(f"{self._where}: this feed is {self._state}")
        try:
            if self._format == "xml":
                self._feed.write("</channel>\n</rss>\n")
            for stream, temporary, target in (
                (self._rejects, self._rejects_tmp, self._rejects_path),
                (self._feed, self._feed_tmp, self._path),
            ):
                stream.flush()
                os.fsync(stream.fileno())
                stream.close()
                os.chmod(temporary, 0o644)
                os.replace(temporary, target)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        location = f"{self._path} ({self.written} items"
        if self.rejected:
            location += f"; {len(self.rejected)} rejected, listed in {self._rejects_path}"
        return WriteResult(destination=self._where, rows=self.written, location=location + ")")

    def reasons(self) -> Counter[str]:
        """How many rejected items each kind of reason left out ("invalid GTIN": 12, …)."""
        return Counter(reason.split(":")[0] for _, reasons in self.rejected for reason in reasons)

    def abort(self) -> None:
        if self._state != "open":
            return
        self._state = "aborted"
        for stream, temporary in ((self._feed, self._feed_tmp), (self._rejects, self._rejects_tmp)):
            stream.close()
            temporary.unlink(missing_ok=True)


def _temporary(target: Path) -> tuple[IO[str], Path]:
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    return os.fdopen(handle, "w", encoding="utf-8", newline=""), Path(name)


def _text(value: Any) -> str | None:
    text = to_text(value)
    if text is None:
        return None
    text = text.strip()
    return text or None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return number if number == number else None


def _template(template: str, row: dict[str, Any]) -> str | None:
    """The template filled from the row; None when a placeholder's value is empty."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    values = {name: _text(row.get(name)) for name in names}
    if any(v is None for v in values.values()):
        return None
    return template.format_map(values)


def _split_images(value: str | None) -> list[str]:
    if not value:
        return []
    text = value.strip()
    if text.startswith("["):
        import json

        try:
            return [str(v).strip() for v in json.loads(text) if str(v).strip()]
        except ValueError:
            pass
    return [part.strip() for part in re.split(r"[,\s]+", text) if part.strip()]


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def _tsv_line(item: dict[str, str]) -> str:
    """One TSV row: Google's TSV has no quoting, so tabs and line breaks become spaces."""
    return "\t".join(_CELL_BREAKS.sub(" ", item.get(a, "")) for a in FEED_ATTRIBUTES) + "\n"


def _xml(value: str) -> str:
    return escape(xml_text(value))


def _xml_item(item: dict[str, str]) -> str:
    lines = []
    for attribute in FEED_ATTRIBUTES:
        if attribute not in item:
            continue
        values = (
            item[attribute].split(",")
            if attribute == "additional_image_link"
            else [item[attribute]]
        )
        lines += [f"<g:{attribute}>{_xml(v)}</g:{attribute}>" for v in values]
    return "<item>\n" + "\n".join(lines) + "\n</item>\n"
