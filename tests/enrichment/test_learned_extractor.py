"""The learned extractor on small hand-made offers: it finds values it never saw, every value
is a cited span of the text, confidences are monotone, training is deterministic, and bad
training input is counted, not trained on."""

from __future__ import annotations

import time

import numpy as np
import pytest

from enrichment.learned.examples import LabelledRecord, prepare_training
from enrichment.learned.model import (
    LearnedExtractor,
    NoTrainingData,
    train_extractor,
    training_hash,
)
from enrichment.learned.tokens import tokenize
from tests.enrichment.learned_data import FAST, records


@pytest.fixture(scope="module")
def trained() -> LearnedExtractor:
    model, _ = train_extractor(records(), text_fields=["title"], params=FAST)
    return model


def test_an_unseen_brand_is_found_from_its_place_in_the_title(trained: LearnedExtractor) -> None:
    title = "Zorvex Women's Trail Sneaker, Navy, Size 8"
    [values] = trained.predict([{"title": title}], ["Shoes"], min_confidence=0.0)
    found = {v.attribute: v for v in values}
    assert found["Brand"].value == "Zorvex"
    assert found["Brand"].known == 0  # not in the gazetteer: found by context
    assert "new value" in found["Brand"].explanation
    assert found["Color"].value == "Navy"
    assert found["Size"].value == "8"


def test_every_value_is_the_verbatim_span_it_cites(trained: LearnedExtractor) -> None:
    texts = [
        {"title": "Quillon Men's Leather Boot - Black - Size 11 US"},
        {"title": "Helix Ground Coffee, Dark Roast, 500g bag"},
        {"title": "nothing to see here"},
    ]
    found = trained.predict(texts, ["Shoes", "Coffee", "Shoes"], min_confidence=0.0)
    assert found[0] and found[1]
    for record, values in zip(texts, found, strict=True):
        for value in values:
            assert value.source == f"record:title[{value.start}:{value.end}]"
            assert record[value.field][value.start : value.end] == value.value
            assert value.explanation.endswith(".") and value.attribute in value.explanation
            assert 0.0 <= value.confidence <= 1.0
    coffee = {v.attribute: v.value for v in found[1]}
    assert coffee["Net content"] == "500g"  # glued number and unit kept together
    assert "Size" not in coffee  # an attribute of the other group is never tagged here


def test_calibration_is_monotone(trained: LearnedExtractor) -> None:
    grid = np.linspace(-20, 20, 401)
    mapped = trained.calibrator(grid)
    assert np.all(np.diff(mapped) >= 0)
    assert 0.0 <= mapped.min() <= mapped.max() <= 1.0


def test_training_is_deterministic(tmp_path) -> None:
    first, _ = train_extractor(records(), text_fields=["title"], params=FAST)
    second, _ = train_extractor(records(), text_fields=["title"], params=FAST)
    a, b = first.save(tmp_path / "a.skx"), second.save(tmp_path / "b.skx")
    assert a.read_bytes() == b.read_bytes()
    texts = [{"title": "Zorvex Men's Canvas Loafer, Grey, Size 10"}]
    loaded = LearnedExtractor.load(a)
    assert loaded.predict(texts, ["Shoes"]) == first.predict(texts, ["Shoes"])


def test_changed_labels_change_the_cache_key() -> None:
    base = records()
    same = training_hash(base, ["title"], FAST)
    assert training_hash(records(), ["title"], FAST) == same
    edited = list(base)
    first = edited[0]
    edited[0] = LabelledRecord(first.id, first.texts, first.group, {**first.values, "Size": []})
    assert training_hash(edited, ["title"], FAST) != same
    rejected = list(base)
    rejected[0] = LabelledRecord(
        first.id, first.texts, first.group, first.values, rejected={"Color": ["Size"]}
    )
    assert training_hash(rejected, ["title"], FAST) != same


def test_a_value_absent_from_its_text_is_skipped_and_counted() -> None:
    bad = [
        *records(12),
        LabelledRecord(
            "x1", {"title": "Fjord Men's Running Shoe, Red"}, "Shoes", {"Brand": ["Nike"]}
        ),
        LabelledRecord("x2", {"title": "Fjord Printed Shirt"}, "Shoes", {"Pattern": ["Print"]}),
    ]
    training = prepare_training(bad, folds=2)
    assert training.counts["skipped_values"] == 2
    assert training.counts["not_in_text"] == 1 and training.counts["inside_word"] == 1
    reasons = {(s.record, s.attribute): s.reason for s in training.skipped}
    assert reasons == {
        ("x1", "Brand"): "not in the text",
        ("x2", "Pattern"): "only inside a longer word",
    }
    x1 = next(r for r in training.records if r.record.id == "x1")
    assert "Brand" not in x1.labels  # never trained on
    assert "1 only inside a longer word" in training.summary()


def test_no_labelled_data_is_a_clear_error() -> None:
    empty = [LabelledRecord("a", {"title": "Acme Running Shoe"}, "Shoes", {"Brand": []})]
    with pytest.raises(NoTrainingData, match="no labelled values to learn from"):
        train_extractor(empty, text_fields=["title"], params=FAST)
    absent = [LabelledRecord("a", {"title": "Acme Running Shoe"}, "", {"Brand": ["Nike"]})]
    with pytest.raises(NoTrainingData, match="'Nike': not in the text"):
        train_extractor(absent, text_fields=["title"], params=FAST)


def test_a_one_megabyte_description_is_cut_not_a_crash() -> None:
    huge = "Acme Red " + "lorem ipsum dolor sit amet " * 40_000
    assert len(huge) > 1_000_000
    assert len(tokenize({"description": huge})) < 2_000
    long_record = LabelledRecord(
        "big",
        {"title": "Acme Men's Running Shoe", "description": huge},
        "Shoes",
        {"Brand": ["Acme"]},
    )
    model, summary = train_extractor(
        [*records(20), long_record], text_fields=["title", "description"], params=FAST
    )
    assert summary.counts["records"] == 21
    started = time.perf_counter()
    [values] = model.predict(
        [{"title": "Acme Men's Running Shoe", "description": huge}], ["Shoes"], min_confidence=0
    )
    assert time.perf_counter() - started < 5
    assert any(v.value == "Acme" and v.field == "title" for v in values)
