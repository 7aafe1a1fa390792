"""PostgreSQL source and destination against the real server: round trip, incremental cursor,
bad credentials, missing table, a dropped connection retried, interrupted write."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.postgres import PostgresCredentials, PostgresSource, PostgresTable
from tests.connectors.helpers import ingest_once, product_rows, small_schema, stored_titles
from tests.connectors.servers import TcpFaultProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def credentials(postgres_database: str) -> PostgresCredentials:
    url = make_url(postgres_database)
    return PostgresCredentials(
        host=url.host, port=url.port or 5432, database=url.database, username=url.username
    )


@pytest.fixture
def connection(postgres_database: str) -> Iterator[psycopg.Connection]:
    """psycopg straight to the database: how another system reads what skuflow wrote."""
    url = make_url(postgres_database)
    with psycopg.connect(
        host=url.host, port=url.port, dbname=url.database, user=url.username, autocommit=True
    ) as conn:
        yield conn


def _table_name() -> str:
    return f"products_{secrets.token_hex(4)}"


def _write(table: PostgresTable, rows: list[dict[str, Any]], mode: str = "upsert") -> Any:
    columns = ["sku", "title", "price"]
    with table.open(columns=columns, key="sku", mode=mode, types={"price": "number"}) as writer:  # type: ignore[arg-type]
        for start in range(0, len(rows), 400):
            writer.write(rows[start : start + 400])
        return writer.commit()


def test_upsert_round_trip_reads_back_through_psycopg(
    credentials: PostgresCredentials, connection: psycopg.Connection
) -> None:
    table = PostgresTable(credentials=credentials, table=_table_name())
    rows = product_rows(1000)
    assert _write(table, rows).rows == 1000
    changed = [{**row, "title": "Renamed"} for row in rows[:10]] + product_rows(5, start=1000)
    assert _write(table, changed).rows == 15

    read = connection.execute(f'SELECT sku, title, price FROM "{table.table}" ORDER BY sku')
    got = {sku: (title, price) for sku, title, price in read}
    assert len(got) == 1005
    assert got["SKU-000000"] == ("Renamed", 1.0)
    assert got["SKU-000500"] == ("Hex bolt 500", 6.0)
    assert got["SKU-001004"][0] == "Hex bolt 1004"


def test_replace_swaps_in_only_the_new_rows(
    credentials: PostgresCredentials, connection: psycopg.Connection
) -> None:
    table = PostgresTable(credentials=credentials, table=_table_name())
    _write(table, product_rows(50))
    _write(table, product_rows(3, start=100), mode="replace")
    skus = [r[0] for r in connection.execute(f'SELECT sku FROM "{table.table}" ORDER BY sku')]
    assert skus == ["SKU-000100", "SKU-000101", "SKU-000102"]


def test_an_interrupted_write_leaves_the_table_as_it_was(
    credentials: PostgresCredentials, connection: psycopg.Connection
) -> None:
    table = PostgresTable(credentials=credentials, table=_table_name())
    _write(table, product_rows(20))
    before = connection.execute(f'SELECT * FROM "{table.table}" ORDER BY sku').fetchall()
    with (
        pytest.raises(RuntimeError, match="power cut"),
        table.open(columns=["sku", "title", "price"], key="sku", mode="upsert") as writer,
    ):
        writer.write([{**row, "title": "half"} for row in product_rows(20)])
        writer.write(product_rows(500, start=20))
        raise RuntimeError("power cut")
    after = connection.execute(f'SELECT * FROM "{table.table}" ORDER BY sku').fetchall()
    assert after == before


def test_source_reads_a_table_then_only_newer_rows(
    credentials: PostgresCredentials, connection: psycopg.Connection, tmp_path: Path
) -> None:
    name = _table_name()
    connection.execute(f'CREATE TABLE "{name}" (id serial PRIMARY KEY, sku text, title text)')
    connection.execute(
        f"INSERT INTO \"{name}\" (sku, title) SELECT 'S-' || g, 'Bolt ' || g "
        "FROM generate_series(1, 250) AS g"
    )
    source = PostgresSource(credentials=credentials, table=name, cursor_column="id")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    _, schema = small_schema(tmp_path)

    first = ingest_once(store_url, schema, source)
    assert first["read"] == 250 and first["inserted"] == 250
    assert ingest_once(store_url, schema, source)["read"] == 0  # nothing new

    connection.execute(f"UPDATE \"{name}\" SET title = 'Old' WHERE id = 1")  # id does not grow
    connection.execute(f"INSERT INTO \"{name}\" (sku, title) VALUES ('S-999', 'New bolt')")
    third = ingest_once(store_url, schema, source)
    assert third["read"] == 1 and third["inserted"] == 1
    titles = stored_titles(store_url)
    assert titles["S-999"] == "New bolt" and titles["S-1"] == "Bolt 1"


def test_source_query_reads_the_selected_rows(
    credentials: PostgresCredentials, connection: psycopg.Connection
) -> None:
    name = _table_name()
    connection.execute(f'CREATE TABLE "{name}" (sku text, title text, active boolean)')
    connection.execute(
        f"INSERT INTO \"{name}\" VALUES ('A', 'One', true), ('B', 'Two', false), ('C', 'x', true)"
    )
    source = PostgresSource(
        credentials=credentials, query=f'SELECT sku, title FROM "{name}" WHERE active ORDER BY sku'
    )
    assert source.columns() == ["sku", "title"]
    batches = list(source.read_batches(batch_size=1))
    assert [b.rows for b in batches] == [
        [{"sku": "A", "title": "One"}],
        [{"sku": "C", "title": "x"}],
    ]


def test_unknown_user_is_a_terminal_error_naming_the_source(
    credentials: PostgresCredentials,
) -> None:
    wrong = credentials.model_copy(update={"username": "nobody_here"})
    with pytest.raises(TerminalConnectorError, match="credentials rejected") as raised:
        PostgresSource(credentials=wrong, table="anything").columns()
    assert "PostgreSQL table anything" in str(raised.value)

    table = PostgresTable(credentials=wrong, table="products")
    with pytest.raises(TerminalConnectorError, match="SQL table products") as raised:
        table.open(columns=["sku"], key="sku", mode="upsert")
    assert "nobody_here" in str(raised.value)


def test_a_missing_table_is_terminal(credentials: PostgresCredentials) -> None:
    source = PostgresSource(credentials=credentials, table="no_such_table")
    with pytest.raises(TerminalConnectorError, match="no_such_table.*does not exist"):
        source.columns()


def test_password_stays_secret_in_the_block(credentials: PostgresCredentials) -> None:
    secret = PostgresCredentials(**{**credentials.model_dump(), "password": "hunter2"})
    table = PostgresTable(credentials=secret, table="t")
    assert "hunter2" not in table.describe()
    assert "hunter2" not in repr(secret)


def test_a_dropped_connection_is_retried_and_the_work_completes(
    credentials: PostgresCredentials, connection: psycopg.Connection
) -> None:
    proxy = TcpFaultProxy(credentials.host, credentials.port)
    try:
        flaky = PostgresCredentials(
            **{**credentials.model_dump(), "host": "127.0.0.1", "port": proxy.port}
        )
        table = PostgresTable(credentials=flaky, table=_table_name())
        proxy.drop_next(2)
        assert _write(table, product_rows(30)).rows == 30
        proxy.drop_next(1)
        source = PostgresSource(credentials=flaky, table=table.table)
        assert sum(len(b.rows) for b in source.read_batches()) == 30
        assert proxy.dropped == 3
    finally:
        proxy.stop()
    count = connection.execute(f'SELECT count(*) FROM "{table.table}"').fetchone()
    assert count == (30,)


def test_a_server_that_keeps_dropping_is_a_transient_error(
    credentials: PostgresCredentials,
) -> None:
    proxy = TcpFaultProxy(credentials.host, credentials.port)
    try:
        flaky = PostgresCredentials(
            **{**credentials.model_dump(), "host": "127.0.0.1", "port": proxy.port}
        )
        proxy.drop_next(10)
        with pytest.raises(TransientConnectorError, match="server closed the connection"):
            PostgresSource(credentials=flaky, table="anything").columns()
    finally:
        proxy.stop()


def test_the_table_block_reuses_one_engine_and_pickles_without_it(
    credentials: PostgresCredentials,
) -> None:
    import pickle

    table = PostgresTable(credentials=credentials, table=_table_name())
    _write(table, product_rows(2))
    _write(table, product_rows(2, start=2))
    engine = table.sql_table().get_engine()
    assert table.sql_table().get_engine() is engine
    copy = pickle.loads(pickle.dumps(table))
    assert copy._table is None and _write(copy, product_rows(1)).rows == 1
    table.close()
    copy.close()
