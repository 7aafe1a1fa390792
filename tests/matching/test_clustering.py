"""Clustering: one wrong link must not chain two products' clusters together."""

from __future__ import annotations

import numpy as np

from matching.clustering import cluster_pairs


def _two_cliques_and_a_false_link() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    left, right, p = [], [], []
    for group in (range(0, 5), range(5, 10)):
        members = list(group)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                left.append(a)
                right.append(b)
                p.append(0.9)
    left.append(4)
    right.append(5)
    p.append(0.99)  # the false link, more confident than any true one
    return np.array(left), np.array(right), np.array(p)


def test_a_false_link_does_not_chain_two_clusters() -> None:
    left, right, p = _two_cliques_and_a_false_link()
    clusters = cluster_pairs(10, left, right, p, threshold=0.5)
    assert clusters.labels.tolist() == [0] * 5 + [5] * 5
    # connected components over the same edges would have made one cluster of 10
    assert len({int(x) for x in clusters.labels}) == 2


def test_missing_cross_pairs_are_scored_on_demand() -> None:
    left, right, p = _two_cliques_and_a_false_link()
    asked: list[int] = []

    def score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        asked.append(a.size)
        return np.full(a.size, 0.02)

    clusters = cluster_pairs(10, left, right, p, threshold=0.5, score_missing=score)
    assert len(set(clusters.labels.tolist())) == 2
    # the cross pairs blocking never proposed were scored, never more than the 25 between them
    assert asked and max(asked) <= 24


def test_labels_and_confidence_do_not_depend_on_pair_order() -> None:
    left, right, p = _two_cliques_and_a_false_link()
    order = np.random.default_rng(3).permutation(left.size)
    a = cluster_pairs(10, left, right, p)
    b = cluster_pairs(10, right[order], left[order], p[order])
    assert a.labels.tolist() == b.labels.tolist()
    assert np.allclose(a.confidence, b.confidence)
    assert np.allclose(a.confidence[:4], 0.9)


def test_singletons_and_empty_input() -> None:
    clusters = cluster_pairs(3, np.array([0]), np.array([1]), np.array([0.2]))
    assert clusters.labels.tolist() == [0, 1, 2]
    assert np.isclose(clusters.confidence[0], 0.8) and clusters.confidence[2] == 1.0
    assert cluster_pairs(0, np.array([]), np.array([]), np.array([])).labels.size == 0


def test_new_records_join_existing_clusters_which_never_merge_with_each_other() -> None:
    # rows 0-2 one existing product, 3-4 another; 5 is new and links to both, 6 new alone
    initial = np.array([0, 0, 0, 3, 3, 5, 6])
    fixed = np.array([True] * 5 + [False] * 2)
    left = np.array([5, 5, 5, 5, 5])
    right = np.array([0, 1, 2, 3, 4])
    p = np.array([0.95, 0.9, 0.92, 0.97, 0.96])
    clusters = cluster_pairs(7, left, right, p, initial=initial, fixed=fixed)
    labels = clusters.labels.tolist()
    assert labels[:3] == [0, 0, 0] and labels[3:5] == [3, 3]  # the two products stay apart
    assert labels[5] in (0, 3) and labels[6] == 6


def test_an_existing_clustering_is_relabelled_by_each_clusters_smallest_row() -> None:
    """`initial` labels may be anything (a catalogue's cluster ids); the result names every
    cluster by its smallest row, whatever the labels or their order, with no pairs at all."""
    rng = np.random.default_rng(7)
    for n in (1, 2, 50, 5_000):
        initial = rng.integers(0, max(1, n // 3), size=n) * 97 + 13
        clusters = cluster_pairs(n, np.zeros(0), np.zeros(0), np.zeros(0), initial=initial)
        expected = np.empty(n, dtype=np.int64)
        for label in np.unique(initial):
            rows = np.flatnonzero(initial == label)
            expected[rows] = rows.min()
        assert np.array_equal(clusters.labels, expected)
