"""Embedded product classifiers over a Taxonomy: supervised when the user has labels, lexical
zero-shot when not.

Both predict a taxonomy node id, so the predicted category implies all its ancestors and the
levels of one prediction never contradict each other. Both work on whole batches with sparse
matrix products; nothing here loops over texts in Python beyond light string cleanup.

The supervised model's confidence is calibrated (see `taxonomy.calibration`): the pipeline
auto-applies at 0.9, so 0.9 must mean right about nine times in ten. The lexical model has no
labels to calibrate against and says so by never claiming more than `LEXICAL_MAX_CONFIDENCE`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from catalog.errors import InputError, InputProblem
from taxonomy.calibration import Calibrator, expected_calibration_error, fit_calibrator
from taxonomy.model import Taxonomy

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

LEXICAL_MAX_CONFIDENCE = 0.85
"""Zero-shot confidences stay below the default auto-apply threshold (0.9): without labels
nobody has measured how often they are right, so a person must look first."""

BATCH_SIZE = 4096
"""Texts scored per matrix product; bounds the dense texts × classes score block."""

_LEXICAL_CELLS = 2**23
"""Texts × nodes similarities held at once by the lexical matcher."""

MAX_PROBLEMS = 20
_FORMAT = 1
_LIBLINEAR_LOCK = threading.Lock()
_TOKEN = re.compile(r"[^\W_]+")
_NAME_PARTS = re.compile(r"\s*(?:&|,|/|\band\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Prediction:
    """A predicted node (None when the text gave nothing to go on), how sure, and by what."""

    node_id: str | None
    confidence: float
    method: str


Candidates = list[list[tuple[str, float]]]
"""Per text, (node id, ranking score) best first. Scores rank; only `predict` confidences are
probabilities."""


@runtime_checkable
class Classifier(Protocol):
    name: str
    version: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...

    def top_k(self, texts: Sequence[str], k: int = 5) -> Candidates: ...


# --------------------------------------------------------------------------------------------
# Supervised


@dataclass(frozen=True)
class SupervisedParams:
    """Everything that shapes a supervised model; part of its version hash.

    Character n-grams see only the first `char_chars` characters: titles come first and carry
    most of what char n-grams add (spelling variants, model codes, compounds), while over full
    descriptions they tripled training time for about one point of accuracy on MWPD2020. Words
    stop at `word_chars`, which keeps prediction above 2,000 texts/s on one core.
    Scores are SVM margins (top minus runner-up), which separated right from wrong better than
    the top score alone or a softmax of it (out-of-fold ROC AUC 0.887 vs 0.873 on MWPD2020).
    """

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    word_chars: int = 1000
    char_chars: int = 64
    min_df: int = 2
    c: float = 0.5
    tol: float = 0.1
    folds: int = 5
    prior_strength: float = 2.0
    keep_weights: float = 0.1
    """Share of the largest-magnitude weights kept. On MWPD2020 keeping 5-10% changed accuracy
    by under 0.2 points and shrank the model tenfold; calibration is fitted on pruned fold
    models, so confidences describe the pruned model."""


class _TextFeatures:
    """Word 1-2 gram and char_wb 2-5 gram TF-IDF (sublinear tf), side by side, each block
    L2-normalised and the pair scaled to unit length."""

    def __init__(self, params: SupervisedParams, n_texts: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # A term seen once cannot generalise, but tiny training sets need every term they have.
        min_df = params.min_df if n_texts >= 200 else 1
        self.word_chars = params.word_chars
        self.char_chars = params.char_chars
        self.words = TfidfVectorizer(
            ngram_range=params.word_ngrams, sublinear_tf=True, min_df=min_df, dtype=np.float32
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=params.char_ngrams,
            sublinear_tf=True,
            min_df=min_df,
            dtype=np.float32,
        )

    def fit_transform(self, texts: Sequence[str]) -> csr_matrix:
        clean = _clean(texts)
        try:
            words = self.words.fit_transform([t[: self.word_chars] for t in clean])
            chars = self.chars.fit_transform([t[: self.char_chars] for t in clean])
        except ValueError as exc:  # empty vocabulary
            raise InputError.single("texts", f"no usable words to learn from ({exc})") from None
        _drop_stop_words(self.words, self.chars)
        return _stack(words, chars)

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        clean = _clean(texts)
        words = self.words.transform([t[: self.word_chars] for t in clean])
        chars = self.chars.transform([t[: self.char_chars] for t in clean])
        return _stack(words, chars)


@dataclass(eq=False)
class SupervisedClassifier:
    """A linear SVM over TF-IDF features predicting labelled taxonomy nodes, with an isotonic
    calibrator fitted on out-of-fold margins. Build it with `train_supervised`."""

    taxonomy: Taxonomy
    classes: list[str]
    params: SupervisedParams
    version: str
    calibrator: Calibrator
    n_train: int
    cv_accuracy: float
    """Out-of-fold top-1 accuracy: what to expect on texts like the training ones."""
    cv_ece: float
    """Expected calibration error of the calibrated out-of-fold confidences (in-sample for the
    calibrator, so a floor rather than an estimate)."""
    _features: _TextFeatures = field(repr=False)
    _coef: csr_matrix = field(repr=False)
    _intercept: np.ndarray = field(repr=False)
    name: str = "tfidf-linear-svm"
    method: str = "supervised"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        texts = list(texts)
        out: list[Prediction] = []
        for start in range(0, len(texts), BATCH_SIZE):
            scores, empty = self._scores(texts[start : start + BATCH_SIZE])
            best, margin = _top_margin(scores)
            confidence = self.calibrator(margin)
            confidence[empty] = 0.0
            out.extend(
                Prediction(None if e else self.classes[b], float(c), self.method)
                for b, c, e in zip(best.tolist(), confidence.tolist(), empty.tolist(), strict=True)
            )
        return out

    def top_k(self, texts: Sequence[str], k: int = 5) -> Candidates:
        """Best `k` labelled nodes per text with their SVM scores (not probabilities)."""
        texts = list(texts)
        out: Candidates = []
        for start in range(0, len(texts), BATCH_SIZE):
            scores, empty = self._scores(texts[start : start + BATCH_SIZE])
            out.extend(_top_k_lists(scores, empty, k, self.classes))
        return out

    def _vectorizers(self) -> list[Any]:
        return [self._features.words, self._features.chars]

    def _scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        features = self._features.transform(texts)
        empty = np.diff(features.indptr) == 0
        return (features @ self._coef).toarray() + self._intercept, empty


def train_supervised(
    texts: Sequence[str],
    labels: Sequence[str],
    taxonomy: Taxonomy,
    *,
    seed: int = 0,
    params: SupervisedParams | None = None,
) -> SupervisedClassifier:
    """Train a calibrated classifier from labelled texts.

    Labels may be node ids, full paths or unambiguous names; they are stored as node ids.
    Calibration: K-fold (K = `params.folds`, fewer for small sets) out-of-fold margins and
    correctness → isotonic regression. Same inputs and seed give identical models.

    Args:
        texts: product texts (title first, then description is what works best).
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
    node_ids = _resolve_labels(labels, taxonomy)
    classes = sorted(set(node_ids))
    if len(classes) < 2:
        raise InputError.single(
            "labels", f"need at least 2 distinct categories to learn from, found {len(classes)}"
        )
    index = {c: i for i, c in enumerate(classes)}
    y = np.fromiter((index[n] for n in node_ids), dtype=np.int64, count=len(node_ids))

    features = _TextFeatures(params, len(texts))
    x = features.fit_transform(texts)
    margins, correct = _out_of_fold(x, y, len(classes), params, seed)
    calibrator = fit_calibrator(margins, correct, prior_strength=params.prior_strength)
    coef, intercept = _fit_linear(x, y, len(classes), params, seed)
    return SupervisedClassifier(
        taxonomy=taxonomy,
        classes=classes,
        params=params,
        version=_training_version(texts, node_ids, taxonomy, params, seed),
        calibrator=calibrator,
        n_train=len(texts),
        cv_accuracy=float(correct.mean()),
        cv_ece=expected_calibration_error(calibrator(margins), correct),
        _features=features,
        _coef=coef,
        _intercept=intercept,
    )


