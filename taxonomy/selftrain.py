"""Self-training: a catalogue without labels teaches the supervised model with its own surest
zero-shot answers.

A zero-shot matcher reads only category names; the supervised model learns what a catalogue's
own offers look like (brands, model codes, its suppliers' wording). So: take the zero-shot
answers the catalogue agrees with most — confident, and consistent across the hierarchy (the
predicted leaf's top-level category is also the best top-level category on its own) — train
the supervised model on them, predict every record again, take the new surest answers, and
repeat while a held-out check improves.

The check. With a few real labels (approved review decisions, categories given by the
supplier), half of them are held out and the check is accuracy on them; zero-shot itself is
round 0, so a student must beat it to be used. Without any, the check is agreement with a
fixed set of the zero-shot's very surest answers, held out from every round's training.
Zero-shot is round 0 here too: a student is used only if it reproduces at least
`min_agreement` (90 %) of those answers. Where the category names are close to the offers'
words (ten flat categories of real titles) students reproduce all of them and add 4–8 points;
where they are far (MWPD2020's GS1 names) the pseudo-labels are mostly wrong, a student
reproduces about half, and it would lose 4 points, so zero-shot is kept. A later round must
raise the agreement further: a student that drifts away from what is almost certainly right
stops the rounds.

Confidence. The student's confidences are calibrated against pseudo-labels, not against
truth, so they are capped at `ZERO_SHOT_MAX_CONFIDENCE` (0.85) like zero-shot's: nothing a
self-trained model says auto-applies. With enough real labels `build_classifier` trains the
ordinary supervised model instead, calibrated on them.

Everything is deterministic: orderings break ties by a hash of the text, and the supervised
model is deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from taxonomy.model import Taxonomy
from taxonomy.prediction import Candidates, Classifier, Prediction, params_json
from taxonomy.static import ZERO_SHOT_MAX_CONFIDENCE, StaticEmbeddingClassifier
from taxonomy.supervised import SupervisedClassifier, SupervisedParams, train_supervised
from taxonomy.text import Text, join_text


@dataclass(frozen=True)
class SelfTrainParams:
    """Settings of self-training; part of the student's version hash."""

    share: float = 0.5
    """Share of each category's consistent zero-shot answers taken as pseudo-labels, surest
    first: the top half of a category is mostly right, the bottom half mostly noise."""
    check_share: float = 0.1
    """Share of each category's pseudo-labels (its surest) held out as the check when there
    are no real labels to check on."""
    min_per_category: int = 3
    """A category with fewer pseudo-labels is left out of training: one or two examples teach
    the SVM a brand name, not a category."""
    min_texts: int = 50
    """Below this many texts there is too little to learn from; zero-shot is kept."""
    min_check_labels: int = 10
    """Real labels needed to check on them instead of on the zero-shot's surest answers."""
    real_weight: int = 5
    """Times each real label is repeated in training: a person's decision outweighs a guess."""
    min_agreement: float = 0.9
    """Without real labels, the share of the held-out surest zero-shot answers a student must
    reproduce to be used. On MWPD2020 the first student reproduced 48 % (and was 4 points less
    accurate than zero-shot); on OA-Mine and AE-110k 100 % (4–8 points more accurate)."""
    max_rounds: int = 3
    min_gain: float = 0.002
    """A round must raise the check by this much to be kept; otherwise the rounds stop."""
    max_examples: int = 8_000
    """Pseudo-labels trained on per round, at most (each category keeps its surest)."""
    student: SupervisedParams = field(default_factory=lambda: SupervisedParams(folds=2))
    """Two calibration folds: the student's confidences are capped anyway, and they only rank
    the next round's pseudo-labels."""


@dataclass(frozen=True)
class RoundReport:
    """One round: how many pseudo-labels it trained on and what the check said."""

    round: int
    examples: int
    check: float
    kept: bool


