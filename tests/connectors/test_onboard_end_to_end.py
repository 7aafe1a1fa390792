"""One onboard run from an S3 prefix into PostgreSQL, BigQuery and Shopify, every block loaded
by name, each destination read back with its own client; a second run after a new object lands
reads only that object and brings all three up to date."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from sqlalchemy.engine import make_url

from connectors.bigquery import BigQueryCredentials, BigQueryTable
from connectors.postgres import PostgresCredentials, PostgresTable
from connectors.s3 import S3Credentials, S3Source
from flows.onboard import onboard
from tests.connectors.cloud import bigquery_url, moto_url  # noqa: F401  (fixtures)
from tests.connectors.helpers import product_rows, small_schema
from tests.connectors.test_shopify import read_back

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _csv(rows: list[dict[str, Any]]) -> bytes:
    lines = ["sku,title,price"] + [f"{r['sku']},{r['title']},{r['price']}" for r in rows]
    return ("\n".join(lines) + "\n").encode()


def test_onboard_from_s3_into_postgres_bigquery_and_shopify(
    tmp_path: Path,
    moto_url: str,  # noqa: F811
    bigquery_url: str,  # noqa: F811
    postgres_database: str,
    shopify_shop: Any,
    shopify_products: Any,
) -> None:
    bucket = f"supplier-{secrets.token_hex(4)}"
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="feeds/2026-11-01.csv", Body=_csv(product_rows(40)))

    s3_credentials = S3Credentials(
        aws_access_key_id="testing", aws_secret_access_key="testing", endpoint_url=moto_url
    )
    S3Source(credentials=s3_credentials, bucket=bucket, prefix="feeds/").save(
        "supplier-feeds", overwrite=True
    )
    pg = make_url(postgres_database)
    table = f"published_{secrets.token_hex(4)}"
    PostgresTable(
        credentials=PostgresCredentials(
            host=pg.host, port=pg.port or 5432, database=pg.database, username=pg.username
        ),
        table=table,
    ).save("shop-db", overwrite=True)
    bq_credentials = BigQueryCredentials(project="skuflow-e2e", api_endpoint=bigquery_url)
    dataset = f"catalog_{secrets.token_hex(4)}"
    bq = bq_credentials.get_client()
    bq.create_dataset(f"skuflow-e2e.{dataset}")
    BigQueryTable(credentials=bq_credentials, dataset=dataset, table="products").save(
        "warehouse", overwrite=True
    )
    shopify_products.fields = {"title": "title", "sku": "sku", "price": "price"}
    shopify_products.save("store", overwrite=True)

    schema_path, _ = small_schema(tmp_path)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    run = {
        "source": "block:skuflow-s3-source/supplier-feeds",
        "catalog": str(schema_path),
        "database_url": store_url,
        "destinations": [
            "skuflow-postgres-table/shop-db",
            "skuflow-bigquery-table/warehouse",
            "skuflow-shopify-products/store",
        ],
    }
    first = onboard(**run)
    assert first["status"] == "completed" and first["records"] == 40

    def read_postgres() -> dict[str, str]:
        with psycopg.connect(
            host=pg.host, port=pg.port, dbname=pg.database, user=pg.username
        ) as conn:
            return dict(conn.execute(f'SELECT external_id, title FROM "{table}"').fetchall())

    def read_bigquery() -> dict[str, str]:
        rows = bq.query(f"SELECT external_id, title FROM `skuflow-e2e.{dataset}.products`")
        return {row["external_id"]: row["title"] for row in rows.result()}

    shop, url = shopify_shop

    def read_shopify() -> dict[str, str]:
        """Keyed by SKU: Shopify lower-cases the handles made from external ids."""
        products = read_back(url, shop.token).values()
        return {p["variants"]["nodes"][0]["sku"]: p["title"] for p in products}

    expected = {row["sku"]: row["title"] for row in product_rows(40)}
    assert read_postgres() == expected
    assert read_bigquery() == expected
    assert read_shopify() == expected

    s3.put_object(Bucket=bucket, Key="feeds/2026-11-02.csv", Body=_csv(product_rows(5, start=40)))
    second = onboard(**run)
    assert second["status"] == "completed" and second["records"] == 45
    assert second["ingest"]["read"] == 5  # only the new object was read
    expected.update({row["sku"]: row["title"] for row in product_rows(5, start=40)})
    assert read_postgres() == expected
    assert read_bigquery() == expected
    assert read_shopify() == expected
