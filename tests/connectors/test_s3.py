"""S3 source and dump against moto's S3 server (boto3 unmodified): round trip, only new or
changed objects on later runs, bad credentials, 503 then success, missing bucket, no half dump."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from catalog.errors import InputError
from connectors.base import TerminalConnectorError, TransientConnectorError
from connectors.s3 import S3Credentials, S3Dump, S3Source
from tests.connectors.cloud import moto_auth, moto_url  # noqa: F401  (fixture)
from tests.connectors.helpers import ingest_once, product_rows, small_schema, stored_titles
from tests.connectors.servers import FaultProxy, fault_proxy

COLUMNS = ["sku", "title", "price"]


@pytest.fixture
def credentials(moto_url: str) -> S3Credentials:  # noqa: F811
    return S3Credentials(
        aws_access_key_id="testing", aws_secret_access_key="testing", endpoint_url=moto_url
    )


@pytest.fixture
def client(credentials: S3Credentials) -> Any:
    """boto3 itself: how anyone else reads the bucket."""
    return boto3.client(
        "s3",
        endpoint_url=credentials.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def bucket(client: Any) -> str:
    name = f"feeds-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:  # noqa: F811
    with fault_proxy(moto_url) as running:
        yield running


def _csv(rows: list[dict[str, Any]]) -> bytes:
    lines = ["sku,title,price"] + [f"{r['sku']},{r['title']},{r['price']}" for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _dump(dump: S3Dump, rows: list[dict[str, Any]]) -> Any:
    with dump.open(columns=COLUMNS, key="sku", mode="replace", types={"price": "number"}) as w:
        w.write(rows)
        return w.commit()


def test_dump_round_trip_read_back_with_boto3(
    credentials: S3Credentials, client: Any, bucket: str
) -> None:
    rows = product_rows(300)
    parquet = _dump(S3Dump(credentials=credentials, bucket=bucket, prefix="exports"), rows)
    key = parquet.location.removeprefix(f"s3://{bucket}/")
    assert key.startswith("exports/dt=") and key.endswith(".parquet")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert pq.read_table(io.BytesIO(body)).to_pylist() == rows

    jsonl = _dump(S3Dump(credentials=credentials, bucket=bucket, format="jsonl"), rows[:3])
    body = client.get_object(Bucket=bucket, Key=jsonl.location.split("/", 3)[3])["Body"].read()
    assert [json.loads(line) for line in body.decode().splitlines()] == rows[:3]


def test_source_reads_every_file_then_only_new_or_changed_ones(
    credentials: S3Credentials, client: Any, bucket: str, tmp_path: Path
) -> None:
    client.put_object(Bucket=bucket, Key="in/a.csv", Body=_csv(product_rows(120)))
    jsonl = "\n".join(json.dumps(r) for r in product_rows(30, start=500))
    client.put_object(Bucket=bucket, Key="in/b.jsonl", Body=jsonl.encode())
    client.put_object(Bucket=bucket, Key="in/readme.txt", Body=b"not a feed")
    client.put_object(Bucket=bucket, Key="other/c.csv", Body=_csv(product_rows(5, start=900)))
    source = S3Source(credentials=credentials, bucket=bucket, prefix="in/")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    _, schema = small_schema(tmp_path)

    assert ingest_once(store_url, schema, source)["inserted"] == 150
    assert ingest_once(store_url, schema, source)["read"] == 0

    changed = product_rows(2, title="Renamed")
    client.put_object(Bucket=bucket, Key="in/a.csv", Body=_csv(changed))
    client.put_object(Bucket=bucket, Key="in/new.csv", Body=_csv(product_rows(4, start=700)))
    third = ingest_once(store_url, schema, source)
    assert third == {"read": 6, "inserted": 4, "updated": 2, "unchanged": 0}
    titles = stored_titles(store_url)
    assert titles["SKU-000000"] == "Renamed 0" and "SKU-000900" not in titles


def test_a_bad_file_is_reported_by_its_s3_key(
    credentials: S3Credentials, client: Any, bucket: str
) -> None:
    client.put_object(Bucket=bucket, Key="in/bad.jsonl", Body=b'{"sku": "A"}\n{"sku": \n')
    source = S3Source(credentials=credentials, bucket=bucket, prefix="in/")
    with pytest.raises(InputError) as raised:
        list(source.read_batches())
    assert f"s3://{bucket}/in/bad.jsonl, row 2" in str(raised.value)


def test_unknown_access_key_is_terminal_and_names_the_block(
    moto_url: str,  # noqa: F811
    bucket: str,
) -> None:
    wrong = S3Credentials(
        aws_access_key_id="AKIANOTAKEY", aws_secret_access_key="nope", endpoint_url=moto_url
    )
    moto_auth(moto_url, enforced=True)
    try:
        with pytest.raises(TerminalConnectorError, match="credentials rejected") as raised:
            S3Source(credentials=wrong, bucket=bucket, prefix="in/").columns()
        assert f"S3 s3://{bucket}/in/" in str(raised.value)
        with pytest.raises(TerminalConnectorError, match="credentials rejected"):
            _dump(S3Dump(credentials=wrong, bucket=bucket), product_rows(1))
    finally:
        moto_auth(moto_url, enforced=False)


def test_a_503_is_retried_and_the_read_completes(
    proxy: FaultProxy, client: Any, bucket: str
) -> None:
    client.put_object(Bucket=bucket, Key="in/a.csv", Body=_csv(product_rows(10)))
    credentials = S3Credentials(
        aws_access_key_id="testing", aws_secret_access_key="testing", endpoint_url=proxy.url
    )
    proxy.fail_next(2, status=503, body=b"<Error><Code>SlowDown</Code></Error>")
    batches = list(S3Source(credentials=credentials, bucket=bucket, prefix="in/").read_batches())
    assert proxy.failures_served == 2
    assert sum(len(b.rows) for b in batches) == 10


def test_a_503_that_persists_is_transient_and_uploads_nothing(
    proxy: FaultProxy, client: Any, bucket: str
) -> None:
    credentials = S3Credentials(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url=proxy.url,
        max_attempts=2,
    )
    proxy.fail_next(10, status=503)
    with pytest.raises(TransientConnectorError, match="S3 dump"):
        _dump(S3Dump(credentials=credentials, bucket=bucket), product_rows(5))
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_a_missing_bucket_is_terminal(credentials: S3Credentials) -> None:
    with pytest.raises(TerminalConnectorError, match="NoSuchBucket"):
        S3Source(credentials=credentials, bucket="no-such-bucket").columns()


def test_an_interrupted_dump_uploads_nothing(
    credentials: S3Credentials, client: Any, bucket: str
) -> None:
    dump = S3Dump(credentials=credentials, bucket=bucket, format="csv")
    with (
        pytest.raises(RuntimeError, match="power cut"),
        dump.open(columns=COLUMNS, key="sku", mode="replace") as writer,
    ):
        writer.write(product_rows(100))
        raise RuntimeError("power cut")
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_a_failed_read_keeps_the_cursor_so_the_next_run_reads_the_same_objects(
    credentials: S3Credentials, client: Any, bucket: str, tmp_path: Path
) -> None:
    source = S3Source(credentials=credentials, bucket=bucket, prefix="in/")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    _, schema = small_schema(tmp_path)
    client.put_object(Bucket=bucket, Key="in/a.csv", Body=_csv(product_rows(3)))
    client.put_object(Bucket=bucket, Key="in/b.csv", Body=b"sku,title,price\nX-1,Bolt,1,stray\n")
    with pytest.raises(InputError, match=f"s3://{bucket}/in/b.csv"):
        ingest_once(store_url, schema, source)
    assert stored_titles(store_url) == {}  # nothing stored, cursor not moved

    client.put_object(Bucket=bucket, Key="in/b.csv", Body=_csv(product_rows(2, start=10)))
    assert ingest_once(store_url, schema, source)["inserted"] == 5  # both objects again


@pytest.mark.usefixtures("prefect_harness")
def test_an_error_from_a_saved_block_names_the_block(credentials: S3Credentials) -> None:
    S3Source(credentials=credentials, bucket="no-such-bucket").save("feeds", overwrite=True)
    with pytest.raises(TerminalConnectorError, match=r"\(block 'feeds'\).*NoSuchBucket"):
        S3Source.load("feeds").columns()


def test_xlsx_and_json_objects_read_like_local_files(
    credentials: S3Credentials, client: Any, bucket: str
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for row in product_rows(3):
        sheet.append([row[c] for c in COLUMNS])
    data = io.BytesIO()
    book.save(data)
    client.put_object(Bucket=bucket, Key="in/a.xlsx", Body=data.getvalue())
    client.put_object(Bucket=bucket, Key="in/b.json", Body=json.dumps(product_rows(2, start=3)))
    batches = list(S3Source(credentials=credentials, bucket=bucket, prefix="in/").read_batches())
    assert [b.source for b in batches] == [f"s3://{bucket}/in/a.xlsx", f"s3://{bucket}/in/b.json"]
    assert [row for b in batches for row in b.rows] == product_rows(5)
    assert batches[0].row_numbers == [2, 3, 4]  # as the spreadsheet shows them
