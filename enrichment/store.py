"""Enriching records already in the store: the engine's values become scored changes, its
disagreements with existing values become conflicts.

New values go through `catalog.changes.record_changes` like every model-driven write (applied at
or above auto-apply, queued in between, dropped below reject; each with sources and an
explanation), and a re-run from the same content proposes nothing twice. A found value that
differs from a non-empty current value is never written: it opens a `Conflict`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence

from sqlalchemy.orm import Session

from catalog.changes import Proposal, record_changes, stage_basis
from catalog.records import load_records, mark_stage
from catalog.schema import CatalogSchema
from enrichment.conflicts import open_conflicts
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.output_schema import OutputSchema

OPERATION = STAGE = "enrich-evidence"


def evidence_version(output_schema: OutputSchema, config_json: str) -> str:
    """What this stage's output depends on besides a record's content: the fields asked for
    and the settings (providers, pages, tables). Changing either re-enriches every record."""
    key = json.dumps([output_schema.model_dump(mode="json"), config_json], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def enrich_stored_records(
    session: Session,
    *,
    organization_id: int,
    catalog_id: int,
    schema: CatalogSchema,
    output_schema: OutputSchema,
    record_ids: Sequence[int],
    options: EnrichOptions,
    version: str,
    run_id: int | None = None,
) -> Counter[str]:
    """Enrich stored records' current values against `output_schema`.

    Returns:
        Change counts by status, plus `conflicts` (opened) and `flagged` (records a person
        should look at).
    """
    batch = load_records(session, record_ids=record_ids)
    ids = list(batch.values)
    items = [{**batch.values[rid]} for rid in ids]
    results = enrich_items(items, output_schema, options)
    proposals: list[Proposal] = []
    conflicts = []
    counts: Counter[str] = Counter()
    for rid, result in zip(ids, results, strict=True):
        for name, decision in result.decisions.items():
            if decision not in ("applied", "review", "merged"):
                continue
            proposals.append(
                Proposal(
                    record_id=rid,
                    field=name,
                    value=result.values[name],
                    confidence=result.confidence[name],
                    provider="enrich",
                    method=decision,
                    sources=tuple(result.sources[name]),
                    explanation=result.explanations.get(name, ""),
                )
            )
        conflicts += [(rid, batch.external_ids[rid], c) for c in result.conflicts]
        counts["flagged"] += result.flag_record
    bases = {rid: stage_basis(batch.hashes[rid], version) for rid in ids}
    counts.update(
        record_changes(
            session,
            catalog_id=catalog_id,
            schema=schema,
            proposals=proposals,
            current=batch.values,
            bases=bases,
            operation=OPERATION,
            run_id=run_id,
        )
    )
    opened = open_conflicts(
        session,
        organization_id=organization_id,
        catalog_id=catalog_id,
        found=conflicts,
        run_id=run_id,
    )
    counts["conflicts"] = len(opened)
    mark_stage(session, stage=STAGE, bases=bases, run_id=run_id)
    counts["processed"] = len(bases)
    return counts
