"""The classify stage: put each unclassified record in a taxonomy node, as scored changes.

Labels come from the catalogue itself: records whose supplier gave a category that resolves in
the taxonomy, and categories a person approved. With enough of them a supervised model is
trained (and cached by the hash of its training data); otherwise zero-shot (the packaged static
embedding model) self-trained on the catalogue's own surest answers, whose confidences stay
below auto-apply so its guesses go to review; each approved decision is a real label for the
next model, until there are enough for the supervised model.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.changes import Proposal, record_changes, stage_basis
from catalog.collector import collector_paused
from catalog.models import Catalog, Change, ChangeStatus, Organization, Record, Run
from catalog.records import load_records, mark_stage, record_pages
from catalog.schema import CatalogSchema
from taxonomy.cascade import CascadeUsage, LLMCascade
from taxonomy.classifier import (
    MODEL_FORMAT,
    Classifier,
    build_classifier,
    load_classifier,
    save_classifier,
)
from taxonomy.importers import load_taxonomy
from taxonomy.model import Taxonomy
from taxonomy.store import save_taxonomy
from taxonomy.text import Text, record_texts

STAGE = "classify"
MIN_SUPERVISED_LABELS = 30
"""Real labels from which the supervised model (calibrated on them) replaces self-training."""


@lru_cache(maxsize=4)
def _cached_taxonomy(path: str, mtime_ns: int) -> Taxonomy:
    return load_taxonomy(path)


def taxonomy_from_file(path: str | Path) -> Taxonomy:
    """Load a taxonomy file once per process (and again only if the file changes)."""
    path = Path(path)
    return _cached_taxonomy(str(path.resolve()), path.stat().st_mtime_ns)


def training_examples(
    session: Session, *, catalog_id: int, schema: CatalogSchema, taxonomy: Taxonomy
) -> tuple[list[Text], list[str]]:
    """Texts and node ids of every record whose category a person vouched for: given in the
    source file, or approved in review. Model-applied categories are not used, so a model
    never trains on its own guesses."""
    texts, labels, _ = catalogue_examples(
        session, catalog_id=catalog_id, schema=schema, taxonomy=taxonomy
    )
    return texts, labels


def catalogue_examples(
    session: Session, *, catalog_id: int, schema: CatalogSchema, taxonomy: Taxonomy
) -> tuple[list[Text], list[str], list[Text]]:
    """(labelled texts, their node ids, the other records' texts): what `training_examples`
    gives, plus the unlabelled records self-training learns from.

    The other records' texts are only wanted while the labels are too few for the supervised
    model (`MIN_SUPERVISED_LABELS` over at least two categories), which never reads them: once
    the labels read so far are enough they are no longer built, and none is returned. A
    million-record catalogue with half its categories given held half a million texts for
    nothing."""
    category = schema.category_attribute
    if category is None:
        return [], [], []
    approved = dict(
        session.execute(
            select(Change.record_id, Change.new_value).where(
                Change.catalog_id == catalog_id,
                Change.field == category.name,
                Change.status == ChangeStatus.APPROVED.value,
            )
        )
        .tuples()
        .all()
    )
    texts: list[Text] = []
    labels: list[str] = []
    unlabelled: list[Text] = []
    categories: set[str] = set()
    supervised = False
    pages = record_pages(
        session, catalog_id=catalog_id, columns=(Record.source_values, Record.values)
    )
    for rows in pages:
        with collector_paused():
            labelled = []
            others = []
            for row in rows:
                given = approved.get(row.id) or row.source_values.get(category.name)
                node = taxonomy.resolve(str(given)) if given else None
                if node is not None:
                    labelled.append((row.values, node.id))
                else:
                    others.append(row.values)
            if labelled:
                frame = pd.DataFrame.from_records([values for values, _ in labelled])
                texts += record_texts(frame, schema)
                labels += [node_id for _, node_id in labelled]
                categories.update(node_id for _, node_id in labelled)
            supervised = len(labels) >= MIN_SUPERVISED_LABELS and len(categories) >= 2
            if others and not supervised:
                unlabelled += record_texts(pd.DataFrame.from_records(others), schema)
    if supervised:
        unlabelled = []
    return texts, labels, unlabelled


def prepare_classifier(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    taxonomy: Taxonomy,
    models_dir: Path,
) -> Path:
    """Build (or reuse) the catalogue's classifier and return where it is saved; the taxonomy
    version it predicts into is stored and linked to the catalogue.

    The file name is the hash of the taxonomy and training data, so an unchanged catalogue
    reuses its model and a re-run classifies exactly as before.
    """
    catalog = session.get_one(Catalog, catalog_id)
    organization = session.get_one(Organization, catalog.organization_id)
    catalog.taxonomy_id = save_taxonomy(session, organization=organization, taxonomy=taxonomy).id
    texts, labels, unlabelled = catalogue_examples(
        session, catalog_id=catalog_id, schema=schema, taxonomy=taxonomy
    )
    # The saved format is part of the name, so an upgrade retrains instead of failing to load.
    # The taxonomy's descriptions and synonyms shape zero-shot, so they are part of it too.
    digest = hashlib.sha256(f"{MODEL_FORMAT}:{taxonomy.content_hash}".encode())
    digest.update(json.dumps([taxonomy.descriptions, taxonomy.synonyms], sort_keys=True).encode())
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\x1f{text}\x1e".encode())
    # self-training reads the unlabelled records too (there are none when it is supervised)
    for text in unlabelled:
        digest.update(f"\x1f{text}\x1e".encode())
    path = models_dir / schema.name / f"classifier-{digest.hexdigest()[:20]}.joblib"
    if not path.exists():
        classifier = build_classifier(
            taxonomy,
            [*texts, *unlabelled],
            [*labels, *([None] * len(unlabelled))],
            min_labels=MIN_SUPERVISED_LABELS,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        save_classifier(classifier, path)
    return path


def classify_version(schema: CatalogSchema, taxonomy: Taxonomy) -> str:
    """The classify stage's version: what its output depends on besides a record's content
    (the category attribute, the text attributes, the taxonomy). Approvals that retrain the
    model don't change it, so decided records are not re-classified behind a reviewer's back."""
    category = schema.category_attribute
    key = json.dumps(
        [
            category.model_dump(mode="json") if category else None,
            schema.text,
            taxonomy.content_hash,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@lru_cache(maxsize=4)
def cached_classifier(path: str) -> Classifier:
    return load_classifier(path)


@collector_paused()
def classify_records(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    taxonomy: Taxonomy,
    classifier: Classifier,
    record_ids: Sequence[int],
    run_id: int | None,
    version: str,
) -> Counter[str]:
    """Classify one batch of records and record the results as changes.

    Records whose source gives a category resolving in the taxonomy are left alone; the rest
    get the classifier's prediction (from their current source content), scored by its
    calibrated confidence. A prediction equal to the current value records nothing.
    """
    category = schema.category_attribute
    batch = load_records(session, record_ids=record_ids)
    bases = {rid: stage_basis(h, version) for rid, h in batch.hashes.items()}
    counts: Counter[str] = Counter()
    if category is not None and any(batch.values.values()):  # some record has a value
        frame = batch.source_frame
        given = (
            frame[category.name]
            if category.name in frame.columns
            else pd.Series(None, index=frame.index, dtype="object")
        )
        needs = [
            rid
            for rid, value in given.items()
            if not (isinstance(value, str) and taxonomy.resolve(value) is not None)
        ]
        if needs:
            texts = record_texts(frame.loc[needs], schema)
            predictions = classifier.predict(texts)
            proposals = [
                Proposal(
                    record_id=rid,
                    field=category.name,
                    value=taxonomy[p.node_id].path_text,
                    confidence=p.confidence,
                    provider=STAGE,
                    method=p.method,
                    sources=tuple(f"record:{c}" for c in schema.text),
                    explanation=(
                        f"{p.method} classifier {classifier.version[:12]} placed the record "
                        f"in '{taxonomy[p.node_id].path_text}' "
                        f"(calibrated confidence {p.confidence:.2f})"
                    ),
                )
                for rid, p in zip(needs, predictions, strict=True)
                if p.node_id is not None
            ]
            counts = record_changes(
                session,
                catalog_id=catalog_id,
                schema=schema,
                proposals=proposals,
                current=batch.values,
                bases=bases,
                operation=STAGE,
                run_id=run_id,
                model=f"{classifier.name}:{classifier.version}",
            )
    mark_stage(session, stage=STAGE, bases=bases, run_id=run_id)
    counts["processed"] = len(bases)
    return counts


def cascade_for(classifier: Classifier, taxonomy: Taxonomy, *, below: float) -> LLMCascade:
    """The LLM cascade over `classifier`, with the endpoint from SKUFLOW_LLM_* settings."""
    from llm.client import LLMClient

    return LLMCascade(classifier, taxonomy, LLMClient(), below=below)


def record_llm_usage(session: Session, *, run_id: int | None, usage: CascadeUsage) -> Counter[str]:
    """Add the cascade's tokens to the run's credits; returns the usage as counts."""
    if run_id is not None and usage.credits:
        run = session.get_one(Run, run_id)
        run.credits = (run.credits or 0.0) + usage.credits
    return Counter(
        {
            "llm_asked": usage.asked,
            "llm_changed": usage.changed,
            "llm_failed": usage.failed,
            "llm_tokens": usage.prompt_tokens + usage.completion_tokens,
        }
    )
