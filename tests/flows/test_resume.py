"""A run killed with SIGKILL half-way, then run again, completes with every change recorded
exactly once — the same changes a single uninterrupted run records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from catalog.db import make_engine
from tests.conftest import EXAMPLES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate_catalog  # noqa: E402

RECORDS = 3_000
BATCH = 150


def _onboard(source: Path, store: str, home: Path) -> subprocess.Popen:
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SKUFLOW_DATABASE_URL": store,
        "SKUFLOW_HOME": str(home),
        "SKUFLOW_BATCH_SIZE": str(BATCH),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": os.environ.get("PREFECT_API_URL", ""),
    }
    if not env["PREFECT_API_URL"]:
        env.pop("PREFECT_API_URL")
    command = [
        str(Path(sys.executable).parent / "skuflow"),
        "onboard",
        str(source),
        "--catalog",
        str(EXAMPLES / "catalog.yaml"),
        "--taxonomy",
        str(EXAMPLES / "taxonomy.txt"),
        "--companies",
        str(EXAMPLES / "suppliers.csv"),
        "--out",
        str(home / "out"),
    ]
    return subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=(home / "onboard.log").open("a"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def _changes(store: str) -> list[tuple]:
    engine = make_engine(store)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.external_id, c.field, c.operation, c.status, c.new_value "
                "FROM changes c JOIN records r ON r.id = c.record_id"
            )
        ).all()
    engine.dispose()
    return sorted(tuple(str(v) for v in row) for row in rows)


def _progress(store: str) -> dict:
    engine = make_engine(store)
    try:
        with engine.connect() as conn:
            value = conn.execute(
                sa.text("SELECT counts FROM runs ORDER BY id DESC LIMIT 1")
            ).scalar()
    except sa.exc.OperationalError:
        value = None
    finally:
        engine.dispose()
    if isinstance(value, str):
        import json

        value = json.loads(value)
    return value or {}


@pytest.mark.slow
def test_sigkill_half_way_then_rerun_records_every_change_once(tmp_path: Path) -> None:
    source = generate_catalog(tmp_path / "catalog.csv", RECORDS)

    # The uninterrupted reference run goes alongside (its own store and home), so the test
    # waits for the slowest of the two, not for their sum.
    reference_store = f"sqlite:///{tmp_path / 'reference.db'}"
    reference = _onboard(source, reference_store, tmp_path / "reference")

    killed_store = f"sqlite:///{tmp_path / 'killed.db'}"
    process = _onboard(source, killed_store, tmp_path / "killed")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        done = _progress(killed_store).get("enrich", {}).get("processed", 0)
        if 0 < done < RECORDS:
            break
        time.sleep(0.2)
    log = tmp_path / "killed" / "onboard.log"
    assert process.poll() is None, f"finished before it could be killed:\n{log.read_text()}"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = _changes(killed_store)
    assert partial, "the killed run should have recorded some changes"

    resumed = _onboard(source, killed_store, tmp_path / "killed")
    assert resumed.wait(timeout=600) == 0, log.read_text()

    assert reference.wait(timeout=600) == 0, (tmp_path / "reference" / "onboard.log").read_text()

    after_resume = _changes(killed_store)
    assert len(after_resume) == len(set(after_resume)), "a change was recorded twice"
    assert after_resume == _changes(reference_store)
