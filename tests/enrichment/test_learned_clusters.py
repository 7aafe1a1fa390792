"""Word clusters learned from the training texts without labels: deterministic, they place
words written alike in the same cluster, and prediction's compiled feature rows give the very
emissions of the cluster feature strings training builds."""

from __future__ import annotations

import random

import numpy as np

from enrichment.learned.clusters import WordClusters, build_clusters, cluster_features
from enrichment.learned.compiled import CompiledFeatures
from enrichment.learned.examples import prepare_training
from enrichment.learned.features import TokenFeatures
from enrichment.learned.gazetteer import Gazetteer
from enrichment.learned.model import _field_texts, _gazetteer_entries
from enrichment.learned.tagger import CRFParams, CRFTagger, train_crf
from enrichment.learned.tokens import columns_of
from tests.enrichment.learned_data import records

BRANDS = [f"brand{k}" for k in range(12)]
COLOURS = [f"colour{k}" for k in range(12)]


def _texts(seed: int) -> list[list[str]]:
    """Titles `<brand> women's shoe , <colour> , size 9`: brands and colours each share
    their contexts."""
    rng = random.Random(seed)
    return [
        [rng.choice(BRANDS), "women's", "shoe", ",", rng.choice(COLOURS), ",", "size", "9"]
        for _ in range(300)
    ]


def test_clusters_are_deterministic_and_saved_whole() -> None:
    first, second = build_clusters(_texts(1)), build_clusters(_texts(1))
    assert first == second
    assert WordClusters.from_json(first.to_json()) == first


def test_words_in_the_same_contexts_share_a_cluster() -> None:
    clusters = build_clusters(_texts(2))
    coarse = {word: ids[0] for word, ids in clusters.ids.items()}
    assert len({coarse[b] for b in BRANDS}) == 1
    assert len({coarse[c] for c in COLOURS}) == 1
    assert coarse[BRANDS[0]] != coarse[COLOURS[0]]


def test_a_word_in_one_record_only_has_no_cluster() -> None:
    texts = [*_texts(3), ["zorblax", "women's", "shoe"]]
    clusters = build_clusters(texts)
    assert "zorblax" not in clusters.ids
    assert cluster_features("zorblax", clusters) == ((), (), (), "")
    own, left, right, grouped = cluster_features(BRANDS[0], clusters)
    assert [f.split("=")[0] for f in own] == [f"k{s}" for s in clusters.sizes]
    assert len(left) == len(right) == 2 and grouped == own[1]


def test_compiled_rows_with_clusters_are_the_strings_emissions_bit_for_bit() -> None:
    training = prepare_training(records(n=80, seed=7), folds=2)
    clusters = build_clusters(_field_texts(training))
    assert clusters.ids  # the cluster features are exercised
    gazetteer = Gazetteer.build(_gazetteer_entries(training), folds=2)
    strings = TokenFeatures(clusters)
    tokens = [r.tokens for r in training.records]
    groups = [r.record.group for r in training.records]
    known = [gazetteer.tags([t.text.casefold() for t in ts]) for ts in tokens]
    xseqs = [strings.sequence(ts, g, k) for ts, g, k in zip(tokens, groups, known, strict=True)]
    assert any(f.startswith("k16-1=") for x in xseqs for token in x for f in token)
    tagger = CRFTagger.from_crfsuite(
        train_crf(
            xseqs[:50], [r.labels for r in training.records[:50]], CRFParams(max_iterations=40)
        )
    )
    assert any(f.startswith("k") for f in tagger.feature_names)
    compiled = CompiledFeatures(tagger.feature_index, len(tagger.feature_names), clusters)
    state = tagger._restricted_weights(tagger._label_set(None))[0]
    for _ in range(2):  # a second batch reads the held per-text rows
        batch = compiled.batch(
            [columns_of(ts) for ts in tokens],
            groups,
            [{i: m for i, m in enumerate(k) if m} for k in known],
        )
        rows = list(range(len(tokens)))
        assert np.array_equal(batch.emissions(rows, state), tagger._emissions(xseqs, state))
