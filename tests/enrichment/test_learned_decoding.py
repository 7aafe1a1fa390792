"""The learned extractor's CRF decoding (numpy, over the group's labels): it agrees with
CRFsuite's own Viterbi and marginals, never tags a label the group cannot have, and proposes a
secondary span for an attribute the best labelling leaves out."""

from __future__ import annotations

import numpy as np
import pytest

from enrichment.learned.examples import prepare_training
from enrichment.learned.features import TokenFeatures
from enrichment.learned.gazetteer import Gazetteer
from enrichment.learned.tagger import CRFParams, CRFTagger, train_crf
from tests.enrichment.learned_data import records


@pytest.fixture(scope="module")
def crf() -> tuple[bytes, list[list[list[str]]]]:
    """A CRF trained with CRFsuite on the hand-made offers, and held-out feature sequences."""
    training = prepare_training(records(n=60, seed=3), folds=2)
    features, gazetteer = TokenFeatures(), Gazetteer()
    xseqs = [
        features.sequence(r.tokens, r.record.group, gazetteer.tags([t.text for t in r.tokens]))
        for r in training.records
    ]
    model = train_crf(
        xseqs[:40], [r.labels for r in training.records[:40]], CRFParams(max_iterations=40)
    )
    return model, xseqs[40:]


def test_decoding_agrees_with_crfsuite(crf: tuple[bytes, list[list[list[str]]]]) -> None:
    import pycrfsuite

    model, held_out = crf
    reference = pycrfsuite.Tagger()
    reference.open_inmemory(model)
    tagger = CRFTagger.from_json(CRFTagger.from_crfsuite(model).to_json())  # saved and reopened
    found = tagger.spans_batch(
        held_out, [None] * len(held_out), [()] * len(held_out), [0] * len(held_out)
    )
    for xseq, spans in zip(held_out, found, strict=True):
        reference.set(xseq)
        labels = reference.tag()
        expected = []
        i = 0
        while i < len(labels):
            j = i
            while j + 1 < len(labels) and labels[j + 1] == labels[i]:
                j += 1
            if labels[i] != "O":
                low = min(reference.marginal(labels[i], k) for k in range(i, j + 1))
                expected.append((labels[i], i, j, low))
            i = j + 1
        assert [(s.attribute, s.first, s.last) for s in spans] == [e[:3] for e in expected]
        assert np.allclose([s.score for s in spans], [e[3] for e in expected], atol=1e-4)


def _toy_tagger() -> CRFTagger:
    """Labels O, Brand, Color, Size; `w=acme` is a Brand, `w=red` leans Color but not enough
    for the best labelling, `w=9` is a Size."""
    labels = ["O", "Brand", "Color", "Size"]
    features = ["w=acme", "w=red", "w=9", "bias"]
    state = np.zeros((len(features) + 1, len(labels)))
    state[0] = [0.0, 4.0, 0.0, 0.0]
    state[1] = [0.4, 0.0, 0.0, 0.0]  # O just ahead of Color at "red"
    state[2] = [0.0, 0.0, 0.0, 4.0]
    state[3] = [2.0, 0.0, 0.0, 0.0]
    return CRFTagger(labels, features, state, np.zeros((len(labels), len(labels))))


def test_an_attribute_left_out_by_the_best_labelling_gets_a_secondary_span() -> None:
    tagger = _toy_tagger()
    xseq = [["w=acme"], ["w=red"], ["bias"]]
    (spans,) = tagger.spans_batch([xseq], [["Brand", "Color"]], [["Brand", "Color"]], [3])
    by_attribute = {s.attribute: s for s in spans}
    assert (by_attribute["Brand"].first, by_attribute["Brand"].secondary) == (0, False)
    color = by_attribute["Color"]
    assert (color.first, color.last, color.secondary) == (1, 1, True)
    assert color.score < 0.5 < by_attribute["Brand"].score
    (plain,) = tagger.spans_batch([xseq], [["Brand", "Color"]], [()], [3])
    assert [s.attribute for s in plain] == ["Brand"]


def test_a_label_the_group_cannot_have_is_never_tagged() -> None:
    tagger = _toy_tagger()
    xseq = [["w=acme"], ["w=9"]]
    (everything,) = tagger.spans_batch([xseq], [None], [()], [0])
    assert {s.attribute for s in everything} == {"Brand", "Size"}
    (coffee,) = tagger.spans_batch([xseq], [["Brand", "Color"]], [["Brand", "Color"]], [2])
    assert "Size" not in {s.attribute for s in coffee}


def test_feature_rows_sum_to_the_feature_strings_emissions_bit_for_bit() -> None:
    """Prediction's `CompiledFeatures` (ids per token text, slots summed in order) gives the
    very emissions of the feature strings training builds: same floats, not just close."""
    from enrichment.learned.compiled import CompiledFeatures
    from enrichment.learned.model import _gazetteer_entries

    training = prepare_training(records(n=80, seed=5), folds=2)
    gazetteer = Gazetteer.build(_gazetteer_entries(training), folds=2)
    strings = TokenFeatures()
    tokens = [r.tokens for r in training.records]
    groups = [r.record.group for r in training.records]
    known = [gazetteer.tags([t.text.casefold() for t in ts]) for ts in tokens]
    assert any(any(k) for k in known)  # the gazetteer features are exercised
    xseqs = [strings.sequence(ts, g, k) for ts, g, k in zip(tokens, groups, known, strict=True)]
    tagger = CRFTagger.from_crfsuite(
        train_crf(
            xseqs[:50], [r.labels for r in training.records[:50]], CRFParams(max_iterations=40)
        )
    )
    compiled = CompiledFeatures(tagger.feature_index, len(tagger.feature_names))
    for _ in range(2):  # a second batch reads the held per-text rows
        batch = compiled.batch(tokens, groups, known)
        state = tagger._restricted_weights(tagger._label_set(None))[0]
        rows = list(range(len(tokens)))
        fast = batch.emissions(rows, state)
        reference = tagger._emissions(xseqs, state)
        for a, b in zip(fast, reference, strict=True):
            assert a.shape == b.shape
            assert np.array_equal(a, b)
    # And whole predictions: the same spans and marginals through either path.
    allowed = [None] * len(tokens)
    extra = [tuple(tagger.label_names)] * len(tokens)
    limits = [len(ts) for ts in tokens]
    assert tagger.spans_compiled(batch, allowed, extra, limits) == tagger.spans_batch(
        xseqs, allowed, extra, limits
    )
