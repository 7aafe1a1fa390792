"""Restart safety: `skuflow api` is killed (SIGKILL) in the middle of an ingest job (its records
stored and charged, their classification under way) and started again; the job is taken over
once its lease runs out and completes, every record stored once, classified once and charged
once, and the killed flow run ends Crashed in Prefect."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

RECORDS = 3000
LEASE_SECONDS = "2"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ApiProcess:
    """`skuflow api` as a real process on ``port`` over the store in its environment."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "api", "--port", str(port)],
            cwd=log.parent,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.log = log
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"skuflow api exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"skuflow api did not start:\n{log.read_text()[-3000:]}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def api_env(tmp_path: Path, prefect_harness: None) -> Iterator[dict[str, str]]:
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "SKUFLOW_HOME": str(tmp_path / ".skuflow"),
        "SKUFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "SKUFLOW_API_JOB_LEASE_SECONDS": LEASE_SECONDS,
    }
    yield env


def _job(url: str, key: str, job_id: int) -> dict:
    response = httpx.get(
        f"{url}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def _charged(store_url: str, job_id: int) -> int:
    from api.models import UsageEntry
    from catalog.db import session_scope

    with session_scope(store_url) as session:
        return session.scalar(
            sa.select(sa.func.count()).select_from(UsageEntry).where(UsageEntry.run_id == job_id)
        )


def test_a_job_killed_mid_way_completes_after_restart_exactly_once(
    api_env: dict[str, str], tmp_path: Path
) -> None:
    from api.keys import create_api_key
    from api.models import UsageEntry
    from catalog.db import session_scope
    from catalog.models import Change, Record, Run

    store_url = api_env["SKUFLOW_DATABASE_URL"]
    port = _free_port()
    first = ApiProcess(api_env, port, tmp_path / "api.log")
    try:
        with session_scope(store_url) as session:
            key = create_api_key(session, organization="restart", name="test").token
        records = [
            {"id": f"R-{i}", "name": f"Cordless drill {i} 18V", "description": "Acme tools"}
            for i in range(RECORDS)
        ]
        answer = httpx.post(
            f"{first.url}/api/ingest",
            json={"source": "restart-test", "records": records},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        # kill it mid-way: its records stored and charged, their classification under way
        deadline = time.monotonic() + 120
        while _charged(store_url, job_id) == 0:
            assert time.monotonic() < deadline, "the job never stored its records"
            time.sleep(0.02)
        first.kill()
    finally:
        first.stop()
    with session_scope(store_url) as session:
        killed = session.get(Run, job_id)
        assert killed.status == "running", "the job finished before the kill; make it longer"
        assert killed.lease_owner is not None
        first_flow_run = killed.flow_run_id
    assert _charged(store_url, job_id) == RECORDS

    second = ApiProcess(api_env, port, tmp_path / "api.log")
    try:
        deadline = time.monotonic() + 240
        while (job := _job(second.url, key, job_id))["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"the job was not completed after restart: {job}"
            time.sleep(0.2)
    finally:
        second.stop()

    assert job["status"] == "completed", job
    assert (job["completed"], job["failed"]) == (RECORDS, 0)
    assert job["credits_used"] == RECORDS
    with session_scope(store_url) as session:
        run = session.get(Run, job_id)
        assert run.attempts == 2 and run.counts["resumed"] == 1
        assert run.lease_owner is None
        second_flow_run = run.flow_run_id
        charged = session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(UsageEntry.item))).where(
                UsageEntry.run_id == job_id
            )
        ).one()
        assert tuple(charged) == (RECORDS, RECORDS)
        stored = session.scalar(
            sa.select(sa.func.count())
            .select_from(Record)
            .where(Record.catalog_id == run.catalog_id)
        )
        assert stored == RECORDS
        changes = session.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(Change.record_id))).where(
                Change.catalog_id == run.catalog_id, Change.operation == "classify"
            )
        ).one()
        assert changes[0] > 0, "nothing was classified"
        assert changes[0] == changes[1], "a record was classified twice"

    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as prefect:
        old, new = (prefect.read_flow_run(UUID(i)) for i in (first_flow_run, second_flow_run))
        assert old.state.is_crashed() and new.state.is_completed()
        assert prefect.read_flow(new.flow_id).name == "api-ingest"
        assert old.name == new.name == f"ingest-{job_id}"
