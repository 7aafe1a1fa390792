"""Labelled (or unlabelled) pair files: `pair_id,label` then `<name>_left` / `<name>_right`.

The layout of the public product-matching benchmarks (and of `skuflow match score`'s input).
A record appears in many pairs, so the two sides are stacked into one record table with each
distinct record once (by its `id_left` / `id_right` when the file has them) and pairs become
two arrays of row numbers into it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from catalog.errors import InputError, InputProblem
from matching.records import NOT_ATTRIBUTES, RecordTable, assign_roles, prepare

MAX_PROBLEMS = 20


@dataclass
class PairSet:
    """Pairs over one record table."""

    pair_ids: list[str]
    left: np.ndarray
    right: np.ndarray
    labels: np.ndarray | None
    """0/1 per pair, or None for an unlabelled file."""
    records: RecordTable
    attributes: list[str]
    """Attribute names (without `_left`/`_right`) used as evidence."""
    groups: tuple[np.ndarray, np.ndarray] | None = None
    """The product (an int per distinct `cluster_id`) of each pair's left and right record,
    when the file has `cluster_id_left` / `cluster_id_right` (WDC Products does): training then
    holds out whole products. Never evidence."""


def read_pairs(path: str | Path, *, labelled: bool = True) -> PairSet:
    """Read and check a pair file.

    Args:
        path: CSV with `pair_id`, `label` (when `labelled`) and `<name>_left`/`<name>_right`.
        labelled: Require a `label` column holding only 0 and 1.

    Raises:
        InputError: the file is missing, a required column is missing, an attribute has only
            one side, a label is not 0/1 (each such row named), or a pair id repeats.
    """
    source = str(path)
    if not Path(path).is_file():
        raise InputError.single(source, "no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, csv.Error) as exc:
        raise InputError.single(source, f"not a readable UTF-8 CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise InputError.single(source, "the file is empty") from None
    problems: list[InputProblem] = []
    required = ["pair_id", "label"] if labelled else ["pair_id"]
    for column in required:
        if column not in frame.columns:
            problems.append(InputProblem(source, "required column is missing", column=column))
    lefts = {c[: -len("_left")] for c in frame.columns if c.endswith("_left")}
    rights = {c[: -len("_right")] for c in frame.columns if c.endswith("_right")}
    for name in sorted(lefts ^ rights):
        side = "right" if name in lefts else "left"
        problems.append(
            InputProblem(source, f"'{name}' has no {side} column", column=f"{name}_{side}")
        )
    attributes = [n for n in _in_order(frame.columns) if n in lefts & rights]
    evidence = [a for a in attributes if a not in NOT_ATTRIBUTES]
    if not evidence:
        problems.append(
            InputProblem(source, "no attribute columns: expected <name>_left and <name>_right")
        )
    if problems:
        raise InputError(problems)

    labels = None
    if labelled:
        raw = frame["label"].str.strip()
        bad = np.flatnonzero(~raw.isin(["0", "1"]).to_numpy())
        if bad.size:
            listed = [
                InputProblem(
                    source,
                    f"label must be 0 or 1, not {raw.iloc[i]!r}",
                    row=int(i) + 2,
                    column="label",
                )
                for i in bad[:MAX_PROBLEMS]
            ]
            raise InputError(listed, truncated=max(0, bad.size - MAX_PROBLEMS))
        labels = raw.astype(np.int8).to_numpy()
    pair_ids = frame["pair_id"].tolist()
    seen: dict[str, int] = {}
    duplicates = []
    for i, pid in enumerate(pair_ids):
        if pid in seen:
            duplicates.append(
                InputProblem(source, f"pair id {pid!r} repeats row {seen[pid] + 2}", row=i + 2)
            )
        seen.setdefault(pid, i)
    if duplicates:
        raise InputError(duplicates[:MAX_PROBLEMS], truncated=max(0, len(duplicates) - 20))

    left_frame = _side(frame, evidence, "left")
    right_frame = _side(frame, evidence, "right")
    stacked, left, right = _stack(frame, left_frame, right_frame, has_ids="id" in attributes)
    records = prepare(stacked.to_dict("list"), assign_roles(evidence))
    return PairSet(
        pair_ids=pair_ids,
        left=left,
        right=right,
        labels=labels,
        records=records,
        attributes=evidence,
        groups=_groups(frame) if "cluster_id" in attributes else None,
    )


def _groups(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Product ids of both sides from `cluster_id_*`; a blank id is a product of its own."""
    n = len(frame)
    values = pd.concat(
        [frame["cluster_id_left"].str.strip(), frame["cluster_id_right"].str.strip()],
        ignore_index=True,
    )
    blank = values == ""
    values = values.where(~blank, pd.Series([f"\x1frow{i}" for i in range(2 * n)]))
    codes, _ = pd.factorize(values, sort=True)
    return codes[:n].astype(np.int64), codes[n:].astype(np.int64)


def _in_order(columns: pd.Index) -> list[str]:
    names: list[str] = []
    for column in columns:
        for suffix in ("_left", "_right"):
            if column.endswith(suffix):
                name = column[: -len(suffix)]
                if name not in names:
                    names.append(name)
    return names


def _side(frame: pd.DataFrame, attributes: list[str], side: str) -> pd.DataFrame:
    return pd.DataFrame({a: frame[f"{a}_{side}"].to_numpy() for a in attributes})


def _stack(
    frame: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame, *, has_ids: bool
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One table holding each distinct record once; row numbers of each pair's two sides."""
    both = pd.concat([left, right], ignore_index=True)
    n = len(frame)
    if has_ids:
        keys = pd.concat(
            [
                frame["id_left"].map(lambda v: f"L\x1f{v}"),
                frame["id_right"].map(lambda v: f"R\x1f{v}"),
            ],
            ignore_index=True,
        )
        blank = keys.str.endswith("\x1f")
        keys = keys.where(~blank, pd.Series([f"row\x1f{i}" for i in range(2 * n)]))
        codes, uniques = pd.factorize(keys, sort=False)
        first = np.full(len(uniques), -1, dtype=np.int64)
        order = np.arange(2 * n)
        # first occurrence of each key
        seen = np.unique(codes, return_index=True)[1]
        first[codes[seen]] = order[seen]
        table = both.iloc[first].reset_index(drop=True)
        return table, codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    return both, np.arange(n, dtype=np.int64), np.arange(n, 2 * n, dtype=np.int64)