@dataclass(eq=False)
class SelfTrainedClassifier:
    """A supervised model trained on pseudo-labels (and any real ones), confidences capped
    below auto-apply. Build it with `self_train`."""

    student: SupervisedClassifier
    rounds: list[RoundReport]
    check_kind: str
    """"labels" (accuracy on held-out real labels) or "zero-shot" (agreement with the
    zero-shot's surest answers)."""
    version: str
    cap: float = ZERO_SHOT_MAX_CONFIDENCE
    name: str = "self-trained-svm"
    method: str = "self-trained"

    @property
    def taxonomy(self) -> Taxonomy:
        return self.student.taxonomy

    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        return [
            Prediction(p.node_id, min(p.confidence, self.cap), self.method)
            for p in self.student.predict(texts)
        ]

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        return self.student.top_k(texts, k)

    @property
    def vectorizers(self) -> list:
        return self.student.vectorizers


def self_train(
    taxonomy: Taxonomy,
    texts: Sequence[Text],
    zero_shot: Classifier,
    *,
    labelled_texts: Sequence[Text] = (),
    labels: Sequence[str] = (),
    params: SelfTrainParams | None = None,
    seed: int = 0,
) -> Classifier:
    """The best of zero-shot and its self-trained students on the held-out check.

    Args:
        taxonomy: the tree to classify into.
        texts: the catalogue's texts (unlabelled; labelled ones may be among them).
        zero_shot: the matcher that gives the first pseudo-labels.
        labelled_texts: texts with real labels (approved decisions, given categories).
        labels: their node ids.
        params: self-training settings.
        seed: the student's seed.

    Returns:
        A `SelfTrainedClassifier`, or `zero_shot` itself when there is too little to learn
        from, no student beat it on real labels, or (without them) none reproduced
        `min_agreement` of its surest answers.
    """
    params = params or SelfTrainParams()
    texts = list(texts)
    labelled_texts, labels = list(labelled_texts), [str(label) for label in labels]
    if len(texts) < params.min_texts:
        return zero_shot
    keys = np.array([_text_key(t) for t in texts])
    train_real, check_real = _split_real(labelled_texts, labels, params)
    predictions = zero_shot.predict(texts)
    node = np.array([p.node_id or "" for p in predictions], dtype=object)
    confidence = np.array([p.confidence for p in predictions])
    # Texts with a real label are never pseudo-labelled: their label is known, and a held-out
    # one must not be trained on.
    known = np.isin(keys, [_text_key(t) for t in labelled_texts])
    consistent = _consistent(taxonomy, texts, node) & ~known
    check_kind = "labels" if check_real else "zero-shot"
    if check_real:
        check_texts, check_labels = [t for t, _ in check_real], [lab for _, lab in check_real]
        check_rows = np.zeros(len(texts), dtype=bool)
        best_score = _accuracy(zero_shot, check_texts, check_labels)
    else:
        check_rows = _surest(node, confidence, consistent, keys, params.check_share * params.share)
        check_texts = [texts[i] for i in np.flatnonzero(check_rows)]
        check_labels = node[check_rows].tolist()
        best_score = -1.0
    if not check_labels:
        return zero_shot
    best: SupervisedClassifier | None = None
    rounds: list[RoundReport] = []
    for number in range(1, params.max_rounds + 1):
        chosen = _surest(node, confidence, consistent, keys, params.share) & ~check_rows
        chosen = _cap(chosen, node, confidence, keys, params)
        repeated = train_real * params.real_weight
        train_texts = [texts[i] for i in np.flatnonzero(chosen)] + [t for t, _ in repeated]
        train_labels = node[chosen].tolist() + [lab for _, lab in repeated]
        if len(set(train_labels)) < 2:
            break
        student = train_supervised(
            train_texts, train_labels, taxonomy, seed=seed, params=params.student
        )
        score = _accuracy(student, check_texts, check_labels)
        agrees = check_kind == "labels" or score >= params.min_agreement
        kept = agrees and score > best_score + params.min_gain
        rounds.append(RoundReport(number, len(train_texts), score, kept))
        if not kept:
            break
        best, best_score = student, score
        predicted = student.predict(texts)
        node = np.array([p.node_id or "" for p in predicted], dtype=object)
        confidence = np.array([p.confidence for p in predicted])
        consistent = _consistent(taxonomy, texts, node) & ~known
    if best is None:
        return zero_shot
    version = (
        "self-"
        + hashlib.sha256(
            (best.version + params_json(params, kind="self-train", check=check_kind)).encode()
        ).hexdigest()[:16]
    )
    return SelfTrainedClassifier(
        student=best, rounds=rounds, check_kind=check_kind, version=version
    )


