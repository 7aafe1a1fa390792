"""Start a real Prefect server (`prefect server start`) in the background, or check one.

Used by `skuflow serve` when no server is given, by the orchestration tests and by the
benchmark. The server gets the task-run recorder settings that keep run history complete
under load (design notes: the default recorder took 42–58 s to record 1,000 task runs,
6–15 s with these), analytics off (offline machines), its own PREFECT_HOME, and optionally
PostgreSQL as its database (`postgresql+asyncpg://…`), which is the production setup.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

RECORDER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "100",
}
SERVER_SETTINGS = {
    **RECORDER_SETTINGS,
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def asyncpg_url(url: str) -> str:
    """The Prefect server's driver for a PostgreSQL URL people paste (psycopg or plain)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def is_healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class PrefectServer:
    """A `prefect server start` child process and the API URL it answers on."""

    api_url: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> PrefectServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    *,
    home: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
) -> PrefectServer:
    """Start `prefect server start` and wait until its API is healthy.

    Args:
        home: PREFECT_HOME of the server (its SQLite database lives here unless
            ``database_url`` is given); its log goes to ``home/server.log``.
        database_url: PostgreSQL URL for the server's own database.
        extra_env: further PREFECT_* settings (e.g. a faster scheduler loop in tests).

    Raises:
        RuntimeError: the server exited or was not healthy within ``timeout``; the message
            ends with the tail of its log.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    env = {**os.environ, **SERVER_SETTINGS, "PREFECT_HOME": str(home), **(extra_env or {})}
    env.pop("PREFECT_API_URL", None)
    # The UI asks the server's /ui-settings where the API is, and Prefect answers from these
    # settings, not from `--port`: without them a server on 4299 tells the UI to call 4200.
    # (PREFECT_UI_API_URL, when set, still wins: the address browsers reach a proxy on.)
    env["PREFECT_SERVER_API_HOST"] = host
    env["PREFECT_SERVER_API_PORT"] = str(port)
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = asyncpg_url(database_url)
    log_path = home / "server.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    server = PrefectServer(f"http://{host}:{port}/api", process, log_path, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if is_healthy(server.api_url):
            return server
        time.sleep(0.5)
    server.stop()
    tail = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"Prefect server at {server.api_url} did not start:\n{tail}")