def _resolve_labels(labels: Sequence[str], taxonomy: Taxonomy) -> list[str]:
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


def _fit_linear(
    x: csr_matrix, y: np.ndarray, n_classes: int, params: SupervisedParams, seed: int
) -> tuple[csr_matrix, np.ndarray]:
    """One-vs-rest linear SVM as sparse (features × all classes) weights and intercepts; a
    class missing from `y` gets -inf so it is never predicted."""
    from scipy.sparse import csr_matrix
    from sklearn.svm import LinearSVC

    intercept = np.full(n_classes, -np.inf, dtype=np.float32)
    present = np.unique(y)
    if present.size == 1:
        intercept[present[0]] = 0.0
        return csr_matrix((x.shape[1], n_classes), dtype=np.float32), intercept
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
    magnitude = np.abs(weights[weights != 0])
    keep = int(np.ceil(params.keep_weights * magnitude.size))
    if 0 < keep < magnitude.size:
        threshold = np.partition(magnitude, magnitude.size - keep)[magnitude.size - keep]
        weights[np.abs(weights) < threshold] = 0.0
    # Rows are features, columns the full class list (absent classes stay empty).
    pruned = csr_matrix(weights.T).tocoo()
    coef = csr_matrix(
        (pruned.data, (pruned.row, present[pruned.col])),
        shape=(x.shape[1], n_classes),
        dtype=np.float32,
    )
    coef.sort_indices()
    return coef, intercept


