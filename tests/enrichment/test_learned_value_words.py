"""Words of known values (`Flavor:W`): a token whose word is in listed values of an attribute
is tagged with it, out-of-fold in training, and prediction's compiled rows with these tags
give the very emissions of the strings."""

from __future__ import annotations

import numpy as np

from enrichment.learned.compiled import CompiledFeatures
from enrichment.learned.examples import prepare_training
from enrichment.learned.features import TokenFeatures
from enrichment.learned.gazetteer import Gazetteer, merged
from enrichment.learned.model import _gazetteer_entries, _known_tags
from enrichment.learned.tagger import CRFParams, CRFTagger, train_crf
from enrichment.learned.tokens import columns_of
from tests.enrichment.learned_data import records


def _gazetteer() -> Gazetteer:
    return Gazetteer.build(
        [
            (0, "Flavor", ("dark", "chocolate")),
            (1, "Flavor", ("sea", "salt")),
            (1, "Flavor", ("dark", "roast")),
            (0, "Brand", ("dark", "horse")),
            (1, "Size", ("12", "oz")),
        ],
        folds=2,
    )


def test_a_new_value_made_of_known_words_gets_their_attributes() -> None:
    lowered = ["acme", "dark", "chocolate", "sea", "salt", "12", "oz"]
    tags = _gazetteer().word_tags(lowered)
    assert {i: list(t) for i, t in tags.items()} == {
        1: ["Brand:W", "Flavor:W"],
        2: ["Flavor:W"],
        3: ["Flavor:W"],
        4: ["Flavor:W"],
        6: ["Size:W"],
    }  # no tag for a number, or a word of no value


def test_a_fold_left_out_loses_the_words_only_its_values_hold() -> None:
    lowered = ["dark", "chocolate", "sea"]
    assert _gazetteer().word_tags(lowered, leave_out=0) == {0: ["Flavor:W"], 2: ["Flavor:W"]}
    assert _gazetteer().word_tags(lowered, leave_out=1) == {
        0: ["Brand:W", "Flavor:W"],
        1: ["Flavor:W"],
    }


def test_merged_tags_follow_each_positions_value_tags_in_order() -> None:
    assert merged({3: ["Brand:B"], 1: ["Brand:I"]}, {2: ["Flavor:W"], 3: ["Brand:W"]}) == {
        1: ["Brand:I"],
        2: ["Flavor:W"],
        3: ["Brand:B", "Brand:W"],
    }
    assert list(merged({3: ["Brand:B"]}, {0: ["Size:W"]})) == [0, 3]
    held = ("Flavor:W",)
    assert merged({}, {2: held}) == {2: ["Flavor:W"]} and held == ("Flavor:W",)  # a copy


def test_compiled_rows_with_value_words_are_the_strings_emissions_bit_for_bit() -> None:
    training = prepare_training(records(n=80, seed=9), folds=2)
    gazetteer = Gazetteer.build(_gazetteer_entries(training), folds=2)
    strings = TokenFeatures()
    tokens = [r.tokens for r in training.records]
    groups = [r.record.group for r in training.records]
    train_known = [_known_tags(gazetteer, r.tokens, r.fold) for r in training.records]
    assert any(t.endswith(":W") for k in train_known for ts in k for t in ts)
    xseqs = [strings.sequence(*a) for a in zip(tokens, groups, train_known, strict=True)]
    tagger = CRFTagger.from_crfsuite(
        train_crf(
            xseqs[:50], [r.labels for r in training.records[:50]], CRFParams(max_iterations=40)
        )
    )
    assert any(":W" in f for f in tagger.feature_names)
    # At prediction every listed value counts: the full gazetteer's matches and words.
    lowered = [[t.text.casefold() for t in ts] for ts in tokens]
    known = [merged(gazetteer.matches(w), gazetteer.word_tags(w)) for w in lowered]
    full = [[known[k].get(i, []) for i in range(len(ts))] for k, ts in enumerate(tokens)]
    reference = [strings.sequence(*a) for a in zip(tokens, groups, full, strict=True)]
    compiled = CompiledFeatures(tagger.feature_index, len(tagger.feature_names))
    batch = compiled.batch([columns_of(ts) for ts in tokens], groups, known)
    state = tagger._restricted_weights(tagger._label_set(None))[0]
    rows = list(range(len(tokens)))
    assert np.array_equal(batch.emissions(rows, state), tagger._emissions(reference, state))
