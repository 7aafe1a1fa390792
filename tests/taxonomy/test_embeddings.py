"""Semantic zero-shot (the optional `embeddings` extra): runs only where the extra is installed."""

from __future__ import annotations

import pytest

from taxonomy.classifier import LEXICAL_MAX_CONFIDENCE, zero_shot_classifier
from taxonomy.embeddings import EmbeddingClassifier, embeddings_available
from taxonomy.importers import load_paths
from taxonomy.model import Taxonomy

pytestmark = pytest.mark.skipif(
    not embeddings_available(),
    reason="the embeddings extra is not installed (pip install torch==2.13.0, then "
    "skuflow[embeddings])",
)

GS1_LIKE = [
    "Clothing > Upper Body Wear/Tops > Upper Body Wear/Tops (Non Sport)",
    "Clothing > Lower Body Wear/Bottoms > Lower Body Wear/Bottoms (Non Sport)",
    "Clothing > Footwear > Footwear (Non Sport)",
    "Computing > Computer/Video Game Gaming Accessories > Computer/Video Game Controllers",
    "Computing > Computers > Laptops",
    "Food/Beverage/Tobacco > Beverages > Coffee",
    "Food/Beverage/Tobacco > Confectionery > Chocolate",
    "Automotive > Automotive Accessories > Car Wheels/Tyres",
]


@pytest.fixture(scope="module")
def gs1_like() -> Taxonomy:
    return load_paths(GS1_LIKE, name="gs1-like")


@pytest.fixture(scope="module")
def matcher(gs1_like: Taxonomy) -> EmbeddingClassifier:
    return EmbeddingClassifier(gs1_like)


def test_zero_shot_uses_embeddings_when_the_extra_is_installed(gs1_like: Taxonomy) -> None:
    assert isinstance(zero_shot_classifier(gs1_like), EmbeddingClassifier)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mens Slim Fit Cotton T-Shirt, crew neck, navy", GS1_LIKE[0]),
        ("Nike Air Max running sneakers size 42", GS1_LIKE[2]),
        ("Xbox Wireless Controller - Carbon Black", GS1_LIKE[3]),
        ("Lavazza Qualita Oro ground espresso 250g", GS1_LIKE[5]),
        ("Lindt Excellence 70% Cocoa dark bar 100g", GS1_LIKE[6]),
    ],
)
def test_offers_land_under_the_obvious_category(
    matcher: EmbeddingClassifier, gs1_like: Taxonomy, text: str, expected: str
) -> None:
    """None of these offers shares a word with its category's names except by accident."""
    [prediction] = matcher.predict([text])
    assert prediction.method == "embedding"
    assert gs1_like[prediction.node_id].path_text == expected


def test_a_t_shirt_lands_under_clothing_and_its_levels_agree(
    matcher: EmbeddingClassifier, gs1_like: Taxonomy
) -> None:
    offer = ("T-Shirt", "Herren Oberteile", "100% Baumwolle")
    [prediction] = matcher.predict([offer])
    node = gs1_like[prediction.node_id]
    assert node.path[0] == "Clothing"
    # A predicted leaf implies its ancestors: every level is the node's own path prefix.
    ancestors = [a.path for a in gs1_like.ancestors(node.id)]
    assert ancestors == [node.path[:1], node.path[:2]]
    candidates = matcher.top_k([offer], k=3)[0]
    assert candidates[0][0] == prediction.node_id
    assert [s for _, s in candidates] == sorted((s for _, s in candidates), reverse=True)


def test_zero_shot_never_claims_auto_apply_confidence(matcher: EmbeddingClassifier) -> None:
    predictions = matcher.predict(["Mens T-Shirt", "Xbox controller", "", "zzz qqq"])
    assert all(0.0 <= p.confidence <= LEXICAL_MAX_CONFIDENCE for p in predictions)
    assert predictions[2].node_id is None and predictions[2].confidence == 0.0
    # A clear match is surer than gibberish.
    assert predictions[0].confidence > predictions[3].confidence


def test_version_follows_the_taxonomy(matcher: EmbeddingClassifier, gs1_like: Taxonomy) -> None:
    assert EmbeddingClassifier(load_paths(GS1_LIKE)).version == matcher.version
    assert EmbeddingClassifier(load_paths(GS1_LIKE[:-1])).version != matcher.version


def test_a_saved_matcher_predicts_the_same(matcher: EmbeddingClassifier, tmp_path) -> None:
    from taxonomy.classifier import load_classifier, save_classifier

    texts = ["Mens T-Shirt", "Xbox controller"]
    loaded = load_classifier(save_classifier(matcher, tmp_path / "zero.joblib"))
    assert loaded.predict(texts) == matcher.predict(texts)
