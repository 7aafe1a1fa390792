"""Session fixtures for the cloud stand-ins: moto's S3 server and bqemulator's BigQuery server,
each started in-process on a free port, as services.md describes."""

from __future__ import annotations

import asyncio
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


@contextmanager
def running_moto() -> Iterator[str]:
    """moto's S3 (and the rest of AWS) on a free local port: yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with running_moto() as url:
        yield url


def moto_auth(moto_url: str, *, enforced: bool) -> None:
    """Make moto check access keys (as S3 does) or accept any, via its admin API."""
    body = b"0" if enforced else b"inf"
    request = urllib.request.Request(
        f"{moto_url}/moto-api/reset-auth",
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would be parsed away by Flask
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="session")
def bigquery_url() -> Iterator[str]:
    with running_bigquery_emulator() as url:
        yield url


@contextmanager
def running_bigquery_emulator() -> Iterator[str]:
    """bqemulator's REST server on its own thread and event loop, with the two offline patches
    from services.md (applied here, for tests and benchmarks, never in product code)."""
    from bqemulator.api.routes import upload
    from bqemulator.config import PersistenceMode, Settings
    from bqemulator.server import EmulatorServer
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = lambda self: None  # no extension download offline
    if "*/*" not in upload._PERMITTED_MEDIA_CONTENT_TYPES:
        upload._PERMITTED_MEDIA_CONTENT_TYPES += ("*/*",)  # google-cloud-bigquery 3.47 sends it
    settings = Settings(
        persistence_mode=PersistenceMode.EPHEMERAL,
        rest_host="127.0.0.1",
        rest_port=0,
        grpc_host="127.0.0.1",
        grpc_port=0,
        log_level="warning",
    )
    server = EmulatorServer(settings)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            return
        finally:
            started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="bqemulator", daemon=True)
    thread.start()
    if not started.wait(timeout=90) or failure:
        raise RuntimeError(f"bqemulator did not start: {failure}")
    try:
        yield server.rest_url
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
