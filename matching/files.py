"""Matching on plain CSV files, so anyone can train, score and reproduce a benchmark without a
store: pairs in, model out; pairs in, `pair_id,score,match` out; offers in,
`id,cluster_id,confidence` out."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from catalog.errors import InputError, InputProblem
from matching.blocking import BlockingParams
from matching.dedupe import DedupeResult, find_duplicates
from matching.model import (
    PairModel,
    TrainParams,
    precision_recall_f1,
    save_model,
    train_supervised,
)
from matching.pairs import read_pairs
from matching.records import assign_roles, prepare


@dataclass(frozen=True)
class TrainSummary:
    path: Path
    pairs: int
    matches: int
    threshold: float
    cv_precision: float
    cv_recall: float
    cv_f1: float
    cv_ece: float
    version: str
    seconds: float
    folds_by: str = "pair"
    """`product` when the pair file named each side's product (held-out products)."""
    cluster_threshold: float | None = None
    cv_cluster_f1: float | None = None
    candidate_pairs: int = 0
    """Blocking candidates among the file's records, labelled by product, that the dedupe
    scorer also learned from (0 without products)."""


@dataclass(frozen=True)
class ScoreSummary:
    pairs: int
    matches: int
    seconds: float
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None


def train_from_pairs(
    *, pairs_path: str | Path, model_path: str | Path, params: TrainParams | None = None
) -> TrainSummary:
    """Train the supervised pair model on a labelled pair file and save it.

    Raises:
        InputError: a bad pair file (missing columns, labels other than 0/1, by row), or too
            few matches / non-matches.
    """
    started = time.perf_counter()
    pairs = read_pairs(pairs_path, labelled=True)
    assert pairs.labels is not None
    model = train_supervised(
        pairs.records,
        pairs.left,
        pairs.right,
        pairs.labels,
        params=params,
        source=str(pairs_path),
        groups=pairs.groups,
    )
    model.stats["attributes"] = pairs.attributes
    path = save_model(model, model_path)
    s = model.stats
    return TrainSummary(
        path=path,
        pairs=s["pairs"],
        matches=s["matches"],
        threshold=model.threshold,
        cv_precision=s["cv_precision"],
        cv_recall=s["cv_recall"],
        cv_f1=s["cv_f1"],
        cv_ece=s["cv_ece"],
        version=model.version,
        seconds=time.perf_counter() - started,
        folds_by=s["folds_by"],
        cluster_threshold=model.cluster_threshold,
        cv_cluster_f1=s["cv_cluster_f1"],
        candidate_pairs=int(s.get("candidate_pairs", 0)),
    )


def score_pairs(
    *,
    model: PairModel,
    pairs_path: str | Path,
    output_path: str | Path,
    threshold: float | None = None,
) -> ScoreSummary:
    """Score every pair of a pair file and write `pair_id,score,match` (atomically).

    A `label` column, when the file has one, is used only to report precision/recall/F1.
    """
    started = time.perf_counter()
    pairs = read_pairs(pairs_path, labelled=False)
    score = model.score(pairs.records, pairs.left, pairs.right)
    cut = model.threshold if threshold is None else threshold
    match = score >= cut
    frame = pd.DataFrame(
        {"pair_id": pairs.pair_ids, "score": np.round(score, 6), "match": match.astype(int)}
    )
    _write_csv(frame, output_path)
    elapsed = time.perf_counter() - started
    labels = _labels_if_any(pairs_path)
    if labels is None:
        return ScoreSummary(pairs=len(frame), matches=int(match.sum()), seconds=elapsed)
    precision, recall, f1 = precision_recall_f1(match, labels)
    return ScoreSummary(
        pairs=len(frame),
        matches=int(match.sum()),
        seconds=elapsed,
        precision=precision,
        recall=recall,
        f1=f1,
    )


def read_offers(
    input_path: str | Path, text_columns: Sequence[str], id_column: str
) -> tuple[list[str], pd.DataFrame]:
    """Read an offers CSV: the id column and the named columns, as text.

    Raises:
        InputError: missing file or columns, empty or repeated ids (rows named).
    """
    source = str(input_path)
    wanted = set(text_columns)
    if not Path(input_path).is_file():
        raise InputError.single(source, "no such file")
    try:
        frame = pd.read_csv(
            input_path,
            dtype=str,
            keep_default_na=False,
            # only the columns asked for: at a million offers, the rest of a supplier file
            # would double the memory held while the duplicates are found
            usecols=lambda c: c == id_column or c in wanted,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise InputError.single(source, "the file is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError.single(source, f"not a readable UTF-8 CSV: {exc}") from None
    missing = [c for c in [id_column, *text_columns] if c not in frame.columns]
    if missing:
        raise InputError([InputProblem(source, "column is missing", column=c) for c in missing])
    ids = frame[id_column].str.strip()
    problems = [
        InputProblem(source, "empty id", row=int(i) + 2, column=id_column)
        for i in np.flatnonzero((ids == "").to_numpy())[:20]
    ]
    repeated = ids[ids.duplicated(keep="first") & (ids != "")]
    problems += [
        InputProblem(source, f"id {v!r} repeats", row=int(i) + 2, column=id_column)
        for i, v in list(repeated.items())[:20]
    ]
    if problems:
        raise InputError(problems)
    return ids.tolist(), frame[list(text_columns)]


def dedupe_csv(
    *,
    input_path: str | Path,
    text_columns: Sequence[str],
    id_column: str,
    output_path: str | Path,
    model: PairModel | None = None,
    blocking: BlockingParams | None = None,
    threshold: float | None = None,
) -> DedupeResult:
    """Cluster the offers of a CSV and write `id,cluster_id,confidence` (atomically).

    The cluster id is the id of the cluster's first member in file order, so it reads as "a
    duplicate of that one" and is the same on every run of the same file.
    """
    ids, frame = read_offers(input_path, text_columns, id_column)
    table = prepare(frame.to_dict("list"), assign_roles(list(text_columns)))
    del frame  # the table holds what dedupe needs; the frame would sit beside it to the end
    result = find_duplicates(table, model=model, blocking=blocking, threshold=threshold)
    labels = result.clusters.labels
    id_array = np.asarray(ids, dtype=object)
    out = pd.DataFrame(
        {
            "id": ids,
            "cluster_id": id_array[labels] if len(ids) else [],
            "confidence": np.round(result.clusters.confidence, 4),
        }
    )
    _write_csv(out, output_path)
    return result


def _labels_if_any(path: str | Path) -> np.ndarray | None:
    header = pd.read_csv(path, nrows=0).columns
    if "label" not in header:
        return None
    labels = pd.read_csv(path, usecols=["label"], dtype=str, keep_default_na=False)["label"]
    if not labels.isin(["0", "1"]).all():
        return None
    return labels.astype(int).to_numpy()


def _write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)
    tmp.replace(path)
