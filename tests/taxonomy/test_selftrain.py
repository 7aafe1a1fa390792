"""Self-training: a catalogue without labels learns from its own surest zero-shot answers."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import pandas as pd
import pytest

from taxonomy.classifier import ZERO_SHOT_MAX_CONFIDENCE, build_classifier
from taxonomy.importers import load_paths
from taxonomy.model import Taxonomy
from taxonomy.prediction import Candidates, Prediction
from taxonomy.selftrain import SelfTrainedClassifier, SelfTrainParams, _split_real, self_train
from taxonomy.static import StaticEmbeddingClassifier
from taxonomy.supervised import SupervisedClassifier
from taxonomy.text import Text, join_text
from tests.conftest import SHARED_DATA

OA_MINE = SHARED_DATA / "attributes" / "oa_mine"
BRANDS = ["Acme", "Nordia", "Vela", "Kiro", "Tamsin", "Orla", "Brix", "Juno"]
KINDS = {
    "Coffee": ["ground coffee 250g", "espresso beans 1kg", "decaf instant coffee"],
    "Tea": ["green tea 20 bags", "earl grey loose leaf tea", "chamomile herbal tea"],
    "Shoes": ["running shoes size 42", "leather sneakers", "hiking boots waterproof"],
    "Toothbrush": ["electric toothbrush", "soft bristle toothbrush 4 pack", "kids toothbrush"],
    "Sunscreen": ["sunscreen SPF 50 lotion", "mineral sunscreen spray", "sun cream for face"],
    "Guitar": ["acoustic guitar 41 inch", "electric guitar starter kit", "classical guitar"],
}


@pytest.fixture(scope="module")
def catalogue() -> tuple[Taxonomy, list[str], list[str]]:
    """240 made-up offers over six flat categories, brand names mixed in."""
    texts, gold = [], []
    for (category, kinds), brand, extra in itertools.product(KINDS.items(), BRANDS, ["", " new"]):
        for kind in kinds[:: 1 if extra else 2]:
            texts.append(f"{brand} {kind}{extra}")
            gold.append(category)
    return load_paths(sorted(KINDS)), texts, gold


def _accuracy(model, texts: Sequence[Text], gold: list[str], taxonomy: Taxonomy) -> float:
    predicted = model.predict(texts)
    return sum(
        taxonomy[p.node_id].path_text == g for p, g in zip(predicted, gold, strict=True)
    ) / len(gold)


def test_self_training_is_deterministic_and_never_auto_applies(
    catalogue: tuple[Taxonomy, list[str], list[str]],
) -> None:
    taxonomy, texts, _ = catalogue
    first = self_train(taxonomy, texts, StaticEmbeddingClassifier(taxonomy))
    second = self_train(taxonomy, list(texts), StaticEmbeddingClassifier(taxonomy))
    assert isinstance(first, SelfTrainedClassifier) and isinstance(second, SelfTrainedClassifier)
    assert first.rounds[0].check >= SelfTrainParams().min_agreement
    assert first.version == second.version and first.rounds == second.rounds
    assert first.predict(texts) == second.predict(texts)
    confidences = [p.confidence for p in first.predict(texts)]
    assert max(confidences) <= ZERO_SHOT_MAX_CONFIDENCE < 0.9  # below the default auto-apply
    assert {p.method for p in first.predict(texts)} == {"self-trained"}


def test_rounds_stop_when_the_held_out_check_stops_improving(
    catalogue: tuple[Taxonomy, list[str], list[str]],
) -> None:
    taxonomy, texts, _ = catalogue
    params = SelfTrainParams(max_rounds=10)
    model = self_train(taxonomy, texts, StaticEmbeddingClassifier(taxonomy), params=params)
    assert isinstance(model, SelfTrainedClassifier)
    rounds = model.rounds
    assert len(rounds) < params.max_rounds  # it stopped on its own
    assert [r.kept for r in rounds] == [True] * (len(rounds) - 1) + [False]
    kept = [r.check for r in rounds if r.kept]
    assert all(b > a + params.min_gain for a, b in itertools.pairwise(kept))
    assert rounds[-1].check <= kept[-1] + params.min_gain


def test_real_labels_are_the_check_and_zero_shot_must_be_beaten(
    catalogue: tuple[Taxonomy, list[str], list[str]],
) -> None:
    """With a few labels (fewer than the supervised model needs) half are trained on and half
    checked on; zero-shot is round 0, so a student is used only if it beats zero-shot there
    (here it cannot: zero-shot gets every checked label right)."""
    taxonomy, texts, gold = catalogue
    labelled = list(range(0, len(texts), 10))  # 24 labels: below the supervised model's 30
    real_texts: list[Text] = [texts[i] for i in labelled]
    real_labels = [gold[i] for i in labelled]
    zero_shot = StaticEmbeddingClassifier(taxonomy)
    params = SelfTrainParams()
    model = self_train(
        taxonomy, texts, zero_shot, labelled_texts=real_texts, labels=real_labels, params=params
    )
    _, check = _split_real(real_texts, real_labels, params)
    baseline = _accuracy(zero_shot, [t for t, _ in check], [lab for _, lab in check], taxonomy)
    # Zero-shot gets every checked label of these plain offers right: no student can beat it.
    assert baseline == 1.0
    assert model is zero_shot
    assert max(p.confidence for p in model.predict(texts)) <= ZERO_SHOT_MAX_CONFIDENCE
    # The same labels through the one entry point: self-training, not the supervised model.
    sparse: list[str | None] = [None] * len(texts)
    for i in labelled:
        sparse[i] = gold[i]
    chosen = build_classifier(taxonomy, texts, sparse)
    assert not isinstance(chosen, SupervisedClassifier)
    assert max(p.confidence for p in chosen.predict(texts)) <= ZERO_SHOT_MAX_CONFIDENCE


class _HashMatcher:
    """A zero-shot matcher whose answers have nothing to do with the words (as MWPD2020's GS1
    names are far from its offers'): category and confidence from a hash of the text."""

    name, version = "hash", "hash-1"

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.ids = [node.id for node in taxonomy]

    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        digests = [hashlib.sha1(join_text(t).encode()).digest() for t in texts]
        return [
            Prediction(self.ids[d[0] % len(self.ids)], 0.3 + d[1] / 1000, "zero-shot")
            for d in digests
        ]

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        return [[(p.node_id or "", p.confidence)] for p in self.predict(texts)]


def test_a_student_that_disagrees_with_the_surest_answers_is_not_used(
    catalogue: tuple[Taxonomy, list[str], list[str]],
) -> None:
    """Without labels zero-shot is round 0: a student trained on answers it cannot learn (they
    follow no word) reproduces few of the held-out surest ones, and zero-shot is kept."""
    taxonomy, texts, _ = catalogue
    zero_shot = _HashMatcher(taxonomy)
    assert self_train(taxonomy, texts, zero_shot) is zero_shot
    # Without the gate the same student is used: it is the agreement that keeps it out.
    ungated = self_train(taxonomy, texts, zero_shot, params=SelfTrainParams(min_agreement=0.0))
    assert isinstance(ungated, SelfTrainedClassifier)
    assert ungated.rounds[0].check < SelfTrainParams().min_agreement


def test_too_few_texts_keep_zero_shot(catalogue: tuple[Taxonomy, list[str], list[str]]) -> None:
    taxonomy, texts, _ = catalogue
    zero_shot = StaticEmbeddingClassifier(taxonomy)
    assert self_train(taxonomy, texts[:20], zero_shot) is zero_shot


@pytest.mark.skipif(not OA_MINE.is_dir(), reason=f"needs {OA_MINE} (../shared/data)")
def test_self_training_beats_zero_shot_on_real_offer_titles() -> None:
    """OA-Mine's Amazon titles over its ten category names, no label used."""
    frame = pd.concat(
        pd.read_csv(OA_MINE / f"{split}_offers.csv", dtype=str, keep_default_na=False)
        for split in ("train", "validation")
    )
    taxonomy = load_paths(sorted(set(frame["category"])))
    texts, gold = frame["title"].tolist(), frame["category"].tolist()
    zero_shot = StaticEmbeddingClassifier(taxonomy)
    before = _accuracy(zero_shot, texts, gold, taxonomy)
    after = _accuracy(self_train(taxonomy, texts, zero_shot), texts, gold, taxonomy)
    assert before >= 0.8
    assert after >= before + 0.03
