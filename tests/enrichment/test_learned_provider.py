"""The learned provider through the engine and the store: a catalogue whose records have
Brand/Color partly filled gets the rest as changes citing spans; the model is trained from the
catalogue's values, reused while they stay the same and retrained when a label changes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from catalog.db import session_scope
from catalog.models import Catalog, Change, Organization, Record
from catalog.schema import CatalogSchema
from enrichment.config import EnrichConfig
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.learned.store import prepare_learned_extractor, store_examples
from enrichment.output_schema import OutputSchema
from enrichment.stage import enrich_stored_records, plan_enrichment, prepare_enrichment
from tests.enrichment.learned_data import FAST, records

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "shoes",
        "id": "sku",
        "text": ["title"],
        "attributes": [
            {"name": "sku"},
            {"name": "title"},
            {"name": "category", "derive": "classify"},
            {"name": "Brand", "derive": "extract"},
            {"name": "Color", "derive": "extract"},
        ],
    }
)
OUTPUT = OutputSchema.parse([{"name": "Brand"}, {"name": "Color"}])
UNFILLED = {
    "r2": "Zorvex Men's Trail Sneaker, Navy, Size 9",
    "r4": "Acme Women's Leather Boot, Red, Size 6",
}


def _catalogue(session, with_values: bool = True) -> tuple[int, int, dict[str, Record]]:
    org = Organization(name="acme")
    session.add(org)
    session.flush()
    catalog = Catalog(
        organization_id=org.id,
        name="shoes",
        schema=SCHEMA.model_dump(mode="json"),
        auto_apply=0.9,
        reject=0.5,
    )
    session.add(catalog)
    session.flush()
    stored: dict[str, Record] = {}
    for r in records(60, brands=["Acme", "Borton", "Caldera", "Dynamo", "Everline", "Fjord"]):
        if r.group != "Shoes":
            continue
        values = {"sku": r.id, "title": r.texts["title"], "category": r.group}
        if r.id in UNFILLED:
            values["title"] = UNFILLED[r.id]
        elif with_values:
            values.update({a: r.values[a][0] for a in ("Brand", "Color")})
        stored[r.id] = Record(
            catalog_id=catalog.id,
            external_id=r.id,
            source_values=values,
            values=values,
            content_hash=r.id,
        )
    session.add_all(stored.values())
    session.flush()
    return org.id, catalog.id, stored


def test_partly_filled_catalogue_gets_the_rest_with_spans(store_url: str, tmp_path: Path) -> None:
    with session_scope(store_url) as session:
        org_id, catalog_id, stored = _catalogue(session)
        prepared = prepare_learned_extractor(
            session,
            catalog_id=catalog_id,
            attributes=OUTPUT.names,
            models_dir=tmp_path,
            params=FAST,
        )
        assert prepared.extractor is not None and prepared.path is not None, prepared.message
        assert prepared.extractor.group_field == "category"
        options = EnrichOptions(
            providers=("learned",), learned=prepared.extractor, check_existing=False
        )
        counts = enrich_stored_records(
            session,
            prepared=plan_enrichment(
                session, catalog_id=catalog_id, output_schema=[{"name": "Brand"}, {"name": "Color"}]
            ),
            record_ids=[r.id for r in stored.values()],
            options=options,
        ).counts
        assert counts["applied"] + counts["queued_for_review"] >= 3, counts
        changes = {
            (c.record_id, c.field): c
            for c in session.scalars(select(Change).where(Change.catalog_id == catalog_id))
        }
        brand = changes[(stored["r2"].id, "Brand")]
        assert brand.new_value == "Zorvex"  # a brand the catalogue never had
        assert brand.sources == ["record:title[0:6]"]
        assert "learned-crf" in brand.explanation and "Zorvex" in brand.explanation
        color = changes[(stored["r4"].id, "Color")]
        assert color.new_value == "Red" and color.sources == ["record:title[27:30]"]
        filled = {rid for rid, _ in changes}
        assert filled <= {stored["r2"].id, stored["r4"].id}  # filled records are left alone
        for change in changes.values():
            field, span = change.sources[0].removeprefix("record:").rstrip("]").split("[")
            start, end = map(int, span.split(":"))
            record = next(r for r in stored.values() if r.id == change.record_id)
            assert record.source_values[field][start:end] == change.new_value


def test_model_is_reused_until_a_label_changes(store_url: str, tmp_path: Path) -> None:
    with session_scope(store_url) as session:
        _, catalog_id, stored = _catalogue(session)
        kwargs = {
            "catalog_id": catalog_id,
            "attributes": ["Brand", "Color"],
            "models_dir": tmp_path,
        }
        first = prepare_learned_extractor(session, params=FAST, **kwargs)
        again = prepare_learned_extractor(session, params=FAST, **kwargs)
        assert again.path == first.path and again.message.startswith("reused")
        some = stored["r0"]
        session.add(
            Change(
                catalog_id=catalog_id,
                record_id=some.id,
                field="Brand",
                old_value=None,
                new_value="Men's",
                confidence=0.7,
                status="rejected",
                operation="enrich-evidence",
                basis="x",
                sources=[],
            )
        )
        session.flush()
        examples = store_examples(session, catalog_id=catalog_id, attributes=["Brand", "Color"])
        [example] = [e for e in examples if e.id == "r0"]
        assert example.rejected == {"Brand": ["Men's"]}
        retrained = prepare_learned_extractor(session, params=FAST, **kwargs)
        assert retrained.path != first.path and retrained.message.startswith("trained")


def test_no_labelled_values_means_no_model_and_no_proposals(store_url: str, tmp_path: Path) -> None:
    with session_scope(store_url) as session:
        _, catalog_id, stored = _catalogue(session, with_values=False)
        prepared = prepare_learned_extractor(
            session, catalog_id=catalog_id, attributes=["Brand"], models_dir=tmp_path
        )
        assert prepared.extractor is None
        assert "nothing to learn from" in prepared.message
        # through the stage: the run says so, and the provider simply proposes nothing
        run = prepare_enrichment(
            session,
            catalog_id=catalog_id,
            config=EnrichConfig(providers=["learned"]),
            output_schema=[{"name": "Brand"}, {"name": "Color"}],
            models_dir=tmp_path,
        )
        [note] = run.notes
        assert note.startswith("learned extractor: no record of catalogue 'shoes' has a value")
        assert note.endswith("so the learned extractor proposes nothing")
        assert run.config.learned_model is None
        with run.options() as options:
            outcome = enrich_stored_records(
                session, prepared=run, options=options, record_ids=[r.id for r in stored.values()]
            )
        assert outcome.counts["processed"] == len(stored)
        assert all(not r.values for r in outcome.results.values())
    items = [{"title": "Acme Men's Running Shoe, Red"}]
    [result] = enrich_items(items, OUTPUT, EnrichOptions(providers=("learned",)))
    assert result.values == {}
