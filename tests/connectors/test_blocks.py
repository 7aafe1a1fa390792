"""Connector blocks saved and loaded with secrets kept secret, found by name, and registered by
`prefect block register -m connectors` on the installed project (the standards every block
meets are in test_block_standards.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import connectors
from connectors.postgres import PostgresCredentials, PostgresTable
from connectors.s3 import S3Credentials, S3Dump


@pytest.mark.usefixtures("prefect_harness")
def test_saved_blocks_load_with_their_secrets_and_hide_them() -> None:
    credentials = S3Credentials(
        aws_access_key_id="AKIA1", aws_secret_access_key="s3cr3t", endpoint_url="http://x"
    )
    S3Dump(credentials=credentials, bucket="exports").save("nightly-dump", overwrite=True)
    loaded = S3Dump.load("nightly-dump")
    assert loaded.credentials.aws_secret_access_key.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(loaded)

    PostgresTable(
        credentials=PostgresCredentials(database="shop", password="pw"), table="products"
    ).save("shop-products", overwrite=True)
    assert PostgresTable.load("shop-products").credentials.database == "shop"


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_block_register_finds_every_connector_block() -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    prefect = os.path.join(os.path.dirname(sys.executable), "prefect")
    done = subprocess.run(
        [prefect, "block", "register", "-m", "connectors"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with get_client(sync_client=True) as client:
        slugs = {block_type.slug for block_type in client.read_block_types()}
    assert {cls.get_block_type_slug() for cls in connectors.block_types().values()} <= slugs


@pytest.mark.usefixtures("prefect_harness")
def test_blocks_by_name_with_modes_and_clear_errors(tmp_path: Path) -> None:
    from connectors.base import TerminalConnectorError
    from connectors.by_name import load_destination, load_source
    from connectors.file_export import FileExport

    FileExport(path=str(tmp_path / "out.csv")).save("nightly-csv", overwrite=True)
    export, mode = load_destination("skuflow-file-export/nightly-csv")
    assert isinstance(export, FileExport) and mode == "replace"
    assert load_destination("skuflow-file-export/nightly-csv:append")[1] == "append"
    with pytest.raises(TerminalConnectorError, match="block 'skuflow-s3-dump/nope' cannot be"):
        load_destination("skuflow-s3-dump/nope")
    with pytest.raises(TerminalConnectorError, match="unknown mode 'merge'"):
        load_destination("skuflow-file-export/nightly-csv:merge")
    with pytest.raises(TerminalConnectorError, match="is not a source"):
        load_source("skuflow-file-export/nightly-csv")
    with pytest.raises(TerminalConnectorError, match="must look like"):
        load_source("nightly-csv")


@pytest.mark.usefixtures("prefect_harness")
def test_cli_onboard_reads_a_source_block_and_publishes_to_destination_blocks(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from connectors.file_export import FileExport
    from connectors.files import FileSource
    from tests.connectors.helpers import product_rows, small_schema

    feed = tmp_path / "feed.csv"
    lines = ["sku,title,price"] + [f"{r['sku']},{r['title']},{r['price']}" for r in product_rows(8)]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    FileSource(path=str(feed)).save("acme-feed", overwrite=True)
    FileExport(path=str(tmp_path / "out" / "catalog.json")).save("catalog-json", overwrite=True)
    schema_path, _ = small_schema(tmp_path)

    result = CliRunner().invoke(
        app,
        [
            "onboard",
            "block:skuflow-file-source/acme-feed",
            "--catalog",
            str(schema_path),
            "--destination",
            "skuflow-file-export/catalog-json",
        ],
    )
    assert result.exit_code == 0, result.output
    published = json.loads((tmp_path / "out" / "catalog.json").read_text(encoding="utf-8"))
    assert [row["external_id"] for row in published] == [r["sku"] for r in product_rows(8)]
