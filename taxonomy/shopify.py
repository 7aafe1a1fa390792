"""Shopify's open product taxonomy with its category attributes, and its cross-walk to Google.

Shopify publishes the tree (`categories.txt` / `categories.csv`), which attributes each category
has (`category_attributes.csv`), what those attributes are (`attributes.csv`) and their allowed
values (`attribute_values.csv`), plus a mapping of every category to Google's taxonomy
(`shopify_to_google_mapping.csv`). `taxonomy.importers.load_shopify_folder` reads a release
folder into one `Taxonomy` whose nodes carry their attributes; this module turns those
attributes into enrichment output fields and the mapping into a cross-walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.errors import InputError
from taxonomy.model import Taxonomy


def attribute_schema(taxonomy: Taxonomy, node_id: str) -> dict[str, Any]:
    """JSON schema of a category's attributes, for enrichment's structured output: one
    optional string per attribute, restricted to its allowed values when there are any."""
    properties: dict[str, Any] = {}
    for attribute in taxonomy.attributes_of(node_id):
        prop: dict[str, Any] = {"type": ["string", "null"], "title": attribute.name}
        if attribute.description:
            prop["description"] = attribute.description
        if attribute.values:
            prop["enum"] = [*attribute.values, None]
        properties[attribute.handle] = prop
    return {"type": "object", "properties": properties, "additionalProperties": False}


def attribute_fields(taxonomy: Taxonomy, node_id: str) -> list[dict[str, Any]]:
    """A category's attributes as enrichment output fields (the seed-003 list form that
    `enrichment.output_schema.OutputSchema.parse` reads): one string field per attribute,
    with its allowed values as `enum` when the taxonomy lists them."""
    fields: list[dict[str, Any]] = []
    for attribute in taxonomy.attributes_of(node_id):
        field: dict[str, Any] = {
            "name": attribute.handle,
            "type": "string",
            "description": attribute.description or attribute.name,
        }
        if attribute.values:
            field["enum"] = list(attribute.values)
        fields.append(field)
    return fields


@dataclass(frozen=True)
class Crosswalk:
    """Node ids of one taxonomy mapped to node ids of another."""

    source: str
    target: str
    mapping: dict[str, str]
    paths: dict[str, str] = field(default_factory=dict)
    """Source node paths ("Hardware > Tools > Drills") mapped to target node ids, for
    catalogues whose category values are paths."""

    def translate(self, node_id: str) -> str | None:
        return self.mapping.get(node_id) or self.paths.get(node_id)

    def google_category_map(self) -> dict[str, str]:
        """Every source id and path to its Google category id: the Merchant Center feed's
        ``category_map`` (`connectors.google_merchant.GoogleMerchantFeed`)."""
        return {**self.paths, **self.mapping}


def load_shopify_google_crosswalk(path: str | Path, *, google: Taxonomy | None = None) -> Crosswalk:
    """Read `shopify_to_google_mapping.csv` (shopify_id → google_category_id, and
    shopify_full_path → google_category_id when the file has that column). With `google`
    given, targets missing from that Google version are left out rather than kept dangling.

    Raises:
        InputError: the file lacks the shopify_id or google_category_id column.
    """
    source = str(path)
    if not Path(path).is_file():
        raise InputError.single(source, "file not found")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("shopify_id", "google_category_id") if c not in frame.columns]
    if missing:
        raise InputError.single(source, f"no column {', '.join(missing)}", row=1)
    pairs = {
        s: g
        for s, g in zip(frame["shopify_id"], frame["google_category_id"], strict=True)
        if s and g and (google is None or g in google)
    }
    paths = {}
    if "shopify_full_path" in frame.columns:
        paths = {
            p: g
            for p, g in zip(frame["shopify_full_path"], frame["google_category_id"], strict=True)
            if p and g and (google is None or g in google)
        }
    return Crosswalk(
        source="shopify", target=google.name if google else "google", mapping=pairs, paths=paths
    )
