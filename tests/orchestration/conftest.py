"""One real Prefect server for the orchestration tests (PostgreSQL as its database when the
server at 127.0.0.1:5432 is there), and `skuflow serve` serving prefect.yaml's deployments
against it from a subprocess, with its own store and working directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ADMIN_URL, ROOT, _pg_available

# The server's scheduler and the runner poll fast, so a test waits seconds, not minutes.
FAST_SERVER = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    "PREFECT_LOGGING_SERVER_LEVEL": "WARNING",
}
RUNNER_POLL_SECONDS = "1"


@dataclass
class Server:
    api_url: str
    database: str


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free port, on a fresh PostgreSQL database (dropped after)."""
    import sqlalchemy as sa

    from deployments.server import start_server

    admin = None
    name = None
    database_url = None
    if _pg_available():
        name = f"prefect_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    elif os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    server = start_server(
        home=tmp_path_factory.mktemp("prefect-server"),
        database_url=database_url,
        extra_env=FAST_SERVER,
    )
    try:
        yield Server(server.api_url, "postgresql" if database_url else "sqlite")
    finally:
        server.stop()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


@pytest.fixture(scope="module")
def prefect_api(prefect_server: Server) -> Iterator[str]:
    """This process's Prefect client settings point at the test server (for one module, so
    the settings of other areas' tests are restored after it)."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Prefect keeps one events worker per process whatever the API URL: one started by an
    # earlier module would send this module's events (a portal upload's landed event) to that
    # module's server. Stopped here, the next event starts a worker bound to this server.
    EventsWorker.drain_all(timeout=10)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        yield prefect_server.api_url
    EventsWorker.drain_all(timeout=10)


@dataclass
class Served:
    api_url: str
    workdir: Path
    store_url: str
    process: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def served(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`skuflow serve --api-url …` in a subprocess: every deployment of prefect.yaml, runs
    executed in its working directory against its own SQLite store."""
    workdir = tmp_path_factory.mktemp("served")
    store_url = f"sqlite:///{workdir / 'store.db'}"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_RUNNER_POLL_FREQUENCY": RUNNER_POLL_SECONDS,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "SKUFLOW_HOME": str(workdir / ".skuflow"),
        "SKUFLOW_DATABASE_URL": store_url,
    }
    log = workdir / "serve.log"
    started = datetime.now(UTC)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--api-url", prefect_api],
            cwd=workdir,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: _served_count(started) >= _yaml_count() or process.poll() is not None,
            timeout=180,
            what="the served deployments",
        )
        if process.poll() is not None:
            raise RuntimeError(f"skuflow serve exited:\n{log.read_text()[-3000:]}")
        yield Served(prefect_api, workdir, store_url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _yaml_count() -> int:
    from deployments.serve import deployment_specs

    return len(deployment_specs())


def _served_count(since: datetime) -> int:
    """Deployments (re)registered since ``since``: ones an earlier module applied on the shared
    server do not count, or the fixture would yield before `skuflow serve` re-registers them
    (and replaces a schedule a test just created)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import DeploymentSort

    with get_client(sync_client=True) as client:
        deployments = client.read_deployments(limit=200, sort=DeploymentSort.NAME_ASC)
    return sum(1 for d in deployments if d.updated is not None and d.updated >= since)


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll ``condition`` until it returns something truthy, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
