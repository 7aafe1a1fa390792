"""The supervised classifier: two linear stages along the taxonomy, calibrated on held-out folds.

Stage one picks the top-level category (the root of the labelled node); stage two picks the
labelled node among those under that root. A prediction is one node, so its levels never
contradict. Splitting at the root is what makes training fast: a one-vs-rest SVM costs about
(classes × texts), and each stage-two model sees only its own root's texts, which cut training
on MWPD2020 from ~25 s to ~7 s per fit at the same accuracy.

Confidence is the path's probability: P(root right) × P(node right | root right), each an
isotonic map of that stage's margin (top score minus runner-up), then one more isotonic map of
the product to the observed hit rate, all fitted on out-of-fold predictions. Every map is
monotone, so a larger margin at either stage never lowers the confidence.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from catalog.calibration import Calibrator, expected_calibration_error, fit_calibrator
from catalog.collector import collector_paused
from catalog.errors import InputError, InputProblem
from taxonomy.model import Taxonomy
from taxonomy.prediction import BATCH_SIZE, Candidates, Prediction, params_json
from taxonomy.text import FeatureParams, FieldFeatures, Text

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

MAX_PROBLEMS = 20
CERTAIN_MARGIN = 10.0
"""Margin given to a stage with a single candidate (a root with one labelled node): far above
any real SVM margin, so the calibrator reads it as its surest step."""

_LIBLINEAR_LOCK = threading.Lock()


@dataclass(frozen=True)
class SupervisedParams:
    """Everything that shapes a supervised model; part of its version hash."""

    features: FeatureParams = field(default_factory=FeatureParams)
    c: float = 1.0
    tol: float = 0.3
    """liblinear's stopping tolerance. The root stage (one-vs-rest over every text) is most of
    the training time; on MWPD2020 0.1 → 0.3 cut the CPU time by ~10% with validation weighted F1
    0.9030 → 0.9026 and auto-apply precision 0.9712 → 0.9741 (1.0 cost 0.002 F1)."""
    folds: int = 5
    """Held-out folds for calibration. Five give ~10,400 training texts per fold model on
    MWPD2020, closer to the final model's 13,000 than three folds' 8,700, so fold margins mean
    what the final model's do: auto-apply precision at 0.9 rose from 0.968 to 0.9705 (5-fold
    CV) for ~45% more training CPU time (~48 s over 2 processes on 13,012 offers)."""
    prior_strength: float = 2.0
    keep_weights: float = 0.1
    """Share of the largest-magnitude weights kept. On MWPD2020 keeping 5-10% changed accuracy
    by under 0.2 points and shrank the model tenfold; calibration is fitted on pruned fold
    models, so confidences describe the pruned model."""
    rival_roots: int = 1
    """Stage two trains each root's nodes also against the texts of other roots that the root
    stage ranks this root first after their own (as one "none of these" class). Their
    look-alikes elsewhere teach a node's weights what a few siblings cannot: on MWPD2020
    level-3 weighted F1 rose 0.86 → 0.87 (train → validation) for ~1.5 s more CPU per fit;
    0 trains on siblings only."""
    jobs: int = 2
    """Processes for the fold and final fits (each is a separate liblinear, so results do not
    depend on it). Used only for fits big enough to pay for starting them
    (`PARALLEL_FIT_WORK`)."""


@dataclass(eq=False)
class _Stages:
    """Weights of both stages as sparse (features × outputs) matrices."""

    root_coef: csr_matrix
    root_bias: np.ndarray
    node_coef: csr_matrix
    node_bias: np.ndarray


@dataclass(eq=False)
class _Calibration:
    root: Calibrator
    node: Calibrator
    path: Calibrator

    def __call__(self, root_margin: np.ndarray, node_margin: np.ndarray) -> np.ndarray:
        return self.path(self.root(root_margin) * self.node(node_margin))


@dataclass(eq=False)
class SupervisedClassifier:
    """Two-stage linear SVM over TF-IDF features predicting labelled taxonomy nodes, with
    calibrated confidences. Build it with `train_supervised`."""

    taxonomy: Taxonomy
    classes: list[str]
    """Labelled node ids, the model's outputs."""
    roots: list[str]
    params: SupervisedParams
    version: str
    n_train: int
    cv_accuracy: float
    """Out-of-fold top-1 accuracy: what to expect on texts like the training ones."""
    cv_ece: float
    """Expected calibration error of the calibrated out-of-fold confidences (in-sample for the
    calibrator, so a floor rather than an estimate)."""
    _features: FieldFeatures = field(repr=False)
    _stages: _Stages = field(repr=False)
    _class_root: np.ndarray = field(repr=False)
    calibration: _Calibration = field(repr=False)
    name: str = "tfidf-hierarchical-svm"
    method: str = "supervised"

    @collector_paused()
    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        out: list[Prediction] = []
        for start in range(0, len(texts), BATCH_SIZE):
            scored = self._score(texts[start : start + BATCH_SIZE])
            confidence = self.calibration(scored.root_margin, scored.node_margin)
            confidence[scored.empty] = 0.0
            out.extend(
                Prediction(None if e else self.classes[b], float(c), self.method)
                for b, c, e in zip(
                    scored.best.tolist(), confidence.tolist(), scored.empty.tolist(), strict=True
                )
            )
        return out

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        """The prediction first, then the other labelled nodes by root score + node score."""
        if k < 1:
            raise ValueError("k must be at least 1")
        out: Candidates = []
        for start in range(0, len(texts), BATCH_SIZE):
            scored = self._score(texts[start : start + BATCH_SIZE])
            path = scored.root_scores[:, self._class_root] + scored.node_scores
            rows = np.arange(path.shape[0])
            path[rows, scored.best] = np.inf
            keep = min(k, path.shape[1])
            top = np.argsort(-path, axis=1, kind="stable")[:, :keep]
            path[rows, scored.best] = (
                scored.root_scores[rows, self._class_root[scored.best]]
                + scored.node_scores[rows, scored.best]
            )
            for row, (is_empty, idx) in enumerate(zip(scored.empty.tolist(), top, strict=True)):
                out.append(
                    []
                    if is_empty
                    else [
                        (self.classes[i], float(path[row, i]))
                        for i in idx.tolist()
                        if np.isfinite(path[row, i])
                    ]
                )
        return out

    def level_probabilities(self, texts: Sequence[Text]) -> np.ndarray:
        """Calibrated P(root right) per text: the first level's own confidence."""
        scored = self._score(texts)
        return self.calibration.root(scored.root_margin)

    @property
    def vectorizers(self) -> list[Any]:
        return self._features.vectorizers

    def _score(self, texts: Sequence[Text]) -> _Scored:
        x = self._features.transform(list(texts))
        return _score_stages(x, self._stages, self._class_root)


