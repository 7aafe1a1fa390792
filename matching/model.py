"""The pair model: P(two records are the same product), calibrated so a threshold means what it
says.

Supervised (labelled pairs from a CSV, or the catalogue's own merge / not-a-match decisions):
gradient-boosted trees over the pairwise features plus a learned word-interaction score
(`matching.interactions`), stacked; the probability is calibrated by isotonic regression on
out-of-fold predictions (held-out folds, monotone), and the match threshold is the one that
maximised F1 on those same held-out folds. When the pairs name their products, a second set of
trees also learns from the blocking candidates among the training records (labelled by
product) and scores dedupe candidates. Unsupervised (no labels): Fellegi–Sunter fitted by EM
(`matching.unsupervised`), capped below auto-merge so its guesses always go to a person.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from catalog.calibration import Calibrator, expected_calibration_error, fit_calibrator
from catalog.errors import InputError
from matching.features import CHUNK_PAIRS, FEATURES, FeatureSpace
from matching.interactions import InteractionModel, fit_interactions, fit_vocabulary
from matching.records import RecordTable
from matching.unsupervised import (
    LEVELS,
    UNSUPERVISED_CAP,
    FellegiSunter,
    comparison_levels,
    fit_fellegi_sunter_levels,
    rule_matches,
)

FORMAT_VERSION = 3
"""2: more pair features (rarest one-sided words, digit tokens, codes in the other text)
and a clustering merge threshold; 3: number runs (`text.number_runs`). An older model is
refused with "retrain"."""
FOLDS = 5
INNER_FOLDS = 3
PARALLEL_FROM = 200_000
"""Pairs from which tree prediction uses every core. Below it one thread: OpenMP's spinning
threads on a shared 2-core machine made a 6,000-pair training 25× slower than one thread."""
MIN_PAIRS_PER_CLASS = 5
"""Fewer labelled matches (or non-matches) than this and there is nothing to learn from."""


@dataclass(frozen=True)
class TrainParams:
    """How the supervised model is fitted (the defaults are what the benchmarks report)."""

    max_iter: int = 200
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    """Smaller, regularised trees: chosen on product-grouped folds of the WDC train pairs
    (unseen products; 0.790 → 0.799 F1), where 31-leaf trees learned the training products."""
    folds: int = FOLDS
    seed: int = 0
    candidate_pairs: bool = True
    """With products named (`groups`), also learn from the blocking candidates among the
    training records that the pair file does not hold, labelled by product: those are the
    pairs a dedupe scores (look-alikes blocking finds, not the file curator's selection), and
    without them the trees never saw most of the near-misses they must reject when
    clustering."""


@dataclass
class Scorer:
    """Trees over the pair features and the word-interaction score, and their calibration."""

    booster: HistGradientBoostingClassifier
    interactions: InteractionModel
    calibrator: Calibrator


@dataclass
class PairModel:
    """A fitted pair scorer; `score` returns calibrated probabilities of a match."""

    kind: str
    """`supervised` or `unsupervised`."""
    threshold: float
    """A pair at or above this probability is called a match."""
    feature_names: tuple[str, ...] = FEATURES
    booster: HistGradientBoostingClassifier | None = None
    interactions: InteractionModel | None = None
    calibrator: Calibrator | None = None
    fellegi_sunter: FellegiSunter | None = None
    constant_columns: np.ndarray | None = None
    dedupe: Scorer | None = None
    """The same model fitted on the labelled pairs *and* the blocking candidates among their
    records (labelled by product), when the pair file named products: what scores a dedupe's
    candidates, which are blocking's look-alikes rather than a curated pair file's. Pair files
    (`score`) are read by the model fitted on labelled pairs alone, which the pair threshold
    is for. None: that model scores both."""
    cluster_threshold: float | None = None
    """Merge threshold for clustering, when training could measure one: the cut at which
    clustering held-out products' records gave the best pairwise F1. Candidate sets from
    blocking are mostly near-misses, so it is usually above `threshold` (chosen on labelled
    pairs). None: use `threshold`."""
    roles: frozenset[str] | None = None
    """Roles the training records had values for; others are emptied before scoring
    (`RecordTable.limited_to`). None: all (the unsupervised model fits on what it scores)."""
    cap: float = 1.0
    """Highest probability the model may state (unsupervised: below auto-merge)."""
    stats: dict[str, Any] = field(default_factory=dict)
    """Training figures: pairs, matches, out-of-fold precision/recall/F1, ECE."""
    version: str = ""

    @property
    def merge_threshold(self) -> float:
        """The cut clustering merges at (`cluster_threshold`, else `threshold`)."""
        cut = getattr(self, "cluster_threshold", None)  # models saved before it existed
        return self.threshold if cut is None else cut

    def score(self, records: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Calibrated P(match) for each pair (left[i], right[i]) of `records`."""
        space = self.feature_space(records)
        return self.score_features(space, np.asarray(left), np.asarray(right), candidates=False)[0]

    def feature_space(self, records: RecordTable) -> FeatureSpace:
        """The feature space this model scores `records` in (only the roles it was trained
        on)."""
        roles = getattr(self, "roles", None)
        return FeatureSpace.build(records if roles is None else records.limited_to(roles))

    def score_features(
        self, space: FeatureSpace, left: np.ndarray, right: np.ndarray, *, candidates: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and the feature matrix they came from (for explanations).

        `candidates`: the pairs are blocking's candidates (a dedupe), scored by `dedupe` when
        the model has it; False for the pairs of a pair file."""
        features = space.features(left, right)
        if left.size == 0:
            return np.zeros(0), features
        if self.kind == "unsupervised":
            assert self.fellegi_sunter is not None
            return self.fellegi_sunter.probability(features), features
        dedupe = getattr(self, "dedupe", None) if candidates else None  # older pickles
        if dedupe is not None:
            booster, interactions, calibrator = (
                dedupe.booster,
                dedupe.interactions,
                dedupe.calibrator,
            )
        else:
            assert self.booster is not None and self.interactions is not None
            assert self.calibrator is not None
            booster, interactions, calibrator = self.booster, self.interactions, self.calibrator
        stacked = self._stack(features, interactions.score(space.table, left, right))
        with threadpool_limits(limits=None if left.size >= PARALLEL_FROM else 1):
            raw = booster.predict_proba(stacked)[:, 1]
        return np.minimum(calibrator(raw), self.cap), features

    def _stack(self, features: np.ndarray, interaction: np.ndarray) -> np.ndarray:
        stacked = np.column_stack([features, interaction]).astype(np.float32)
        if self.constant_columns is not None:
            stacked[:, self.constant_columns] = -1.0
        return stacked


def train_supervised(
    records: RecordTable,
    left: np.ndarray,
    right: np.ndarray,
    labels: np.ndarray,
    *,
    params: TrainParams | None = None,
    source: str = "pairs",
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> PairModel:
    """Fit and calibrate the supervised pair model.

    Out-of-fold scores come from a nested scheme (the word-interaction score the trees see
    is itself out-of-fold inside each outer fold), so the calibration and the threshold are
    fitted on predictions for pairs the model never saw.

    With `groups` (the product of each pair's left and right record, as a pair file with
    cluster ids tells) the folds are by product: a held-out fold's products are in no pair the
    model is fitted on, so the threshold and calibration are those for products it has never
    seen (what a catalogue's new listings are), not the rosier ones of products whose other
    listings were in training. Without them, folds are stratified over pairs.

    Raises:
        InputError: fewer than `MIN_PAIRS_PER_CLASS` matches or non-matches.
    """
    with threadpool_limits(limits=1):
        return _train_supervised(
            records, left, right, labels, params or TrainParams(), source, groups
        )


def _train_supervised(
    records: RecordTable,
    left: np.ndarray,
    right: np.ndarray,
    labels: np.ndarray,
    params: TrainParams,
    source: str,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> PairModel:
    labels = np.asarray(labels, dtype=np.int8)
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    positives = int(labels.sum())
    negatives = int(labels.size - positives)
    if positives < MIN_PAIRS_PER_CLASS or negatives < MIN_PAIRS_PER_CLASS:
        raise InputError.single(
            source,
            f"need at least {MIN_PAIRS_PER_CLASS} matches and {MIN_PAIRS_PER_CLASS} non-matches "
            f"to train, got {positives} and {negatives}",
        )
    n_labelled = labels.size
    if groups is not None and params.candidate_pairs:
        left, right, labels, groups = _with_candidates(records, left, right, labels, groups)
    space = FeatureSpace.build(records)
    features = space.features(left, right)
    vocabulary = fit_vocabulary(records)
    words = (
        None if vocabulary is None else _interaction_model(vocabulary).matrix(records, left, right)
    )
    constant = np.r_[np.isnan(features).all(axis=0), False]
    folds = min(params.folds, positives, negatives)

    def fit_part(
        rows: np.ndarray, grouping: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[HistGradientBoostingClassifier, InteractionModel]:
        inner = _oof_interactions(vocabulary, words, labels, rows, params.seed, grouping)
        booster = _booster(params, rows.size).fit(
            _with(features[rows], inner, constant), labels[rows]
        )
        part_words = fit_interactions(
            vocabulary, None if words is None else words[rows], labels[rows]
        )
        return booster, part_words

    def cross_fit(
        rows: np.ndarray,
    ) -> tuple[Scorer, np.ndarray, list[Any], tuple[np.ndarray, np.ndarray] | None]:
        """Out-of-fold scores of `rows` (product folds when they can be made), the calibrator
        fitted on them and the scorer fitted on all of `rows`."""
        grouping = None if groups is None else (groups[0][rows], groups[1][rows])
        splits = fold_splits(labels[rows], folds, params.seed, grouping)
        if grouping is not None and len(splits) < 2:  # too few products to hold some out
            grouping = None
            splits = fold_splits(labels[rows], folds, params.seed)
        out = np.full(rows.size, np.nan)
        for fit_rows, held in splits:
            booster, fold_words = fit_part(rows[fit_rows], None if grouping is None else groups)
            held_rows = rows[held]
            held_inter = (
                fold_words.score_matrix(words[held_rows])
                if words is not None
                else np.full(held_rows.size, fold_words.constant)
            )
            out[held] = booster.predict_proba(_with(features[held_rows], held_inter, constant))[
                :, 1
            ]
        scored = np.isfinite(out)  # grouped folds can leave a pair in no held-out fold
        calibrator = fit_calibrator(out[scored], labels[rows][scored])
        booster, interactions = fit_part(rows, None if grouping is None else groups)
        return Scorer(booster, interactions, calibrator), out, splits, grouping

    # the labelled pairs alone: what `match score` reads a pair file with, and its threshold
    labelled = np.arange(n_labelled)
    pair_scorer, out_of_fold, splits, grouping = cross_fit(labelled)
    scored = np.isfinite(out_of_fold)
    calibrated = pair_scorer.calibrator(out_of_fold[scored])
    threshold, precision, recall, f1 = best_threshold(calibrated, labels[labelled][scored])
    if grouping is None:
        groups = None

    # with the blocking candidates too: what a dedupe scores, and its merge threshold
    dedupe_scorer = None
    if labels.size > n_labelled:
        dedupe_scorer = cross_fit(np.arange(labels.size))[0]
    cluster_cut, cluster_f1 = None, None
    if groups is not None:
        halves = _product_folds(groups, CLUSTER_FOLDS, params.seed)
        half_models = []
        for half in range(CLUSTER_FOLDS):
            rows = np.flatnonzero((halves[groups[0]] != half) & (halves[groups[1]] != half))
            if dedupe_scorer is None:
                rows = rows[rows < n_labelled]
            if np.unique(labels[rows]).size < 2:
                break
            b, w = fit_part(rows, groups)
            chosen = dedupe_scorer or pair_scorer
            half_models.append(
                PairModel(
                    kind="supervised",
                    threshold=threshold,
                    booster=b,
                    interactions=w,
                    calibrator=chosen.calibrator,
                    constant_columns=constant,
                )
            )
        if len(half_models) == CLUSTER_FOLDS:
            cluster_cut, cluster_f1 = _cluster_threshold(
                records, left, right, groups, half_models, params.seed, threshold
            )

    model = PairModel(
        kind="supervised",
        threshold=threshold,
        booster=pair_scorer.booster,
        interactions=pair_scorer.interactions,
        calibrator=pair_scorer.calibrator,
        dedupe=dedupe_scorer,
        constant_columns=constant,
        cluster_threshold=cluster_cut,
        roles=records.present_roles(),
        stats={
            "cluster_threshold": cluster_cut,
            "cv_cluster_f1": cluster_f1,
            "pairs": n_labelled,
            "candidate_pairs": int(labels.size - n_labelled),
            "matches": positives,
            "cv_precision": precision,
            "cv_recall": recall,
            "cv_f1": f1,
            "cv_ece": expected_calibration_error(calibrated, labels[labelled][scored]),
            "folds": len(splits),
            "folds_by": "product" if groups is not None else "pair",
        },
    )
    model.version = _version(model, features, labels)
    return model


def train_unsupervised(
    records: RecordTable, left: np.ndarray, right: np.ndarray, *, seed: int = 0
) -> PairModel:
    """Fit Fellegi–Sunter on unlabelled candidate pairs (m and u by EM, the prior from a
    deterministic rule); probabilities capped below auto-merge (`UNSUPERVISED_CAP`)."""
    del seed  # EM draws nothing
    return score_candidates(FeatureSpace.build(records), left, right)[0]


def score_candidates(
    space: FeatureSpace, left: np.ndarray, right: np.ndarray, model: PairModel | None = None
) -> tuple[PairModel, np.ndarray]:
    """(the model, P(match) of each candidate pair (left[i], right[i])).

    `model` None fits Fellegi–Sunter by EM on these candidates. Pairs are featurised chunk by
    chunk and only what scoring needs is kept — a probability, or Fellegi–Sunter's nine
    one-byte agreement levels — never the 45-float feature rows of every candidate: a
    million-record catalogue has ~10 million candidates, whose features alone would be
    ~2 GB. The results are those of scoring the whole feature matrix at once, to the bit.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    if model is not None:
        probability = np.zeros(left.size)
        for start in range(0, left.size, CHUNK_PAIRS):
            stop = min(start + CHUNK_PAIRS, left.size)
            probability[start:stop] = model.score_features(
                space, left[start:stop], right[start:stop]
            )[0]
        return model, probability
    digest = _version_digest("unsupervised")
    levels: list[np.ndarray] = [np.zeros((0, len(LEVELS)), dtype=np.int8)]
    seeds: list[np.ndarray] = [np.zeros(0, dtype=bool)]
    for _, features in space.feature_chunks(left, right):
        digest.update(features.tobytes())
        levels.append(comparison_levels(features))
        seeds.append(rule_matches(features))
    all_levels = np.concatenate(levels)
    fs = fit_fellegi_sunter_levels(all_levels, np.concatenate(seeds))
    fitted = PairModel(
        kind="unsupervised",
        threshold=0.5,
        fellegi_sunter=fs,
        cap=UNSUPERVISED_CAP,
        stats={"pairs": int(left.size), "prior": fs.prior, "iterations": fs.iterations},
    )
    fitted.version = f"unsupervised-{digest.hexdigest()[:12]}"
    probability = fs.probability_of_levels(all_levels) if left.size else np.zeros(0)
    return fitted, probability


def best_threshold(
    probabilities: np.ndarray, labels: np.ndarray
) -> tuple[float, float, float, float]:
    """The probability cut with the highest F1 of the match class (ties: the higher cut).

    Returns:
        (threshold, precision, recall, F1) at that cut.
    """
    order = np.argsort(-probabilities, kind="stable")
    p = probabilities[order]
    y = labels[order].astype(np.float64)
    tp = np.cumsum(y)
    predicted = np.arange(1, y.size + 1)
    total = max(y.sum(), 1.0)
    # only cut between distinct probabilities
    last_of_value = np.r_[p[1:] != p[:-1], True]
    precision = tp / predicted
    recall = tp / total
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
    f1 = np.where(last_of_value, f1, -1)
    best = int(np.argmax(f1))
    return float(p[best]), float(precision[best]), float(recall[best]), float(f1[best])


def precision_recall_f1(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of the match class (0 where undefined)."""
    predicted = np.asarray(predicted, dtype=bool)
    labels = np.asarray(labels, dtype=bool)
    tp = float(np.sum(predicted & labels))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(labels.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def save_model(model: PairModel, path: str | Path) -> Path:
    """Write the model atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump({"format": FORMAT_VERSION, "kind": "skuflow.matching", "model": model}, tmp)
    tmp.replace(path)
    return path


def load_model(path: str | Path) -> PairModel:
    """Read a model saved by `save_model`.

    Raises:
        InputError: the file is missing or is not a skuflow matching model.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.single(str(path), "no such model file")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # a pickle of something else, truncated, ...
        raise InputError.single(str(path), f"not a skuflow matching model ({exc})") from None
    if not isinstance(payload, dict) or payload.get("kind") != "skuflow.matching":
        raise InputError.single(str(path), "not a skuflow matching model")
    if payload.get("format") != FORMAT_VERSION:
        raise InputError.single(
            str(path), f"model format {payload.get('format')} is not {FORMAT_VERSION}; retrain"
        )
    model = payload["model"]
    assert isinstance(model, PairModel)
    return model


def _interaction_model(vocabulary: Any) -> InteractionModel:
    return InteractionModel(vocabulary=vocabulary, regression=None, constant=0.0)


def fold_splits(
    labels: np.ndarray,
    folds: int,
    seed: int,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, held-out rows) per fold.

    Without groups: stratified over pairs. With groups (an int product id for each pair's
    left and right record): each product is drawn into one fold; a fold holds out the pairs
    whose left product is in it and fits on the pairs that touch none of its products, so
    nothing about a held-out product is learned. Folds left with one class on either side are
    dropped.
    """
    labels = np.asarray(labels)
    if folds < 2:
        return []
    if groups is None:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(labels.size), labels))
    left_group, right_group = (np.asarray(g, dtype=np.int64) for g in groups)
    fold_of = _product_folds(groups, folds, seed)
    fold_left, fold_right = fold_of[left_group], fold_of[right_group]
    splits = []
    for fold in range(folds):
        held = np.flatnonzero(fold_left == fold)
        fit = np.flatnonzero((fold_left != fold) & (fold_right != fold))
        if all(np.unique(labels[rows]).size == 2 for rows in (held, fit)):
            splits.append((fit, held))
    return splits


def _product_folds(groups: tuple[np.ndarray, np.ndarray], folds: int, seed: int) -> np.ndarray:
    """The fold of each product id (a seeded draw, so training is deterministic)."""
    products = int(max(groups[0].max(initial=-1), groups[1].max(initial=-1))) + 1
    return np.random.default_rng(seed).permutation(products) % folds


CLUSTER_FOLDS = 2
"""Product halves the merge threshold is measured on (see `_cluster_threshold`)."""
CLUSTER_CUTS = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))
"""Merge thresholds tried when clustering held-out products (0.30 … 0.90)."""


