"""BigQuery source and table against bqemulator (google-cloud-bigquery unmodified): round trip,
append/upsert/replace, partitioned table, bad credentials, 503 then success, missing dataset,
an interrupted write."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import TerminalConnectorError
from connectors.bigquery import BigQueryCredentials, BigQuerySource, BigQueryTable
from tests.connectors.cloud import bigquery_url  # noqa: F401  (fixture)
from tests.connectors.helpers import product_rows
from tests.connectors.servers import FaultProxy, fault_proxy

PROJECT = "skuflow-test"
COLUMNS = ["sku", "title", "price"]
TYPES = {"price": "number"}


@pytest.fixture
def credentials(bigquery_url: str) -> BigQueryCredentials:  # noqa: F811
    return BigQueryCredentials(project=PROJECT, api_endpoint=bigquery_url)


@pytest.fixture
def client(credentials: BigQueryCredentials) -> Any:
    """google-cloud-bigquery itself, pointed at the emulator: how an analyst reads the table."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=credentials.api_endpoint),
    )


@pytest.fixture
def dataset(client: Any) -> str:
    name = f"catalog_{secrets.token_hex(4)}"
    client.create_dataset(f"{PROJECT}.{name}")
    return name


@pytest.fixture
def proxy(bigquery_url: str) -> Iterator[FaultProxy]:  # noqa: F811
    with fault_proxy(bigquery_url) as running:
        yield running


def _write(table: BigQueryTable, rows: list[dict[str, Any]], mode: str = "upsert") -> Any:
    with table.open(columns=COLUMNS, key="sku", mode=mode, types=TYPES) as writer:  # type: ignore[arg-type]
        for start in range(0, len(rows), 250):
            writer.write(rows[start : start + 250])
        return writer.commit()


def _read(client: Any, table: BigQueryTable) -> dict[str, tuple[str, float]]:
    rows = client.query(f"SELECT sku, title, price FROM `{table.table_id()}`").result()
    return {row["sku"]: (row["title"], row["price"]) for row in rows}


def test_upsert_round_trip_read_back_with_the_bigquery_client(
    credentials: BigQueryCredentials, client: Any, dataset: str
) -> None:
    table = BigQueryTable(credentials=credentials, dataset=dataset, table="products")
    assert _write(table, product_rows(600)).rows == 600
    _write(table, product_rows(3, title="Renamed") + product_rows(2, start=600))
    got = _read(client, table)
    assert len(got) == 602
    assert got["SKU-000000"] == ("Renamed 0", 1.0)
    assert got["SKU-000599"] == ("Hex bolt 599", 6.99)
    assert [t.table_id for t in client.list_tables(f"{PROJECT}.{dataset}")] == ["products"]


def test_append_and_replace(credentials: BigQueryCredentials, client: Any, dataset: str) -> None:
    table = BigQueryTable(credentials=credentials, dataset=dataset, table="feed")
    _write(table, product_rows(5), mode="append")
    _write(table, product_rows(5, start=5), mode="append")
    assert len(_read(client, table)) == 10
    _write(table, product_rows(2, start=100), mode="replace")
    assert sorted(_read(client, table)) == ["SKU-000100", "SKU-000101"]


def test_a_new_table_is_partitioned_by_day(
    credentials: BigQueryCredentials, client: Any, dataset: str
) -> None:
    table = BigQueryTable(
        credentials=credentials, dataset=dataset, table="daily", partition_field="day"
    )
    with table.open(columns=["sku", "day"], key="sku", mode="upsert") as writer:
        writer.write([{"sku": "A", "day": "2026-11-22"}, {"sku": "B", "day": "2026-11-23"}])
        writer.commit()
    created = client.get_table(table.table_id())
    assert created.time_partitioning.field == "day"
    days = client.query(f"SELECT sku, day FROM `{table.table_id()}` ORDER BY sku").result()
    assert [(r["sku"], r["day"]) for r in days] == [
        ("A", datetime.date(2026, 11, 22)),
        ("B", datetime.date(2026, 11, 23)),
    ]


