"""The dedupe stage over the store: the one entry point onboard, the `dedupe` flow, the API
and the CLI call.

Each run matches the records dedupe has not seen at their content (new or edited since the
last run) against the whole catalogue, without rescoring pairs of records it has seen: blocking
is asked only for the new records' candidates. Existing clusters stay as they are (a survivor
and the records merged into it); new records join one or form their own. Every proposed merge
is a group of changes (`catalog.changes.GROUPED_OPERATIONS`): the duplicate's `_merged_into`
(with the probability and the evidence) and the survivor's fields that survivorship updates,
applied at or above `matching.auto_merge`, queued for review in between, dropped below
`matching.reject`. Approving, rejecting and rolling back (unmerging) go through the usual
review and rollback, which act on the whole group.

Re-running is safe: stage marks skip records already processed at their content, a merge
already proposed from the same content is not proposed again, and a rejected or unmerged pair
is a not-a-match decision that is never proposed again from the same content.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.bulk import in_ids, plain_rows
from catalog.changes import (
    decide,
    group_basis,
    insert_changes,
    stage_basis,
    supersede,
    write_values,
)
from catalog.collector import collector_paused
from catalog.filters import RecordFilter
from catalog.models import Change, ChangeStatus, Record, utcnow
from catalog.records import MERGED_INTO, mark_stage, pending_record_ids, record_pages
from catalog.schema import CatalogSchema
from matching.blocking import BlockingParams, candidate_pairs
from matching.clustering import cluster_pairs, label_runs
from matching.explain import evidence, sentence
from matching.features import FeatureSpace
from matching.model import (
    MIN_PAIRS_PER_CLASS,
    PairModel,
    load_model,
    score_candidates,
    train_supervised,
)
from matching.records import RecordTable, assign_roles, prepare
from matching.survivorship import Side, merged_values

STAGE = "dedupe"
FIELD = MERGED_INTO
_IDENTIFIER_NAMES = ("brand", "manufacturer", "mpn", "model", "upc", "ean", "gtin", "price")


def compare_columns(schema: CatalogSchema) -> list[str]:
    """Attributes dedupe compares: `matching.compare`, else the text attributes plus those
    named like a brand, part number, GTIN or price."""
    if schema.matching.compare:
        return list(schema.matching.compare)
    names = list(schema.text)
    for attribute in schema.attributes:
        lowered = attribute.name.lower()
        if attribute.name not in names and any(k in lowered for k in _IDENTIFIER_NAMES):
            names.append(attribute.name)
    return names or [schema.id]


def dedupe_version(schema: CatalogSchema, model: PairModel | None) -> str:
    """What dedupe results depend on: the matching settings, the compared attributes, the
    model. Changing any means every record is matched again."""
    payload = {
        "matching": schema.matching.model_dump(),
        "compare": compare_columns(schema),
        "model": model.version if model else "unsupervised",
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"dedupe-{digest[:12]}"


def configured_model(schema: CatalogSchema, base: Path | None = None) -> PairModel | None:
    """The schema's pair model file, if it names one (relative paths from `base`)."""
    if not schema.matching.model:
        return None
    path = Path(schema.matching.model)
    if not path.is_absolute() and base is not None:
        path = base / path
    return load_model(path)


@dataclass
class _Loaded:
    """The unmerged records as dedupe reads them: identity, content hash and the compared
    attributes as strings. Whole values are read back only for the records a merge touches
    (`_merge_values`), so a million-record catalogue is not held as a million dicts."""

    survivors: set[int]
    """Records others are merged into: they keep their place even when edited."""
    ids: list[int]
    external: list[str]
    hashes: list[str]
    columns: dict[str, list[str]]


