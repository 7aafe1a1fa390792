"""`skuflow export FEED.xml --format google-merchant`: the catalogue as a Google Merchant
Center feed, through the same destination block a schedule writes (`GoogleMerchantFeed`), and
a table of what was left out and why."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from cli.console import console
from cli.store import open_catalog

SHOWN_REJECTS = 15


@dataclass(frozen=True)
class FeedOptions:
    link_template: str | None = None
    image_template: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    availability: str = "in_stock"
    google_categories: Path | None = None
    category_is_google: bool = False


def export_google_merchant(out: Path, catalog: str | None, options: FeedOptions) -> None:
    """Write the feed and print how many items went in, and each rejected item's reasons."""
    from catalog.distribute import distribute
    from catalog.repository import catalog_schema
    from catalog.settings import get_settings
    from connectors.google_merchant import GoogleMerchantFeed
    from taxonomy.shopify import load_shopify_google_crosswalk

    templates = {}
    if options.link_template:
        templates["link"] = options.link_template
    if options.image_template:
        templates["image_link"] = options.image_template
    category_map = (
        load_shopify_google_crosswalk(options.google_categories).google_category_map()
        if options.google_categories
        else {}
    )
    with open_catalog(catalog) as (session, stored):
        schema = catalog_schema(stored)
        feed = GoogleMerchantFeed(
            path=str(out),
            format="xml" if out.suffix.lower() == ".xml" else "tsv",
            fields=options.fields,
            templates=templates,
            currency=options.currency or _price_currency(schema),
            default_availability=options.availability,
            category_map=category_map,
            category_is_google=options.category_is_google,
            channel_title=schema.name,
        )
        (result,) = distribute(
            session,
            catalog_id=stored.id,
            schema=schema,
            targets=[(feed, "replace")],
            batch_size=get_settings().batch_size,
        )
    console.print(f"Wrote {result.rows} item(s) to {out}.")
    with feed.rejects_path().open(newline="", encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    if rejected:
        kinds = Counter(r.split(":")[0] for row in rejected for r in row["reasons"].split("; "))
        counts = ", ".join(f"{kind}: {n}" for kind, n in kinds.most_common())
        console.print(
            f"[yellow]{len(rejected)} item(s) Google would refuse were left out[/yellow] "
            f"({counts}); all listed in {feed.rejects_path()}."
        )
        table = Table("id", "reasons")
        for row in rejected[:SHOWN_REJECTS]:
            table.add_row(row["id"], row["reasons"])
        console.print(table)


def _price_currency(schema: object) -> str:
    """The price attribute's unit when it is a currency code (USD, EUR, …), else USD."""
    for attribute in getattr(schema, "attributes", []):
        if (
            attribute.name == "price"
            and attribute.unit
            and re.fullmatch(r"[A-Z]{3}", attribute.unit)
        ):
            return attribute.unit
    return "USD"
