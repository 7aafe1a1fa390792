"""RecordFilter in SQL on real SQLite and PostgreSQL: each kind of condition selects exactly the
records it names, values compare by type, and the filter narrows both the stage planner and
the catalogue reader."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from pydantic import ValidationError

from catalog.changes import Proposal, record_changes
from catalog.db import session_scope
from catalog.errors import InputError
from catalog.filters import RecordFilter, glob_to_like
from catalog.models import Record, utcnow
from catalog.records import iter_current_values, pending_record_ids, upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "tools",
        "id": "sku",
        "text": ["title"],
        "thresholds": {"auto_apply": 0.9, "reject": 0.5},
        "attributes": [
            {"name": "sku", "required": True},
            {"name": "title", "required": True},
            {"name": "price", "type": "number"},
            {"name": "brand"},
            {"name": "category", "type": "reference", "derive": "classify"},
        ],
    }
)
ROWS = [
    {"sku": "AC-100", "title": "Drill", "price": 12, "brand": "12", "category": "TOOLS > DRILLS"},
    {"sku": "AC-101", "title": "Saw", "price": 12.5, "brand": "Bosch", "category": "TOOLS > SAWS"},
    {"sku": "AC_102", "title": "Bolt", "price": 0.2, "brand": "Bosch", "category": "FASTENERS"},
    {"sku": "ZX-200", "title": "Nut", "price": 0.1, "brand": "Acme", "category": "TOOLS%"},
]


@pytest.fixture
def stored(store_url: str) -> int:
    """The four records above in a fresh catalogue; AC-101 has a change waiting for review."""
    frame = pd.DataFrame(ROWS).set_index(pd.Index([r["sku"] for r in ROWS]))
    hashes = pd.Series([f"h-{r['sku']}" for r in ROWS], index=frame.index)
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="acme")
        catalog_id = upsert_catalog(session, organization=org, schema=SCHEMA).id
        upsert_records(session, catalog_id=catalog_id, frame=frame, hashes=hashes, source="t")
        saw = session.query(Record).filter_by(catalog_id=catalog_id, external_id="AC-101").one()
        record_changes(
            session,
            catalog_id=catalog_id,
            schema=SCHEMA,
            proposals=[Proposal(saw.id, "title", "Circular saw", 0.7, "extract")],
            current={saw.id: saw.values},
            bases={saw.id: saw.content_hash},
            operation="enrich",
            run_id=None,
        )
    return catalog_id


def _matching(store_url: str, catalog_id: int, record_filter: RecordFilter) -> list[str]:
    bound = record_filter.bound_to("category")
    with session_scope(store_url) as session:
        return [
            external_id
            for ids, _ in iter_current_values(
                session, catalog_id=catalog_id, batch_size=2, record_filter=bound
            )
            for external_id in ids
        ]


@pytest.mark.parametrize(
    ("record_filter", "expected"),
    [
        (RecordFilter(external_ids=["AC-100", "ZX-200", "nope"]), ["AC-100", "ZX-200"]),
        (RecordFilter(external_id_glob="AC-*"), ["AC-100", "AC-101"]),  # `_` is literal
        (RecordFilter(external_id_glob="AC?10?"), ["AC-100", "AC-101", "AC_102"]),
        (RecordFilter(external_id_glob="ac-*"), []),  # ids are case-sensitive
        (RecordFilter(external_id_glob="[A]C-100"), []),  # `[` is literal, as in LIKE
        (RecordFilter(equals={"brand": "Bosch"}), ["AC-101", "AC_102"]),
        (RecordFilter(equals={"price": 12}), ["AC-100"]),  # the number, not the text "12"
        (RecordFilter(equals={"brand": "12"}), ["AC-100"]),
        (RecordFilter(equals={"price": 12.5, "brand": "Bosch"}), ["AC-101"]),
        (RecordFilter(one_of={"price": [0.1, 0.2]}), ["AC_102", "ZX-200"]),
        (RecordFilter(change_status="queued_for_review"), ["AC-101"]),
        (RecordFilter(category="TOOLS > "), ["AC-100", "AC-101"]),
        (RecordFilter(category="tools > d"), ["AC-100"]),  # categories in any case
        (RecordFilter(category="TOOLS%"), ["ZX-200"]),  # LIKE's wildcard is literal
        (RecordFilter(category="TOOLS", external_ids=["AC-101", "AC_102"]), ["AC-101"]),
    ],
)
def test_each_condition_selects_exactly_its_records(
    stored: int, store_url: str, record_filter: RecordFilter, expected: list[str]
) -> None:
    assert _matching(store_url, stored, record_filter) == expected


def test_updated_since_selects_records_edited_after_the_time(stored: int, store_url: str) -> None:
    later = utcnow() + timedelta(minutes=1)
    assert _matching(store_url, stored, RecordFilter(updated_since=later)) == []
    earlier = utcnow() - timedelta(hours=1)
    assert len(_matching(store_url, stored, RecordFilter(updated_since=earlier))) == len(ROWS)


def test_the_stage_planner_takes_only_matching_records(stored: int, store_url: str) -> None:
    with session_scope(store_url) as session:
        everything = pending_record_ids(session, catalog_id=stored, stage="enrich", version="v")
        bosch = pending_record_ids(
            session,
            catalog_id=stored,
            stage="enrich",
            version="v",
            record_filter=RecordFilter(equals={"brand": "Bosch"}),
        )
        external = {r.id: r.external_id for r in session.query(Record).filter_by(catalog_id=stored)}
    assert len(everything) == len(ROWS)
    assert sorted(external[i] for i in bosch) == ["AC-101", "AC_102"]


def test_bad_filters_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="external_ids"):
        RecordFilter(external_ids=[])
    with pytest.raises(ValidationError, match="one_of.colour"):
        RecordFilter(one_of={"colour": []})
    with pytest.raises(ValidationError, match="extra"):
        RecordFilter.model_validate({"sku_prefix": "AC"})
    with pytest.raises(InputError, match="no category attribute"):
        RecordFilter(category="TOOLS").bound_to(None)
    assert glob_to_like("a_b%*?") == "a\\_b\\%%_"
