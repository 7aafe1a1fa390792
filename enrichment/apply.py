"""The enrich stage: fill a batch of records' derived attributes, as scored changes.

Two providers run in the default install, both offline: the record's own text (specs in the
name and description) and a reference table of companies for supplier firmographics. Each
value carries its sources and an explanation; nothing without evidence is proposed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from catalog.changes import record_changes, stage_basis
from catalog.records import load_records, mark_stage
from catalog.schema import CatalogSchema
from enrichment.extract import extract_attributes
from enrichment.firmographics import CompanyTable, firmographic_proposals

STAGE = "enrich"


@lru_cache(maxsize=4)
def _cached_companies(path: str, mtime_ns: int) -> CompanyTable:
    return CompanyTable.from_csv(path)


def companies_from_file(path: str | Path) -> CompanyTable:
    """Load a companies CSV once per process (and again only if the file changes)."""
    path = Path(path)
    return _cached_companies(str(path.resolve()), path.stat().st_mtime_ns)


def enrich_version(schema: CatalogSchema, companies_path: str | Path | None) -> str:
    """The enrich stage's version: what its output depends on besides a record's content (the
    attributes it fills, the text and supplier attributes it reads, the companies table)."""
    derived = [a.model_dump(mode="json") for a in schema.attributes if a.derive]
    reference = ""
    if companies_path:
        reference = hashlib.sha256(Path(companies_path).read_bytes()).hexdigest()
    key = json.dumps(
        [derived, schema.text, schema.supplier_name, schema.supplier_website, reference],
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def enrich_records(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    record_ids: Sequence[int],
    companies: CompanyTable | None,
    run_id: int | None,
    version: str,
) -> Counter[str]:
    batch = load_records(session, record_ids=record_ids)
    bases = {rid: stage_basis(h, version) for rid, h in batch.hashes.items()}
    counts: Counter[str] = Counter()
    if not batch.frame.empty:
        # Derive from the source values, so an edited record gets its values re-derived;
        # proposals equal to the current value are no-ops in record_changes.
        proposals = extract_attributes(batch.source_frame, schema)
        if companies is not None and schema.derived("firmographics"):
            proposals += firmographic_proposals(batch.source_frame, schema, companies)
        counts = record_changes(
            session,
            catalog_id=catalog_id,
            schema=schema,
            proposals=proposals,
            current=batch.values,
            bases=bases,
            operation=STAGE,
            run_id=run_id,
        )
    mark_stage(session, stage=STAGE, bases=bases, run_id=run_id)
    counts["processed"] = len(bases)
    return counts
