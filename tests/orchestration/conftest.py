"""One real Prefect server for the orchestration tests (PostgreSQL as its database when the
server at 127.0.0.1:5432 is there), and `skuflow serve` serving prefect.yaml's deployments
against it from a subprocess, with its own store and working directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, prefect_server_on_postgres

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
    """`prefect server start` on a free port, on a fresh PostgreSQL database (dropped after);
    on SQLite when no PostgreSQL is reachable outside CI."""
    from deployments.server import start_server

    home = tmp_path_factory.mktemp("prefect-server")
    with prefect_server_on_postgres(home, extra_env=FAST_SERVER) as api_url:
        if api_url is not None:
            yield Server(api_url, "postgresql")
            return
    with start_server(home=home, extra_env=FAST_SERVER) as server:
        yield Server(server.api_url, "sqlite")


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