def _out_of_fold(
    x: csr_matrix,
    y: np.ndarray,
    n_classes: int,
    params: SupervisedParams,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Margin and correctness of each text's top-1 class from a model that never saw it."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y, minlength=n_classes)
    folds = max(2, min(params.folds, len(y) // 10))
    # Stratify when some class can fill every fold; rare classes then land in few folds and are
    # scored by models that never saw them, which is the honest outcome for rare classes.
    if counts.max() >= folds:
        splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has only 1 member"
        splits = list(splitter.split(np.zeros(len(y)), y))
    margins = np.zeros(len(y), dtype=np.float64)
    correct = np.zeros(len(y), dtype=bool)
    for train, held_out in splits:
        coef, intercept = _fit_linear(x[train], y[train], n_classes, params, seed)
        best, margin = _top_margin((x[held_out] @ coef).toarray() + intercept)
        margins[held_out] = margin
        correct[held_out] = best == y[held_out]
    return margins, correct


def _top_margin(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the best class (the first on ties) and its lead over the runner-up, 0 when
    there is no runner-up or it ties."""
    best = scores.argmax(axis=1)
    if scores.shape[1] == 1:
        return best, np.zeros(scores.shape[0])
    top = scores[np.arange(scores.shape[0]), best]
    runner = np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2]
    margin = np.where(np.isfinite(runner), top - runner, 0.0).astype(np.float64)
    return best, margin


def _training_version(
    texts: Sequence[str],
    node_ids: Sequence[str],
    taxonomy: Taxonomy,
    params: SupervisedParams,
    seed: int,
) -> str:
    digest = hashlib.sha256()
    digest.update(_params_json(params, seed=seed, kind="supervised").encode())
    digest.update(taxonomy.content_hash.encode())
    for text, label in zip(texts, node_ids, strict=True):
        digest.update(str(text).encode())
        digest.update(b"\x1f")
        digest.update(label.encode())
        digest.update(b"\x1e")
    return "sup-" + digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Lexical (zero-shot)


@dataclass(frozen=True)
class LexicalParams:
    """Settings of the zero-shot matcher; part of its version hash."""

    text_chars: int = 200
    name_repeats: int = 2
    char_ngrams: tuple[int, int] = (3, 5)
    head_miss_factor: float = 0.4
    candidates: int = 20


class LexicalClassifier:
    """Zero-shot: match a text against every node's name and ancestors, no labels needed.

    A node's document is its own name (repeated, so it outweighs the ancestors) plus its
    ancestors' names; text and documents become word (lightly stemmed) and char_wb n-gram
    vectors and are compared by cosine. Category names in English put the kind of thing last
    ("Drill Bits" are bits, "Office Chair Accessories" are accessories), so a node whose head
    word is missing from the text is scored down by `head_miss_factor`; on hand-written
    products against Google's taxonomy that took the obvious category from under half to
    about three in four.

    Confidence. Without labels there is nothing to calibrate against, so the number cannot
    promise a hit rate. It is a conservative index instead: a best match with its head word
    present sits in the review band and rises with its lead over the best *unrelated* node
    (ancestors and descendants of the winner are not competitors), a match without its head
    word stays low, and nothing exceeds `LEXICAL_MAX_CONFIDENCE` (0.85), so zero-shot results
    never auto-apply at the default 0.9 threshold and a person reviews them.
    """

    name = "tfidf-lexical"
    method = "lexical"

    def __init__(self, taxonomy: Taxonomy, *, params: LexicalParams | None = None) -> None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        self.taxonomy = taxonomy
        self.params = params or LexicalParams()
        nodes = list(taxonomy.nodes.values())
        if not nodes:
            raise InputError.single(taxonomy.name, "taxonomy has no categories to match")
        self.node_ids = [n.id for n in nodes]
        docs = [" ".join([n.name] * self.params.name_repeats + list(n.path[:-1])) for n in nodes]
        self._words = TfidfVectorizer(
            analyzer=_stemmed_words, sublinear_tf=True, use_idf=False, dtype=np.float32
        ).fit(docs)
        self._chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.params.char_ngrams,
            sublinear_tf=True,
            use_idf=False,
            dtype=np.float32,
        ).fit(docs)
        _drop_stop_words(self._words, self._chars)
        self._nodes_t = _stack(self._words.transform(docs), self._chars.transform(docs)).T.tocsr()
        heads = CountVectorizer(
            analyzer=_identity, binary=True, vocabulary=self._words.vocabulary_, dtype=np.float32
        )
        self._heads_t = heads.transform([_head_words(n.name) for n in nodes]).T.tocsr()
        self._ancestry = _ancestry_table(taxonomy, self.node_ids)
        self.version = (
            "lex-"
            + hashlib.sha256(
                (_params_json(self.params, kind="lexical") + taxonomy.content_hash).encode()
            ).hexdigest()[:16]
        )

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        texts = list(texts)
        out: list[Prediction] = []
        step = max(1, _LEXICAL_CELLS // len(self.node_ids))
        for start in range(0, len(texts), step):
            scores, hit, empty = self._scores(texts[start : start + step])
            best, confidence = self._confidence(scores, hit)
            confidence[empty] = 0.0
            out.extend(
                Prediction(None if e else self.node_ids[b], float(c), self.method)
                for b, c, e in zip(best.tolist(), confidence.tolist(), empty.tolist(), strict=True)
            )
        return out

    def top_k(self, texts: Sequence[str], k: int = 5) -> Candidates:
        """Best `k` nodes per text with their match scores (cosine, head-word adjusted)."""
        texts = list(texts)
        out: Candidates = []
        step = max(1, _LEXICAL_CELLS // len(self.node_ids))
        for start in range(0, len(texts), step):
            scores, _, empty = self._scores(texts[start : start + step])
            out.extend(_top_k_lists(scores, empty, k, self.node_ids))
        return out

    def _vectorizers(self) -> list[Any]:
        return [self._words, self._chars]

    def _scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        clean = [t[: self.params.text_chars] for t in _clean(texts)]
        words = self._words.transform(clean)
        x = _stack(words, self._chars.transform(clean))
        cosine = np.asarray((x @ self._nodes_t).todense())
        words.data[:] = 1.0
        hit = np.asarray((words @ self._heads_t).todense()) > 0
        scores = cosine * np.where(hit, 1.0, self.params.head_miss_factor)
        empty = (np.diff(x.indptr) == 0) | (scores.max(axis=1, initial=0.0) <= 0)
        return scores, hit, empty

    def _confidence(self, scores: np.ndarray, hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(scores.shape[0])
        best = scores.argmax(axis=1)
        s1 = scores[rows, best]
        k = min(self.params.candidates, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = scores[rows[:, None], top]
        related = _related(self._ancestry, best[:, None], top)
        # Best unrelated rival among the candidates; if every candidate is related, the
        # weakest candidate bounds the rival from above, which keeps the lead modest.
        rival = np.where(related, -np.inf, top_scores).max(axis=1)
        rival = np.where(np.isfinite(rival), rival, top_scores.min(axis=1) if k > 1 else 0.0)
        lead = np.clip((s1 - rival) / np.maximum(s1, 1e-12), 0.0, 1.0)
        cap = LEXICAL_MAX_CONFIDENCE
        confidence = np.where(
            hit[rows, best], 0.5 + (cap - 0.5) * lead, 0.5 * lead * np.minimum(s1, 1.0)
        )
        return best, np.clip(confidence, 0.0, cap)


def _ancestry_table(taxonomy: Taxonomy, node_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ancestor index at each depth, padded with -1; depth) for every node, so relatedness of
    many node pairs is one fancy-indexing step."""
    position = {node_id: i for i, node_id in enumerate(node_ids)}
    depth = np.array([taxonomy.nodes[n].level for n in node_ids], dtype=np.int64)
    table = np.full((len(node_ids), int(depth.max())), -1, dtype=np.int64)
    for i, node_id in enumerate(node_ids):
        chain = [a.id for a in taxonomy.ancestors(node_id)] + [node_id]
        table[i, : len(chain)] = [position[a] for a in chain]
    return table, depth


def _related(ancestry: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether node a is b, an ancestor of b, or a descendant of b (broadcasting)."""
    table, depth = ancestry
    a, b = np.broadcast_arrays(a, b)
    a_above_b = table[b, np.minimum(depth[a], depth[b]) - 1] == a
    b_above_a = table[a, np.minimum(depth[a], depth[b]) - 1] == b
    return a_above_b | b_above_a


def _stem(word: str) -> str:
    """Fold common English plurals so 'drill' meets 'Drills' and 'knife' meets 'Knives'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ves"):
        return word[:-3] + "f"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if len(word) > 3 and word.endswith("fe"):
        return word[:-1]
    return word


def _stemmed_words(text: str) -> list[str]:
    return [_stem(w) for w in _TOKEN.findall(text.lower())]


def _head_words(name: str) -> list[str]:
    """Last word of each '&'/','/'and' part: 'Shirts & Tops' → shirt, top."""
    heads = []
    for part in _NAME_PARTS.split(name):
        words = _stemmed_words(part)
        if words:
            heads.append(words[-1])
    return heads


def _identity(tokens: list[str]) -> list[str]:
    return tokens


# --------------------------------------------------------------------------------------------
# Choosing, saving, loading


def build_classifier(
    taxonomy: Taxonomy,
    texts: Sequence[str],
    labels: Sequence[str | None],
    *,
    min_labels: int = 30,
    max_examples: int | None = 10_000,
    seed: int = 0,
) -> Classifier:
    """Supervised when at least `min_labels` texts are labelled over at least two categories,
    lexical zero-shot otherwise. Unlabelled texts (label None or blank) are left out.

    Training grows with examples × categories, so a catalogue with many labels trains on at
    most `max_examples` of them, chosen by `balanced_sample` (rare categories kept whole)."""
    if len(texts) != len(labels):
        raise InputError.single(
            "labels", f"{len(labels)} labels for {len(texts)} texts; need one label per text"
        )
    pairs = [
        (text, str(label))
        for text, label in zip(texts, labels, strict=True)
        if label is not None and str(label).strip()
    ]
    if max_examples is not None and len(pairs) > max_examples:
        pairs = balanced_sample(pairs, max_examples)
    if len(pairs) >= min_labels and len({lab for _, lab in pairs}) >= 2:
        labelled_texts, labelled = zip(*pairs, strict=True)
        return train_supervised(list(labelled_texts), list(labelled), taxonomy, seed=seed)
    return LexicalClassifier(taxonomy)


def balanced_sample(pairs: Sequence[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    """At most `limit` (text, label) pairs: each category keeps up to an equal share, the share
    left unused by small categories going to the larger ones. Which texts are kept depends only
    on their content (a hash), so the same data always yields the same sample and model."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for pair in sorted(pairs, key=lambda p: hashlib.sha1(f"{p[1]}\x1f{p[0]}".encode()).digest()):
        by_label.setdefault(pair[1], []).append(pair)
    groups = sorted(by_label.values(), key=len)
    kept: list[tuple[str, str]] = []
    room = limit
    for index, group in enumerate(groups):
        share = room // (len(groups) - index)
        kept += group[:share]
        room -= min(share, len(group))
    return kept


def save_classifier(clf: Classifier, path: str | Path) -> Path:
    """Write a classifier with joblib. Same classifier, same bytes."""
    import joblib

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(clf, SupervisedClassifier | LexicalClassifier):
        _drop_stop_words(*clf._vectorizers())  # predicting may have set them again
    joblib.dump({"format": _FORMAT, "classifier": clf}, target)
    return target


def load_classifier(path: str | Path) -> Classifier:
    """Read a classifier written by `save_classifier`.

    This unpickles: load only files your own deployment wrote.

    Raises:
        InputError: the file is missing or is not a saved skuflow classifier.
    """
    import joblib

    source = str(path)
    if not Path(path).is_file():
        raise InputError.single(source, "classifier file not found")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not ours"
        raise InputError.single(source, f"not a saved classifier ({exc})") from None
    if not isinstance(payload, dict) or not isinstance(
        payload.get("classifier"), SupervisedClassifier | LexicalClassifier
    ):
        raise InputError.single(source, "not a saved skuflow classifier")
    if payload.get("format") != _FORMAT:
        raise InputError.single(
            source, f"saved with format {payload.get('format')!r}; this version reads {_FORMAT}"
        )
    return payload["classifier"]


# --------------------------------------------------------------------------------------------
# Shared helpers


def _clean(texts: Sequence[str]) -> list[str]:
    """Collapse whitespace so prefixes are spent on words, not on layout."""
    return [" ".join(str(t).split()) if t is not None else "" for t in texts]


def _stack(words: csr_matrix, chars: csr_matrix) -> csr_matrix:
    from scipy.sparse import hstack

    stacked = hstack([words, chars], format="csr", dtype=np.float32)
    stacked.data *= np.float32(np.sqrt(0.5))
    return stacked


def _drop_stop_words(*vectorizers: Any) -> None:
    """Drop what would make saved models differ byte for byte between runs: the set of pruned
    terms (a set pickles in hash order) and the memory address scikit-learn keeps to check its
    stop-word list. Neither is needed to predict."""
    for vectorizer in vectorizers:
        for attribute in ("stop_words_", "_stop_words_id"):
            if hasattr(vectorizer, attribute):
                delattr(vectorizer, attribute)


def _top_k_lists(scores: np.ndarray, empty: np.ndarray, k: int, ids: Sequence[str]) -> Candidates:
    if k < 1:
        raise ValueError("k must be at least 1")
    k = min(k, scores.shape[1])
    rows = np.arange(scores.shape[0])[:, None]
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    values = scores[rows, top]
    order = np.lexsort((top, -values), axis=1)  # best first; ties by position, as argmax does
    top, values = top[rows, order], values[rows, order]
    return [
        []
        if is_empty
        else [(ids[i], float(v)) for i, v in zip(idx, val, strict=True) if math.isfinite(v)]
        for idx, val, is_empty in zip(top.tolist(), values.tolist(), empty.tolist(), strict=True)
    ]


def _params_json(params: Any, **extra: Any) -> str:
    from dataclasses import asdict

    return json.dumps({**asdict(params), **extra}, sort_keys=True)
