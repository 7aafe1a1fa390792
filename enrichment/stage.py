"""The enrich stage: stored records + the catalogue's schema + options → proposals, changes and
conflicts. The one entry point every door calls: onboard's enrich stage, `enrich-catalog`,
`rerun-stage`, the API's auto-enrichment and its enrich jobs with a `catalog_id`.

Two steps, so a run pays for its models once:

1. `prepare_enrichment` (once per run): the fields to fill (given, or the catalogue's
   model-filled attributes), the options, the stage version, and the models learned from the
   catalogue's own values — the learned extractor (trained or reused, cached by the hash of
   its training data) and the labelled records an LLM is shown. No labelled data is no error:
   the note says so and the learned provider proposes nothing.
2. `enrich_stored_records` (per batch): the provider engine over the records; values become
   scored changes through `catalog.changes.record_changes` (applied, queued or dropped by the
   thresholds, each with its sources and explanation); a value that disagrees with a non-empty
   existing one becomes a conflict, is dropped or is proposed, as the conflict policy says.

What counts as "existing": a record's current values, except those enrichment itself applied
(the latest change in effect for the field is an applied `enrich` change). Those are derived,
not given, so an edited record gets them derived again instead of a conflict with its own
earlier output. A value a person approved, typed or resolved stays existing.

Re-running is safe: proposals already made from the same content are not made twice, conflicts
are not opened twice, and stage marks (content hash + version) let flows skip records already
enriched at their content.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.bulk import in_ids, plain_rows
from catalog.changes import Proposal, record_changes, stage_basis
from catalog.collector import collector_paused
from catalog.errors import InputError
from catalog.models import IN_EFFECT, Catalog, Change, Run
from catalog.records import load_records, mark_stage
from catalog.repository import catalog_schema
from catalog.schema import CatalogSchema
from enrichment.catalog_fields import (
    catalog_output_fields,
    check_enrichable,
    learnable_fields,
)
from enrichment.config import EnrichConfig
from enrichment.conflicts import open_conflicts
from enrichment.engine import EnrichOptions, enrich_items
from enrichment.output_schema import OutputSchema
from enrichment.results import FieldConflict, ItemEnrichment

STAGE = OPERATION = "enrich"
"""The stage mark and the changes' operation, whichever door asked."""


class PreparedEnrichment(BaseModel):
    """Everything a batch needs, as plain data (it travels as a task parameter)."""

    model_config = ConfigDict(extra="forbid")

    catalog_id: int
    organization_id: int
    catalog: CatalogSchema
    output_schema: list[dict[str, Any]]
    """seed 003 fields."""
    config: EnrichConfig
    version: str
    notes: list[str] = []
    """What the run should tell a person (no labelled data, a model reused or trained)."""

    _fields: OutputSchema | None = PrivateAttr(None)

    @property
    def fields(self) -> OutputSchema:
        if self._fields is None:
            self._fields = OutputSchema.parse(self.output_schema)
        return self._fields

    @contextmanager
    def options(self) -> Iterator[EnrichOptions]:
        """Live options for this run's batches, closed afterwards."""
        options = self.config.build(catalog=self.catalog)
        try:
            yield options
        finally:
            options.close()


@dataclass
class StoredEnrichment:
    """One batch's outcome: change counts (by status, plus `conflicts`, `flagged`,
    `processed`, `llm_tokens`) and each record's `ItemEnrichment`, by record id."""

    counts: Counter[str]
    results: dict[int, ItemEnrichment] = field(default_factory=dict)


