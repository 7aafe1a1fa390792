"""Connector throughput: PostgreSQL upsert, BigQuery load and S3 dumps of 100k catalogue rows.

PostgreSQL is the real server (a throw-away database is created and dropped); BigQuery is
bqemulator and S3 is moto, both in-process on local ports, so their figures measure skuflow's
side (building Parquet, staging, the client library) plus a local emulator, not Google's or
Amazon's service. Rows are generated before the clock starts; each figure is one pass.

    .venv/bin/python benchmarks/connectors.py [--rows 100000] [--batch 5000]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

COLUMNS = ["external_id", "title", "brand", "price", "stock", "active", "tags"]
TYPES = {"price": "number", "stock": "integer", "active": "boolean", "tags": "array"}


def generated_rows(n: int, *, title: str = "Hex bolt") -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"SKU-{i:07d}",
            "title": f"{title} M{i % 24 + 3} x {i % 90 + 10} mm, zinc plated",
            "brand": ("Steelhart", "Northwind", "Acme")[i % 3],
            "price": round(0.05 + (i % 1000) * 0.013, 2),
            "stock": i % 500,
            "active": i % 7 != 0,
            "tags": ["fasteners", f"m{i % 24 + 3}"],
        }
        for i in range(n)
    ]


def write(destination: Any, rows: list[dict[str, Any]], *, mode: str, batch: int) -> float:
    """Seconds for one whole write session, commit included."""
    started = time.perf_counter()
    with destination.open(columns=COLUMNS, key="external_id", mode=mode, types=TYPES) as writer:
        for start in range(0, len(rows), batch):
            writer.write(rows[start : start + batch])
        writer.commit()
    return time.perf_counter() - started


def report(label: str, rows: int, seconds: float, extra: str = "") -> None:
    print(f"{label:<44} {rows:>8,} rows {seconds:>7.2f} s {rows / seconds:>10,.0f} rows/s {extra}")


COUNT_AND_FIRST_TITLE = (
    "SELECT COUNT(*), (SELECT title FROM {table} WHERE external_id = 'SKU-0000000') FROM {table}"
)


def check(system: str, held: tuple[Any, Any], expected: tuple[Any, Any]) -> None:
    """After append/first load + upsert of the same keys: one row per key, the new titles."""
    if tuple(held) != expected:
        raise SystemExit(f"{system}: the table holds {held}, expected {expected}")
    print(f"  {system} check: {held[0]:,} rows, upserted titles in place")


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"skuflow_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_postgres(rows: list[dict[str, Any]], changed: list[dict[str, Any]], args: Any) -> None:
    from sqlalchemy.engine import make_url

    from connectors.postgres import PostgresCredentials, PostgresTable

    with fresh_postgres_database(args.postgres_url) as url:
        parts = make_url(url)
        credentials = PostgresCredentials(
            host=parts.host or "127.0.0.1",
            port=parts.port or 5432,
            database=parts.database or "",
            username=parts.username or "postgres",
        )
        table = PostgresTable(credentials=credentials, table="products")
        report(
            "PostgreSQL upsert, new table (COPY)",
            len(rows),
            write(table, rows, mode="upsert", batch=args.batch),
        )
        report(
            "PostgreSQL upsert, every key exists",
            len(changed),
            write(table, changed, mode="upsert", batch=args.batch),
        )
        import psycopg

        with psycopg.connect(make_url(url).render_as_string().replace("+psycopg", "")) as conn:
            held = conn.execute(COUNT_AND_FIRST_TITLE.format(table="products")).fetchone()
        check("PostgreSQL", held, (len(rows), changed[0]["title"]))
        report(
            "PostgreSQL replace (staging table swap)",
            len(rows),
            write(table, rows, mode="replace", batch=args.batch),
        )


def bench_bigquery(rows: list[dict[str, Any]], changed: list[dict[str, Any]], args: Any) -> None:
    from connectors.bigquery import BigQueryCredentials, BigQueryTable
    from tests.connectors.cloud import running_bigquery_emulator

    with running_bigquery_emulator() as endpoint:
        credentials = BigQueryCredentials(project="bench", api_endpoint=endpoint)
        credentials.get_client().create_dataset("bench.catalog")
        table = BigQueryTable(credentials=credentials, dataset="catalog", table="products")
        report(
            "BigQuery load, append (emulator)",
            len(rows),
            write(table, rows, mode="append", batch=args.batch),
        )
        report(
            "BigQuery load + MERGE upsert (emulator)",
            len(changed),
            write(table, changed, mode="upsert", batch=args.batch),
        )
        query = COUNT_AND_FIRST_TITLE.format(table="`bench.catalog.products`")
        held = next(iter(credentials.get_client().query(query).result())).values()
        check("BigQuery", tuple(held), (len(rows), changed[0]["title"]))
        report(
            "BigQuery load, replace (emulator)",
            len(rows),
            write(table, rows, mode="replace", batch=args.batch),
        )


def bench_s3(rows: list[dict[str, Any]], args: Any) -> None:
    import boto3

    from connectors.s3 import S3Credentials, S3Dump
    from tests.connectors.cloud import running_moto

    with running_moto() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="dumps")
        credentials = S3Credentials(
            aws_access_key_id="bench", aws_secret_access_key="bench", endpoint_url=endpoint
        )
        for fmt in ("parquet", "csv", "jsonl"):
            dump = S3Dump(credentials=credentials, bucket="dumps", prefix="bench", format=fmt)
            started = time.perf_counter()
            with dump.open(columns=COLUMNS, key="external_id", mode="replace", types=TYPES) as w:
                for start in range(0, len(rows), args.batch):
                    w.write(rows[start : start + args.batch])
                key = w.commit().location.split("/", 3)[3]
            seconds = time.perf_counter() - started
            size = client.head_object(Bucket="dumps", Key=key)["ContentLength"]
            report(f"S3 dump, {fmt} (moto)", len(rows), seconds, f"{size / 1e6:>7.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SKUFLOW_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--only", choices=["postgres", "bigquery", "s3"], default=None)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    import connectors.bigquery  # noqa: F401  (imports before the clock)
    import connectors.postgres  # noqa: F401
    import connectors.s3  # noqa: F401

    rows = generated_rows(args.rows)
    changed = generated_rows(args.rows, title="Renamed bolt")
    print(f"{args.rows:,} rows of {len(COLUMNS)} columns, batches of {args.batch:,}")
    if args.only in (None, "postgres"):
        bench_postgres(rows, changed, args)
    if args.only in (None, "bigquery"):
        bench_bigquery(rows, changed, args)
    if args.only in (None, "s3"):
        bench_s3(rows, args)


if __name__ == "__main__":
    main()
