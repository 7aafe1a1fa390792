"""The dedupe stage over a real store (SQLite and PostgreSQL): merges as grouped changes,
unmerge restores exactly, incremental runs score only the new records' candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from catalog.changes import ChangeFilter, approve, reject, rollback
from catalog.db import session_scope
from catalog.models import Change, Record
from catalog.records import MERGED_INTO, iter_current_values, upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema
from matching import stage
from matching.model import PairModel, train_supervised
from matching.pairs import read_pairs
from tests.matching.conftest import listings

COLUMNS = {
    "Item #": "sku",
    "Product Name": "title",
    "Description": "description",
    "Brand": "brand",
    "MFR Part No": "mpn",
    "UPC": "upc",
    "Unit Price": "price",
}


def schema(**matching: Any) -> CatalogSchema:
    return CatalogSchema.from_dict(
        {
            "name": "tools",
            "id": "sku",
            "text": ["title", "description"],
            "matching": {"enabled": True, **matching},
            "attributes": [
                {"name": "sku", "required": True},
                {"name": "title"},
                {"name": "description"},
                {"name": "brand"},
                {"name": "mpn"},
                {"name": "upc"},
                {"name": "price"},
            ],
        }
    )


@pytest.fixture(scope="module")
def model(pairs_csv: Path) -> PairModel:
    pairs = read_pairs(pairs_csv)
    return train_supervised(pairs.records, pairs.left, pairs.right, pairs.labels)


def offers(start: int, stop: int, seed: int = 11) -> tuple[pd.DataFrame, list[int]]:
    rows, products = listings(stop, seed=seed)
    frame = pd.DataFrame(rows[start:stop]).rename(columns=COLUMNS)[list(COLUMNS.values())]
    frame["sku"] = frame["sku"].str.strip()
    return frame.set_index("sku", drop=False), products[start:stop]


def ingest(
    store_url: str,
    frame: pd.DataFrame,
    *,
    org: str = "acme",
    s: CatalogSchema,
    source: str = "feed.csv",
) -> int:
    hashes = pd.Series(
        [f"h-{i}-{hash(tuple(r))}" for i, r in frame.astype(str).iterrows()], index=frame.index
    )
    with session_scope(store_url) as session:
        organization = get_or_create_organization(session, name=org)
        catalog_id = upsert_catalog(session, organization=organization, schema=s).id
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source=source)
    return catalog_id


def run(store_url: str, catalog_id: int, s: CatalogSchema, model: PairModel | None):
    with session_scope(store_url) as session:
        return stage.dedupe_catalog(
            session, catalog_id=catalog_id, schema=s, run_id=None, model=model
        )


def snapshot(store_url: str, catalog_id: int) -> dict[str, tuple]:
    with session_scope(store_url) as session:
        return {
            r.external_id: (r.values, r.source_values, r.content_hash)
            for r in session.scalars(select(Record).where(Record.catalog_id == catalog_id))
        }


def test_a_merge_and_its_unmerge_leave_the_records_exactly_as_before(
    store_url: str, model: PairModel
) -> None:
    s = schema(auto_merge=1.0, reject=0.0)  # every proposal waits for a person
    frame, products = offers(0, 500)
    catalog_id = ingest(store_url, frame, s=s)
    counts = run(store_url, catalog_id, s, model)
    assert counts["queued_for_review"] > 0 and counts.get("applied", 0) == 0
    before = snapshot(store_url, catalog_id)

    with session_scope(store_url) as session:
        merged = approve(
            session,
            where=ChangeFilter(catalog_id=catalog_id, operation="dedupe", field=MERGED_INTO),
            reviewer="ana",
        )
        # approving the duplicate's change approved its survivor field changes too
        statuses = {
            c.status
            for c in session.scalars(
                select(Change).where(Change.catalog_id == catalog_id, Change.operation == "dedupe")
            )
        }
        assert statuses == {"approved"}
    assert merged
    after_merge = snapshot(store_url, catalog_id)
    duplicates = [k for k, (values, _, _) in after_merge.items() if MERGED_INTO in values]
    assert len(duplicates) == counts["queued_for_review"]
    truth = dict(zip(frame.index, products, strict=True))
    for dup in duplicates:  # each merged into a listing of the same product
        into = after_merge[dup][0][MERGED_INTO]["into"]
        assert truth[dup] == truth[into]
        assert after_merge[dup][0][MERGED_INTO]["evidence"]["agreed"]
    with session_scope(store_url) as session:
        published = [
            i
            for ids, _ in iter_current_values(session, catalog_id=catalog_id, batch_size=1000)
            for i in ids
        ]
    assert not set(published) & set(duplicates) and len(published) == len(frame) - len(duplicates)

    with session_scope(store_url) as session:
        undone = rollback(
            session,
            where=ChangeFilter(catalog_id=catalog_id, operation="dedupe", field=MERGED_INTO),
            reviewer="ana",
        )
    assert len(undone) >= len(duplicates)
    assert snapshot(store_url, catalog_id) == before


def test_incremental_runs_score_only_the_new_records_candidates(
    store_url: str, model: PairModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = schema(auto_merge=0.5, reject=0.2, attributes={"price": "most_recent"})
    first, _ = offers(0, 400)
    catalog_id = ingest(store_url, first, s=s)
    run(store_url, catalog_id, s, model)
    survivors_before = _survivors(store_url, catalog_id)

    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    original = stage.candidate_pairs

    def spy(table, params=None, *, queries=None):
        left, right = original(table, params, queries=queries)
        seen.append((queries, left, right))
        return left, right

    monkeypatch.setattr(stage, "candidate_pairs", spy)
    everything, products = offers(0, 520)
    # a second supplier lists five known products again, under its own SKUs and prices
    known = first.iloc[[3, 50, 120, 200, 333]].copy()
    known["sku"] = [f"ZZ-{i}" for i in range(len(known))]
    known["price"] = (
        (known["price"].str.replace(r"[^0-9.]", "", regex=True).astype(float) * 1.05)
        .round(2)
        .astype(str)
    )
    known = known.set_index("sku", drop=False)
    new = pd.concat([everything.iloc[400:], known])
    products = products + [products[i] for i in (3, 50, 120, 200, 333)]
    everything = pd.concat([everything, known])
    ingest(store_url, new, s=s, source="second.csv")
    counts = run(store_url, catalog_id, s, model)
    assert counts["records"] == len(new)
    queries, left, right = seen[-1]
    new_rows = set(queries.tolist())
    assert len(new_rows) == len(new)
    assert all(a in new_rows or b in new_rows for a, b in zip(left, right, strict=True))

    # clusters found in the first run keep their ids; new listings of known products join them
    after = _survivors(store_url, catalog_id)
    assert {k: v for k, v in after.items() if k in survivors_before} == survivors_before
    truth = dict(zip(everything.index, products, strict=True))
    joined = [k for k in after if k in new.index]
    assert set(known.index) <= set(joined)
    assert all(truth[k] == truth[after[k]] for k in joined)
    # the re-listing updated the known product: its price is the newer one (most_recent)
    with session_scope(store_url) as session:
        values = {
            r.external_id: r.values
            for r in session.scalars(select(Record).where(Record.catalog_id == catalog_id))
        }
    for dup in joined:
        survivor_price = values[after[dup]].get("price")
        assert survivor_price == values[dup].get("price")

    assert run(store_url, catalog_id, s, model)["records"] == 0  # nothing new: nothing scored


def _survivors(store_url: str, catalog_id: int) -> dict[str, str]:
    with session_scope(store_url) as session:
        return {
            r.external_id: r.values[MERGED_INTO]["into"]
            for r in session.scalars(select(Record).where(Record.catalog_id == catalog_id))
            if MERGED_INTO in r.values
        }


def test_merges_are_organization_scoped(store_url: str, model: PairModel) -> None:
    s = schema(auto_merge=0.5, reject=0.2)
    frame, _ = offers(0, 300)
    ours = ingest(store_url, frame, org="acme", s=s)
    theirs = ingest(store_url, frame, org="globex", s=s)
    untouched = snapshot(store_url, theirs)
    counts = run(store_url, ours, s, model)
    assert counts["applied"] > 0
    assert snapshot(store_url, theirs) == untouched
    # and every merge points inside its own catalogue
    with session_scope(store_url) as session:
        changes = session.scalars(select(Change).where(Change.operation == "dedupe")).all()
        records = {r.id: r.catalog_id for r in session.scalars(select(Record))}
    assert changes and {records[c.record_id] for c in changes} == {ours}


def test_a_rejected_merge_is_not_proposed_again(store_url: str, model: PairModel) -> None:
    s = schema(auto_merge=1.0, reject=0.0)
    frame, _ = offers(0, 300)
    catalog_id = ingest(store_url, frame, s=s)
    counts = run(store_url, catalog_id, s, model)
    with session_scope(store_url) as session:
        rejected = reject(
            session, where=ChangeFilter(catalog_id=catalog_id, operation="dedupe"), reviewer="ana"
        )
    assert len(rejected) >= counts["queued_for_review"]
    with session_scope(store_url) as session:  # forget the stage marks: match everything again
        from catalog.models import StageMark

        session.execute(StageMark.__table__.delete())
    again = run(store_url, catalog_id, s, model)
    assert again["records"] == len(frame) and again.get("queued_for_review", 0) == 0
