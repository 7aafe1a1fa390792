"""Batches on Dask worker processes record exactly the changes batches on threads record, and a
worker process killed mid-run (SIGKILL) costs nothing: the run completes, every change recorded
once. Real PostgreSQL, a real `LocalCluster` of two worker processes, the Prefect test harness.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.db import make_engine
from flows.onboard import onboard
from flows.support.task_runners import build_task_runner, with_task_runner
from tests.conftest import EXAMPLES, ROOT, _reset_postgres

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate_catalog  # noqa: E402

pytest.importorskip("prefect_dask", reason="the dask extra (prefect-dask) is not installed")

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.postgres, pytest.mark.slow]

RECORDS = 600
BATCH = 100
_reference: dict[str, list[tuple]] = {}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_catalog(tmp_path_factory.mktemp("runners") / "catalog.csv", RECORDS)


@pytest.fixture
def store(postgres_database: str) -> str:
    _reset_postgres(postgres_database)
    return postgres_database


def _onboard(store: str, source: Path, out: Path, runner: str) -> dict:
    flow = with_task_runner(onboard, runner, workers=2)
    return flow(
        source=str(source),
        catalog=str(EXAMPLES / "catalog.yaml"),
        taxonomy=str(EXAMPLES / "taxonomy.txt"),
        companies=str(EXAMPLES / "suppliers.csv"),
        out=str(out),
        database_url=store,
        batch_size=BATCH,
    )


def _changes(store: str) -> list[tuple]:
    """Every change row, without ids, run ids and timestamps."""
    engine = make_engine(store)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.external_id, c.field, c.operation, c.status, c.old_value, "
                "c.new_value, c.confidence, c.provider, c.model, c.method, c.basis "
                "FROM changes c JOIN records r ON r.id = c.record_id"
            )
        ).all()
    engine.dispose()
    return sorted(tuple(str(v) for v in row) for row in rows)


def _threads_reference(store: str, source: Path, out: Path) -> list[tuple]:
    """The changes of a threads run on a fresh store (once per module), the store reset after."""
    if "changes" not in _reference:
        summary = _onboard(store, source, out, "threads")
        assert summary["status"] == "completed"
        _reference["changes"] = _changes(store)
        _reset_postgres(store)
    return _reference["changes"]


def _processed(store: str, stage: str) -> int:
    engine = make_engine(store)
    try:
        with engine.connect() as conn:
            counts = conn.execute(sa.text("SELECT counts FROM runs ORDER BY id DESC LIMIT 1"))
            value = counts.scalar() or {}
    finally:
        engine.dispose()
    return int(value.get(stage, {}).get("processed", 0))


def _dask_workers() -> list[int]:
    """Pids of the local cluster's worker processes: this process's children started by
    multiprocessing's spawn (the nannies live in this process and spawn them)."""
    import psutil

    return sorted(
        child.pid
        for child in psutil.Process().children()
        if "spawn_main" in " ".join(child.cmdline())
    )


def test_the_dask_runner_builds_a_local_cluster_of_the_asked_processes() -> None:
    runner = build_task_runner("dask", workers=3)
    assert runner.cluster_kwargs["n_workers"] == 3
    assert runner.cluster_kwargs["processes"] is True
    with pytest.raises(ValueError, match="unknown task runner"):
        build_task_runner("celery")  # type: ignore[arg-type]


def test_a_dask_run_records_exactly_the_changes_of_a_threads_run(
    store: str, source: Path, tmp_path: Path
) -> None:
    reference = _threads_reference(store, source, tmp_path / "threads")
    assert reference, "the reference run should have recorded changes"

    summary = _onboard(store, source, tmp_path / "dask", "dask")

    assert summary["status"] == "completed"
    assert _changes(store) == reference
    assert summary["classify"]["processed"] == RECORDS


def test_a_dask_worker_killed_mid_run_costs_no_change_and_no_duplicate(
    store: str, source: Path, tmp_path: Path
) -> None:
    reference = _threads_reference(store, source, tmp_path / "threads")
    killed: list[int] = []
    stop = threading.Event()

    def kill_one_worker() -> None:
        while not stop.wait(0.2):
            if not 0 < _processed(store, "classify") < RECORDS:
                continue
            workers = _dask_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
                return

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    started = time.monotonic()
    try:
        summary = _onboard(store, source, tmp_path / "dask", "dask")
    finally:
        stop.set()
        killer.join(timeout=10)

    assert killed, f"no worker was killed during the run ({time.monotonic() - started:.0f} s)"
    assert summary["status"] == "completed"
    changes = _changes(store)
    assert len(changes) == len(set(changes)), "a change was recorded twice"
    assert changes == reference
    # a killed batch's transaction left nothing behind: each record counted exactly once
    assert summary["classify"]["processed"] == RECORDS
    assert summary["enrich"]["processed"] == RECORDS