def test_source_reads_a_query_in_pages(
    credentials: BigQueryCredentials, client: Any, dataset: str
) -> None:
    table = BigQueryTable(credentials=credentials, dataset=dataset, table="products")
    _write(table, product_rows(25))
    source = BigQuerySource(
        credentials=credentials,
        query=f"SELECT sku, title FROM `{table.table_id()}` WHERE price < 1.1 ORDER BY sku",
    )
    assert source.columns() == ["sku", "title"]
    rows = [row for batch in source.read_batches(batch_size=4) for row in batch.rows]
    assert [r["sku"] for r in rows] == [f"SKU-{i:06d}" for i in range(10)]


def test_rejected_token_is_terminal_and_names_the_table(proxy: FaultProxy, dataset: str) -> None:
    proxy.required_authorization = lambda header: header == "Bearer good-token"
    good = BigQueryCredentials(project=PROJECT, api_endpoint=proxy.url, access_token="good-token")
    bad = BigQueryCredentials(project=PROJECT, api_endpoint=proxy.url, access_token="stale")
    _write(BigQueryTable(credentials=good, dataset=dataset, table="ok"), product_rows(1))
    with pytest.raises(TerminalConnectorError, match="credentials rejected") as raised:
        _write(BigQueryTable(credentials=bad, dataset=dataset, table="products"), product_rows(1))
    assert f"BigQuery table {PROJECT}.{dataset}.products" in str(raised.value)


def test_a_503_is_retried_and_the_write_completes(
    proxy: FaultProxy, client: Any, dataset: str
) -> None:
    credentials = BigQueryCredentials(project=PROJECT, api_endpoint=proxy.url)
    table = BigQueryTable(credentials=credentials, dataset=dataset, table="products")
    proxy.fail_next(2, status=503, body=b'{"error": {"code": 503, "message": "backend"}}')
    assert _write(table, product_rows(40)).rows == 40
    assert proxy.failures_served == 2
    assert len(_read(client, table)) == 40


def test_a_missing_dataset_is_terminal(credentials: BigQueryCredentials) -> None:
    table = BigQueryTable(credentials=credentials, dataset="no_such_dataset", table="products")
    with pytest.raises(TerminalConnectorError, match="finding the dataset failed.*no_such_dataset"):
        table.open(columns=COLUMNS, key="sku", mode="upsert")


def test_an_interrupted_write_leaves_the_table_as_it_was(
    credentials: BigQueryCredentials, client: Any, dataset: str
) -> None:
    table = BigQueryTable(credentials=credentials, dataset=dataset, table="products")
    _write(table, product_rows(20))
    before = _read(client, table)
    with (
        pytest.raises(RuntimeError, match="power cut"),
        table.open(columns=COLUMNS, key="sku", mode="replace", types=TYPES) as writer,
    ):
        writer.write(product_rows(5, title="Half"))
        raise RuntimeError("power cut")
    assert _read(client, table) == before
    assert [t.table_id for t in client.list_tables(f"{PROJECT}.{dataset}")] == ["products"]


def test_a_key_written_twice_keeps_its_last_row(
    credentials: BigQueryCredentials, client: Any, dataset: str
) -> None:
    table = BigQueryTable(credentials=credentials, dataset=dataset, table="products")
    rows = product_rows(3) + product_rows(1, title="Second") + product_rows(1, title="Third")
    _write(table, rows)
    assert _read(client, table)["SKU-000000"] == ("Third 0", 1.0)
    _write(table, rows, mode="replace")
    got = _read(client, table)
    assert len(got) == 3 and got["SKU-000000"] == ("Third 0", 1.0)
    columns = [f.name for f in client.get_table(table.table_id()).schema]
    assert columns == COLUMNS  # the staging row number stays in staging


def test_a_first_write_that_fails_at_commit_leaves_no_table(
    credentials: BigQueryCredentials, client: Any, dataset: str
) -> None:
    table = BigQueryTable(
        credentials=credentials, dataset=dataset, table="daily", partition_field="day"
    )
    with pytest.raises(TerminalConnectorError, match="applying the rows failed"):
        with table.open(columns=["sku", "day"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A", "day": "2026-11-22"}, {"sku": "B", "day": "soon"}])
            writer.commit()
    assert list(client.list_tables(f"{PROJECT}.{dataset}")) == []