@dataclass
class _Scored:
    best: np.ndarray
    root_margin: np.ndarray
    node_margin: np.ndarray
    root_scores: np.ndarray
    node_scores: np.ndarray
    empty: np.ndarray


def _score_stages(x: csr_matrix, stages: _Stages, class_root: np.ndarray) -> _Scored:
    root_scores = (x @ stages.root_coef).toarray() + stages.root_bias
    node_scores = (x @ stages.node_coef).toarray() + stages.node_bias
    root, root_margin = top_margin(root_scores)
    within = np.where(class_root[None, :] == root[:, None], node_scores, -np.inf)
    best, node_margin = top_margin(within)
    alone = np.bincount(class_root, minlength=root_scores.shape[1])[root] == 1
    node_margin[alone] = CERTAIN_MARGIN
    return _Scored(
        best=best,
        root_margin=root_margin,
        node_margin=node_margin,
        root_scores=root_scores,
        node_scores=node_scores,
        empty=np.diff(x.indptr) == 0,
    )


def train_supervised(
    texts: Sequence[Text],
    labels: Sequence[str],
    taxonomy: Taxonomy,
    *,
    seed: int = 0,
    params: SupervisedParams | None = None,
) -> SupervisedClassifier:
    """Train a calibrated two-stage classifier from labelled texts.

    Labels may be node ids, full paths or unambiguous names; they are stored as node ids.
    Same inputs and seed give identical models, whatever `params.jobs` is.

    Args:
        texts: product texts: strings, or text fields with the title first.
        labels: one category per text.
        taxonomy: the tree the labels belong to.
        seed: fixes fold assignment and the solver's order.
        params: model settings; the defaults were chosen on MWPD2020.

    Raises:
        InputError: texts and labels differ in length, a label is not in the taxonomy, fewer
            than two distinct categories, or no usable words.
    """
    params = params or SupervisedParams()
    if len(texts) != len(labels):
        raise InputError.single(
            "labels", f"{len(labels)} labels for {len(texts)} texts; need one label per text"
        )
    node_ids = resolve_labels(labels, taxonomy)
    classes = sorted(set(node_ids))
    if len(classes) < 2:
        raise InputError.single(
            "labels", f"need at least 2 distinct categories to learn from, found {len(classes)}"
        )
    roots = sorted({_root(taxonomy, c) for c in classes})
    root_index = {r: i for i, r in enumerate(roots)}
    class_root = np.array([root_index[_root(taxonomy, c)] for c in classes], dtype=np.int64)
    index = {c: i for i, c in enumerate(classes)}
    y = np.fromiter((index[n] for n in node_ids), dtype=np.int64, count=len(node_ids))

    features = FieldFeatures(params.features, len(texts))
    x = features.fit_transform(list(texts))
    fold_splits = _folds(y, class_root, params, seed)
    jobs = _fit_all(x, y, class_root, len(roots), params, seed, fold_splits)
    stages = jobs[-1]

    root_margin = np.zeros(len(y))
    node_margin = np.zeros(len(y))
    predicted = np.zeros(len(y), dtype=np.int64)
    for (_, held_out), fold in zip(fold_splits, jobs[:-1], strict=True):
        scored = _score_stages(x[held_out], fold, class_root)
        root_margin[held_out] = scored.root_margin
        node_margin[held_out] = scored.node_margin
        predicted[held_out] = scored.best
    root_right = class_root[predicted] == class_root[y]
    right = predicted == y
    strength = params.prior_strength
    root_cal = fit_calibrator(root_margin, root_right, prior_strength=strength)
    node_cal = (
        fit_calibrator(node_margin[root_right], right[root_right], prior_strength=strength)
        if root_right.any()
        else fit_calibrator(np.zeros(1), np.zeros(1))
    )
    path_cal = fit_calibrator(
        root_cal(root_margin) * node_cal(node_margin), right, prior_strength=strength
    )
    calibration = _Calibration(root_cal, node_cal, path_cal)
    return SupervisedClassifier(
        taxonomy=taxonomy,
        classes=classes,
        roots=roots,
        params=params,
        version=_training_version(texts, node_ids, taxonomy, params, seed),
        n_train=len(texts),
        cv_accuracy=float(right.mean()),
        cv_ece=expected_calibration_error(calibration(root_margin, node_margin), right),
        _features=features,
        _stages=stages,
        _class_root=class_root,
        calibration=calibration,
    )


