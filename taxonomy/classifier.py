"""Choosing, saving and loading product classifiers over a Taxonomy.

Supervised (`taxonomy.supervised`) when the user has labels; without them, zero-shot
(`taxonomy.static`, the packaged static embedding model; MiniLM when the `embeddings` extra is
installed) and, given the catalogue's texts, a student self-trained on its surest answers
(`taxonomy.selftrain`). All predict taxonomy node ids, so levels never contradict. This module
is the entry point other packages import from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from catalog.collector import collector_paused
from catalog.errors import InputError
from taxonomy.lexical import LEXICAL_MAX_CONFIDENCE, LexicalClassifier, LexicalParams
from taxonomy.model import Taxonomy
from taxonomy.prediction import Candidates, Classifier, Prediction
from taxonomy.selftrain import SelfTrainedClassifier, SelfTrainParams, self_train
from taxonomy.static import ZERO_SHOT_MAX_CONFIDENCE, StaticEmbeddingClassifier
from taxonomy.supervised import SupervisedClassifier, SupervisedParams, train_supervised
from taxonomy.text import Text, drop_stop_words

__all__ = [
    "LEXICAL_MAX_CONFIDENCE",
    "Candidates",
    "Classifier",
    "LexicalClassifier",
    "LexicalParams",
    "MODEL_FORMAT",
    "Prediction",
    "SelfTrainParams",
    "SelfTrainedClassifier",
    "StaticEmbeddingClassifier",
    "SupervisedClassifier",
    "SupervisedParams",
    "balanced_sample",
    "build_classifier",
    "load_classifier",
    "save_classifier",
    "train_supervised",
    "zero_shot_classifier",
    "ZERO_SHOT_MAX_CONFIDENCE",
]

MODEL_FORMAT = 2
"""Saved-file format; 2 is the two-stage supervised model with field-aware features."""


@collector_paused()
def build_classifier(
    taxonomy: Taxonomy,
    texts: Sequence[Text],
    labels: Sequence[str | None],
    *,
    min_labels: int = 30,
    max_examples: int | None = 10_000,
    seed: int = 0,
    self_training: SelfTrainParams | None = None,
) -> Classifier:
    """Supervised when at least `min_labels` texts are labelled over at least two categories;
    otherwise zero-shot, self-trained on the catalogue's own texts when there are enough of
    them (the unlabelled ones count: label None or blank), with any labels as real labels.

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
    zero_shot = zero_shot_classifier(taxonomy)
    real = [(text, node.id) for text, label in pairs if (node := taxonomy.resolve(label))]
    return self_train(
        taxonomy,
        texts,
        zero_shot,
        labelled_texts=[text for text, _ in real],
        labels=[label for _, label in real],
        params=self_training,
        seed=seed,
    )


def zero_shot_classifier(taxonomy: Taxonomy) -> Classifier:
    """MiniLM sentence embeddings when the `embeddings` extra is installed, the packaged static
    embedding model otherwise (numpy only; on MWPD2020 it finds the GS1 segment 2.8 times as
    often as the lexical matcher, at over 5,000 records per CPU-second)."""
    from taxonomy.embeddings import EmbeddingClassifier, embeddings_available

    if embeddings_available():
        return EmbeddingClassifier(taxonomy)
    return StaticEmbeddingClassifier(taxonomy)


def balanced_sample(pairs: Sequence[tuple[Text, str]], limit: int) -> list[tuple[Text, str]]:
    """At most `limit` (text, label) pairs: each category keeps up to an equal share, the share
    left unused by small categories going to the larger ones. Which texts are kept depends only
    on their content (a hash), so the same data always yields the same sample and model."""
    by_label: dict[str, list[tuple[Text, str]]] = {}
    for pair in sorted(
        pairs, key=lambda p: hashlib.sha1(f"{p[1]}\x1f{_key(p[0])}".encode()).digest()
    ):
        by_label.setdefault(pair[1], []).append(pair)
    groups = sorted(by_label.values(), key=len)
    kept: list[tuple[Text, str]] = []
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
    if isinstance(clf, SupervisedClassifier | LexicalClassifier | SelfTrainedClassifier):
        drop_stop_words(*clf.vectorizers)  # predicting may have set them again
    joblib.dump({"format": MODEL_FORMAT, "classifier": clf}, target)
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
    except Exception as exc:  # any unpickling failure means "not ours"
        raise InputError.single(source, f"not a saved classifier ({exc})") from None
    from taxonomy.embeddings import EmbeddingClassifier

    known = (
        SupervisedClassifier
        | LexicalClassifier
        | EmbeddingClassifier
        | StaticEmbeddingClassifier
        | SelfTrainedClassifier
    )
    if not isinstance(payload, dict) or not isinstance(payload.get("classifier"), known):
        raise InputError.single(source, "not a saved skuflow classifier")
    if payload.get("format") != MODEL_FORMAT:
        raise InputError.single(
            source,
            f"saved with format {payload.get('format')!r}; this version reads {MODEL_FORMAT}",
        )
    return payload["classifier"]


def _key(text: Text) -> str:
    return text if isinstance(text, str) else "\x1d".join(text)
