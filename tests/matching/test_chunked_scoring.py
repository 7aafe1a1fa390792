"""Scoring candidates chunk by chunk (what lets a million-record dedupe fit in memory) gives
what scoring the whole feature matrix at once gives, to the bit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from matching import features as features_module
from matching import model as model_module
from matching.blocking import candidate_pairs
from matching.features import FeatureSpace
from matching.model import score_candidates, train_supervised
from matching.pairs import read_pairs
from matching.records import assign_roles, prepare
from matching.unsupervised import comparison_levels, fit_fellegi_sunter_levels, rule_matches
from tests.matching.conftest import listings

COLUMNS = ["Product Name", "Brand", "MFR Part No", "UPC"]


def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 97 pairs: every candidate set here spans many, with a ragged last one."""
    monkeypatch.setattr(features_module, "CHUNK_PAIRS", 97)
    monkeypatch.setattr(model_module, "CHUNK_PAIRS", 97)


def test_unsupervised_chunks_fit_and_score_as_the_whole_matrix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows, _ = listings(1500, seed=3)
    table = prepare({c: [r[c] for r in rows] for c in COLUMNS}, assign_roles(COLUMNS))
    left, right = candidate_pairs(table)
    assert left.size > 10 * 97
    space = FeatureSpace.build(table)

    whole = space.features(left, right)
    fs = fit_fellegi_sunter_levels(comparison_levels(whole), rule_matches(whole))
    digest = hashlib.sha256(b"unsupervised" + whole.tobytes()).hexdigest()[:12]

    _small_chunks(monkeypatch)
    fitted, probability = score_candidates(space, left, right)
    assert fitted.kind == "unsupervised"
    assert fitted.version == f"unsupervised-{digest}"
    assert fitted.fellegi_sunter is not None
    assert fitted.fellegi_sunter.prior == fs.prior
    for ours, theirs in zip(
        fitted.fellegi_sunter.m + fitted.fellegi_sunter.u, fs.m + fs.u, strict=True
    ):
        assert np.array_equal(ours, theirs)
    assert np.array_equal(probability, fs.probability(whole))
    assert probability.max() > 0.5  # the relistings are found, not everything scored 0


def test_a_trained_model_scores_chunks_as_one_batch(
    pairs_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = read_pairs(pairs_csv)
    model = train_supervised(pairs.records, pairs.left, pairs.right, pairs.labels)
    left, right = candidate_pairs(pairs.records)
    assert left.size > 10 * 97
    space = model.feature_space(pairs.records)
    whole = model.score_features(space, left, right)[0]
    _small_chunks(monkeypatch)
    same, probability = score_candidates(space, left, right, model)
    assert same is model
    assert np.array_equal(probability, whole)


def test_no_candidates_score_nothing() -> None:
    table = prepare({"title": ["Bosch GSR 12V-15 drill"]}, assign_roles(["title"]))
    fitted, probability = score_candidates(
        FeatureSpace.build(table), np.zeros(0, np.int64), np.zeros(0, np.int64)
    )
    assert probability.size == 0 and fitted.kind == "unsupervised"
