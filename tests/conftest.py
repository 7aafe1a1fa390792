"""Shared fixtures: a Prefect test harness, an isolated skuflow home, and real stores (a SQLite
file, and a fresh PostgreSQL database for the session, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.llm_server import LLMServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get(
    "SKUFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def shared_path(relative: str | Path) -> Path:
    """A path of `../shared/data` (relative to it, or a path under it); skips the calling test
    or fixture, naming it, when absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{path.relative_to(SHARED_DATA)} beside the clone")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``-n 2 --dist loadgroup``, as `make test` runs), each area of tests
    (``tests/api``, ``tests/orchestration``, …) runs on one worker: an area's session-scoped
    servers (the API, a Prefect server, the S3 and BigQuery emulators) start once, not once
    per worker, and its modules keep their order."""
    tests = Path(__file__).resolve().parent
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(tests)
        area = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        item.add_marker(pytest.mark.xdist_group(area))


if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist's workers start with COLUMNS=80 in their environment; the CLI's Rich console, made
    # at import, would keep 80 columns for good, and tests that widen it per invocation
    # (CliRunner's env) would read wrapped tables. Workers see the terminal a plain run sees.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _drop_database(admin: Any, name: str) -> None:
    """Drop a test database (its open connections closed first) and let the admin engine go."""
    import sqlalchemy as sa

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


@contextmanager
def prefect_server_on_postgres(
    home: Path, extra_env: dict[str, str] | None = None
) -> Iterator[str | None]:
    """`prefect server start` on a free port over a fresh PostgreSQL database (dropped after);
    yields its API URL. None when PostgreSQL is not reachable (fails under CI instead)."""
    import sqlalchemy as sa

    from deployments.server import start_server

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        yield None
        return
    name = f"prefect_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    server = None
    try:
        server = start_server(
            home=home, database_url=PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", extra_env=extra_env
        )
        yield server.api_url
    finally:
        if server is not None:
            server.stop()
        _drop_database(admin, name)


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One Prefect server for the whole session (starting one costs ~10 s), on PostgreSQL.

    Prefect's own `prefect_test_harness` keeps the server's database in SQLite, which under a
    loaded machine answers concurrent flow runs (the API's job threads) with "database is
    locked" 503s, and the client backs off 2, 4, 8, 16, 32 s: a job then waits a minute for
    its own flow run to be created. PostgreSQL, the production setup, takes concurrent runs
    as they come. Without PostgreSQL (a plain clone on a laptop), the SQLite harness.
    """
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    with prefect_server_on_postgres(tmp_path_factory.mktemp("prefect-server")) as api_url:
        if api_url is None:
            from prefect.testing.utilities import prefect_test_harness

            with prefect_test_harness(server_startup_timeout=90):
                yield
            return
        with prefect_client_settings(api_url):
            yield


@contextmanager
def prefect_client_settings(api_url: str) -> Iterator[None]:
    """This process's Prefect clients talk to ``api_url`` — in every thread, as under
    `prefect_test_harness` (threads started without a settings context of their own, such as
    the API's job threads, read the process-global one, replaced here as the harness does);
    the log and event workers are drained before the server goes away."""
    from prefect.context import _temporary_global_settings_context, get_settings_context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        with _temporary_global_settings_context(get_settings_context()):
            try:
                yield
            finally:
                for drain in (APILogWorker.drain_all, EventsWorker.drain_all):
                    try:
                        drain(timeout=10)
                    except Exception:  # a worker that never started has nothing to drain
                        pass


@pytest.fixture(autouse=True)
def skuflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own `.skuflow` home (models, reports, default SQLite store)."""
    from catalog.settings import reload_settings

    home = tmp_path / ".skuflow"
    monkeypatch.setenv("SKUFLOW_HOME", str(home))
    monkeypatch.delenv("SKUFLOW_DATABASE_URL", raising=False)
    reload_settings()
    yield home
    reload_settings()


@pytest.fixture
def allow_local_outbound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt this machine's loopback address in to the outbound URL policy
    (`SKUFLOW_OUTBOUND_ALLOW`): the test's webhook receivers listen on 127.0.0.1."""
    monkeypatch.setenv("SKUFLOW_OUTBOUND_ALLOW", "127.0.0.1")


def _pg_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    import sqlalchemy as sa

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = f"skuflow_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from catalog.db import engine_for

        engine_for.cache_clear()
        _drop_database(admin, name)


def _reset_postgres(url: str) -> None:
    """Empty the session's database between tests: every table goes (the store's and any a
    destination created), then the store is migrated afresh."""
    import sqlalchemy as sa

    from catalog.db import get_engine, migrate

    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    migrate(engine)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The store under test, as SKUFLOW_DATABASE_URL: a SQLite file, or the session's
    PostgreSQL database reset for this test."""
    from catalog.settings import reload_settings

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    monkeypatch.setenv("SKUFLOW_DATABASE_URL", url)
    reload_settings()
    return url


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A local OpenAI-compatible server (see tests/llm_server.py), fresh for each test."""
    with LLMServer() as server:
        yield server
