"""A job with ``catalog_id``: its items that are records of the catalogue are enriched by the
one enrich stage (`enrichment.stage`), as onboard and auto-enrichment enrich them — the
catalogue's schema, learned extractor and thresholds apply, found values become changes with
the job's run as provenance, disagreements conflicts. Items that match no record are enriched
with the same options, and nothing is stored for them.

An item is matched to a record by the schema's id attribute. It is enriched as stored: keys
the item sends that the record lacks (a ``url``) are read too, but never replace a stored value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.enrich_jobs.engine import Plan, add_flags, run_engine
from catalog.models import Catalog, ChangeStatus, Record, TaxonomyNode
from enrichment.results import ItemEnrichment
from enrichment.stage import enrich_stored_records

_STATUSES = {s.value for s in ChangeStatus}


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


def enrich_catalog_items(
    session: Session, *, planned: Plan, items: Sequence[dict[str, Any]], run_id: int
) -> tuple[list[ItemEnrichment], dict[str, int]]:
    """One batch of a catalogue job: a result per item (in order) and the catalogue changes
    made — counts by status, ``conflicts`` opened and ``unmatched`` items."""
    prepared = planned.prepared
    assert prepared is not None, "a catalogue job is planned with plan_for_catalog"
    id_name = prepared.catalog.id
    keys = {
        i: str(item[id_name])
        for i, item in enumerate(items)
        if item.get(id_name) is not None and str(item[id_name]).strip()
    }
    records = dict(
        session.execute(
            select(Record.external_id, Record.id).where(
                Record.catalog_id == prepared.catalog_id,
                Record.external_id.in_(set(keys.values())),
            )
        )
        .tuples()
        .all()
    )
    matched = {i: records[key] for i, key in keys.items() if key in records}
    stored = enrich_stored_records(
        session,
        prepared=prepared,
        options=planned.options,
        record_ids=sorted(set(matched.values())),
        run_id=run_id,
        given={rid: dict(items[i]) for i, rid in matched.items()},
    )
    loose = [i for i in range(len(items)) if i not in matched]
    others = iter(run_engine([items[i] for i in loose], prepared.fields, planned) if loose else [])
    results: list[ItemEnrichment] = []
    for i in range(len(items)):
        if i in matched:
            result = stored.results[matched[i]]
            add_flags(result, planned.flags)
        else:
            result = next(others)
        results.append(result)
    counts = {k: v for k, v in stored.counts.items() if k in _STATUSES or k == "conflicts"}
    return results, {**counts, "unmatched": len(loose)}
