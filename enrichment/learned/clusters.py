"""Word clusters learned without labels from the training texts: words that occur in the same
contexts (the words one and two places before and after them) fall into the same cluster, so
a brand labelled once, or never, shares a cluster — and the tagger's weights for it — with
the brands it is written like ("Acme Women's …" and "Zorbo Women's …").

Per word seen in at least `MIN_RECORDS` training records: its positive pointwise mutual
information with each context (word and offset), reduced by a truncated SVD and cut by
k-means at a few granularities (`SIZES`). Every step is seeded, so the same texts give the
same clusters; the model file stores them, so prediction only looks words up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

SIZES = (16, 64, 256)
"""Clusters per granularity, coarse to fine (fewer when there are fewer words to cut)."""
NEIGHBOUR_SIZES = 2
"""The coarsest granularities also describe the token's neighbours (`k16-1=`, `k16+1=`)."""
GROUP_SIZE = 1
"""The granularity combined with the record's group (`c=…|k64=`): SIZES[GROUP_SIZE]."""
MIN_RECORDS = 2
"""A word in fewer records has too few contexts to place; it gets no cluster."""
WINDOW = 2
DIMENSIONS = 50
"""Of the SVD (fewer when there are fewer words)."""
_SEED = 0


@dataclass(frozen=True)
class WordClusters:
    """Per casefolded word, its cluster at each granularity of `sizes`."""

    sizes: tuple[int, ...]
    ids: Mapping[str, tuple[int, ...]]

    def to_json(self) -> dict[str, object]:
        words = sorted(self.ids)
        return {"sizes": list(self.sizes), "words": words, "ids": [self.ids[w] for w in words]}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> WordClusters:
        sizes = tuple(int(s) for s in data["sizes"])  # type: ignore[attr-defined]
        words: Sequence[str] = data["words"]  # type: ignore[assignment]
        ids: Sequence[Sequence[int]] = data["ids"]  # type: ignore[assignment]
        return cls(sizes, {w: tuple(i) for w, i in zip(words, ids, strict=True)})


NO_CLUSTERS = WordClusters((), {})


def cluster_features(
    lower: str, clusters: WordClusters
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]:
    """A casefolded word's cluster features: its own (`k16=`, `k64=`, `k256=`), as its left
    neighbour's (`k16-1=`, `k64-1=`), as its right neighbour's (`k16+1=`, `k64+1=`), and the
    part combined with the group (`k64=…`, "" when none). Nothing for a word without a
    cluster. Shared by training's strings and prediction's feature rows (`compiled`)."""
    held = clusters.ids.get(lower)
    if held is None:
        return (), (), (), ""
    own = tuple(f"k{s}={i}" for s, i in zip(clusters.sizes, held, strict=True))
    pairs = list(zip(clusters.sizes, held, strict=True))[:NEIGHBOUR_SIZES]
    return (
        own,
        tuple(f"k{s}-1={i}" for s, i in pairs),
        tuple(f"k{s}+1={i}" for s, i in pairs),
        own[GROUP_SIZE] if len(own) > GROUP_SIZE else "",
    )


def build_clusters(
    texts: Iterable[Sequence[str]],
    *,
    sizes: Sequence[int] = SIZES,
    min_records: int = MIN_RECORDS,
) -> WordClusters:
    """Clusters of the words of `texts` (each a casefolded token sequence of one field of
    one record, in a stable order), deterministic.

    Each word seen in `min_records` records or more is described by its PPMI with every
    context (a word of the vocabulary, or any other word, or the field's edge, at offsets
    -2, -1, +1, +2), reduced to `DIMENSIONS` by a seeded randomised SVD, normalised, and cut
    by seeded k-means at each size (capped at a quarter of the words)."""
    sequences = [list(t) for t in texts]
    records: Counter[str] = Counter()
    for sequence in sequences:
        records.update(set(sequence))
    vocabulary = sorted((w for w, n in records.items() if n >= min_records))
    if len(vocabulary) < 8:
        return NO_CLUSTERS
    index = {w: k for k, w in enumerate(vocabulary)}
    matrix = _cooccurrences(sequences, index)
    vectors = _embed(_ppmi(matrix), min(DIMENSIONS, len(vocabulary) // 2))
    used = tuple(max(2, min(s, len(vocabulary) // 4)) for s in sizes)
    labels = [_kmeans(vectors, k) for k in used]
    ids = {w: tuple(int(lab[k]) for lab in labels) for k, w in enumerate(vocabulary)}
    return WordClusters(tuple(sizes), ids)


def _cooccurrences(sequences: Sequence[Sequence[str]], index: Mapping[str, int]) -> sparse.csr_matrix:
    """Words × contexts counts; context (offset slot o, word k) is column o·(V+2)+k, with
    k = V for a word outside the vocabulary and V+1 for the field's edge."""
    size = len(index)
    width = size + 2
    offsets = [o for o in range(-WINDOW, WINDOW + 1) if o]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for sequence in sequences:
        ids = np.fromiter((index.get(w, size) for w in sequence), dtype=np.int64)
        n = len(ids)
        padded = np.concatenate([np.full(WINDOW, size + 1), ids, np.full(WINDOW, size + 1)])
        mine = ids < size
        for slot, offset in enumerate(offsets):
            context = padded[WINDOW + offset : WINDOW + offset + n]
            rows.append(ids[mine])
            cols.append(slot * width + context[mine])
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    matrix = sparse.coo_matrix(
        (np.ones(len(row)), (row, col)), shape=(size, len(offsets) * width)
    ).tocsr()
    matrix.sum_duplicates()
    return matrix


def _ppmi(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Positive PMI, contexts' counts smoothed to the power 0.75 (rare contexts otherwise
    dominate)."""
    words = np.asarray(counts.sum(axis=1)).ravel()
    contexts = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    coo = counts.tocoo()
    pmi = np.log(coo.data * contexts.sum() / words[coo.row] / contexts[coo.col])
    keep = pmi > 0
    return sparse.csr_matrix(
        (pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape
    )


def _embed(ppmi: sparse.csr_matrix, dimensions: int) -> np.ndarray:
    """Rows of the seeded randomised SVD (U·√S), each of unit length."""
    from sklearn.utils.extmath import randomized_svd

    u, s, _ = randomized_svd(ppmi, dimensions, n_iter=5, random_state=_SEED)
    vectors = u * np.sqrt(s)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=3, random_state=_SEED).fit_predict(vectors)
