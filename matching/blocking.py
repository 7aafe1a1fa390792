"""Candidate pairs without scoring all n² of them.

Two sources, unioned:
- **identifiers**: records sharing a GTIN or a normalised model code. A code on more than
  `max_block` records is a series name, not an identity, and is skipped.
- **nearest neighbours on the title**: TF-IDF over words and character 3-grams, each record's
  `k` most similar others by sparse top-k products (`sparse_dot_topn`, chunked), so memory is
  bounded by chunk × k. Words found on more than `max_df` of the records carry no identity and
  are dropped before the product, which keeps its cost near linear.

Pairs come back as two int arrays with left < right, sorted and unique, so the same input
always gives the same candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from catalog.ngrams import WordwiseCharVectorizer
from matching.records import RecordTable

CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class BlockingParams:
    """How wide the net is cast."""

    k: int = 10
    """Nearest neighbours per record on the title."""
    min_similarity: float = 0.3
    """Neighbours below this cosine are not candidates."""
    max_block: int = 50
    """Identifier blocks larger than this are skipped (series names, placeholder codes)."""
    max_df: float = 0.02
    """Title words on more than this share of the records are left out of the neighbour search."""
    max_df_records: int = 2_000
    """… and so are those on more than this many records, whatever the share: the neighbour
    search costs Σ df per record, so an absolute cap keeps it linear in catalogue size (a
    word on 20,000 listings identifies none of them)."""


def candidate_pairs(
    table: RecordTable,
    params: BlockingParams | None = None,
    *,
    queries: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs among the records of `table`.

    Args:
        table: The records.
        params: Blocking settings.
        queries: Only pairs with at least one record in these rows (an incremental run: the
            new records against everything). None: all records.

    Returns:
        (left, right) row arrays, left < right, unique, sorted.
    """
    params = params or BlockingParams()
    n = len(table)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    query_mask = None
    if queries is not None:
        query_mask = np.zeros(n, dtype=bool)
        query_mask[np.asarray(queries, dtype=np.int64)] = True
    parts = [
        _identifier_pairs(table, params.max_block, query_mask),
        _neighbour_pairs(table, params, query_mask),
    ]
    left = np.concatenate([p[0] for p in parts])
    right = np.concatenate([p[1] for p in parts])
    return _unique(left, right)


def _unique(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.minimum(left, right).astype(np.int64)
    hi = np.maximum(left, right).astype(np.int64)
    keep = lo != hi
    keys = np.unique(lo[keep] * np.int64(2**32) + hi[keep])
    return keys // np.int64(2**32), keys % np.int64(2**32)


def _identifier_pairs(
    table: RecordTable, max_block: int, query_mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs within each GTIN / model-code block of 2..max_block records."""
    keys: dict[str, list[int]] = {}
    for row, (codes, gtin) in enumerate(zip(table.codes, table.gtin, strict=True)):
        for code in codes:
            keys.setdefault("c:" + code, []).append(row)
        if gtin:
            keys.setdefault("g:" + gtin, []).append(row)
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    for rows in keys.values():
        if not 2 <= len(rows) <= max_block:
            continue
        members = np.asarray(rows, dtype=np.int64)
        if query_mask is not None and not query_mask[members].any():
            continue
        i, j = np.triu_indices(members.size, k=1)
        a, b = members[i], members[j]
        if query_mask is not None:
            touch = query_mask[a] | query_mask[b]
            a, b = a[touch], b[touch]
        lefts.append(a)
        rights.append(b)
    if not lefts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(lefts), np.concatenate(rights)


def title_vectors(table: RecordTable, max_df: float, max_df_records: int = 2_000) -> sp.csr_matrix:
    """L2-normalised TF-IDF of title words and character 3-grams (within words), stacked."""
    n = len(table)
    blocks = []
    cutoff: float | int = 1.0
    if n * max_df >= 50:
        cutoff = max(50, min(int(n * max_df), max_df_records))
    for vectorizer in (
        TfidfVectorizer(
            token_pattern=r"(?u)\b\w[\w.]*\b",
            sublinear_tf=True,
            dtype=np.float32,
            max_df=cutoff,
        ),
        WordwiseCharVectorizer(
            ngram_range=(3, 3),
            sublinear_tf=True,
            dtype=np.float32,
            max_df=cutoff,
        ),
    ):
        try:
            blocks.append(vectorizer.fit_transform(table.title))
        except ValueError:  # no token survives (empty titles, or all too common)
            continue
    if not blocks:
        return sp.csr_matrix((n, 0), dtype=np.float32)
    stacked = sp.hstack(blocks).tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(stacked.multiply(stacked).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ stacked, dtype=np.float32)


def _neighbour_pairs(
    table: RecordTable, params: BlockingParams, query_mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    from sparse_dot_topn import sp_matmul_topn

    vectors = title_vectors(table, params.max_df, params.max_df_records)
    if vectors.shape[1] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = np.arange(len(table)) if query_mask is None else np.flatnonzero(query_mask)
    transposed = vectors.T.tocsr()
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    for start in range(0, rows.size, CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        product = sp_matmul_topn(
            vectors[chunk],
            transposed,
            top_n=params.k + 1,
            threshold=params.min_similarity,
            sort=False,
        ).tocoo()
        lefts.append(chunk[product.row])
        rights.append(product.col.astype(np.int64))
    return np.concatenate(lefts), np.concatenate(rights)
