"""Deduplicate a set of records: block, score, cluster — the one entry point every door calls.

`find_duplicates` takes prepared records (from a CSV, or the catalogue's current values) and
returns the scored candidate pairs and the clusters. With a supervised model its calibrated
probabilities and threshold are used; without one, Fellegi–Sunter is fitted by EM on the
candidate pairs themselves, capped below auto-merge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from catalog.collector import collector_paused
from matching.blocking import BlockingParams, candidate_pairs
from matching.clustering import Clusters, cluster_pairs
from matching.features import FeatureSpace
from matching.model import PairModel, score_candidates
from matching.records import RecordTable


@dataclass
class DedupeResult:
    """Candidate pairs with their probabilities, and the clusters."""

    left: np.ndarray
    right: np.ndarray
    probability: np.ndarray
    clusters: Clusters
    model: PairModel
    space: FeatureSpace
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def candidates_per_record(self) -> float:
        n = len(self.clusters.labels)
        return float(self.left.size / n) if n else 0.0


@collector_paused()
def find_duplicates(
    table: RecordTable,
    *,
    model: PairModel | None = None,
    blocking: BlockingParams | None = None,
    queries: np.ndarray | None = None,
    threshold: float | None = None,
) -> DedupeResult:
    """Block, score and cluster `table`.

    Args:
        table: Prepared records.
        model: A trained pair model; None fits the unsupervised one on the candidates.
        blocking: Candidate generation settings.
        queries: Rows whose candidates to score (incremental: the new records); None for all.
        threshold: Cluster-merge threshold; default the model's (`merge_threshold`).

    Returns:
        Pairs, probabilities, clusters and per-step timings (seconds).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    left, right = candidate_pairs(table, blocking, queries=queries)
    timings["blocking"] = time.perf_counter() - started

    started = time.perf_counter()
    space = FeatureSpace.build(table) if model is None else model.feature_space(table)
    model, probability = score_candidates(space, left, right, model)
    timings["scoring"] = time.perf_counter() - started

    started = time.perf_counter()
    cut = model.merge_threshold if threshold is None else threshold
    fitted = model

    def score_missing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return fitted.score_features(space, a, b)[0]

    clusters = cluster_pairs(
        len(table), left, right, probability, threshold=cut, score_missing=score_missing
    )
    timings["clustering"] = time.perf_counter() - started
    return DedupeResult(
        left=left,
        right=right,
        probability=probability,
        clusters=clusters,
        model=model,
        space=space,
        timings=timings,
    )
