"""Raw API records onto a catalogue: canonical names for the usual keys, every other key kept.

Clients send whatever their platform exports (``id`` or ``sku``, ``name`` or ``title``, …).
The usual spellings become the catalogue's core attributes; every other key becomes an
attribute of its own (nothing a client sent is dropped), and nested values are kept as JSON
text. The catalogue per source grows as new keys appear.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.mapping import column_key
from catalog.rows import RowBatch
from catalog.schema import CatalogSchema

CORE: dict[str, dict[str, Any]] = {
    "id": {"type": "text", "required": True},
    "name": {"type": "text"},
    "description": {"type": "text"},
    "brand": {"type": "text"},
    "supplier": {"type": "text"},
    "supplier_website": {"type": "text"},
    "category": {"type": "text", "derive": "classify"},
}
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "sku", "external_id", "item_id", "item #", "item no", "product_id", "part_number"),
    "name": ("name", "title", "product_name"),
    "description": ("description", "desc", "long_description"),
    "brand": ("brand", "manufacturer"),
    "supplier": ("supplier", "supplier_name", "vendor", "company_name"),
    "supplier_website": ("supplier_website", "domain", "website"),
    "category": ("category", "product_category"),
}
CLIENT_KEY = "client key: "
_NAME = re.compile(r"[^A-Za-z0-9_]+")


def catalog_name(source: str) -> str:
    """The catalogue records of one source land in (`api-acme-erp`)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.strip()).strip("-.") or "source"
    return f"api-{slug}"[:200]


def _attribute_name(key: str, taken: set[str]) -> str:
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    base = _NAME.sub("_", ascii_key.strip()).strip("_").lower() or "field"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"f_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def content_id(record: dict[str, Any]) -> str:
    """An id for a record that has none: a hash of its content, so re-sending the same
    id-less record updates rather than duplicates it."""
    body = json.dumps(record, sort_keys=True, default=str).encode()
    return "rec-" + hashlib.sha256(body).hexdigest()[:16]


@dataclass
class PreparedRecords:
    rows: list[dict[str, Any]]
    external_ids: list[str]
    extra_attributes: dict[str, str]
    """Attribute name → the client's key, for keys beyond the core ones."""


def prepare(records: Sequence[dict[str, Any]], *, known: dict[str, str]) -> PreparedRecords:
    """Rename keys onto attributes (``known`` maps earlier keys to their attributes, so a
    source's key keeps its attribute across calls)."""
    alias_of = {column_key(a): core for core, aliases in ALIASES.items() for a in aliases}
    key_to_attribute = dict(known)
    taken = set(CORE) | set(known.values())
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for record in records:
        row: dict[str, Any] = {}
        for key, value in record.items():
            core = alias_of.get(column_key(key))
            if core is not None and core not in row:
                attribute = core
            else:
                attribute = key_to_attribute.get(key)
                if attribute is None:
                    attribute = key_to_attribute[key] = _attribute_name(key, taken)
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, default=str)
            row[attribute] = value
        given = "" if row.get("id") is None else str(row["id"]).strip()
        row["id"] = given or content_id(record)
        rows.append(row)
        ids.append(row["id"])
    extras = {attr: key for key, attr in key_to_attribute.items()}
    return PreparedRecords(rows=rows, external_ids=ids, extra_attributes=extras)


def known_keys(schema: CatalogSchema) -> dict[str, str]:
    """The client keys a stored API catalogue already maps, and their attributes."""
    return {
        a.description.removeprefix(CLIENT_KEY): a.name
        for a in schema.attributes
        if a.description.startswith(CLIENT_KEY)
    }


def api_schema(name: str, extra_attributes: dict[str, str]) -> CatalogSchema:
    attributes = [{"name": n, **spec} for n, spec in CORE.items()]
    attributes += [
        {"name": attr, "type": "text", "description": f"{CLIENT_KEY}{key}"}
        for attr, key in sorted(extra_attributes.items())
    ]
    return CatalogSchema.model_validate(
        {
            "name": name,
            "kind": "products",
            "description": "Records sent to POST /api/ingest.",
            "id": "id",
            "text": ["name", "description"],
            "supplier_name": "supplier",
            "supplier_website": "supplier_website",
            "unknown_columns": "error",
            "attributes": attributes,
        }
    )


@dataclass
class RecordsSource:
    """Prepared records as an ingest `Source`; row numbers are 0-based positions in the
    request's ``records`` array, so problems point at ``records[i]``."""

    rows: list[dict[str, Any]]
    positions: list[int]
    name: str = "records"

    def describe(self) -> str:
        return self.name

    def columns(self) -> list[str]:
        return list(dict.fromkeys(k for row in self.rows for k in row))

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        columns = self.columns()
        for start in range(0, len(self.rows), batch_size):
            chunk = self.rows[start : start + batch_size]
            yield RowBatch(
                rows=[{c: row.get(c) for c in columns} for row in chunk],
                row_numbers=self.positions[start : start + batch_size],
                source=self.name,
            )
