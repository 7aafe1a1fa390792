"""Classifiers on real data: MWPD2020 web offers (GS1 labels) and Google's taxonomy.

Bounds below were set after measuring on this subsample (accuracy ~0.68, held-out ECE ~0.02,
~0.98 right at confidence >= 0.9) and leave room for the noise of a 1,500-text hold-out.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalog.calibration import expected_calibration_error, fit_calibrator
from catalog.errors import InputError
from taxonomy.classifier import (
    LEXICAL_MAX_CONFIDENCE,
    ZERO_SHOT_MAX_CONFIDENCE,
    Classifier,
    LexicalClassifier,
    SelfTrainedClassifier,
    StaticEmbeddingClassifier,
    SupervisedClassifier,
    SupervisedParams,
    build_classifier,
    load_classifier,
    save_classifier,
    train_supervised,
)
from taxonomy.embeddings import EmbeddingClassifier
from taxonomy.importers import load_google, load_paths
from taxonomy.model import Taxonomy
from tests.conftest import SHARED_DATA, shared_path

MWPD = SHARED_DATA / "products" / "mwpd2020" / "mwpd2020_train_validation.csv"
GOOGLE_TXT = SHARED_DATA / "taxonomies" / "google-2021-09-21" / "taxonomy-with-ids.en-US.txt"
N_TRAIN = 1500


@pytest.fixture(scope="module")
def offers() -> tuple[list[str], list[str]]:
    frame = pd.read_csv(shared_path(MWPD), dtype=str, keep_default_na=False).sample(
        n=3000, random_state=0
    )
    texts = (frame["Name"] + " " + frame["CategoryText"] + " " + frame["Description"]).tolist()
    labels = (frame["lvl1"] + " > " + frame["lvl2"] + " > " + frame["lvl3"]).tolist()
    return texts, labels


@pytest.fixture(scope="module")
def gs1(offers: tuple[list[str], list[str]]) -> Taxonomy:
    return load_paths(offers[1], name="gs1-mwpd")


@pytest.fixture(scope="module")
def trained(offers: tuple[list[str], list[str]], gs1: Taxonomy) -> SupervisedClassifier:
    texts, labels = offers
    return train_supervised(texts[:N_TRAIN], labels[:N_TRAIN], gs1, seed=0)


@pytest.fixture(scope="module")
def held_out(
    offers: tuple[list[str], list[str]], trained: SupervisedClassifier
) -> tuple[list[str], np.ndarray, np.ndarray, list[str | None]]:
    texts, labels = offers[0][N_TRAIN:], offers[1][N_TRAIN:]
    predictions = trained.predict(texts)
    confidence = np.array([p.confidence for p in predictions])
    correct = np.array([p.node_id == label for p, label in zip(predictions, labels, strict=True)])
    return texts, confidence, correct, [p.node_id for p in predictions]


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return load_google(shared_path(GOOGLE_TXT))


@pytest.fixture(scope="module")
def lexical(google: Taxonomy) -> LexicalClassifier:
    return LexicalClassifier(google)


# ---- supervised -----------------------------------------------------------------------------


def test_supervised_predicts_nodes_whose_levels_agree(
    trained: SupervisedClassifier, gs1: Taxonomy, held_out: tuple
) -> None:
    _, confidence, correct, node_ids = held_out
    assert isinstance(trained, Classifier)
    assert all(node_id in gs1 for node_id in node_ids)
    for node_id in set(node_ids):
        node = gs1.nodes[node_id]
        assert [a.path for a in gs1.ancestors(node_id)] == [
            node.path[:depth] for depth in range(1, node.level)
        ]
    assert np.all((confidence >= 0) & (confidence <= 1))
    assert correct.mean() > 0.6


def test_held_out_confidence_is_calibrated(held_out: tuple) -> None:
    _, confidence, correct, _ = held_out
    assert expected_calibration_error(confidence, correct) < 0.06
    sure = confidence >= 0.9
    assert sure.mean() > 0.2  # the auto-apply band is actually used
    assert correct[sure].mean() >= 0.88


def test_confidence_never_falls_as_either_stage_grows_surer(
    trained: SupervisedClassifier,
) -> None:
    grid = np.linspace(-1.0, 5.0, 301)
    root, node = np.meshgrid(grid, grid, indexing="ij")
    confidence = trained.calibration(root.ravel(), node.ravel()).reshape(root.shape)
    assert np.all(np.diff(confidence, axis=0) >= -1e-12)  # surer about the top level
    assert np.all(np.diff(confidence, axis=1) >= -1e-12)  # surer about the node within it
    assert confidence.min() >= 0 and confidence.max() <= 1


def test_top_k_starts_with_the_prediction(trained: SupervisedClassifier, held_out: tuple) -> None:
    texts, _, _, node_ids = held_out
    candidates = trained.top_k(texts[:200], k=5)
    assert all(len(c) == 5 and len({n for n, _ in c}) == 5 for c in candidates)
    assert [c[0][0] for c in candidates] == node_ids[:200]
    assert all(c[i][1] >= c[i + 1][1] for c in candidates for i in range(1, 4))


def test_text_fields_are_read_title_first() -> None:
    frame = pd.read_csv(shared_path(MWPD), dtype=str, keep_default_na=False).head(400)
    fields = list(zip(frame["Name"], frame["CategoryText"], frame["Description"], strict=True))
    labels = (frame["lvl1"] + " > " + frame["lvl2"] + " > " + frame["lvl3"]).tolist()
    model = train_supervised(fields, labels, load_paths(labels), seed=0)
    assert model.predict([fields[0]])[0].node_id is not None
    # A title alone is a valid input too; the other-fields block is then empty.
    assert model.predict([fields[0][0]])[0].node_id is not None
    assert model.top_k([("",)]) == [[]]


def test_empty_text_predicts_nothing(trained: SupervisedClassifier) -> None:
    [empty, blank] = trained.predict(["", "   \n "])
    assert empty.node_id is None and empty.confidence == 0.0
    assert blank.node_id is None and trained.top_k([""]) == [[]]


def test_training_is_deterministic_and_survives_save_load(
    offers: tuple[list[str], list[str]], gs1: Taxonomy, tmp_path: Path
) -> None:
    texts, labels = offers[0][:300], offers[1][:300]
    probe = offers[0][2000:2300]
    first = train_supervised(texts, labels, gs1, seed=0)
    second = train_supervised(texts, labels, gs1, seed=0)
    assert first.version == second.version
    assert first.predict(probe) == second.predict(probe)
    assert first.top_k(probe, 3) == second.top_k(probe, 3)

    path_a = save_classifier(first, tmp_path / "a.joblib")
    path_b = save_classifier(second, tmp_path / "b.joblib")
    assert path_a.read_bytes() == path_b.read_bytes()
    loaded = load_classifier(path_a)
    assert loaded.version == first.version
    assert loaded.predict(probe) == first.predict(probe)

    small = train_supervised(texts[:150], labels[:150], gs1, seed=0)
    assert small.version != first.version

    # Two trainings at once in threads (as a thread-pool task runner would) still agree.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda _: train_supervised(texts[:150], labels[:150], gs1), range(2)))
    assert all(run.predict(probe) == small.predict(probe) for run in runs)


def test_fits_in_worker_processes_make_the_model_this_process_makes(
    offers: tuple[list[str], list[str]], gs1: Taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool only starts for big fits (`PARALLEL_FIT_WORK`); forced on for a small one,
    its model is the sequential one: same predictions, same confidences."""
    import taxonomy.supervised as supervised

    texts, labels = offers[0][:600], offers[1][:600]
    probe = offers[0][2000:2300]
    here = train_supervised(texts, labels, gs1, seed=0, params=SupervisedParams(jobs=1))
    monkeypatch.setattr(supervised, "PARALLEL_FIT_WORK", 0)
    pooled = train_supervised(texts, labels, gs1, seed=0, params=SupervisedParams(jobs=2))
    assert pooled.predict(probe) == here.predict(probe)
    assert pooled.top_k(probe, 3) == here.top_k(probe, 3)