def resolve_labels(labels: Sequence[str], taxonomy: Taxonomy) -> list[str]:
    """Node ids for labels given as ids, paths or unambiguous names.

    Raises:
        InputError: labels that name no node, each with its 1-based position.
    """
    resolved: list[str] = []
    problems: list[InputProblem] = []
    unknown = 0
    cache: dict[str, str | None] = {}
    for position, label in enumerate(labels, start=1):
        text = "" if label is None else str(label)
        if text not in cache:
            node = taxonomy.resolve(text)
            cache[text] = None if node is None else node.id
        node_id = cache[text]
        if node_id is None:
            unknown += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(
                    InputProblem(
                        "labels",
                        f"label {text!r} is not a category of taxonomy {taxonomy.name!r} "
                        "(give a node id, a full path or an unambiguous name)",
                        row=position,
                    )
                )
            continue
        resolved.append(node_id)
    if problems:
        raise InputError(problems, truncated=unknown - len(problems))
    return resolved


def _root(taxonomy: Taxonomy, node_id: str) -> str:
    ancestors = taxonomy.ancestors(node_id)
    return ancestors[0].id if ancestors else node_id


def _folds(
    y: np.ndarray, class_root: np.ndarray, params: SupervisedParams, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Calibration folds, stratified by root when every fold can get one of each."""
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = max(2, min(params.folds, len(y) // 10))
    strata = class_root[y]
    if np.bincount(strata).max() >= folds:
        splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has only 1 member"
        return list(splitter.split(np.zeros(len(y)), strata))


PARALLEL_FIT_WORK = 1_500_000
"""Texts × categories from which the fold and final fits run in worker processes. Starting
the pool costs about 3-4 s of wall time in a process that has none yet (each worker imports
scikit-learn), and a fit costs about 7 µs per text and category on one core: 9k texts of 46
categories (an onboard's 10k-text sample) fit in 2.9 s in this process and took 6.7 s through a
fresh pool (2.8 s once its workers were up). So the pool is for several seconds of fits and
more, not for the usual catalogue's sample."""


def _fit_all(
    x: csr_matrix,
    y: np.ndarray,
    class_root: np.ndarray,
    n_roots: int,
    params: SupervisedParams,
    seed: int,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> list[_Stages]:
    """One model per fold (on the other folds) and a final one on everything, last."""
    subsets = [train for train, _ in splits] + [np.arange(len(y))]
    jobs = max(1, min(params.jobs, _cpu_count()))
    if jobs > 1 and len(y) * class_root.size >= PARALLEL_FIT_WORK:
        from joblib import Parallel, delayed

        # Separate processes: liblinear's generator is per process, so results stay exact.
        # Every job gets the same matrix (joblib memory-maps it once for all workers) and
        # takes its rows there, instead of six copies pickled through a pipe.
        return Parallel(n_jobs=jobs, backend="loky")(
            delayed(_fit_subset)(x, rows, y, class_root, n_roots, params, seed) for rows in subsets
        )
    return [_fit_subset(x, rows, y, class_root, n_roots, params, seed) for rows in subsets]


def _fit_subset(
    x: csr_matrix,
    rows: np.ndarray,
    y: np.ndarray,
    class_root: np.ndarray,
    n_roots: int,
    params: SupervisedParams,
    seed: int,
) -> _Stages:
    """Both stages on `rows` of `x`. liblinear reads float64: converting the rows once here,
    not in each of the ~35 fits of a model, gives the solver the same numbers for less time."""
    return _fit_stages(x[rows].astype(np.float64), y[rows], class_root, n_roots, params, seed)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _fit_stages(
    x: csr_matrix,
    y: np.ndarray,
    class_root: np.ndarray,
    n_roots: int,
    params: SupervisedParams,
    seed: int,
) -> _Stages:
    from scipy.sparse import hstack

    n_classes = class_root.size
    root_coef, root_bias = fit_linear(x, class_root[y], n_roots, params, seed)
    rivals = _rival_roots(x, class_root[y], root_coef, root_bias, params.rival_roots)
    blocks = []
    node_bias = np.full(n_classes, -np.inf, dtype=np.float32)
    for root in range(n_roots):
        members = np.flatnonzero(class_root == root)
        rows = np.flatnonzero(class_root[y] == root)
        local = np.searchsorted(members, y[rows])
        if members.size > 1 and rivals is not None:
            # Texts of other roots that this root nearly won are one extra class, "none of
            # these": each node's weights then learn what sets it apart from its look-alikes
            # elsewhere, not only from its siblings.
            near = np.flatnonzero((rivals == root).any(axis=1) & (class_root[y] != root))
            rows = np.r_[rows, near]
            local = np.r_[local, np.full(near.size, members.size, dtype=local.dtype)]
            coef, bias = fit_linear(
                x[rows], local, members.size + 1, params, seed, n_features=x.shape[1]
            )
            coef, bias = coef[:, : members.size], bias[: members.size]
        else:
            coef, bias = fit_linear(
                x[rows], local, members.size, params, seed, n_features=x.shape[1]
            )
        blocks.append((members, coef, bias))
    order = np.concatenate([members for members, _, _ in blocks])
    stacked = hstack([coef for _, coef, _ in blocks], format="csc", dtype=np.float32)
    node_coef = stacked[:, np.argsort(order)].tocsr()
    node_bias[order] = np.concatenate([bias for _, _, bias in blocks])
    return _Stages(root_coef, root_bias, node_coef, node_bias)


def _rival_roots(
    x: csr_matrix, roots: np.ndarray, coef: csr_matrix, bias: np.ndarray, count: int
) -> np.ndarray | None:
    """Per text, the `count` roots the fitted root stage scores highest besides its own (in
    sample); None when there are no rivals to take."""
    n_roots = bias.size
    if count < 1 or n_roots < 2:
        return None
    scores = (x @ coef).toarray() + bias
    scores[np.arange(scores.shape[0]), roots] = -np.inf
    count = min(count, n_roots - 1)
    return np.argpartition(-scores, count - 1, axis=1)[:, :count]


def fit_linear(
    x: csr_matrix,
    y: np.ndarray,
    n_classes: int,
    params: SupervisedParams,
    seed: int,
    *,
    n_features: int | None = None,
) -> tuple[csr_matrix, np.ndarray]:
    """One-vs-rest linear SVM as sparse (features × all classes) weights and intercepts; a
    class missing from `y` gets -inf so it is never predicted."""
    from scipy.sparse import csr_matrix
    from sklearn.svm import LinearSVC

    n_features = x.shape[1] if n_features is None else n_features
    intercept = np.full(n_classes, -np.inf, dtype=np.float32)
    present = np.unique(y)
    if present.size <= 1:
        if present.size == 1:
            intercept[present[0]] = 0.0
        return csr_matrix((n_features, n_classes), dtype=np.float32), intercept
    # Only the columns these rows use: a stage-two fit sees one root's texts, a few percent of
    # the vocabulary, and liblinear returns a dense (classes × columns) weight matrix that is
    # then pruned. A column no row uses gets weight 0 anyway, so the weights are the same.
    used = np.flatnonzero(np.bincount(x.indices, minlength=x.shape[1]))
    if used.size < x.shape[1]:
        x = x[:, used]
    model = LinearSVC(C=params.c, tol=params.tol, random_state=seed)
    # liblinear draws its visiting order from one process-wide generator and releases the GIL
    # while it trains, so two fits in threads would interleave draws and stop being
    # reproducible; the lock keeps fits in one process sequential.
    with _LIBLINEAR_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol is loose on purpose
        model.fit(x, y)
    weights = model.coef_.astype(np.float32)
    bias = model.intercept_.astype(np.float32)
    if present.size == 2:  # binary: one weight vector for the second class
        weights, bias = np.vstack([-weights, weights]), np.r_[-bias, bias]
    intercept[present] = bias
    # Pruning reads the nonzero weights once (row-major, as they lie) and works on those alone,
    # not on masks of the whole dense (classes × columns) matrix: the same entries kept.
    flat = np.flatnonzero(weights)
    values = weights.ravel()[flat]
    magnitude = np.abs(values)
    keep = int(np.ceil(params.keep_weights * flat.size))
    if 0 < keep < flat.size:
        threshold = np.partition(magnitude, flat.size - keep)[flat.size - keep]
        chosen = magnitude >= threshold
        flat, values = flat[chosen], values[chosen]
    rows, columns = np.divmod(flat, weights.shape[1])
    coef = csr_matrix(
        (values, (used[columns], present[rows])),
        shape=(n_features, n_classes),
        dtype=np.float32,
    )
    coef.sort_indices()
    return coef, intercept


def top_margin(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the best column (the first on ties) and its lead over the runner-up; 0 when
    there is no finite runner-up."""
    best = scores.argmax(axis=1)
    if scores.shape[1] == 1:
        return best, np.zeros(scores.shape[0])
    top = scores[np.arange(scores.shape[0]), best]
    runner = np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2]
    with np.errstate(invalid="ignore"):
        margin = np.where(np.isfinite(runner), top - runner, 0.0).astype(np.float64)
    return best, margin


def _training_version(
    texts: Sequence[Text],
    node_ids: Sequence[str],
    taxonomy: Taxonomy,
    params: SupervisedParams,
    seed: int,
) -> str:
    digest = hashlib.sha256()
    digest.update(params_json(params, seed=seed, kind="supervised-2stage").encode())
    digest.update(taxonomy.content_hash.encode())
    for text, label in zip(texts, node_ids, strict=True):
        digest.update(str(text if isinstance(text, str) else tuple(text)).encode())
        digest.update(b"\x1f")
        digest.update(label.encode())
        digest.update(b"\x1e")
    return "sup-" + digest.hexdigest()[:16]