def _load_unmerged(session: Session, catalog_id: int, columns: list[str]) -> _Loaded:
    loaded = _Loaded(
        survivors=set(), ids=[], external=[], hashes=[], columns={c: [] for c in columns}
    )
    survivor_externals: set[str] = set()
    pages = record_pages(
        session,
        catalog_id=catalog_id,
        columns=(Record.external_id, Record.values, Record.content_hash),
    )
    for rows in pages:
        for record_id, external_id, values, content_hash in rows:
            values = values or {}
            marker = values.get(MERGED_INTO)
            if isinstance(marker, dict) and marker.get("into") is not None:
                survivor_externals.add(marker["into"])
            if MERGED_INTO in values:
                continue
            loaded.ids.append(record_id)
            loaded.external.append(external_id)
            loaded.hashes.append(content_hash)
            for column in columns:
                loaded.columns[column].append(_text(values.get(column)))
    loaded.survivors = {
        rid
        for rid, ext in zip(loaded.ids, loaded.external, strict=True)
        if ext in survivor_externals
    }
    return loaded


def _merge_values(session: Session, ids: list[int]) -> dict[int, tuple[dict[str, Any], Side]]:
    """Current values and survivorship side of the records merges touch, by id."""
    out: dict[int, tuple[dict[str, Any], Side]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for record_id, values, updated_at, source in session.execute(
            select(Record.id, Record.values, Record.updated_at, Record.source).where(
                in_ids(session, Record.id, chunk)
            )
        ):
            values = values or {}
            out[record_id] = (values, Side(values=values, updated_at=updated_at, source=source))
    return out


def _table(schema: CatalogSchema, values: list[dict[str, Any]]) -> RecordTable:
    columns = compare_columns(schema)
    return _table_of(schema, {c: [_text(v.get(c)) for v in values] for c in columns})


def _table_of(schema: CatalogSchema, columns: dict[str, list[str]]) -> RecordTable:
    """The compared attributes (`compare_columns`, as strings) as a matching table."""
    return prepare(columns, assign_roles(compare_columns(schema)))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@collector_paused()
def dedupe_catalog(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    run_id: int | None,
    model: PairModel | None = None,
    record_filter: RecordFilter | None = None,
    blocking: BlockingParams | None = None,
) -> Counter[str]:
    """Match the catalogue's new and edited records into its clusters, as merge changes.

    Args:
        model: A trained pair model; None uses one trained on the catalogue's own merge and
            not-a-match decisions when there are enough, else Fellegi–Sunter (capped below
            auto-merge, so its merges wait for a person).
        record_filter: Only these records are matched (against the whole catalogue).

    Returns:
        Counts: `records` matched, `candidates` pairs scored, and merges by status.
    """
    counts: Counter[str] = Counter()
    loaded = _load_unmerged(session, catalog_id, compare_columns(schema))
    chosen = model or model_from_decisions(session, catalog_id=catalog_id, schema=schema)
    version = dedupe_version(schema, chosen)
    pending_ids = set(
        pending_record_ids(
            session,
            catalog_id=catalog_id,
            stage=STAGE,
            version=version,
            record_filter=record_filter,
        )
    )
    row_of = {rid: i for i, rid in enumerate(loaded.ids)}
    pending_rows = np.array(sorted(row_of[r] for r in pending_ids if r in row_of), dtype=np.int64)
    hashes = _hashes(session, pending_ids, loaded, row_of)
    marks = {rid: stage_basis(h, version) for rid, h in hashes.items()}
    if pending_rows.size == 0:
        mark_stage(session, stage=STAGE, bases=marks, run_id=run_id)
        return counts
    counts["records"] = int(pending_rows.size)
    table = _table_of(schema, loaded.columns)
    left, right = candidate_pairs(table, blocking, queries=pending_rows)
    counts["candidates"] = int(left.size)
    space = FeatureSpace.build(table) if chosen is None else chosen.feature_space(table)
    chosen, probability = score_candidates(space, left, right, chosen)
    fitted = chosen

    def score_missing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return fitted.score_features(space, a, b)[0]

    n = len(table)
    fixed = np.ones(n, dtype=bool)
    fixed[pending_rows] = False
    fixed[[row_of[r] for r in loaded.survivors]] = True
    clusters = cluster_pairs(
        n,
        left,
        right,
        probability,
        threshold=chosen.merge_threshold,
        score_missing=score_missing,
        fixed=fixed,
    )
    merges = _merges(clusters.labels, fixed)
    if merges:
        dup_rows = np.array([d for d, _ in merges], dtype=np.int64)
        surv_rows = np.array([s for _, s in merges], dtype=np.int64)
        pair_p, pair_features = chosen.score_features(space, dup_rows, surv_rows)
        counts.update(
            _record_merges(
                session,
                catalog_id=catalog_id,
                schema=schema,
                loaded=loaded,
                table=table,
                merges=merges,
                probability=pair_p,
                features=pair_features,
                model=chosen,
                run_id=run_id,
            )
        )
    mark_stage(session, stage=STAGE, bases=marks, run_id=run_id)
    return counts


def _hashes(
    session: Session, ids: set[int], loaded: _Loaded, row_of: dict[int, int]
) -> dict[int, str]:
    """Content hashes of `ids`: the loaded records' from `loaded` (`row_of`: id → its row
    there), the others' (records merged into another, which dedupe does not load) read from
    the store."""
    out = {rid: loaded.hashes[row_of[rid]] for rid in ids if rid in row_of}
    rest = sorted(ids - out.keys())
    for start in range(0, len(rest), 5000):
        out.update(
            plain_rows(
                session,
                select(Record.id, Record.content_hash).where(
                    in_ids(session, Record.id, rest[start : start + 5000])
                ),
            ).tuples()
        )
    return out


def _merges(labels: np.ndarray, fixed: np.ndarray) -> list[tuple[int, int]]:
    """(duplicate row, survivor row) for each new record clustered with others: the survivor is
    the cluster's existing record if it has one, else its first row. Only clusters of two or
    more are visited: on a large catalogue nearly every cluster is a single record."""
    order, starts = label_runs(labels)
    ends = np.append(starts[1:], order.size)
    shared = (ends - starts) >= 2
    out: list[tuple[int, int]] = []
    for start, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True):
        group = order[start:end]  # ascending rows: the sort is stable
        existing = group[fixed[group]]
        survivor = int(existing[0]) if existing.size else int(group[0])
        out.extend((row, survivor) for row in group.tolist() if row != survivor)
    return out