def test_labels_must_belong_to_the_taxonomy(
    offers: tuple[list[str], list[str]], gs1: Taxonomy
) -> None:
    texts, labels = offers[0][:40], list(offers[1][:40])
    labels[6] = "Computing > Nope"
    with pytest.raises(InputError) as caught:
        train_supervised(texts, labels, gs1)
    assert caught.value.problems[0].row == 7
    assert "Computing > Nope" in str(caught.value)
    with pytest.raises(InputError, match="at least 2 distinct"):
        train_supervised(texts[:5], [offers[1][0]] * 5, gs1)
    with pytest.raises(InputError, match="one label per text"):
        train_supervised(texts, labels[:10], gs1)


def test_build_classifier_needs_enough_labels(
    offers: tuple[list[str], list[str]], gs1: Taxonomy
) -> None:
    texts = offers[0][:80]
    sparse: list[str | None] = [None] * 80
    sparse[:10] = offers[1][:10]
    # Too few labels: zero-shot, self-trained on the texts; never sure enough to auto-apply.
    few = build_classifier(gs1, texts, sparse)
    assert isinstance(few, SelfTrainedClassifier | StaticEmbeddingClassifier | EmbeddingClassifier)
    assert max(p.confidence for p in few.predict(texts)) <= ZERO_SHOT_MAX_CONFIDENCE
    enough: list[str | None] = list(offers[1][:40]) + [None] * 40
    chosen = build_classifier(gs1, texts, enough)
    assert isinstance(chosen, SupervisedClassifier)
    assert chosen.n_train == 40
    assert chosen.predict(texts[:3])[0].method == "supervised"


