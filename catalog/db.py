"""Engine, sessions and migrations for the store (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from catalog.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine tuned for the store: SQLite in WAL mode with a busy timeout so a reader and a
    writer (a run and a `skuflow review` in another shell) don't trip over each other."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60}, **_JSON_CODEC)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # A 64 MiB page cache (the default is 2 MiB) keeps a 100k-record catalogue's tables
            # and indexes in memory between batches; sorts and temporary indexes stay in memory.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **_JSON_CODEC)


JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
"""orjson's options for the store's JSON: what `dumps_json` passes (and `catalog.bulk`, which
makes the same call inline on its hot path)."""


def dumps_json(value: Any) -> str:
    """JSON columns' encoder (the engine's, and `catalog.bulk`'s for the rows it writes): orjson,
    several times faster than `json`, which the store's hot paths paid for on every value
    written. Non-string keys are written as `json.dumps` would,
    NumPy numbers as plain numbers; what orjson refuses (integers past 64 bits, ...) goes
    through `json.dumps`. NaN is written as null (valid JSON; PostgreSQL refuses NaN)."""
    try:
        return orjson.dumps(value, option=JSON_OPTIONS).decode()
    except TypeError:
        return json.dumps(value, default=_numpy_item)


def _numpy_item(value: Any) -> Any:
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _loads(text: str | bytes) -> Any:
    """JSON columns' decoder: orjson; `json.loads` for what only it reads (a NaN an older
    version wrote to a SQLite store).

    SQLite hands back a JSON number as a number (its JSON columns have numeric affinity) and
    SQLAlchemy's SQLite JSON type keeps the number when decoding raises `TypeError`: raised
    here at once, rather than after orjson and `json.loads` have both refused it."""
    if type(text) is int or type(text) is float:
        raise TypeError("a number as SQLite stores it, not JSON text")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_JSON_CODEC = {"json_serializer": dumps_json, "json_deserializer": _loads}


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite store (one writer at a time)."""
    return make_url(url).get_backend_name() == "sqlite"


def migrate(engine: Engine) -> None:
    """Bring the store's tables to the newest migration (safe to call on every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One migrated engine per URL per process."""
    engine = make_engine(url)
    migrate(engine)
    return engine


def get_engine(url: str | None = None) -> Engine:
    return engine_for(url or get_settings().store_url)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with transaction(session_factory(url)) as session:
        yield session


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session from ``sessions`` committed on success, rolled back on any error, closed."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