def _record_merges(
    session: Session,
    *,
    catalog_id: int,
    schema: CatalogSchema,
    loaded: _Loaded,
    table: RecordTable,
    merges: list[tuple[int, int]],
    probability: np.ndarray,
    features: np.ndarray,
    model: PairModel,
    run_id: int | None,
) -> Counter[str]:
    """Write each merge as a group of changes; apply the confident ones."""
    counts: Counter[str] = Counter()
    thresholds = schema.matching.thresholds()
    dup_ids = [loaded.ids[d] for d, _ in merges]
    history = _earlier(session, dup_ids)
    stored = _merge_values(session, sorted({loaded.ids[r] for pair in merges for r in pair}))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    superseded: list[int] = []
    current: dict[int, dict[str, Any]] = {}
    for (d, s), p, feature_row in zip(merges, probability.tolist(), features, strict=True):
        dup_id, surv_id = loaded.ids[d], loaded.ids[s]
        into = loaded.external[s]
        earlier = history.get(dup_id, [])
        if any(
            h.new_value.get("into") == into and h.basis.split(":", 1)[0] == loaded.hashes[d]
            for h in earlier
            if isinstance(h.new_value, dict)
        ):
            continue  # proposed from this content already: queued, decided or unmerged
        superseded += [h.id for h in earlier if h.status == ChangeStatus.QUEUED_FOR_REVIEW]
        status = decide(p, thresholds)
        counts[status.value] += 1
        found = evidence(table, d, s, feature_row)
        group = f"merge:{dup_id}>{surv_id}"
        common = {
            "catalog_id": catalog_id,
            "confidence": round(float(p), 6),
            "status": status.value,
            "operation": STAGE,
            "run_id": run_id,
            "provider": STAGE,
            "model": model.version,
            "method": model.kind,
            "created_at": now,
            "decided_at": now if status is not ChangeStatus.QUEUED_FOR_REVIEW else None,
        }
        marker = {"into": into, "probability": round(float(p), 6), "evidence": found}
        rows.append(
            {
                **common,
                "record_id": dup_id,
                "field": FIELD,
                "old_value": None,
                "new_value": marker,
                "basis": group_basis(loaded.hashes[d], group),
                "sources": [f"record:{into}"],
                "explanation": f"duplicate of {into}: {sentence(found, p)}",
            }
        )
        survivor_values, survivor_stored = stored[surv_id]
        dup_values, dup_side = stored[dup_id]
        survivor_now = current.setdefault(surv_id, dict(survivor_values))
        survivor_side = Side(survivor_now, survivor_stored.updated_at, survivor_stored.source)
        for field, value in merged_values(schema, survivor_side, dup_side).items():
            rows.append(
                {
                    **common,
                    "record_id": surv_id,
                    "field": field,
                    "old_value": survivor_now.get(field),
                    "new_value": value,
                    "basis": group_basis(loaded.hashes[s], group),
                    "sources": [f"record:{loaded.external[d]}"],
                    "explanation": (
                        f"merged {loaded.external[d]} into {into}: '{field}' by "
                        f"{schema.matching.attributes.get(field, schema.matching.survivorship)}"
                    ),
                }
            )
            if status is ChangeStatus.APPLIED:
                survivor_now[field] = value
        if status is ChangeStatus.APPLIED:
            current[dup_id] = {**dup_values, FIELD: marker}
    supersede(session, superseded, now=now)
    insert_changes(session, rows)
    write_values(session, {rid: v for rid, v in current.items() if v != stored[rid][0]})
    return counts


