"""HTTP API latency and throughput, against a real `uvicorn` process on 127.0.0.1.

Starts the API in its own process over a fresh store (SQLite in a temp dir, or PostgreSQL with
--postgres-url: a throw-away database is created and dropped), ingests a catalogue job, then
prints (the catalogue is the bundled example, examples/acme_supplier_catalog.csv):

* p50/p95 latency of POST /api/classify with 1, 100 and 1,000 records (sequential requests);
* p50/p95 latency of job polling (GET /api/jobs/{id});
* sustained requests/s with 20 concurrent clients for 30 s (half polling, half classify of 10
  records), with the error count (any non-2xx or transport error) and p95 under that load.

Targets: p95 <= 1 s for 1,000 records; zero errors under load. The server and the clients share
the machine, so on 2 cores the figures are a floor, not a ceiling.

    .venv/bin/python benchmarks/api.py [--duration 30] [--clients 20] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "acme_supplier_catalog.csv"


def example_rows() -> list[dict[str, str]]:
    """The bundled example catalogue's rows as a client would send them (its own column names;
    about half carry a category, which trains the catalogue's supervised classifier)."""
    import pandas as pd

    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    return frame.to_dict(orient="records")


ROWS = example_rows()


def records(n: int, offset: int = 0) -> list[dict[str, str]]:
    """``n`` products to classify (id, name, description), cycling through the example."""
    out = []
    for i in range(offset, offset + n):
        row = ROWS[i % len(ROWS)]
        out.append(
            {
                "id": f"{row['Item #']}-{i}",
                "name": row["Product Name"],
                "description": row["Description"],
            }
        )
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def timed(client: httpx.Client, method: str, path: str, **kwargs) -> float:
    start = time.perf_counter()
    response = client.request(method, path, **kwargs)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def start_server(home: Path, store_url: str) -> tuple[subprocess.Popen, str]:
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
            "api.main:create_app",
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
            raise SystemExit("the API process exited during startup")
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the API did not become healthy within 120 s")


def make_key(store_url: str) -> str:
    import api.models  # noqa: F401
    from api.keys import create_api_key
    from catalog.db import session_scope

    with session_scope(store_url) as session:
        return create_api_key(session, organization="bench", name="benchmark").token


def wait_job(client: httpx.Client, job_id: int) -> dict:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not finish")


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process has used; NaN off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency_rows(
    client: httpx.Client, job_id: int, pid: int
) -> list[tuple[str, int, float, float, float]]:
    """Per request kind: label, n, p50 ms, p95 ms, server CPU ms per request (the figure that
    does not depend on what else the machine is doing)."""
    rows = []
    for size, repeats in ((1, 60), (100, 40), (1000, 25)):
        body = {"job_id": job_id, "records": records(size)}
        timed(client, "POST", "/api/classify", json=body)  # warm
        cpu = server_cpu(pid)
        times = [timed(client, "POST", "/api/classify", json=body) for _ in range(repeats)]
        cpu_ms = (server_cpu(pid) - cpu) / repeats * 1000
        rows.append((f"POST /api/classify, {size:,} record(s)", repeats, *_p(times), cpu_ms))
    cpu = server_cpu(pid)
    times = [timed(client, "GET", f"/api/jobs/{job_id}") for _ in range(200)]
    cpu_ms = (server_cpu(pid) - cpu) / 200 * 1000
    rows.append(("GET /api/jobs/{id} (job polling)", 200, *_p(times), cpu_ms))
    return rows


def _p(times: list[float]) -> tuple[float, float]:
    return percentile(times, 50) * 1000, percentile(times, 95) * 1000


def sustained(url: str, key: str, job_id: int, *, clients: int, duration: float) -> dict:
    stop = time.monotonic() + duration
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    classify_body = {"job_id": job_id, "records": records(10)}

    def worker(n: int) -> None:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            i = n
            while time.monotonic() < stop:
                start = time.perf_counter()
                try:
                    if i % 2:
                        response = client.post("/api/classify", json=classify_body)
                    else:
                        response = client.get(f"/api/jobs/{job_id}")
                    ok = response.is_success
                    problem = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, problem = False, type(exc).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(problem)
                i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--postgres-url", help="Admin URL of a PostgreSQL server to use.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="skuflow-api-bench-") as tmp:
        home = Path(tmp)
        database = None
        if args.postgres_url:
            import sqlalchemy as sa

            database = f"skuflow_bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
            store_url = args.postgres_url.rsplit("/", 1)[0] + f"/{database}"
        else:
            store_url = f"sqlite:///{home / 'store.db'}"
        process, url = start_server(home, store_url)
        try:
            key = make_key(store_url)
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as client:
                body = {"source": "bench", "records": ROWS}
                job_id = client.post("/api/ingest", json=body).json()["job_id"]
                job = wait_job(client, job_id)
                print(
                    f"store: {store_url.split('://')[0]}; ingest job of {len(ROWS):,} "
                    f"records: {job['status']} in "
                    f"{_seconds(job['started_at'], job['finished_at']):.1f} s"
                )
                rows = latency_rows(client, job_id, process.pid)
            load_run = sustained(url, key, job_id, clients=args.clients, duration=args.duration)
        finally:
            process.terminate()
            process.wait(timeout=30)
            if database:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                admin.dispose()

    print()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(machine: {os.cpu_count()} CPUs, 1-min load average {load:.1f} at the end)")
    print("| request | n | p50 ms | p95 ms | server CPU ms/request |")
    print("|---|---:|---:|---:|---:|")
    for label, n, p50, p95, cpu_ms in rows:
        print(f"| {label} | {n} | {p50:.1f} | {p95:.1f} | {cpu_ms:.1f} |")
    print()
    print(
        f"Sustained, {args.clients} concurrent clients for {args.duration:.0f} s "
        "(GET /api/jobs/{id} and POST /api/classify of 10 records, alternating): "
        f"{load_run['rps']:.1f} req/s over {load_run['requests']:,} requests, "
        f"p50 {load_run['p50']:.1f} ms, p95 {load_run['p95']:.1f} ms, errors {load_run['errors']}"
        + (f" ({', '.join(load_run['error_kinds'])})" if load_run["errors"] else "")
    )
    thousand = rows[2][3]
    print(
        f"Targets: p95 <= 1000 ms for 1,000 records: {'met' if thousand <= 1000 else 'MISSED'} "
        f"({thousand:.0f} ms); zero errors under load: "
        f"{'met' if load_run['errors'] == 0 else 'MISSED'}"
    )


def _seconds(start: str | None, end: str | None) -> float:
    from datetime import datetime

    if not start or not end:
        return float("nan")
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


if __name__ == "__main__":
    main()
