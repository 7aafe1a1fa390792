"""From scored pairs to clusters, without letting one wrong link chain clusters together.

Connected components over "probability ≥ threshold" edges are what most tools do, and one
false link between two products' clusters turns them into one giant cluster. Here clusters grow
by average linkage instead (a greedy form of correlation clustering): pairs are taken from the
most to the least likely, and two clusters are merged only when the *mean* probability over all
their cross pairs reaches the threshold. Cross pairs that blocking never proposed count as 0
(they were not even similar enough to compare), unless `score_missing` is given, which scores
them for real — so a single strong link between two groups of five is one of 25 cross pairs and
does not merge them.

Each record's confidence is the mean probability of its links to the rest of its cluster (a
singleton's: 1 − the best probability it had with anyone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ScoreMissing = Callable[[np.ndarray, np.ndarray], np.ndarray]
CLOSE_COMPONENTS_UP_TO = 50
"""Components of likely pairs up to this size have all their pairs scored up front."""
MAX_CROSS_SCORED = 2_500
"""Cross pairs scored on demand for one merge decision, at most (two clusters of 50)."""


@dataclass
class Clusters:
    """A cluster label per record (the smallest member row), and each record's confidence."""

    labels: np.ndarray
    confidence: np.ndarray

    def groups(self) -> list[np.ndarray]:
        """Rows of each cluster with more than one member, in label order."""
        order, starts = label_runs(self.labels)
        return [g for g in np.split(order, starts[1:]) if g.size > 1]


def cluster_pairs(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float = 0.5,
    score_missing: ScoreMissing | None = None,
    floor: float = 0.05,
    initial: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
) -> Clusters:
    """Average-linkage clustering of `n` records over scored candidate pairs.

    Args:
        n: Number of records (rows 0..n-1).
        left, right: Candidate pairs.
        probability: P(match) per pair.
        threshold: Mean cross-pair probability two clusters need to merge.
        score_missing: Scores pairs blocking did not propose, when a merge decision needs them.
        floor: Pairs below this probability are treated as 0 and not kept (memory: most
            candidate pairs are clear non-matches).
        initial: Clusters to start from (a label per row; equal labels, one cluster): the
            catalogue's existing clusters in an incremental run.
        fixed: Rows already clustered in an earlier run. Their clusters are never merged with
            each other (two existing products are not joined behind anyone's back) and the
            refinement does not move them; new rows join them or form clusters of their own.

    Returns:
        Labels (each cluster named by its smallest row, so labels do not depend on the order
        pairs arrive in) and confidences.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    probability = np.asarray(probability, dtype=np.float64)
    known: dict[tuple[int, int], float] = {}
    keep = probability >= floor
    left, right, probability = left[keep], right[keep], probability[keep]
    for a, b, p in zip(left.tolist(), right.tolist(), probability.tolist(), strict=True):
        key = (a, b) if a < b else (b, a)
        known[key] = max(p, known.get(key, 0.0))
    if score_missing is not None and initial is None:
        _close_components(n, known, threshold, score_missing)

    root = (
        np.arange(n, dtype=np.int64) if initial is None else _name_by_smallest(np.asarray(initial))
    )
    members: dict[int, list[int]] = {}
    if initial is not None:
        order, starts = label_runs(root)
        for group in np.split(order, starts[1:]):
            if group.size > 1:
                members[int(root[group[0]])] = group.tolist()
    fixed_rows = np.zeros(n, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    anchored = {int(c) for c in root[fixed_rows].tolist()}
    # cross[c][d] = [sum of known probabilities between clusters c and d, how many known]
    cross: dict[int, dict[int, list[float]]] = {}
    for (a, b), p in known.items():
        ra, rb = int(root[a]), int(root[b])
        if ra == rb:
            continue
        entry = cross.setdefault(ra, {}).setdefault(rb, [0.0, 0.0])
        entry[0] += p
        entry[1] += 1.0
        cross.setdefault(rb, {})[ra] = entry

    ranked = sorted(
        ((p, a, b) for (a, b), p in known.items() if p >= threshold),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    for _, a, b in ranked:
        ca, cb = int(root[a]), int(root[b])
        if ca == cb or (ca in anchored and cb in anchored):
            continue
        group_a = members.get(ca, [ca])
        group_b = members.get(cb, [cb])
        total, count = cross[ca][cb]
        pairs = len(group_a) * len(group_b)
        if score_missing is not None and count < pairs and pairs <= MAX_CROSS_SCORED:
            total = _score_all(group_a, group_b, known, score_missing)
        if total / pairs < threshold:
            continue
        # merge the smaller cluster into the larger; keep cross sums per cluster pair
        if len(group_a) < len(group_b):
            ca, cb, group_a, group_b = cb, ca, group_b, group_a
        members[ca] = group_a + group_b
        members.pop(cb, None)
        if cb in anchored:
            anchored.discard(cb)
            anchored.add(ca)
        root[group_b] = ca
        for other, (s, c) in cross.pop(cb).items():
            if other == ca:
                continue
            into = cross[ca].setdefault(other, [0.0, 0.0])
            into[0] += s
            into[1] += c
            back = cross[other]
            back.pop(cb, None)
            back[ca] = into
        cross[ca].pop(cb, None)

    refine(root, known, threshold, movable=~fixed_rows)
    labels = _name_by_smallest(root)
    return Clusters(labels=labels, confidence=_confidence(n, labels, known))


def refine(
    root: np.ndarray,
    known: dict[tuple[int, int], float],
    threshold: float,
    rounds: int = 5,
    movable: np.ndarray | None = None,
) -> int:
    """Correlation-clustering local search: move single records to the cluster where
    Σ (p − threshold) over their pairs with its members is largest (or out alone, gain 0).

    Average linkage takes the single most likely pair first, so a false link stronger than any
    true one (0.99 between two products, 0.9 within each) still joins its two records; here
    each of them goes back to the group it agrees with most. Unknown pairs count as p = 0.

    Returns:
        How many moves were made.
    """
    adjacency: dict[int, list[tuple[int, float]]] = {}
    for (a, b), p in known.items():
        adjacency.setdefault(a, []).append((b, p))
        adjacency.setdefault(b, []).append((a, p))
    size: dict[int, int] = {}
    for cluster in root.tolist():
        size[cluster] = size.get(cluster, 0) + 1
    fresh = root.size  # ids for records that leave to stand alone
    moves = 0
    for _ in range(rounds):
        moved = 0
        for node in sorted(adjacency):
            if movable is not None and not movable[node]:
                continue
            own = int(root[node])
            support: dict[int, float] = {}
            for other, p in adjacency[node]:
                cluster = int(root[other])
                support[cluster] = support.get(cluster, 0.0) + p

            def gain(cluster: int, own: int = own, support: dict[int, float] = support) -> float:
                members = size.get(cluster, 0) - (1 if cluster == own else 0)
                return support.get(cluster, 0.0) - threshold * members

            best, best_gain = own, gain(own) if size[own] > 1 else 0.0
            for cluster in sorted(support):
                if cluster != own and gain(cluster) > best_gain + 1e-9:
                    best, best_gain = cluster, gain(cluster)
            if best == own and size[own] > 1 and best_gain < -1e-9:
                best, fresh = fresh, fresh + 1  # better alone
            if best != own:
                size[own] -= 1
                root[node] = best
                size[best] = size.get(best, 0) + 1
                moved += 1
        moves += moved
        if not moved:
            break
    return moves


def _name_by_smallest(root: np.ndarray) -> np.ndarray:
    """Relabel clusters by their smallest member row (order-independent names)."""
    labels = np.empty(root.size, dtype=np.int64)
    # Each run's first row is its smallest (`label_runs`): one vectorised pass, no array per
    # cluster (a million singletons at 1M records).
    order, starts = label_runs(root)
    sizes = np.diff(np.append(starts, root.size))
    labels[order] = np.repeat(order[starts], sizes)
    return labels


def label_runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by label, and where each label's run starts in that order. The sort is
    stable, so each run lists its rows in ascending order."""
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return order, starts[: ordered.size]


