"""Orchestration figures on a real Prefect server: event → run-start latency, and how many
task runs an onboard of a large file creates.

Starts `prefect server start` (SQLite in a temp home, or PostgreSQL with --server-db) with the
recorder settings of `skuflow serve`, and `skuflow serve --only onboard-on-landing` against it
in a subprocess. Then:

1. latency: emits `skuflow.source.landed` for the bundled example file (a few times) and
   measures emit → the onboard flow run's start time as the server recorded it, and emit →
   the run's completion;
2. task runs: generates an N-record supplier file (default 100,000), announces it the same
   way, waits for the onboard to finish, and counts the task runs the server recorded for it
   (target ≤ 200: tasks are batches, never one per record).

    .venv/bin/python benchmarks/orchestration.py [--records 100000] [--latency-runs 3]
        [--server-db postgresql://postgres@127.0.0.1:5432/prefect_bench]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"


def _wait(condition, timeout: float, what: str, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _onboard_run_for(source: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=50)
    return next((r for r in runs if r.parameters.get("source") == source), None)


def _announce_and_wait(source: str, timeout: float) -> tuple[float, float, float, object]:
    """Emit the landing event; return (emit→run created s, emit→start s, emit→end s, run)."""
    from flows.support.landing import emit_source_landed

    emitted = time.time()
    event = emit_source_landed(
        source=source,
        catalog=str(EXAMPLES / "catalog.yaml"),
        origin="manual",
        taxonomy=str(EXAMPLES / "taxonomy.txt"),
        companies=str(EXAMPLES / "suppliers.csv"),
    )
    emitted = event.occurred.timestamp() if event else emitted
    run = _wait(
        lambda: (r := _onboard_run_for(source)) and r.state.is_final() and r,
        timeout,
        f"the onboard of {source}",
        every=1.0,
    )
    return (
        run.created.timestamp() - emitted,
        run.start_time.timestamp() - emitted,
        run.end_time.timestamp() - emitted,
        run,
    )


def _task_runs(flow_run_id) -> Counter:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        names: Counter = Counter()
        offset = 0
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=200,
                offset=offset,
            )
            names.update(t.name.rsplit("-", 1)[0] for t in page)
            if len(page) < 200:
                return names
            offset += 200


def _recorded_task_runs(flow_run_id, settle: float = 3.0, timeout: float = 180) -> Counter:
    """Task runs of a flow run once the server's recorder has caught up (two equal counts
    ``settle`` seconds apart)."""
    deadline = time.monotonic() + timeout
    previous = _task_runs(flow_run_id)
    while time.monotonic() < deadline:
        time.sleep(settle)
        current = _task_runs(flow_run_id)
        if current == previous and current:
            return current
        previous = current
    return previous


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--server-db", default=None, help="PostgreSQL URL for the server.")
    args = parser.parse_args(argv)

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from benchmarks.generate import generate_catalog
    from catalog.settings import get_settings
    from deployments.server import start_server

    work = Path(tempfile.mkdtemp(prefix="skuflow-orch-bench-"))
    began = time.monotonic()
    server = start_server(
        home=work / "prefect",
        database_url=args.server_db,
        extra_env={"PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    print(f"Prefect server healthy after {time.monotonic() - began:.1f} s at {server.api_url}")
    env = {
        **os.environ,
        "PREFECT_API_URL": server.api_url,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "SKUFLOW_HOME": str(work / ".skuflow"),
        "SKUFLOW_DATABASE_URL": f"sqlite:///{work / 'store.db'}",
        "PYTHONPATH": str(ROOT),
    }
    serve_log = (work / "serve.log").open("wb")
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "serve",
            "--api-url",
            server.api_url,
            "--only",
            "onboard-on-landing",
        ],
        cwd=work,
        env=env,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            from prefect.client.orchestration import get_client

            def served() -> bool:
                with get_client(sync_client=True) as client:
                    try:
                        client.read_deployment_by_name("onboard/onboard-on-landing")
                        return True
                    except Exception:
                        return False

            _wait(served, 180, "skuflow serve")
            time.sleep(2)  # the runner's first poll
            created, starts = [], []
            for i in range(args.latency_runs):
                copy = work / f"example-{i}.csv"
                copy.write_bytes((EXAMPLES / "acme_supplier_catalog.csv").read_bytes())
                made, start, end, _ = _announce_and_wait(str(copy), timeout=600)
                created.append(made)
                starts.append(start)
                print(
                    f"  landing {i + 1}: event → run created {made:.1f} s, → running {start:.1f} s,"
                    f" → completed {end:.1f} s"
                )
            for label, values in (("created", created), ("start", starts)):
                print(
                    f"event → run {label}: median {statistics.median(values):.1f} s "
                    f"(min {min(values):.1f}, max {max(values):.1f}) over {len(values)} events"
                )
            if args.records <= 0:
                return
            big = generate_catalog(work / f"supplier-{args.records}.csv", args.records)
            print(f"Onboarding {args.records:,} records (batch size {get_settings().batch_size}) …")
            _, start, end, run = _announce_and_wait(str(big), timeout=3600)
            print(f"  {run.state.name} in {end - start:.0f} s of flow time")
            counts = _recorded_task_runs(run.id)
            detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
            total = sum(counts.values())
            print(f"task runs for a {args.records:,}-record onboard: {total} ({detail})")
    finally:
        serve.terminate()
        serve.wait(30)
        server.stop()
        serve_log.close()


if __name__ == "__main__":
    main()