def test_load_classifier_refuses_other_files(tmp_path: Path) -> None:
    import joblib

    with pytest.raises(InputError, match="not found"):
        load_classifier(tmp_path / "missing.joblib")
    other = tmp_path / "other.joblib"
    joblib.dump({"weights": [1, 2]}, other)
    with pytest.raises(InputError, match="not a saved skuflow classifier"):
        load_classifier(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="not a saved classifier"):
        load_classifier(text)


# ---- lexical (zero-shot) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_under"),
    [
        ("Cordless drill 18V lithium-ion", "Hardware > Tools"),
        ("Baby stroller lightweight foldable", "Baby & Toddler > Baby Transport"),
        ("LED light bulb E27 9W warm white", "Home & Garden > Lighting"),
        ("Wireless bluetooth headphones noise cancelling", "Electronics > Audio"),
        ("Garden hose 50 ft expandable", "Home & Garden > Lawn & Garden"),
        ("Shampoo for dry hair 400ml", "Health & Beauty > Personal Care > Hair Care"),
    ],
)
def test_lexical_finds_the_obvious_google_category(
    lexical: LexicalClassifier, google: Taxonomy, text: str, expected_under: str
) -> None:
    [prediction] = lexical.predict([text])
    assert prediction.method == "lexical"
    assert prediction.node_id is not None
    path = google.nodes[prediction.node_id].path_text
    assert (path + " >").startswith(expected_under + " >"), path
    assert 0.5 <= prediction.confidence <= LEXICAL_MAX_CONFIDENCE


def test_lexical_never_claims_auto_apply_confidence(
    lexical: LexicalClassifier, google: Taxonomy, offers: tuple[list[str], list[str]]
) -> None:
    texts = offers[0][:1000] + ["", "xyzzy qwv"]
    predictions = lexical.predict(texts)
    confidence = np.array([p.confidence for p in predictions])
    assert confidence.max() <= LEXICAL_MAX_CONFIDENCE
    assert all(p.node_id is None or p.node_id in google for p in predictions)
    assert predictions[-2].node_id is None and predictions[-2].confidence == 0.0
    candidates = lexical.top_k(texts[:50], k=3)
    assert [c[0][0] for c in candidates] == [p.node_id for p in predictions[:50]]


def test_lexical_version_follows_the_taxonomy(lexical: LexicalClassifier, gs1: Taxonomy) -> None:
    assert LexicalClassifier(gs1).version == LexicalClassifier(load_paths(gs1.nodes)).version
    assert LexicalClassifier(gs1).version != lexical.version


# ---- calibration helpers --------------------------------------------------------------------


def test_expected_calibration_error_on_known_cases() -> None:
    assert expected_calibration_error(np.full(10, 0.9), np.array([1] * 9 + [0])) == pytest.approx(
        0.0
    )
    assert expected_calibration_error(np.full(4, 0.9), np.array([1, 0, 1, 0])) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        expected_calibration_error(np.ones(3), np.ones(2))


def test_calibrator_is_monotone_and_modest_about_small_steps() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 3, 4000)
    correct = rng.uniform(size=4000) < 1 / (1 + np.exp(-(scores - 1.0) * 2))
    calibrator = fit_calibrator(scores, correct)
    grid = np.linspace(-1, 4, 500)
    out = calibrator(grid)
    assert np.all(np.diff(out) >= 0) and out.min() >= 0 and out.max() < 1
    assert abs(float(calibrator(np.array([1.0]))[0]) - 0.5) < 0.1
    # Three right answers above everything else are not proof of certainty.
    tiny = fit_calibrator(np.array([0.1, 0.2, 0.3, 5.0, 6.0, 7.0]), np.array([0, 1, 0, 1, 1, 1]))
    assert tiny(np.array([10.0]))[0] < 0.9


def test_training_sample_is_capped_balanced_and_order_independent() -> None:
    from collections import Counter

    from taxonomy.classifier import balanced_sample

    pairs = (
        [(f"drill {i}", "a") for i in range(100)]
        + [(f"glove {i}", "b") for i in range(5)]
        + [(f"cable {i}", "c") for i in range(30)]
    )
    sample = balanced_sample(pairs, 40)
    counts = Counter(label for _, label in sample)
    assert len(sample) == 40
    assert counts["b"] == 5  # a rare category is kept whole
    assert abs(counts["a"] - counts["c"]) <= 1  # the rest is shared evenly
    assert sorted(sample) == sorted(balanced_sample(list(reversed(pairs)), 40))