def _close_components(
    n: int,
    known: dict[tuple[int, int], float],
    threshold: float,
    score_missing: ScoreMissing,
) -> None:
    """Score, in one batch, every unproposed pair inside each small component of the
    "probability ≥ threshold" graph: the merge decisions would ask for them one by one, and
    one model call per decision costs more than the scoring itself on a large catalogue."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    strong = [(a, b) for (a, b), p in known.items() if p >= threshold]
    if not strong:
        return
    rows = np.array([a for a, _ in strong], dtype=np.int64)
    cols = np.array([b for _, b in strong], dtype=np.int64)
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    small = np.flatnonzero((sizes >= 3) & (sizes <= CLOSE_COMPONENTS_UP_TO))
    if small.size == 0:
        return
    members = np.flatnonzero(np.isin(component, small))
    order = members[np.argsort(component[members], kind="stable")]
    cuts = np.flatnonzero(np.diff(component[order])) + 1
    lo_parts, hi_parts = [], []
    for group in np.split(order, cuts):
        i, j = np.triu_indices(group.size, k=1)
        lo_parts.append(np.minimum(group[i], group[j]))
        hi_parts.append(np.maximum(group[i], group[j]))
    lo, hi = np.concatenate(lo_parts), np.concatenate(hi_parts)
    missing = np.array(
        [(a, b) not in known for a, b in zip(lo.tolist(), hi.tolist(), strict=True)], dtype=bool
    )
    if missing.any():
        scored = score_missing(lo[missing], hi[missing])
        for a, b, p in zip(
            lo[missing].tolist(), hi[missing].tolist(), scored.tolist(), strict=True
        ):
            known[(a, b)] = float(p)


def _score_all(
    group_a: list[int],
    group_b: list[int],
    known: dict[tuple[int, int], float],
    score_missing: ScoreMissing,
) -> float:
    """Sum of P(match) over every cross pair, scoring the ones not yet known."""
    a = np.repeat(np.asarray(group_a), len(group_b))
    b = np.tile(np.asarray(group_b), len(group_a))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    missing = [
        i for i, key in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)) if key not in known
    ]
    if missing:
        index = np.asarray(missing)
        scored = score_missing(lo[index], hi[index])
        for i, p in zip(missing, scored.tolist(), strict=True):
            known[(int(lo[i]), int(hi[i]))] = float(p)
    return float(sum(known[(int(x), int(y))] for x, y in zip(lo, hi, strict=True)))


def _confidence(n: int, labels: np.ndarray, known: dict[tuple[int, int], float]) -> np.ndarray:
    sizes = np.bincount(labels, minlength=n)
    inside = np.zeros(n)
    best_outside = np.zeros(n)
    for (a, b), p in known.items():
        if labels[a] == labels[b]:
            inside[a] += p
            inside[b] += p
        else:
            best_outside[a] = max(best_outside[a], p)
            best_outside[b] = max(best_outside[b], p)
    size = sizes[labels]
    with np.errstate(invalid="ignore", divide="ignore"):
        linked = inside / (size - 1)
    return np.where(size > 1, linked, 1.0 - best_outside)
