"""The catalogue's own values as training data, and the catalogue's extractor, cached by the
hash of that data.

Positives are the records' current values: what the supplier gave, what people approved or
edited, and what was applied. Rejected changes are negatives: their spans are trained as not
being the attribute, and they are part of the cache key, so a rejection retrains the model. An
empty value in a catalogue is unknown, not absent, so each attribute learns only from the
records that have it filled.

`prepare_learned_extractor` is the one place the enrichment path gets a model from: one model
per attribute, each trained on the records that have that attribute (`ExtractorSet`). It
returns None (with the reason) when the catalogue has nothing to learn from, and the learned
provider then proposes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Catalog, Change, ChangeStatus, Record
from catalog.records import record_pages
from catalog.repository import catalog_schema
from enrichment.learned.examples import LabelledRecord
from enrichment.learned.extractor_set import ExtractorSet
from enrichment.learned.model import (
    ExtractorParams,
    LearnedExtractor,
    NoTrainingData,
    train_extractor,
    training_hash,
)

PAGE = 10_000
MIN_RECORDS = 1


def _strings(value: Any) -> list[str]:
    """A stored value as the surface strings a span can have (numbers as written: 500, 1.5)."""
    if value is None or isinstance(value, bool | dict):
        return []
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, float):
        return [str(int(value)) if value.is_integer() else f"{value:g}"]
    text = str(value).strip()
    return [text] if text else []


def store_examples(
    session: Session,
    *,
    catalog_id: int,
    attributes: Sequence[str],
    text_fields: Sequence[str] | None = None,
    group_field: str | None = None,
) -> list[LabelledRecord]:
    """Labelled records of a stored catalogue, in record-id order.

    Args:
        catalog_id: The catalogue.
        attributes: The attributes to learn (e.g. the output schema's field names).
        text_fields: Attributes holding the text to read (default: the schema's `text`).
        group_field: Attribute holding each record's group (default: the schema's category
            attribute, if any).
    """
    catalog = session.get(Catalog, catalog_id)
    if catalog is None:
        return []
    schema = catalog_schema(catalog)
    fields = list(text_fields) if text_fields else list(schema.text)
    if group_field is None and schema.category_attribute is not None:
        group_field = schema.category_attribute.name
    wanted = [a for a in attributes if a not in fields and a != group_field]
    rejected: dict[int, dict[str, list[str]]] = {}
    rows = session.execute(
        select(Change.record_id, Change.field, Change.new_value)
        .where(
            Change.catalog_id == catalog_id,
            Change.status == ChangeStatus.REJECTED.value,
            Change.field.in_(wanted),
        )
        .order_by(Change.id)
    ).all()
    for record_id, field, value in rows:
        rejected.setdefault(record_id, {}).setdefault(field, []).extend(_strings(value))
    out: list[LabelledRecord] = []
    pages = record_pages(
        session,
        catalog_id=catalog_id,
        columns=(Record.external_id, Record.values),
        page_size=PAGE,
    )
    for page in pages:
        for row in page:
            values = row.values or {}
            labelled = {a: _strings(values.get(a)) for a in wanted}
            negatives = {
                a: sorted(set(v) - set(labelled.get(a, [])))
                for a, v in rejected.get(row.id, {}).items()
            }
            out.append(
                LabelledRecord(
                    id=row.external_id,
                    texts={f: " ".join(_strings(values.get(f))) for f in fields},
                    group=" ".join(_strings(values.get(group_field))) if group_field else "",
                    values={a: v for a, v in labelled.items() if v},
                    rejected={a: v for a, v in negatives.items() if v},
                )
            )
    return out


@dataclass(frozen=True)
class PreparedExtractor:
    """The catalogue's extractor (one model per attribute, `ExtractorSet`), or why there is
    none."""

    extractor: ExtractorSet | None
    path: Path | None
    message: str


@lru_cache(maxsize=8)
def load_extractor(path: str) -> ExtractorSet | LearnedExtractor:
    """A saved extractor — an attribute set's manifest (`.json`) or one model file —, loaded
    once per process (file names are data hashes, so a path never changes content)."""
    if path.endswith(".json"):
        return ExtractorSet.load(path)
    return LearnedExtractor.load(path)


def prepare_learned_extractor(
    session: Session,
    *,
    catalog_id: int,
    attributes: Sequence[str],
    models_dir: Path,
    text_fields: Sequence[str] | None = None,
    group_field: str | None = None,
    params: ExtractorParams | None = None,
) -> PreparedExtractor:
    """Train (or reuse) the extractor for these attributes from the catalogue's values: one
    model per attribute, trained on the records that have that attribute filled (an empty
    value in a catalogue is unknown, not absent).

    Each model file is named by the hash of its training data, so an unchanged catalogue
    reuses them and a changed label (a new value, an approval, a rejection) retrains the
    attribute it belongs to.
    """
    catalog = session.get(Catalog, catalog_id)
    if catalog is None:
        return PreparedExtractor(None, None, f"no catalogue with id {catalog_id}")
    schema = catalog_schema(catalog)
    fields = list(text_fields) if text_fields else list(schema.text)
    if not fields:
        return PreparedExtractor(None, None, "the catalogue names no text attributes to read")
    if group_field is None and schema.category_attribute is not None:
        group_field = schema.category_attribute.name
    records = store_examples(
        session,
        catalog_id=catalog_id,
        attributes=attributes,
        text_fields=fields,
        group_field=group_field,
    )
    params = params or ExtractorParams()
    folder = models_dir / schema.name
    models: dict[str, LearnedExtractor] = {}
    files: dict[str, Path] = {}
    notes: list[str] = []
    trained = False
    for attribute in attributes:
        subset = [_only(r, attribute) for r in records if r.values.get(attribute)]
        if len(subset) < MIN_RECORDS:
            notes.append(f"{attribute}: no record has a value")
            continue
        digest = training_hash(subset, fields, params)
        path = folder / f"extractor-{digest}.skx"
        if path.exists():
            reused = load_extractor(str(path))
            assert isinstance(reused, LearnedExtractor)  # a .skx file holds one model
            models[attribute], files[attribute] = reused, path
            notes.append(f"{attribute}: reused model {digest} ({len(subset)} records)")
            continue
        try:
            model, summary = train_extractor(
                subset, text_fields=fields, group_field=group_field, params=params
            )
        except NoTrainingData as exc:
            notes.append(f"{attribute}: {exc}")
            continue
        models[attribute], files[attribute] = model, model.save(path)
        trained = True
        notes.append(
            f"{attribute}: trained model {digest} on {len(subset)} records, {summary.describe()}"
        )
    if not models:
        return PreparedExtractor(
            None,
            None,
            f"no record of catalogue {schema.name!r} has a value for "
            f"{', '.join(attributes) or 'the attributes'} that occurs in its text: nothing "
            "to learn from, so the learned extractor proposes nothing",
        )
    extractor = ExtractorSet(models)
    key = hashlib.sha256(json.dumps({a: f.name for a, f in files.items()}).encode())
    manifest = extractor.save(folder / f"extractors-{key.hexdigest()[:20]}.json", files)
    verb = "trained" if trained else "reused"
    return PreparedExtractor(extractor, manifest, f"{verb}: " + "; ".join(notes))


def _only(record: LabelledRecord, attribute: str) -> LabelledRecord:
    """The record labelled for one attribute only."""
    rejected = record.rejected.get(attribute)
    return LabelledRecord(
        id=record.id,
        texts=record.texts,
        group=record.group,
        values={attribute: record.values[attribute]},
        rejected={attribute: rejected} if rejected else {},
    )
