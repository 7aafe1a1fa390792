"""Workbench and change-API latency at scale, against a real `uvicorn` process on 127.0.0.1.

Builds a catalogue of 100,000 records with 160,000 changes — 10,000 queued for review (the
rest applied classify and enrich values, a few hundred already decided by reviewers) — plus a
failed validation run and open conflicts, on SQLite and on PostgreSQL (a throw-away database,
dropped afterwards). Then, signed in like a browser (session cookie):

* p50/p95 of each workbench page (queue, record search, a record, a change, runs, a run,
  conflicts, Analyse) and of the queue's API (`GET …/changes?status=queued_for_review`, first
  and a deep page, a confidence band, most-confident-first);
* the time to approve 1,000 changes through the workbench's bulk action ("approve every queued
  change at or above" a confidence that selects exactly 1,000).

Target: p95 ≤ 300 ms per page on 2 shared cores. The server and the client share the machine.

    .venv/bin/python benchmarks/ui.py [--records 100000] [--queued 10000] [--repeat 30]
                                      [--postgres-url postgresql+psycopg://postgres@127.0.0.1/postgres]
                                      [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api import free_port, percentile  # noqa: E402

CATALOG = "bench-catalog"
CATEGORIES = [
    "Tools > Power Tools > Drills",
    "Fasteners > Bolts",
    "Lighting > Work Lights",
    "Safety > Gloves",
    "Electrical > Cords",
    "Tools > Hand Tools > Sockets",
]


def seed(store_url: str, reports: Path, *, records: int, queued: int) -> tuple[str, int]:
    """Write the catalogue with set-based inserts; returns (API key, the run id)."""
    import pandas as pd
    from sqlalchemy import insert, select

    import api.models  # noqa: F401
    import enrichment.models  # noqa: F401
    from api.keys import create_api_key
    from catalog.db import session_scope
    from catalog.models import Change, Record, RunStatus
    from catalog.repository import finish_run, get_or_create_organization, start_run, upsert_catalog
    from catalog.schema import CatalogSchema
    from enrichment.models import Conflict

    schema = CatalogSchema.from_yaml(ROOT / "examples" / "catalog.yaml")
    schema = schema.model_copy(update={"name": CATALOG})
    now = datetime.now(UTC)
    with session_scope(store_url) as session:
        token = create_api_key(session, organization="bench").token
        org = get_or_create_organization(session, name="bench")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        run = start_run(session, organization=org, catalog=catalog, operation="onboard")
        rows = []
        for i in range(records):
            values = {
                "sku": f"SKU-{i:06d}",
                "title": f"Cordless drill {i % 97} V{i % 13} set {i}",
                "description": f"Item {i}; 18V battery, pack of {1 + i % 12}.",
                "brand": f"Brand{i % 40}",
                "price": round(5 + (i % 500) * 0.37, 2),
            }
            if i >= queued:
                values["category"] = CATEGORIES[i % len(CATEGORIES)]
            if i % 2 == 0:
                values["voltage"] = 18.0
            rows.append(
                {
                    "catalog_id": catalog.id,
                    "external_id": f"SKU-{i:06d}",
                    "source_values": values,
                    "values": values,
                    "content_hash": f"h{i}",
                    "source": "bench.csv",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, len(rows), 10_000):
            session.connection().execute(insert(Record.__table__), rows[start : start + 10_000])
        ids = [
            rid
            for (rid,) in session.execute(
                select(Record.id).where(Record.catalog_id == catalog.id).order_by(Record.id)
            )
        ]
        changes = []
        for i, rid in enumerate(ids):
            common = {
                "catalog_id": catalog.id,
                "record_id": rid,
                "run_id": run.id,
                "model": "bench",
                "sources": ["record:title"],
                "created_at": now - timedelta(hours=(i % 48)),
            }
            if i < queued:  # confidences spread over [0.5, 0.9): the top 10 % sit at ≥ 0.86
                changes.append(
                    {
                        **common,
                        "field": "category",
                        "old_value": None,
                        "new_value": CATEGORIES[i % len(CATEGORIES)],
                        "confidence": 0.5 + 0.4 * i / queued,
                        "status": "queued_for_review",
                        "operation": "classify",
                        "basis": f"h{i}:v1",
                        "provider": "classify",
                        "explanation": f"the title says '{i % 97}'",
                    }
                )
            else:
                changes.append(
                    {
                        **common,
                        "field": "category",
                        "old_value": None,
                        "new_value": CATEGORIES[i % len(CATEGORIES)],
                        "confidence": 0.9 + (i % 10) / 100,
                        "status": "applied",
                        "operation": "classify",
                        "basis": f"h{i}:v1",
                        "provider": "classify",
                        "decided_at": now,
                    }
                )
            if i % 2 == 0:
                changes.append(
                    {
                        **common,
                        "field": "voltage",
                        "old_value": None,
                        "new_value": 18.0,
                        "confidence": 0.95,
                        "status": "applied",
                        "operation": "enrich",
                        "basis": f"h{i}:v1",
                        "provider": "enrich",
                        "decided_at": now,
                        "method": "title-unit-match",
                    }
                )
        for i in range(queued, queued + 400):  # decided by reviewers, for the reliability curve
            changes.append(
                {
                    "catalog_id": catalog.id,
                    "record_id": ids[i],
                    "run_id": run.id,
                    "field": "pack_size",
                    "old_value": None,
                    "new_value": 1 + i % 12,
                    "confidence": 0.5 + (i % 40) / 100,
                    "status": "approved" if i % 3 else "rejected",
                    "operation": "enrich",
                    "basis": f"h{i}:v1",
                    "provider": "enrich",
                    "reviewer": "bench",
                    "sources": [],
                    "created_at": now - timedelta(hours=30),
                    "decided_at": now - timedelta(hours=i % 24),
                }
            )
        keys = {"decided_at", "method", "explanation", "reviewer"}
        changes = [{**dict.fromkeys(keys), **c} for c in changes]  # one shape for executemany
        for start in range(0, len(changes), 10_000):
            session.connection().execute(insert(Change.__table__), changes[start : start + 10_000])
        for i in range(200):
            session.add(
                Conflict(
                    organization_id=org.id,
                    catalog_id=catalog.id,
                    record_id=ids[i],
                    field="brand",
                    existing_value=f"Brand{i % 40}",
                    proposed_value=f"Brand {i % 40} Inc.",
                    confidence=0.8,
                    sources=["https://example.com/"],
                    explanation="the page says so",
                    status="open",
                    run_id=run.id,
                )
            )
        reports.mkdir(parents=True, exist_ok=True)
        report = reports / f"run-{run.id}-validation.json"
        report.write_text(
            json.dumps(
                {
                    "success": False,
                    "records": records,
                    "expectations": 2,
                    "failed_blocking": 1,
                    "failed_warning": 0,
                    "results": [
                        {
                            "name": "category_not_null",
                            "attribute": "category",
                            "blocking": True,
                            "rule": "category is present",
                            "success": False,
                            "unexpected_count": queued,
                            "examples": [{"id": "SKU-000001", "value": None}],
                        },
                        {
                            "name": "price_min",
                            "attribute": "price",
                            "blocking": True,
                            "rule": "price ≥ 0",
                            "success": True,
                            "unexpected_count": 0,
                            "examples": [],
                        },
                    ],
                }
            )
        )
        finish_run(
            session,
            run_id=run.id,
            status=RunStatus.FAILED,
            report_path=str(report),
            counts={"records": records},
            error="validation failed: category_not_null",
        )
        del pd
        return token, run.id


def start(home: Path, store_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "SKUFLOW_HOME": str(home),
        "SKUFLOW_DATABASE_URL": store_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "ui.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit("the server exited during startup")
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start within 120 s")


def sign_in(url: str, token: str) -> httpx.Client:
    browser = httpx.Client(base_url=url, timeout=120)
    page = browser.get("/ui/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = browser.post(
        "/ui/login",
        data={"csrf_token": csrf, "reviewer": "bench", "api_key": token, "next": "/ui/"},
    )
    assert response.status_code in (200, 303), response.text
    return browser


def measure(client: httpx.Client, path: str, repeat: int) -> tuple[float, float]:
    for _ in range(3):
        client.get(path).raise_for_status()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return percentile(times, 50), percentile(times, 95)


def run_store(label: str, store_url: str, args: argparse.Namespace) -> list[tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        token, run_id = seed(store_url, home / "reports", records=args.records, queued=args.queued)
        if store_url.startswith("postgresql"):
            # what autovacuum does within a minute of a bulk load: statistics for the planner
            # and a visibility map, so counts can be answered from indexes
            import sqlalchemy as sa

            engine = sa.create_engine(store_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(sa.text("VACUUM ANALYZE"))
            engine.dispose()
        print(
            f"[{label}] seeded {args.records:,} records, {args.queued:,} queued in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        process, url = start(home, store_url)
        try:
            browser = sign_in(url, token)
            api = httpx.Client(
                base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}
            )
            ui = f"/ui/catalogs/{CATALOG}"
            first = api.get(
                f"/api/catalogs/{CATALOG}/changes",
                params={"status": "queued_for_review", "limit": 1},
            ).json()["data"][0]
            pages = [
                ("page: review queue", f"{ui}/queue"),
                ("page: queue, most confident first", f"{ui}/queue?order=confidence_desc"),
                ("page: queue, field + band filter", f"{ui}/queue?field=category&min=0.6&max=0.8"),
                ("page: records", f"{ui}/records"),
                ("page: record search", f"{ui}/records?q=drill%2042"),
                ("page: a record", f"{ui}/records/SKU-000042"),
                ("page: a change", f"{ui}/changes/{first['id']}"),
                ("page: runs", f"{ui}/runs"),
                ("page: a run", f"{ui}/runs/{run_id}"),
                ("page: conflicts", f"{ui}/conflicts"),
                ("page: Analyse", f"{ui}/analyse"),
                (
                    "API: queue, first page",
                    f"/api/catalogs/{CATALOG}/changes?status=queued_for_review&limit=50",
                ),
                (
                    "API: queue, page 100",
                    f"/api/catalogs/{CATALOG}/changes?status=queued_for_review&limit=50&offset=4950",
                ),
                (
                    "API: queue, confidence band",
                    f"/api/catalogs/{CATALOG}/changes?status=queued_for_review&min_confidence=0.7&max_confidence=0.8",
                ),
                (
                    "API: queue, most confident first",
                    f"/api/catalogs/{CATALOG}/changes?status=queued_for_review&order=confidence_desc",
                ),
            ]
            rows = []
            for name, path in pages:
                client = api if path.startswith("/api/") else browser
                p50, p95 = measure(client, path, args.repeat)
                rows.append((label, name, p50, p95))
                print(f"[{label}] {name:<36} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", flush=True)
            page = browser.get(f"{ui}/queue").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            start_time = time.perf_counter()
            response = browser.post(
                f"{ui}/bulk",
                data={
                    "csrf_token": csrf,
                    "scope": "matching",
                    "action": "approve",
                    "min_confidence": str(0.5 + 0.4 * (args.queued - 1000) / args.queued),
                    "back": f"{ui}/queue",
                },
                headers={"X-Requested-With": "skuflow"},
            )
            elapsed = time.perf_counter() - start_time
            message = response.json()["message"]
            assert response.status_code == 200 and "Approved 1000 change(s)" in message, message
            rows.append((label, "bulk approve 1,000 changes", elapsed * 1000, None))
            print(
                f"[{label}] bulk approve of 1,000 changes: {elapsed * 1000:.0f} ms ({message})",
                flush=True,
            )
            # the store changed: the next Analyse view recomputes the whole report
            start_time = time.perf_counter()
            browser.get(f"{ui}/analyse").raise_for_status()
            cold = (time.perf_counter() - start_time) * 1000
            rows.append((label, "page: Analyse, first view after a change", cold, None))
            print(f"[{label}] Analyse, first view after a change: {cold:.0f} ms", flush=True)
            return rows
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres-url", help="Admin URL of a PostgreSQL server to use.")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            rows += run_store("sqlite", f"sqlite:///{tmp}/store.db", args)
    if args.postgres_url:
        import sqlalchemy as sa

        database = f"skuflow_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        try:
            url = args.postgres_url.rsplit("/", 1)[0] + f"/{database}"
            rows += run_store("postgresql", url, args)
        finally:
            from catalog.db import engine_for

            engine_for.cache_clear()
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    print(f"\nload average after: {os.getloadavg()}")
    print("\n| store | request | p50 ms | p95 ms |\n|---|---|---:|---:|")
    for label, name, p50, p95 in rows:
        print(f"| {label} | {name} | {p50:.1f} | {'' if p95 is None else f'{p95:.1f}'} |")


if __name__ == "__main__":
    main()
