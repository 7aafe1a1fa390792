"""A real uvicorn server per test module, on a free port, over its own store; organizations
with API keys made directly in that store; httpx clients that carry a key."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import SHARED_DATA


@pytest.fixture(autouse=True)
def _local_receivers(allow_local_outbound: None) -> None:
    """The API tests' webhook and Slack receivers listen on 127.0.0.1: opted in to the
    outbound URL policy (tests of the policy itself use other addresses)."""


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread, on a port the OS picked.

    With ``inherit_context`` the server runs in a copy of the caller's context, so Prefect
    settings a test set with ``temporary_settings`` (the API URL of a test server) apply to
    the app's threads as they would to a process started with them in its environment.
    """

    def __init__(self, app, *, inherit_context: bool = False) -> None:
        import contextvars

        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        run = self.server.run
        if inherit_context:
            context = contextvars.copy_context()

            def run(**kwargs: object) -> None:
                context.run(self.server.run, **kwargs)

        self._thread = threading.Thread(target=run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self, timeout: float = 30) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()


@dataclass
class Api:
    """A running API: its URL, its store, and a way to get a client for a new organization."""

    url: str
    store_url: str
    app: object
    clients: list[httpx.Client] = field(default_factory=list)

    def new_key(self, organization: str | None = None) -> tuple[str, str]:
        """(organization name, bearer key) for a new (or given) organization."""
        from api.keys import create_api_key
        from catalog.db import session_scope

        name = organization or f"org-{uuid.uuid4().hex[:8]}"
        with session_scope(self.store_url) as session:
            token = create_api_key(session, organization=name, name="test").token
        return name, token

    def client(self, organization: str | None = None, *, key: str | None = None) -> httpx.Client:
        """A client authenticated for a new organization (or with ``key`` as given)."""
        if key is None:
            _, key = self.new_key(organization)
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        self.clients.append(client)
        return client

    def anonymous(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=60)
        self.clients.append(client)
        return client


FORTUNE = SHARED_DATA / "companies" / "fortune500_2019.csv"
"""The reference companies the API enriches from (a plain clone has no ../shared)."""


def _companies(tmp: Path) -> Path:
    """The Fortune 500 table when ../shared is beside the clone; else two of its companies in
    its columns, written here, so auto-enrichment is tested on a plain clone too (tests that
    check the table's own rows skip instead)."""
    if FORTUNE.exists():
        return FORTUNE
    path = tmp / "companies.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "company_name,rank,revenue ($M),employees,industry,sector,location,website\n"
        'Walmart,1,"$514,405.0",2200000,General Merchandisers,Retailing,"Bentonville, Ark.",'
        "http://www.walmart.com\n"
        'Apple,11,"$265,595.0",132000,"Computers, Office Equipment",Technology,'
        '"Cupertino, Calif.",http://www.apple.com\n',
        encoding="utf-8",
    )
    return path


def start_api(store_url: str, tmp: Path, **overrides) -> tuple[Api, LiveServer]:
    from api.main import create_app
    from api.settings import ApiSettings

    settings = ApiSettings(
        store_url=store_url,
        home=tmp / "home",
        sync_dir=tmp / "sync",
        companies=_companies(tmp),
        webhook_backoff=0.05,
        webhook_timeout=5,
        webhook_attempts=3,
        **overrides,
    )
    app = create_app(settings)
    server = LiveServer(app).start()
    return Api(url=server.url, store_url=store_url, app=app), server


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Api]:
    """The API over a fresh SQLite store, shared by the session (starting one costs seconds;
    tests stay apart by each using organizations of their own). Its jobs are flow runs, on
    the session's Prefect test server."""
    tmp = tmp_path_factory.mktemp("api")
    running, server = start_api(f"sqlite:///{tmp / 'store.db'}", tmp)
    yield running
    for client in running.clients:
        client.close()
    server.stop()


@pytest.fixture(scope="module")
def pg_api(
    tmp_path_factory: pytest.TempPathFactory, postgres_database: str, prefect_harness: None
) -> Iterator[Api]:
    """The API over the session's PostgreSQL database, emptied for this module."""
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_database)
    tmp = tmp_path_factory.mktemp("pg-api")
    running, server = start_api(
        postgres_database, tmp, sync_targets={"warehouse": f"{postgres_database}#synced_products"}
    )
    yield running
    for client in running.clients:
        client.close()
    server.stop()


def wait_for(
    predicate: Callable[[], object], *, timeout: float = 60, interval: float = 0.05
) -> object:
    """Poll until ``predicate()`` is truthy; return its value, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s\n{_skuflow_threads()}")
        time.sleep(interval)


def _skuflow_threads() -> str:
    """Where skuflow's own threads (jobs, leases, webhook senders) are: a wait that times out
    says what the server was doing instead of finishing."""
    import sys
    import traceback

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    stacks = [
        f"--- {names[ident]}\n" + "".join(traceback.format_stack(frame)[-12:])
        for ident, frame in sys._current_frames().items()
        if names.get(ident, "").startswith("skuflow-")
    ]
    return "\n".join(stacks) or "(no skuflow thread is running)"


def synced_file(api: Api, result: dict) -> Path:
    """The file a sync job wrote: its result names it under the sync folder (never the
    server's path), so a test on the server's machine finds it there."""
    return api.app.state.settings.resolved_sync_dir / result["location"]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is the API's one error shape with this status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["error"]["message"] == body["detail"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


__all__ = ["SHARED_DATA", "Api", "LiveServer", "assert_error", "synced_file", "wait_for"]