def enrichment_version(
    catalog: CatalogSchema, output_schema: Sequence[dict[str, Any]], config: EnrichConfig
) -> str:
    """What the stage's output depends on besides a record's content: the fields and how the
    catalogue describes them, the text and supplier attributes read, the settings and the
    reference files' contents. Changing any re-enriches every record.

    The learned model is not part of it: it is learned from the catalogue's own values, which
    change with every approval; records are enriched again when their content changes (or the
    settings do), not whenever another record gets a label.
    """
    names = {f["name"] for f in output_schema}
    attributes = [a.model_dump(mode="json") for a in catalog.attributes if a.name in names]
    settings = config.model_dump(mode="json", exclude={"learned_model", "demonstrations_path"})
    files = [_digest(p) for p in [config.companies_path, *config.reference_paths] if p]
    key = json.dumps(
        [
            list(output_schema),
            attributes,
            catalog.text,
            catalog.supplier_name,
            catalog.supplier_website,
            catalog.category_attribute.name if catalog.category_attribute else None,
            settings,
            files,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def catalog_enriches_anything(session: Session, *, catalog_id: int) -> bool:
    """Whether the catalogue's schema derives any attribute enrichment fills (`derive:
    extract` or `firmographics.<field>`): a catalogue that derives none skips the enrich stage
    of onboard, rerun and monitor, rather than failing them."""
    stored = session.get(Catalog, catalog_id)
    return stored is not None and bool(catalog_output_fields(catalog_schema(stored)))


def plan_enrichment(
    session: Session,
    *,
    catalog_id: int,
    config: EnrichConfig | None = None,
    output_schema: Sequence[dict[str, Any]] | None = None,
) -> PreparedEnrichment:
    """The fields, options and version of a run, without training anything (cheap: a flow
    plans its batches with the version before deciding whether models are needed).

    Raises:
        InputError: no such catalogue, nothing to fill, a field the schema cannot take, or a
            revenue attribute in a unit that is not a USD scale.
    """
    stored = session.get(Catalog, catalog_id)
    if stored is None:
        raise InputError.single("catalog", f"no catalogue with id {catalog_id}")
    catalog = catalog_schema(stored)
    fields = list(output_schema) if output_schema else catalog_output_fields(catalog)
    if not fields:
        raise InputError.single(
            "output_schema",
            f"catalogue {catalog.name!r} has no attributes to enrich (derive: extract or "
            "firmographics.<field>) and no output schema was given",
        )
    OutputSchema.parse(fields)  # a field the schema cannot take fails before any work
    check_enrichable(catalog, [f["name"] for f in fields])
    config = config or EnrichConfig()
    return PreparedEnrichment(
        catalog_id=stored.id,
        organization_id=stored.organization_id,
        catalog=catalog,
        output_schema=fields,
        config=config,
        version=enrichment_version(catalog, fields, config),
    )


@collector_paused()
def prepare_models(
    session: Session, plan: PreparedEnrichment, *, models_dir: Path
) -> PreparedEnrichment:
    """Attach the models learned from the catalogue's own values: the learned extractor (when
    the `learned` provider is on) and the LLM's demonstrations (when the LLM is on). Each is
    cached under `models_dir/<catalogue>/` by the hash of its data."""
    config, notes = plan.config, list(plan.notes)
    updates: dict[str, Any] = {}
    learnable = learnable_fields(plan.fields, plan.catalog)
    if config.learned and "learned" in config.providers:
        if not learnable:
            notes.append("learned extractor: no text field to learn")
        else:
            from enrichment.learned.store import prepare_learned_extractor

            prepared = prepare_learned_extractor(
                session, catalog_id=plan.catalog_id, attributes=learnable, models_dir=models_dir
            )
            notes.append(f"learned extractor: {prepared.message}")
            if prepared.path is not None:
                updates["learned_model"] = str(prepared.path)
    if config.llm and "llm" in config.providers and config.llm_demonstrations:
        from enrichment.demonstrations import prepare_pool

        pool_path, message = prepare_pool(
            session,
            catalog_id=plan.catalog_id,
            attributes=plan.fields.names,
            models_dir=models_dir,
        )
        notes.append(f"LLM demonstrations: {message}")
        if pool_path is not None:
            updates["demonstrations_path"] = str(pool_path)
    return plan.model_copy(update={"config": config.model_copy(update=updates), "notes": notes})


def prepare_enrichment(
    session: Session,
    *,
    catalog_id: int,
    config: EnrichConfig | None = None,
    output_schema: Sequence[dict[str, Any]] | None = None,
    models_dir: Path,
) -> PreparedEnrichment:
    """`plan_enrichment` then `prepare_models`: what a job that enriches now calls once."""
    plan = plan_enrichment(
        session, catalog_id=catalog_id, config=config, output_schema=output_schema
    )
    return prepare_models(session, plan, models_dir=models_dir)


@collector_paused()
def enrich_stored_records(
    session: Session,
    *,
    prepared: PreparedEnrichment,
    options: EnrichOptions,
    record_ids: Sequence[int],
    run_id: int | None = None,
    given: dict[int, dict[str, Any]] | None = None,
) -> StoredEnrichment:
    """Enrich a batch of the catalogue's records into changes and conflicts.

    Args:
        prepared: the run's plan (`prepare_enrichment`).
        options: `prepared.options()`, opened once for the run's batches.
        record_ids: the records to enrich (all of them: planning which are pending is the
            caller's, by stage marks).
        given: per record, extra keys a caller sent with it (an API item's `url`): they fill
            keys the record lacks, never override its stored values.

    Returns:
        The counts and every record's result.
    """
    batch = load_records(session, record_ids=record_ids, with_source=False)
    ids = list(batch.values)
    fields = prepared.fields
    derived = _derived_values(session, record_ids=ids, fields=fields.names)
    derived_fields: dict[int, set[str]] = {}
    for rid, name in derived:
        derived_fields.setdefault(rid, set()).add(name)
    items = []
    for rid in ids:
        stored = batch.values[rid]
        if rid in derived_fields:
            skip = derived_fields[rid]
            stored = {k: v for k, v in stored.items() if k not in skip}
        items.append({**(given or {}).get(rid, {}), **stored})
    results = enrich_items(items, fields, options) if items else []
    policy = prepared.config.conflicts
    proposals: list[Proposal] = []
    found: list[tuple[int, str, FieldConflict]] = []
    counts: Counter[str] = Counter()
    for rid, result in zip(ids, results, strict=True):
        for name, decision in result.decisions.items():
            if decision in ("applied", "review", "merged"):
                proposals.append(_proposal(rid, name, result))
        for conflict in result.conflicts:
            if policy == "review":
                found.append((rid, batch.external_ids[rid], conflict))
            elif policy == "overwrite":
                proposals.append(_overwrite(rid, conflict))
        counts["flagged"] += result.flag_record
        counts["llm_tokens"] += result.tokens
    schema = prepared.catalog
    if prepared.config.thresholds is not None:
        schema = schema.model_copy(update={"thresholds": prepared.config.thresholds})
    bases = {rid: stage_basis(batch.hashes[rid], prepared.version) for rid in ids}
    counts.update(
        record_changes(
            session,
            catalog_id=prepared.catalog_id,
            schema=schema,
            proposals=proposals,
            current=batch.values,
            bases=bases,
            operation=OPERATION,
            run_id=run_id,
        )
    )
    opened = open_conflicts(
        session,
        organization_id=prepared.organization_id,
        catalog_id=prepared.catalog_id,
        found=found,
        run_id=run_id,
    )
    counts["conflicts"] = len(opened)
    mark_stage(session, stage=STAGE, bases=bases, run_id=run_id)
    counts["processed"] = len(bases)
    return StoredEnrichment(counts=+counts, results=dict(zip(ids, results, strict=True)))


def record_llm_credits(session: Session, *, run_id: int | None, tokens: int) -> None:
    """Add the LLM tokens a batch spent to its run's credits (a flow's run; the API's jobs
    charge their ledger instead)."""
    if run_id is None or not tokens:
        return
    from llm.client import TOKENS_PER_CREDIT

    run = session.get(Run, run_id, with_for_update=True)
    if run is not None:
        run.credits = (run.credits or 0.0) + tokens / TOKENS_PER_CREDIT


def _derived_values(
    session: Session, *, record_ids: Sequence[int], fields: Sequence[str]
) -> set[tuple[int, str]]:
    """(record, field) pairs whose current value enrichment itself applied: the latest
    change in effect for the field is an applied change of this stage."""
    if not record_ids or not fields:
        return set()
    latest: dict[tuple[int, str], tuple[str, str]] = {}
    rows = plain_rows(
        session,
        select(Change.record_id, Change.field, Change.operation, Change.status)
        .where(
            in_ids(session, Change.record_id, record_ids),
            Change.field.in_(list(fields)),
            Change.status.in_(IN_EFFECT),
        )
        .order_by(Change.id),
    )
    for record_id, name, operation, status in rows:
        latest[(record_id, name)] = (operation, status)
    return {key for key, (op, status) in latest.items() if op == OPERATION and status == "applied"}


def _proposal(record_id: int, name: str, result: ItemEnrichment) -> Proposal:
    return Proposal(
        record_id=record_id,
        field=name,
        value=result.values[name],
        confidence=float(result.confidence.get(name, 0.0)),
        provider="+".join(result.providers.get(name, [])) or OPERATION,
        method="; ".join(result.methods.get(name, []))[:200] or result.decisions[name],
        sources=tuple(result.sources.get(name, ())),
        explanation=result.explanations.get(name, ""),
    )


def _overwrite(record_id: int, conflict: FieldConflict) -> Proposal:
    return Proposal(
        record_id=record_id,
        field=conflict.field,
        value=conflict.proposed,
        confidence=conflict.confidence,
        provider=OPERATION,
        method="overwrite",
        sources=tuple(conflict.sources),
        explanation=f"replaces the existing {conflict.existing!r}: {conflict.explanation}",
    )


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return f"missing:{path}"
