"""The record provider: values stated in the item's own text (name, description, spec lines).

It reuses the catalogue extractor (`enrichment.extract`), which scans whole text columns at once,
by describing the output schema to it as a catalogue schema. Its evidence has source `input`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from catalog.schema import Attribute, AttributeType, CatalogSchema
from enrichment.evidence import INPUT, Evidence
from enrichment.extract import extract_attributes
from enrichment.matching import label_quality
from enrichment.output_schema import OutputField, OutputSchema

PROVIDER = "record"
_TITLE_KEYS = ("title", "name", "product_name", "product_title", "item_name", "short_description")
_DESCRIPTIVE = re.compile(
    r"name|title|desc|detail|feature|spec|summary|bullet|text|overview|about", re.IGNORECASE
)
COLUMN_RELIABILITY = 0.9
"""A value in an item column whose name names the field ("Weight" for `weight_kg`)."""
_SKIPPED_KEYS = {"id", "sku", "url", "image", "image_url", "website", "link", "gtin", "ean", "upc"}


def text_keys(items: Sequence[dict[str, Any]], schema: OutputSchema) -> list[str]:
    """Item keys holding descriptive text (names, titles, descriptions, features), title-like
    first: what the extractor reads. Other columns (prices, codes, a `weight` column) are read
    by label instead (`column_evidence`); when no key looks descriptive, every text key is read.

    Looked up over the first items only (a batch shares its shape)."""
    wanted = set(schema.names)
    seen: dict[str, None] = {}
    for item in items[:200]:
        for key, value in item.items():
            if key in wanted or key.casefold() in _SKIPPED_KEYS or not isinstance(value, str):
                continue
            seen.setdefault(key, None)
    keys = list(seen)
    descriptive = [k for k in keys if _DESCRIPTIVE.search(k)]
    keys = descriptive or keys
    rank = {k: i for i, k in enumerate(_TITLE_KEYS)}
    return sorted(keys, key=lambda k: (rank.get(k.casefold(), len(rank)), keys.index(k)))


def _attribute(alias: str, field: OutputField) -> Attribute | None:
    unit = field.effective_unit
    if field.type == "array":
        return None
    if field.type == "boolean":
        kind = AttributeType.BOOLEAN
    elif field.type == "integer":
        kind = AttributeType.INTEGER
    elif field.type == "number" or (field.type == "string" and unit):
        kind = AttributeType.NUMBER
    elif field.enum:
        kind = AttributeType.ENUM
    else:
        kind = AttributeType.TEXT
    return Attribute(
        name=alias,
        type=kind,
        unit=unit if kind in (AttributeType.NUMBER, AttributeType.INTEGER) else None,
        enum=list(field.enum or ()) if kind is AttributeType.ENUM else None,
        description=field.description,
        derive="extract",
    )


def record_evidence(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    wanted: set[str] | None = None,
    catalog: CatalogSchema | None = None,
) -> list[Evidence]:
    """Evidence for the schema's fields from each item's text (only fields the item lacks).

    With the items' catalogue, its `text` attributes are read and its own attribute
    definitions used (units, enum values and their synonyms, ranges); each value then cites
    the record's field it was read from (`record:title`) instead of `input`."""
    if catalog is not None:
        keys = [t for t in catalog.text if any(t in item for item in items[:200])]
    else:
        keys = text_keys(items, schema)
    if not keys or not items:
        return []
    known = catalog.by_name if catalog is not None else {}
    aliases: dict[str, str] = {}
    attributes: list[Attribute] = []
    for i, field in enumerate(schema.fields):
        if wanted is not None and field.name not in wanted:
            continue
        alias = field.name if _IDENTIFIER.match(field.name) else f"_field_{i}"
        own = known.get(field.name)
        if own is not None and own.derive == "extract":
            attribute: Attribute | None = own.model_copy(update={"name": alias})
        else:
            attribute = _attribute(alias, field)
        if attribute is not None:
            aliases[attribute.name] = field.name
            attributes.append(attribute)
    if not attributes:
        return []
    text_aliases = [f"_text_{j}" for j in range(len(keys))]
    catalog_schema = CatalogSchema(
        name="output-schema",
        id=text_aliases[0],
        text=text_aliases,
        attributes=[Attribute(name=t) for t in text_aliases] + attributes,
    )
    columns: dict[str, list[Any]] = {
        t: [it.get(k) for it in items] for t, k in zip(text_aliases, keys, strict=True)
    }
    for alias, name in aliases.items():
        columns[alias] = [it.get(name) for it in items]
    frame = pd.DataFrame(columns, dtype=object)
    source_names = dict(zip(text_aliases, keys, strict=True))
    out: list[Evidence] = []
    renamed: dict[str, str] = {}

    def rename(text: str) -> str:
        if text not in renamed:
            renamed[text] = _rename(text, source_names)
        return renamed[text]

    for proposal in extract_attributes(frame, catalog_schema):
        source = INPUT
        if catalog is not None and proposal.sources:
            source = rename(proposal.sources[0])
        # item, field, value, source, provider, method, reliability, quote (positional: cheaper)
        out.append(
            Evidence(
                int(proposal.record_id),
                aliases[proposal.field],
                proposal.value,
                source,
                PROVIDER,
                rename(proposal.method),
                proposal.confidence,
                rename(proposal.explanation),
            )
        )
    return out


_ALIAS = re.compile(r"_text_\d+")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
"""Field names the extractor can take as they are: it reads roles from names (`pack_size`,
`length`, `is_waterproof`), so aliases are only for names it cannot take."""


def _rename(text: str, names: dict[str, str]) -> str:
    """The extractor's messages name our column aliases (`_text_0`); show the item's keys."""
    return _ALIAS.sub(lambda m: names.get(m.group(0), m.group(0)), text)


def column_evidence(
    items: Sequence[dict[str, Any]], schema: OutputSchema, wanted: dict[int, frozenset[str]]
) -> list[Evidence]:
    """Evidence from item columns named like a field but not spelled as it (`Weight` →
    `weight_kg`, `Colour` → `color`), converted by the schema later."""
    columns: dict[str, list[tuple[str, float]]] = {}
    keys = {k for item in items[:200] for k in item}
    for spec in schema.fields:
        for key in keys:
            if key == spec.name or key.casefold() in _SKIPPED_KEYS:
                continue
            quality = label_quality(key, spec)
            if quality > 0:
                columns.setdefault(spec.name, []).append((key, quality))
    out: list[Evidence] = []
    for name, sources in columns.items():
        for key, quality in sources:
            reliability = round(COLUMN_RELIABILITY * quality, 3)
            for i, item in enumerate(items):
                value = item.get(key)
                if value is None or value == "" or name not in wanted.get(i, ()):
                    continue
                out.append(
                    Evidence(
                        i,
                        name,
                        value,
                        INPUT,
                        PROVIDER,
                        f"column {key}",
                        reliability,
                        f"{key}: {value}",
                    )
                )
    return out


def record_provider(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: Any,
    wanted: dict[int, frozenset[str]],
) -> list[Evidence]:
    """Engine hook: record evidence for the fields each item still wants."""
    names = set().union(*set(wanted.values())) if wanted else set()
    if not names:
        return []
    catalog = getattr(options, "catalog", None)
    found = [e for e in record_evidence(items, schema, names, catalog) if e.field in wanted[e.item]]
    if catalog is not None:
        return found  # a catalogue's columns are its attributes, already named
    return found + column_evidence(items, schema, wanted)