def _cluster_threshold(
    records: RecordTable,
    left: np.ndarray,
    right: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray],
    fold_models: list[PairModel],
    seed: int,
    pair_threshold: float,
) -> tuple[float | None, float | None]:
    """The merge threshold with the best pairwise F1 when each half's model dedupes the
    records of the other half's products, which it never saw (blocking, scoring and clustering
    as `skuflow dedupe` does), summed over both halves; ties go to the higher cut.

    Halves, not the five pair folds: a fifth of the products is a file with a fifth of the
    look-alikes, where a low cut looks safe; half of them is closer to a real offer file.

    Returns:
        (threshold, its pairwise F1), or (None, None) with fewer than two usable folds.
    """
    from matching.blocking import candidate_pairs
    from matching.clustering import cluster_pairs

    product = np.full(len(records), -1, dtype=np.int64)
    product[left] = groups[0]
    product[right] = groups[1]
    fold_of = _product_folds(groups, len(fold_models), seed)
    cuts = sorted({*CLUSTER_CUTS, round(pair_threshold, 4)})
    counts = np.zeros((len(cuts), 3))  # both, predicted, actual
    used = 0
    for fold, model in enumerate(fold_models):
        rows = np.flatnonzero((product >= 0) & (fold_of[np.maximum(product, 0)] == fold))
        if rows.size < 2:
            continue
        table = records.subset(rows)
        truth = product[rows]
        a, b = candidate_pairs(table)
        space = model.feature_space(table)
        probability = model.score_features(space, a, b)[0]

        def missing(x: np.ndarray, y: np.ndarray, m: PairModel = model, s: FeatureSpace = space):
            return m.score_features(s, x, y)[0]

        for i, cut in enumerate(cuts):
            labels = cluster_pairs(
                rows.size, a, b, probability, threshold=cut, score_missing=missing
            ).labels
            counts[i] += _pair_counts(labels, truth)
        used += 1
    if used < 2:
        return None, None
    both, predicted, actual = counts.T
    precision = np.where(predicted > 0, both / np.maximum(predicted, 1), 1.0)
    recall = np.where(actual > 0, both / np.maximum(actual, 1), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
    best = max(range(len(cuts)), key=lambda i: (round(float(f1[i]), 6), cuts[i]))
    return float(cuts[best]), float(f1[best])


def _pair_counts(labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(pairs in the same cluster and product, pairs in one cluster, pairs of one product)."""

    def pairs(keys: np.ndarray) -> float:
        sizes = np.unique(keys, return_counts=True, axis=0)[1].astype(np.float64)
        return float((sizes * (sizes - 1) / 2).sum())

    return np.array(
        [pairs(np.column_stack([labels, truth])), pairs(labels), pairs(truth)], dtype=np.float64
    )


def _with_candidates(
    records: RecordTable,
    left: np.ndarray,
    right: np.ndarray,
    labels: np.ndarray,
    groups: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The labelled pairs, then every blocking candidate among their records that they do not
    hold, labelled by product (same product id: a match)."""
    from matching.blocking import candidate_pairs

    product = np.full(len(records), -1, dtype=np.int64)
    product[left] = groups[0]
    product[right] = groups[1]
    a, b = candidate_pairs(records)
    have = set(zip(np.minimum(left, right).tolist(), np.maximum(left, right).tolist(), strict=True))
    new = np.array(
        [(x, y) not in have for x, y in zip(a.tolist(), b.tolist(), strict=True)], dtype=bool
    )
    a, b = a[new], b[new]
    if a.size == 0:
        return left, right, labels, groups
    added = (product[a] == product[b]).astype(np.int8)
    return (
        np.r_[left, a],
        np.r_[right, b],
        np.r_[labels, added],
        (np.r_[groups[0], product[a]], np.r_[groups[1], product[b]]),
    )


def _oof_interactions(
    vocabulary: Any,
    words: Any,
    labels: np.ndarray,
    rows: np.ndarray,
    seed: int,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Out-of-fold word-interaction scores for `rows` (the trees' training rows)."""
    sub_labels = labels[rows]
    out = np.full(rows.size, float(sub_labels.mean()) if rows.size else 0.0)
    if words is None:
        return out
    folds = min(INNER_FOLDS, int(sub_labels.sum()), int(sub_labels.size - sub_labels.sum()))
    sub_groups = None if groups is None else (groups[0][rows], groups[1][rows])
    splits = fold_splits(sub_labels, folds, seed, sub_groups)
    if not splits:
        return out
    sub_words = words[rows]
    for fit_rows, held in splits:
        model = fit_interactions(vocabulary, sub_words[fit_rows], sub_labels[fit_rows])
        out[held] = model.score_matrix(sub_words[held])
    return out


def _booster(params: TrainParams, rows: int) -> HistGradientBoostingClassifier:
    """Trees for `rows` training pairs: the leaf minimum shrinks with small training sets (a
    catalogue's first few dozen decisions), so the trees can still split."""
    return HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=min(params.min_samples_leaf, max(5, rows // 75)),
        l2_regularization=params.l2_regularization,
        early_stopping=False,
        random_state=params.seed,
    )


def _with(features: np.ndarray, interaction: np.ndarray, constant: np.ndarray) -> np.ndarray:
    stacked = np.column_stack([features, interaction]).astype(np.float32)
    stacked[:, constant] = -1.0
    return stacked


def _version(model: PairModel, features: np.ndarray, labels: np.ndarray) -> str:
    digest = _version_digest(model.kind)
    digest.update(np.ascontiguousarray(features).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return f"{model.kind}-{digest.hexdigest()[:12]}"


def _version_digest(kind: str) -> Any:
    """The hash a model's version is cut from, fed its training features (and labels) next;
    fed chunk by chunk by `score_candidates`, it ends the same as over the whole matrix."""
    digest = hashlib.sha256()
    digest.update(kind.encode())
    return digest
