"""A job with ``catalog_id``: the catalogue's schema, taxonomy and thresholds apply, and values
found for items that are records of the catalogue are proposed as changes.

Nothing reaches a record's values except through `catalog.changes.record_changes`: each
value is a change with its confidence, sources, explanation and this job's run as provenance;
confident ones are applied, the rest queued for review or dropped by the catalogue's
thresholds, and every one can be rolled back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.changes import Proposal, record_changes, stage_basis
from catalog.models import Catalog, Record, TaxonomyNode
from catalog.schema import AttributeType, CatalogSchema
from enrichment.results import ItemEnrichment

OPERATION = "enrich_job"

_FIELD_TYPES = {
    AttributeType.TEXT: "string",
    AttributeType.NUMBER: "number",
    AttributeType.INTEGER: "integer",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.ENUM: "string",
    AttributeType.ARRAY: "array",
}


def catalog_schema(catalog: Catalog) -> CatalogSchema:
    return CatalogSchema.model_validate(catalog.schema)


def output_schema_of(catalog: Catalog) -> list[dict[str, Any]]:
    """The catalogue's model-filled attributes (``derive: extract | firmographics.*``) as
    output-schema fields."""
    schema = catalog_schema(catalog)
    fields: list[dict[str, Any]] = []
    for attribute in schema.attributes:
        if attribute.derive is None or attribute.derive == "classify":
            continue
        if attribute.type not in _FIELD_TYPES:
            continue
        field: dict[str, Any] = {
            "name": attribute.name,
            "type": _FIELD_TYPES[attribute.type],
            "description": attribute.description or attribute.name.replace("_", " "),
            "required": attribute.required,
        }
        if attribute.unit and attribute.type in (AttributeType.NUMBER, AttributeType.INTEGER):
            field["unit"] = attribute.unit
        if attribute.enum:
            field["enum"] = list(attribute.enum)
        fields.append(field)
    return fields


def taxonomy_of(session: Session, catalog: Catalog) -> dict[str, Any] | None:
    """The catalogue's taxonomy in the request's ``taxonomy`` form, if it has one."""
    if catalog.taxonomy_id is None:
        return None
    nodes = session.execute(
        select(TaxonomyNode.node_id, TaxonomyNode.path).where(
            TaxonomyNode.taxonomy_id == catalog.taxonomy_id
        )
    ).all()
    return {"categories": [{"id": node_id, "path": path} for node_id, path in nodes]} or None


def propose(
    session: Session,
    *,
    catalog: Catalog,
    run_id: int,
    output_schema: Sequence[dict[str, Any]],
    outcomes: Sequence[ItemEnrichment],
) -> dict[str, int]:
    """Record the batch's found values for items that are records of the catalogue (matched
    by the schema's id attribute) as changes; returns how many changes got each status, and
    how many items matched no record."""
    schema = catalog_schema(catalog)
    id_name = schema.id
    known = {a.name for a in schema.attributes}
    external = {
        i: str(o.original.get(id_name)) for i, o in enumerate(outcomes) if o.original.get(id_name)
    }
    records = {
        r.external_id: r
        for r in session.scalars(
            select(Record).where(
                Record.catalog_id == catalog.id, Record.external_id.in_(set(external.values()))
            )
        )
    }
    version = (
        "enrich_job:"
        + hashlib.sha256(
            json.dumps(list(output_schema), sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
    )
    proposals: list[Proposal] = []
    current: dict[int, dict[str, Any]] = {}
    bases: dict[int, str] = {}
    unmatched = 0
    for i, outcome in enumerate(outcomes):
        record = records.get(external.get(i, ""))
        if record is None:
            unmatched += 1
            continue
        current[record.id] = dict(record.values)
        bases[record.id] = stage_basis(record.content_hash, version)
        for name, value in outcome.values.items():
            if name not in known or outcome.decisions.get(name) in ("confirmed", "conflict"):
                continue
            proposals.append(
                Proposal(
                    record_id=record.id,
                    field=name,
                    value=value,
                    confidence=outcome.confidence.get(name, 0.0),
                    provider="enrich_job",
                    method=outcome.decisions.get(name, ""),
                    sources=tuple(outcome.sources.get(name, ())),
                    explanation=outcome.explanations.get(name, ""),
                )
            )
    counts = record_changes(
        session,
        catalog_id=catalog.id,
        schema=schema,
        proposals=proposals,
        current=current,
        bases=bases,
        operation=OPERATION,
        run_id=run_id,
    )
    return {**counts, "unmatched": unmatched}
