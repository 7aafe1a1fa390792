"""Approved review decisions become training labels; model-applied guesses do not."""

from __future__ import annotations

import pandas as pd
import pytest

from catalog.changes import ChangeFilter, Proposal, approve, record_changes, reject, stage_basis
from catalog.db import session_scope
from catalog.records import load_records, upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema
from taxonomy.assign import catalogue_examples, training_examples
from taxonomy.importers import load_paths

TAXONOMY = load_paths(["Tools > Drills", "Tools > Saws", "Garden > Hoses"])
SCHEMA = CatalogSchema.from_dict(
    {
        "name": "c",
        "id": "sku",
        "text": ["title"],
        "attributes": [
            {"name": "sku", "type": "text", "required": True},
            {"name": "title", "type": "text"},
            {"name": "category", "type": "text", "derive": "classify"},
        ],
    }
)


def _stored(store_url: str, frame: pd.DataFrame) -> int:
    """`frame`'s rows (sku, title, category) as the records of a new catalogue; its id."""
    frame.index = pd.Index(frame["sku"], name="external_id")
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="default")
        catalog = upsert_catalog(session, organization=org, schema=SCHEMA)
        upsert_records(
            session,
            catalog_id=catalog.id,
            frame=frame,
            hashes=pd.Series([f"h-{sku}" for sku in frame["sku"]], index=frame.index),
            source="f.csv",
        )
        return catalog.id


def test_approved_categories_are_training_labels(store_url: str) -> None:
    schema = SCHEMA
    frame = pd.DataFrame(
        {
            "sku": ["a", "b", "c", "d", "e"],
            "title": ["Drill 18V", "Jigsaw", "Garden hose", "Hammer drill", "Hose reel"],
            "category": ["Tools > Drills", None, None, None, None],
        }
    )
    catalog_id = _stored(store_url, frame)
    with session_scope(store_url) as session:
        batch = load_records(session, record_ids=list(range(1, 6)))
        ids = {sku: rid for rid, sku in batch.external_ids.items()}
        proposals = [
            Proposal(ids["b"], "category", "Tools > Saws", 0.7, "classify"),  # approved
            Proposal(ids["c"], "category", "Tools > Saws", 0.7, "classify"),  # rejected
            Proposal(ids["d"], "category", "Tools > Drills", 0.95, "classify"),  # auto-applied
        ]
        record_changes(
            session,
            catalog_id=catalog_id,
            schema=schema,
            proposals=proposals,
            current=batch.values,
            bases={rid: stage_basis(h, "v") for rid, h in batch.hashes.items()},
            operation="classify",
            run_id=None,
        )
        approve(session, where=ChangeFilter(change_ids=[1]), reviewer="ann")
        reject(session, where=ChangeFilter(change_ids=[2]), reviewer="ann")
        texts, labels = training_examples(
            session, catalog_id=catalog_id, schema=schema, taxonomy=TAXONOMY
        )
    assert sorted(zip(texts, labels, strict=True)) == [
        (("Drill 18V",), "Tools > Drills"),  # given by the supplier
        (("Jigsaw",), "Tools > Saws"),  # approved by a person
    ]


def _catalogue_with(store_url: str, categories: list[str | None]) -> tuple[CatalogSchema, int]:
    """A catalogue whose records carry `categories` (None: not given), one per record."""
    skus = [f"s{i}" for i in range(len(categories))]
    titles = [f"Product {i}" for i in range(len(skus))]
    frame = pd.DataFrame({"sku": skus, "title": titles, "category": categories})
    return SCHEMA, _stored(store_url, frame)


def test_unlabelled_texts_are_read_only_while_the_labels_are_too_few_to_supervise(
    store_url: str,
) -> None:
    """Self-training reads the records without a category; the supervised model (30 labels
    over two categories or more) does not, so they are not built for it — even when the
    labels that make it supervised come after them — and a single category keeps them."""
    unlabelled_first = [None] * 40 + ["Tools > Drills", "Tools > Saws"] * 20
    schema, catalog_id = _catalogue_with(store_url, unlabelled_first)
    with session_scope(store_url) as session:
        texts, labels, unlabelled = catalogue_examples(
            session, catalog_id=catalog_id, schema=schema, taxonomy=TAXONOMY
        )
    assert len(texts) == len(labels) == 40 and unlabelled == []


@pytest.mark.parametrize(
    "given",
    [["Tools > Drills"] * 10, ["Tools > Drills"] * 35],
    ids=["too-few-labels", "one-category"],
)
def test_too_few_labels_or_one_category_keep_every_unlabelled_text(
    store_url: str, given: list[str]
) -> None:
    schema, catalog_id = _catalogue_with(store_url, [None] * 40 + given)
    with session_scope(store_url) as session:
        texts, _, unlabelled = catalogue_examples(
            session, catalog_id=catalog_id, schema=schema, taxonomy=TAXONOMY
        )
    assert len(unlabelled) == 40 and len(texts) == len(given)