def _consistent(taxonomy: Taxonomy, texts: list[Text], node: np.ndarray) -> np.ndarray:
    """Whether each predicted node's top-level category is also the best top-level category
    when only top-level categories compete (always true for a flat taxonomy)."""
    roots = taxonomy.roots()
    if len(roots) == len(taxonomy):
        return node != ""
    root_of = {n.id: (taxonomy.ancestors(n.id)[0].id if n.parent_id else n.id) for n in taxonomy}
    root_matcher = _root_matcher(taxonomy)
    best_root = np.array([p.node_id or "" for p in root_matcher.predict(texts)], dtype=object)
    predicted_root = np.array([root_of.get(n, "") for n in node], dtype=object)
    return (node != "") & (predicted_root == best_root)


def _root_matcher(taxonomy: Taxonomy) -> StaticEmbeddingClassifier:
    roots = Taxonomy.from_nodes(f"{taxonomy.name}-roots", taxonomy.roots())
    roots.descriptions = {r.id: d for r in roots if (d := taxonomy.descriptions.get(r.id))}
    roots.synonyms = {r.id: s for r in roots if (s := taxonomy.synonyms.get(r.id))}
    return StaticEmbeddingClassifier(roots)


def _surest(
    node: np.ndarray, confidence: np.ndarray, consistent: np.ndarray, keys: np.ndarray, share: float
) -> np.ndarray:
    """Per predicted category, its surest `share` of consistent answers (at least one)."""
    chosen = np.zeros(node.size, dtype=bool)
    eligible = np.flatnonzero(consistent)
    # Surest first; equal confidences in text-hash order, so the choice is reproducible.
    order = eligible[np.lexsort((keys[eligible], -confidence[eligible]))]
    by_category: dict[str, list[int]] = {}
    for i in order.tolist():
        by_category.setdefault(node[i], []).append(i)
    for members in by_category.values():
        take = max(1, int(np.ceil(share * len(members))))
        chosen[members[:take]] = True
    return chosen


def _cap(
    chosen: np.ndarray,
    node: np.ndarray,
    confidence: np.ndarray,
    keys: np.ndarray,
    params: SelfTrainParams,
) -> np.ndarray:
    """Drop categories with too few pseudo-labels; keep at most `max_examples`, each category
    its surest, small categories whole (so the rare ones are not crowded out)."""
    rows = np.flatnonzero(chosen)
    order = rows[np.lexsort((keys[rows], -confidence[rows]))]
    by_category: dict[str, list[int]] = {}
    for i in order.tolist():
        by_category.setdefault(node[i], []).append(i)
    groups = sorted((m for m in by_category.values() if len(m) >= params.min_per_category), key=len)
    out = np.zeros(node.size, dtype=bool)
    room = params.max_examples
    for index, members in enumerate(groups):
        share = room // (len(groups) - index)
        out[members[:share]] = True
        room -= min(share, len(members))
    return out


def _split_real(
    texts: list[Text], labels: list[str], params: SelfTrainParams
) -> tuple[list[tuple[Text, str]], list[tuple[Text, str]]]:
    """(train, check) halves of the real labels by text hash; all train when too few."""
    pairs = list(zip(texts, labels, strict=True))
    if len(pairs) < params.min_check_labels:
        return pairs, []
    ordered = sorted(pairs, key=lambda p: _text_key(p[0]))
    return ordered[1::2], ordered[0::2]


def _accuracy(model: Classifier, texts: list[Text], labels: list[str]) -> float:
    predicted = model.predict(texts)
    return float(np.mean([p.node_id == lab for p, lab in zip(predicted, labels, strict=True)]))


def _text_key(text: Text) -> str:
    return hashlib.sha1(join_text(text).encode()).hexdigest()
