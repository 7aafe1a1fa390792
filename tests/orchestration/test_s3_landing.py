"""An S3 prefix as an inbox, against moto's S3 server (boto3 unmodified): new objects are
claimed once, copied under `claimed/` and downloaded for onboarding."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.watch import announce_s3
from flows.support.landing import claim_s3_objects
from tests.connectors.cloud import moto_url  # noqa: F401  (fixture)

boto3 = pytest.importorskip("boto3")


@pytest.fixture
def s3(moto_url: str):  # noqa: F811
    client = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="supplier-drops")
    return client


def test_objects_under_a_prefix_are_claimed_once(s3) -> None:
    s3.put_object(Bucket="supplier-drops", Key="incoming/acme.csv", Body=b"sku\n1\n")
    s3.put_object(Bucket="supplier-drops", Key="incoming/june/globex.csv", Body=b"sku\n2\n")
    s3.put_object(Bucket="supplier-drops", Key="elsewhere/other.csv", Body=b"sku\n3\n")

    claimed = claim_s3_objects("supplier-drops", "incoming/", client=s3, suffix=".csv")

    assert sorted(claimed) == [
        "s3://supplier-drops/incoming/claimed/acme.csv",
        "s3://supplier-drops/incoming/claimed/june_globex.csv",
    ]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="supplier-drops")["Contents"]}
    assert keys == {
        "incoming/claimed/acme.csv",
        "incoming/claimed/june_globex.csv",
        "elsewhere/other.csv",
    }
    assert claim_s3_objects("supplier-drops", "incoming/", client=s3) == []


@pytest.mark.usefixtures("prefect_harness")
def test_an_s3_landing_is_downloaded_for_onboarding(s3, tmp_path: Path) -> None:
    s3.put_object(Bucket="supplier-drops", Key="portal/acme.csv", Body=b"sku\n1\n")

    (landed,) = announce_s3(
        "supplier-drops", "portal/", catalog="catalog.yaml", landing_dir=tmp_path, client=s3
    )

    assert landed == tmp_path / "acme.csv" and landed.read_bytes() == b"sku\n1\n"
    assert (
        announce_s3(
            "supplier-drops", "portal/", catalog="catalog.yaml", landing_dir=tmp_path, client=s3
        )
        == []
    )
