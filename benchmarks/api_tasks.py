"""Dataset tasks and enrichment jobs through a real `uvicorn` process on 127.0.0.1.

Prints: creating a 10,000-row dataset; a bulk task filling every empty cell of two enrichment
columns (20,000 cells); an async enrichment job of 5,000 items (item data only, no web) with
its poll latency while it runs; a synchronous job of 100 items. Run:

    .venv/bin/python benchmarks/api_tasks.py [--pg postgresql://postgres@127.0.0.1/postgres]

With ``--pg`` a throw-away database is created on that server and dropped afterwards.
Figures depend on the machine; on a shared CPU they move by tens of percent between runs.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api import make_key, percentile, start_server  # noqa: E402

TOOLS = ["Cordless Drill", "Angle Grinder", "Work Light", "Impact Driver", "Jigsaw", "Heat Gun"]
COLOURS = ["red", "blue", "black", "yellow", "green"]
VOLTS = [12, 18, 20, 24, 36, 110, 230]


def titles(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(TOOLS)} {rng.choice(VOLTS)}V, {rng.choice(COLOURS)} body, model {i}"
        for i in range(n)
    ]


def finished(client: httpx.Client, url: str, done: set[str]) -> dict:
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["status"] in done:
            return body
        time.sleep(0.1)
    raise SystemExit(f"{url} did not finish")


def dataset_task(client: httpx.Client, rows: int) -> list[tuple[str, str]]:
    columns = [
        {"name": "title"},
        {
            "name": "voltage",
            "type": "number",
            "unit": "V",
            "description": "Rated voltage",
            "taskType": "enrichment",
        },
        {"name": "colour", "description": "Body colour", "enum": COLOURS, "taskType": "enrichment"},
    ]
    body = {"name": "bench", "columns": columns, "rows": [{"title": t} for t in titles(rows)]}
    start = time.perf_counter()
    created = client.post("/api/v2/datasets", json=body)
    created.raise_for_status()
    create_s = time.perf_counter() - start
    did = created.json()["datasetId"]
    start = time.perf_counter()
    task = client.post(f"/api/v2/datasets/{did}/tasks/bulk", json={})
    if task.status_code != 201:
        raise SystemExit(f"bulk task refused: {task.status_code} {task.text}")
    done = finished(
        client,
        f"/api/v2/datasets/{did}/tasks/{task.json()['taskId']}",
        {"completed", "failed", "cancelled"},
    )
    task_s = time.perf_counter() - start
    cells = done["progress"]["processedCells"]
    return [
        (f"POST /api/v2/datasets ({rows:,} rows x 3 columns)", f"{create_s:.2f} s"),
        (
            f"bulk task, all empty cells ({cells:,} cells, {done['progress']['filledCells']:,} "
            f"filled, {done['status']})",
            f"{task_s:.2f} s = {cells / task_s:,.0f} cells/s",
        ),
    ]


def enrich_jobs(client: httpx.Client, items: int) -> list[tuple[str, str]]:
    schema = [
        {"name": "voltage", "type": "number", "unit": "V", "description": "Rated voltage"},
        {"name": "colour", "type": "string", "description": "Body colour", "enum": COLOURS},
    ]
    payload = {
        "items": [{"name": t} for t in titles(items, seed=11)],
        "output_schema": schema,
        "web_search": False,
        "async_mode": True,
    }
    start = time.perf_counter()
    job = client.post("/api/public/enrich", json=payload)
    job.raise_for_status()
    job_id = job.json()["job_id"]
    polls: list[float] = []
    while True:
        t0 = time.perf_counter()
        body = client.get(f"/api/public/enrich/{job_id}", params={"page_size": 100}).json()
        polls.append(time.perf_counter() - t0)
        if body["status"] != "running":
            break
        time.sleep(0.05)
    job_s = time.perf_counter() - start
    sync_body = {**payload, "items": payload["items"][:100], "async_mode": False}
    sync_times = []
    for _ in range(5):
        t0 = time.perf_counter()
        client.post("/api/public/enrich", json=sync_body).raise_for_status()
        sync_times.append(time.perf_counter() - t0)
    return [
        (
            f"async enrich job, {items:,} items ({body['successful']:,} ok, {body['status']})",
            f"{job_s:.2f} s = {items / job_s:,.0f} items/s",
        ),
        (
            f"GET /api/public/enrich/{{id}} while running (n={len(polls)})",
            f"p50 {percentile(polls, 50) * 1000:.0f} ms, p95 {percentile(polls, 95) * 1000:.0f} ms",
        ),
        (
            "sync enrich, 100 items (n=5)",
            f"p50 {percentile(sync_times, 50) * 1000:.0f} ms, max {max(sync_times) * 1000:.0f} ms",
        ),
    ]


def run(store_url: str, label: str, rows: int, items: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp) / "home", store_url)
        try:
            key = make_key(store_url)
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600
            ) as client:
                lines = dataset_task(client, rows) + enrich_jobs(client, items)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"\n{label}")
    width = max(len(name) for name, _ in lines)
    for name, figure in lines:
        print(f"  {name:<{width}}  {figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--pg", help="PostgreSQL admin URL; a throw-away database is used")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'store.db'}", "SQLite store", args.rows, args.items)
    if args.pg:
        import sqlalchemy as sa

        from catalog.settings import normalize_database_url

        admin_url = normalize_database_url(args.pg)
        name = f"skuflow_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            run(admin_url.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL store", args.rows, args.items)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
