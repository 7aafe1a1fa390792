"""A small catalogue with changes in every state, written straight through the domain
functions (no flow run), for the change API's and the workbench's tests.

Twelve records of the bundled example schema; classify and enrich proposals at confidences
that land them applied (≥ 0.9), queued (0.5–0.9) or dropped (< 0.5); a validation report that
failed one blocking and one warning expectation; one open enrichment conflict. Record
``AC-XSS`` has a title holding a ``<script>`` tag, to prove pages escape it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from catalog.changes import Proposal, record_changes
from catalog.db import session_scope
from catalog.mapping import content_hashes
from catalog.models import Change, ChangeStatus, RunStatus
from catalog.records import load_records, upsert_records
from catalog.repository import finish_run, get_or_create_organization, start_run, upsert_catalog
from catalog.schema import CatalogSchema
from tests.conftest import EXAMPLES

XSS_TITLE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> Drill'

TITLES = [
    "Cordless Drill 18V 2.0Ah Li-ion",
    "Class 8.8 Steel Hex Bolt M6 x 80mm (Pack of 50)",
    "LED Work Light 20W Rechargeable",
    "AA Battery 2500mAh (Pack of 4)",
    "Nitrile Gloves, Large (Box of 100)",
    "Angle Grinder 900W 115mm",
    "Precision Screwdriver Set 32-in-1",
    "Safety Glasses Clear Anti-Fog",
    "Extension Cord 10m 230V",
    "Cable Ties 300mm (Pack of 100)",
    "Socket Set 1/2in Chrome Vanadium",
]
# (record index, field, value, confidence, operation); record i is AC-1000i, the last AC-XSS.
PROPOSALS = [
    (0, "voltage", 18.0, 0.95, "enrich"),
    (0, "category", "Tools > Power Tools > Drills", 0.86, "classify"),
    (1, "pack_size", 50, 0.84, "enrich"),
    (1, "category", "Fasteners > Bolts", 0.62, "classify"),
    (2, "power", 20.0, 0.92, "enrich"),
    (2, "category", "Lighting > Work Lights", 0.93, "classify"),
    (3, "capacity_mah", 2500.0, 0.88, "enrich"),
    (3, "pack_size", 4, 0.55, "enrich"),
    (4, "pack_size", 100, 0.72, "enrich"),
    (4, "category", "Safety > Gloves", 0.45, "classify"),
    (5, "power", 900.0, 0.91, "enrich"),
    (5, "length", 115.0, 0.66, "enrich"),
    (6, "category", "Tools > Hand Tools > Screwdrivers", 0.83, "classify"),
    (7, "category", "Safety > Eyewear", 0.58, "classify"),
    (8, "length", 10000.0, 0.77, "enrich"),
    (8, "voltage", 230.0, 0.97, "enrich"),
    (9, "pack_size", 100, 0.69, "enrich"),
    (10, "category", "Tools > Hand Tools > Sockets", 0.89, "classify"),
    (11, "category", "Tools > Power Tools > Drills", 0.74, "classify"),
]


@dataclass
class Seeded:
    organization: str
    catalog: str
    catalog_id: int
    run_id: int
    records: dict[str, int] = field(default_factory=dict)
    """external id → record id."""

    def changes(self, store_url: str, **where: object) -> list[Change]:
        from sqlalchemy import select

        with session_scope(store_url) as session:
            query = select(Change).where(Change.catalog_id == self.catalog_id)
            for name, value in where.items():
                query = query.where(getattr(Change, name) == value)
            return list(session.scalars(query.order_by(Change.id)))

    def queued(self, store_url: str, **where: object) -> list[Change]:
        return self.changes(store_url, status=ChangeStatus.QUEUED_FOR_REVIEW.value, **where)


def seed_catalog(
    store_url: str, reports_dir: Path, *, organization: str | None = None, name: str | None = None
) -> Seeded:
    """Write the catalogue (under a fresh name unless given) into ``store_url``."""
    organization = organization or f"org-{uuid.uuid4().hex[:8]}"
    schema = CatalogSchema.from_yaml(EXAMPLES / "catalog.yaml")
    schema = schema.model_copy(update={"name": name or f"tools-{uuid.uuid4().hex[:6]}"})
    ids = [f"AC-{10000 + i}" for i in range(len(TITLES))] + ["AC-XSS"]
    frame = pd.DataFrame(
        {
            "sku": ids,
            "title": [*TITLES, XSS_TITLE],
            "description": [f"{t}. Quoted from the supplier's sheet." for t in TITLES]
            + ["A drill whose title tries to run a script."],
            "brand": ["Steelhart", "Northwind", *["Voltix"] * (len(ids) - 2)],
            "price": [float(10 + i) for i in range(len(ids))],
        },
        index=pd.Index(ids, name="external_id"),
    )
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name=organization)
        stored = upsert_catalog(session, organization=org, schema=schema)
        run = start_run(session, organization=org, catalog=stored, operation="onboard")
        upsert_records(
            session,
            catalog_id=stored.id,
            frame=frame,
            hashes=content_hashes(frame),
            source="seed.csv",
            run_id=run.id,
        )
        session.flush()
        from sqlalchemy import select

        from catalog.models import Record

        rows = session.execute(
            select(Record.external_id, Record.id).where(Record.catalog_id == stored.id)
        )
        record_ids = dict(rows.tuples().all())
        batch = load_records(session, record_ids=list(record_ids.values()))
        for operation in ("classify", "enrich"):
            proposals = [
                Proposal(
                    record_id=record_ids[ids[i]],
                    field=f,
                    value=v,
                    confidence=c,
                    provider=operation,
                    method="title-unit-match" if operation == "enrich" else "supervised",
                    sources=("record:title",),
                    explanation=f"the title says {v!r}" if operation == "enrich" else "",
                )
                for i, f, v, c, op in PROPOSALS
                if op == operation
            ]
            record_changes(
                session,
                catalog_id=stored.id,
                schema=schema,
                proposals=proposals,
                current=batch.values,
                bases={rid: f"{h}:v1" for rid, h in batch.hashes.items()},
                operation=operation,
                run_id=run.id,
                model="seed-model",
            )
        report = _validation_report(reports_dir, run.id)
        finish_run(
            session,
            run_id=run.id,
            status=RunStatus.FAILED,
            counts={
                "records": len(ids),
                "ingest": {"inserted": len(ids)},
                "classify": {"applied": 1, "queued_for_review": 6},
            },
            error="validation failed, run halted: 1 blocking failure (price_min)",
            report_path=str(report),
        )
        _conflict(session, org.id, stored.id, record_ids[ids[1]], run.id)
        return Seeded(organization, stored.name, stored.id, run.id, record_ids)


def _validation_report(reports_dir: Path, run_id: int) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"run-{run_id}-validation.json"
    results = [
        {
            "name": "sku_not_null",
            "attribute": "sku",
            "kind": "not_null",
            "blocking": True,
            "rule": "sku is present",
            "success": True,
            "unexpected_count": 0,
            "examples": [],
        },
        {
            "name": "price_min",
            "attribute": "price",
            "kind": "min",
            "blocking": True,
            "rule": "price is at least 0",
            "success": False,
            "unexpected_count": 2,
            "examples": [{"id": "AC-10003", "value": -1}],
            "error": None,
        },
        {
            "name": "upc_pattern",
            "attribute": "upc",
            "kind": "pattern",
            "blocking": False,
            "rule": "upc matches ^\\d{12}$",
            "success": False,
            "unexpected_count": 5,
            "examples": [{"id": "AC-10001", "value": "4832"}],
            "error": None,
        },
    ]
    report = {
        "success": False,
        "records": 12,
        "expectations": 3,
        "failed_blocking": 1,
        "failed_warning": 1,
        "results": results,
    }
    path.write_text(json.dumps(report), encoding="utf-8")
    path.with_suffix(".md").write_text("# Validation report\n", encoding="utf-8")
    return path


def _conflict(session, org_id: int, catalog_id: int, record_id: int, run_id: int) -> None:
    from enrichment.models import Conflict

    session.add(
        Conflict(
            organization_id=org_id,
            catalog_id=catalog_id,
            record_id=record_id,
            field="brand",
            existing_value="Northwind",
            proposed_value="Northwind Fastener Co.",
            confidence=0.8,
            sources=["https://northwind-fasteners.example.com/"],
            explanation="the supplier's page names the brand 'Northwind Fastener Co.'",
            status="open",
            run_id=run_id,
        )
    )
    session.flush()
