"""The dedupe flow and onboard's dedupe stage, through the Prefect test harness and a real
store: duplicates of the bundled example are merged, merged records are not published, a
re-run changes nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from catalog.db import session_scope
from catalog.models import Change, Record
from catalog.records import MERGED_INTO
from flows.dedupe import dedupe
from flows.onboard import onboard
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _schema(tmp_path: Path, **matching: object) -> Path:
    raw = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())
    raw["matching"] = {"enabled": True, **matching}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _merged(store_url: str) -> list[str]:
    with session_scope(store_url) as session:
        return [r.external_id for r in session.scalars(select(Record)) if MERGED_INTO in r.values]


def _dedupe_changes(store_url: str) -> int:
    with session_scope(store_url) as session:
        return session.scalar(
            select(func.count()).select_from(Change).where(Change.operation == "dedupe")
        )


def test_onboard_dedupes_when_the_schema_says_so(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    schema = _schema(tmp_path, auto_merge=0.8, reject=0.3)  # the unsupervised cap is 0.85
    out = tmp_path / "out"
    params = {
        "source": str(EXAMPLES / "acme_supplier_catalog.csv"),
        "catalog": str(schema),
        "out": str(out),
        "database_url": store_url,
    }
    summary = onboard(**params)
    merged = _merged(store_url)
    assert merged, summary
    with (out / "acme-supplier-catalog.csv").open(newline="", encoding="utf-8") as handle:
        published = [row["sku"] for row in csv.DictReader(handle)]
    assert not set(published) & set(merged)
    assert len(published) == summary["records"] - len(merged)

    recorded = _dedupe_changes(store_url)
    onboard(**params)  # the same file again: nothing new to match, nothing recorded
    assert _dedupe_changes(store_url) == recorded and _merged(store_url) == merged


def test_the_dedupe_flow_queues_unsupervised_merges_for_review(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    plain = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())
    plain.pop("matching")  # the bundled example turns dedupe on; this catalogue does not
    plain_path = tmp_path / "plain.yaml"
    plain_path.write_text(yaml.safe_dump(plain))
    onboard(
        source=str(EXAMPLES / "acme_supplier_catalog.csv"),
        catalog=str(plain_path),
        database_url=store_url,
    )
    assert _dedupe_changes(store_url) == 0  # off unless the schema turns it on
    result = dedupe(catalog=str(_schema(tmp_path)), database_url=store_url)
    assert result["records"] > 300 and result.get("queued_for_review", 0) > 0
    assert result.get("applied", 0) == 0  # no labels: capped below auto-merge (0.95)
    assert _merged(store_url) == []
