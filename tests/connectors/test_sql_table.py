"""SqlTable on a SQLite file and on the real PostgreSQL server: one transaction per session."""

from __future__ import annotations

import json
import pickle
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.sql_table import SqlTable

COLUMNS = ["sku", "title", "price", "stock", "active", "tags"]
TYPES = {"price": "number", "stock": "integer", "active": "boolean", "tags": "array"}
ROWS: list[dict[str, Any]] = [
    {"sku": "A-1", "title": "Hex bolt", "price": 1.5, "stock": 10, "active": True, "tags": ["m6"]},
    {"sku": "A-2", "title": "Nut", "price": 0.2, "stock": None, "active": False, "tags": []},
    {"sku": "A-3", "title": None, "price": None, "stock": 3, "active": None, "tags": None},
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    """A plain SQLAlchemy engine, as a downstream reader of the table would have."""
    reader = sa.create_engine(url)
    yield reader
    reader.dispose()


@pytest.fixture
def table(url: str) -> Iterator[SqlTable]:
    block = SqlTable(url=url, table=f"products_{secrets.token_hex(4)}", types=TYPES)
    yield block
    block.close()


def _write(block: SqlTable, batches: list[list[dict[str, Any]]], mode: str = "upsert") -> Any:
    with block.open(columns=COLUMNS, key="sku", mode=mode) as writer:  # type: ignore[arg-type]
        for batch in batches:
            writer.write(batch)
        return writer.commit()


def _read(engine: sa.Engine, name: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(sa.text(f'SELECT * FROM "{name}" ORDER BY sku'))
        return [dict(row._mapping) for row in result]


def _columns(engine: sa.Engine, name: str) -> list[tuple[str, str]]:
    return [(c["name"], str(c["type"])) for c in sa.inspect(engine).get_columns(name)]


def _tables(engine: sa.Engine, name: str) -> set[str]:
    """Tables named after this test's table (a staging table would be)."""
    return {t for t in sa.inspect(engine).get_table_names() if t.startswith(name)}


def test_round_trip_creates_a_typed_table_and_reads_back_the_rows(
    table: SqlTable, engine: sa.Engine
) -> None:
    result = _write(table, [ROWS[:2], ROWS[2:]], mode="append")

    assert result.rows == 3 and table.table in result.location
    rows = _read(engine, table.table)
    for row in rows:
        row["tags"] = json.loads(row["tags"]) if row["tags"] is not None else None
        row["active"] = None if row["active"] is None else bool(row["active"])
    assert rows == ROWS
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns(table.table)}
    assert isinstance(columns["price"]["type"], sa.Float)
    assert isinstance(columns["stock"]["type"], sa.Integer)
    assert isinstance(columns["title"]["type"], sa.String)
    assert sa.inspect(engine).get_pk_constraint(table.table)["constrained_columns"] == ["sku"]


def test_upsert_is_idempotent_and_updates_values(table: SqlTable, engine: sa.Engine) -> None:
    _write(table, [ROWS])
    _write(table, [ROWS])
    assert len(_read(engine, table.table)) == 3

    changed = [dict(ROWS[0], price=9.5), dict(ROWS[0], price=9.75), dict(ROWS[1], title="Lock nut")]
    result = _write(table, [changed])  # the same key twice in one batch: the last one wins

    rows = {row["sku"]: row for row in _read(engine, table.table)}
    assert result.rows == 2 and len(rows) == 3
    assert rows["A-1"]["price"] == 9.75
    assert rows["A-2"]["title"] == "Lock nut"
    assert rows["A-3"]["stock"] == 3


def test_an_exception_mid_write_leaves_table_and_columns_exactly_as_before(
    table: SqlTable, engine: sa.Engine
) -> None:
    _write(table, [ROWS])
    before, columns_before = _read(engine, table.table), _columns(engine, table.table)
    wider = [*COLUMNS, "brand"]  # an ADD COLUMN that must roll back too

    with pytest.raises(RuntimeError), table.open(columns=wider, key="sku", mode="upsert") as writer:
        writer.write([dict(ROWS[0], title="changed", brand="Acme"), {"sku": "A-9", "brand": "X"}])
        raise RuntimeError("the classifier crashed")
    with table.open(columns=COLUMNS, key="sku", mode="replace") as writer:
        writer.write([{"sku": "Z-1"}])  # left without commit()

    assert _read(engine, table.table) == before
    assert _columns(engine, table.table) == columns_before
    assert _tables(engine, table.table) == {table.table}


def test_replace_swaps_the_table_in_at_commit_only(table: SqlTable, engine: sa.Engine) -> None:
    _write(table, [ROWS])
    old = _read(engine, table.table)
    new = [{"sku": "B-1", "title": "Washer", "price": 0.1}, {"sku": "B-2", "title": "Rivet"}]
    columns = ["sku", "title", "price"]

    with table.open(columns=columns, key="sku", mode="replace") as writer:
        writer.write(new[:1])
        assert _read(engine, table.table) == old  # a reader mid-write sees the old table
        writer.write(new[1:])
        result = writer.commit()

    rows = _read(engine, table.table)
    assert result.rows == 2
    assert rows == [{**dict.fromkeys(columns), **row} for row in new]
    assert _tables(engine, table.table) == {table.table}  # no staging table left behind
    pk = sa.inspect(engine).get_pk_constraint(table.table)
    assert pk["constrained_columns"] == ["sku"]
    if engine.dialect.name == "postgresql":
        assert pk["name"] == f"{table.table}_pkey"
    _write(table, [ROWS], mode="replace")  # and again, now that the swapped table exists
    assert len(_read(engine, table.table)) == 3


def test_missing_columns_are_added_to_an_existing_table(table: SqlTable, engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE TABLE "{table.table}" (sku TEXT PRIMARY KEY)'))
        connection.execute(sa.text(f"INSERT INTO \"{table.table}\" VALUES ('A-1')"))

    _write(table, [ROWS[1:]])

    rows = _read(engine, table.table)
    assert [row["sku"] for row in rows] == ["A-1", "A-2", "A-3"]
    assert rows[0]["title"] is None and rows[2]["stock"] == 3


def test_append_of_an_existing_key_fails_terminally_and_changes_nothing(
    table: SqlTable, engine: sa.Engine
) -> None:
    _write(table, [ROWS])
    before = _read(engine, table.table)

    with pytest.raises(TerminalConnectorError, match="upsert"):
        _write(table, [[{"sku": "A-4"}], [{"sku": "A-1"}]], mode="append")

    assert _read(engine, table.table) == before


def test_upsert_needs_the_key_to_be_unique_in_an_existing_table(
    table: SqlTable, engine: sa.Engine
) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE TABLE "{table.table}" (sku TEXT, title TEXT)'))

    with pytest.raises(TerminalConnectorError, match="primary key or unique"):
        _write(table, [ROWS])


def test_values_that_do_not_fit_a_column_name_the_row_and_column(table: SqlTable) -> None:
    with pytest.raises(TerminalConnectorError) as failure:
        _write(table, [[{"sku": "A-1", "stock": "a dozen"}]])
    assert "sku='A-1'" in str(failure.value) and "'stock'" in str(failure.value)
    with pytest.raises(TerminalConnectorError, match="key column 'sku'"):
        _write(table, [[{"sku": None, "title": "orphan"}]])
    with pytest.raises(TerminalConnectorError, match="unknown type"):
        SqlTable(url=table.url, table="t", types={"price": "money"}).open(
            columns=COLUMNS, key="sku", mode="upsert"
        )


def test_an_unreachable_database_is_terminal_and_names_table_not_password(
    tmp_path: Path,
) -> None:
    password = "s3cr3t-Pa55"
    blocks = [
        SqlTable(url=f"postgresql+psycopg://skuflow:{password}@127.0.0.1:1/shop", table="items"),
        SqlTable(url=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'shop.db'}", table="items"),
        SqlTable(url=f"postgresql://skuflow:{password}@127.0.0.1/shop", table="items"),
    ]
    for block in blocks:
        with pytest.raises(TerminalConnectorError) as failure:
            block.open(columns=["sku"], key="sku", mode="upsert")
        message = str(failure.value)
        assert "items" in message and password not in message, message
        assert password not in repr(block) and password not in block.describe()


@pytest.mark.postgres
def test_bad_credentials_are_terminal_without_the_password(postgres_database: str) -> None:
    password = "s3cr3t-Pa55"
    url = postgres_database.replace("postgres@", f"no_such_role:{password}@")
    block = SqlTable(url=url, table="items")

    with pytest.raises(TerminalConnectorError) as failure:
        block.open(columns=["sku"], key="sku", mode="upsert")

    message = str(failure.value)
    assert "no_such_role" in message and "items" in message and password not in message


def test_a_lock_timeout_is_transient(table: SqlTable, engine: sa.Engine, url: str) -> None:
    _write(table, [ROWS])
    if engine.dialect.name == "sqlite":
        impatient = SqlTable(url=f"{url}?timeout=0.2", table=table.table)
        hold = "BEGIN IMMEDIATE"
    else:
        impatient = SqlTable(url=f"{url}?options=-c%20lock_timeout%3D200", table=table.table)
        hold = f'BEGIN; LOCK TABLE "{table.table}" IN ACCESS EXCLUSIVE MODE'
    blocker = sa.create_engine(url, isolation_level="AUTOCOMMIT").raw_connection()
    try:
        cursor = blocker.cursor()
        for statement in hold.split("; "):
            cursor.execute(statement)
        with pytest.raises(TransientConnectorError):
            _write(impatient, [ROWS])
    finally:
        blocker.rollback()
        blocker.close()
        impatient.close()


def test_schema_name_places_the_table_in_that_schema(url: str, engine: sa.Engine) -> None:
    schema = "main" if engine.dialect.name == "sqlite" else "feeds"
    with engine.begin() as connection:
        if schema != "main":
            connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    block = SqlTable(url=url, table="listing", schema_name=schema, types=TYPES)
    try:
        _write(block, [ROWS])
        _write(block, [ROWS], mode="replace")
    finally:
        block.close()
    assert "listing" in sa.inspect(engine).get_table_names(schema=schema)
    with engine.connect() as connection:
        count = connection.execute(sa.text(f'SELECT count(*) FROM "{schema}"."listing"')).scalar()
    assert count == 3


def test_pickling_drops_the_engine(table: SqlTable) -> None:
    table.get_engine()
    copy = pickle.loads(pickle.dumps(table))
    assert copy._engine is None and copy.url.get_secret_value() == table.url.get_secret_value()
