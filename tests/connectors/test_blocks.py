"""Every connector block: Prefect's block standards, save/load with secrets kept secret, and
`prefect block register -m connectors` on the installed project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

import connectors
from connectors.bigquery import BigQueryCredentials, BigQuerySource, BigQueryTable
from connectors.https import HttpsSource
from connectors.marketplace_export import MarketplaceExport
from connectors.postgres import PostgresCredentials, PostgresSource, PostgresTable
from connectors.s3 import S3Credentials, S3Dump, S3Source
from connectors.webhook import WebhookDestination

MINE = [
    BigQueryCredentials,
    BigQuerySource,
    BigQueryTable,
    HttpsSource,
    MarketplaceExport,
    PostgresCredentials,
    PostgresSource,
    PostgresTable,
    S3Credentials,
    S3Dump,
    S3Source,
    WebhookDestination,
]


class TestConnectorBlockStandards(BlockStandardTestSuite):
    @pytest.fixture(params=MINE, ids=lambda cls: cls.__name__)
    def block(self, request: pytest.FixtureRequest) -> type[Block]:
        return request.param

    @pytest.mark.skip(reason="skuflow has no documentation site to link yet")
    def test_has_a_documentation_url(self, block: type[Block]) -> None: ...

    @pytest.mark.skip(reason="offline: no logo to fetch")
    def test_has_a_valid_image(self, block: type[Block]) -> None: ...


def test_the_package_exposes_every_block_class() -> None:
    exposed = set(dir(connectors))
    assert {cls.__name__ for cls in MINE} <= exposed
    assert connectors.S3Dump is S3Dump


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
    assert {cls.get_block_type_slug() for cls in MINE} <= slugs


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