def _earlier(session: Session, dup_ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for start in range(0, len(dup_ids), 5000):
        for row in session.execute(
            select(
                Change.id, Change.record_id, Change.new_value, Change.basis, Change.status
            ).where(
                Change.record_id.in_(dup_ids[start : start + 5000]),
                Change.operation == STAGE,
                Change.field == FIELD,
            )
        ):
            out.setdefault(row.record_id, []).append(row)
    return out


def decision_pairs(session: Session, *, catalog_id: int) -> list[tuple[int, str, int]]:
    """The catalogue's own merge decisions as labelled pairs: (duplicate record id, survivor
    external id, 1 for a merge in effect / 0 for a rejected or unmerged one)."""
    rows = session.execute(
        select(Change.record_id, Change.new_value, Change.status).where(
            Change.catalog_id == catalog_id,
            Change.operation == STAGE,
            Change.field == FIELD,
            Change.status.in_(
                [
                    ChangeStatus.APPLIED.value,
                    ChangeStatus.APPROVED.value,
                    ChangeStatus.REJECTED.value,
                    ChangeStatus.ROLLED_BACK.value,
                ]
            ),
        )
    ).all()
    positive = {ChangeStatus.APPLIED.value, ChangeStatus.APPROVED.value}
    return [
        (r.record_id, r.new_value["into"], 1 if r.status in positive else 0)
        for r in rows
        if isinstance(r.new_value, dict) and "into" in r.new_value
    ]


def model_from_decisions(
    session: Session, *, catalog_id: int, schema: CatalogSchema
) -> PairModel | None:
    """A supervised pair model trained on the catalogue's merge / not-a-match decisions, or
    None while there are fewer than `MIN_PAIRS_PER_CLASS` of either."""
    pairs = decision_pairs(session, catalog_id=catalog_id)
    labels = np.array([label for *_, label in pairs], dtype=np.int8)
    if labels.sum() < MIN_PAIRS_PER_CLASS or (labels.size - labels.sum()) < MIN_PAIRS_PER_CLASS:
        return None
    dup_ids = [d for d, _, _ in pairs]
    survivors = [s for _, s, _ in pairs]
    values_by_id = dict(
        session.execute(select(Record.id, Record.values).where(Record.id.in_(dup_ids)))
        .tuples()
        .all()
    )
    values_by_ext = dict(
        session.execute(
            select(Record.external_id, Record.values).where(
                Record.catalog_id == catalog_id, Record.external_id.in_(survivors)
            )
        )
        .tuples()
        .all()
    )
    values = [{k: v for k, v in values_by_id.get(d, {}).items() if k != FIELD} for d in dup_ids] + [
        values_by_ext.get(s, {}) for s in survivors
    ]
    table = _table(schema, values)
    n = len(pairs)
    return train_supervised(
        table, np.arange(n), np.arange(n, 2 * n), labels, source="merge decisions"
    )
