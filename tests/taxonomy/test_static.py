"""Zero-shot in the default install: the packaged static embedding model, numpy only."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from taxonomy.classifier import ZERO_SHOT_MAX_CONFIDENCE, load_classifier, save_classifier
from taxonomy.importers import load_paths, load_yaml
from taxonomy.model import Taxonomy
from taxonomy.static import MODEL_DIR, StaticEmbeddingClassifier, StaticParams

ROOT = Path(__file__).resolve().parents[2]
GS1_LIKE = [
    "Clothing > Upper Body Wear/Tops > Upper Body Wear/Tops (Non Sport)",
    "Clothing > Lower Body Wear/Bottoms > Lower Body Wear/Bottoms (Non Sport)",
    "Footwear > Footwear > Athletic Footwear",
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
def matcher(gs1_like: Taxonomy) -> StaticEmbeddingClassifier:
    return StaticEmbeddingClassifier(gs1_like)


def test_the_model_ships_with_its_licence_and_how_it_was_built() -> None:
    sizes = {p.name: p.stat().st_size for p in MODEL_DIR.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "config.json", "LICENSE", "README.md"} <= set(
        sizes
    )
    assert sum(sizes.values()) <= 20_000_000
    assert "Apache License" in (MODEL_DIR / "LICENSE").read_text(encoding="utf-8")
    config = json.loads((MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    assert config["skuflow"]["built_by"] == "scripts/build_static_model.py"
    assert "build_static_model.py" in (MODEL_DIR / "README.md").read_text(encoding="utf-8")


def test_the_packaged_model_classifies_offline_without_torch(tmp_path: Path) -> None:
    """In a fresh interpreter where torch (and so sentence-transformers) cannot be imported,
    the default zero-shot path is the static model, and a CLI prediction works."""
    offers = tmp_path / "offers.csv"
    offers.write_text(
        "ID,Name\n1,Mens cotton crew neck T-Shirt navy\n2,Xbox Wireless Controller\n",
        encoding="utf-8",
    )
    taxonomy = tmp_path / "tax.txt"
    taxonomy.write_text("\n".join(GS1_LIKE) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    script = textwrap.dedent(
        f"""
        import importlib.abc, json, sys

        class NoTorch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
                    raise ImportError(f"{{name}} is blocked in this test")
                return None

        sys.meta_path.insert(0, NoTorch())
        from taxonomy.classifier import zero_shot_classifier
        from taxonomy.importers import load_taxonomy
        from taxonomy.files import classifier_for, predict_csv

        model, tree = classifier_for(model_path=None, taxonomy_path={str(taxonomy)!r})
        rows = predict_csv(classifier=model, taxonomy=tree, input_path={str(offers)!r},
                           text_columns=["Name"], id_column="ID", output_path={str(out)!r})
        print(json.dumps({{"kind": type(model).__name__, "rows": rows,
                          "torch": "torch" in sys.modules}}))
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"kind": "StaticEmbeddingClassifier", "rows": 2, "torch": False}
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("1,Clothing > Upper Body Wear/Tops")
    assert lines[2].startswith("2,Computing > Computer/Video Game Gaming Accessories")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mens Cotton T-Shirt, crew neck, navy", GS1_LIKE[0]),
        ("Nike Air Zoom Pegasus running sneakers size 42", GS1_LIKE[2]),
        ("Xbox Wireless Controller - Carbon Black", GS1_LIKE[3]),
        ("Lavazza Qualita Oro ground espresso coffee 250g", GS1_LIKE[5]),
        ("Lindt Excellence 70% Cocoa dark chocolate bar 100g", GS1_LIKE[6]),
        ("Miami Hurricanes Midsize Long Sleeve T-Shirt - Green", GS1_LIKE[0]),
    ],
)
def test_offers_land_under_the_obvious_category(
    matcher: StaticEmbeddingClassifier, gs1_like: Taxonomy, text: str, expected: str
) -> None:
    [prediction] = matcher.predict([text])
    assert prediction.method == "static-embedding"
    assert gs1_like[prediction.node_id].path_text == expected


def test_levels_agree_and_candidates_are_ranked(
    matcher: StaticEmbeddingClassifier, gs1_like: Taxonomy
) -> None:
    offer = ("T-Shirt", "Herren Oberteile", "100% Baumwolle")
    [prediction] = matcher.predict([offer])
    node = gs1_like[prediction.node_id]
    assert gs1_like.is_leaf(node.id)
    assert [a.path for a in gs1_like.ancestors(node.id)] == [node.path[:1], node.path[:2]]
    candidates = matcher.top_k([offer], k=3)[0]
    assert candidates[0][0] == prediction.node_id
    assert [s for _, s in candidates] == sorted((s for _, s in candidates), reverse=True)


def test_zero_shot_never_claims_auto_apply_confidence(matcher: StaticEmbeddingClassifier) -> None:
    predictions = matcher.predict(["Mens T-Shirt", "Xbox controller", "", "   ", "zzqx"])
    assert all(0.0 <= p.confidence <= ZERO_SHOT_MAX_CONFIDENCE for p in predictions)
    assert [p.node_id for p in predictions[2:4]] == [None, None]
    assert predictions[0].confidence > predictions[4].confidence


def test_the_users_synonyms_and_descriptions_steer_the_match(tmp_path: Path) -> None:
    """'Dongle' says nothing by itself; a taxonomy that describes its category does."""
    plain = load_paths(["Electronics > Adapters", "Electronics > Cables", "Garden > Hoses"])
    described = tmp_path / "t.yaml"
    described.write_text(
        "categories:\n"
        "  - name: Electronics\n"
        "    children:\n"
        "      - {name: Adapters, synonyms: [dongle, usb-c hub], description: plugs one port"
        " into another}\n"
        "      - {name: Cables}\n"
        "  - name: Garden\n"
        "    children: [Hoses]\n",
        encoding="utf-8",
    )
    tree = load_yaml(described)
    adapters = tree.resolve("Electronics > Adapters")
    assert tree.synonyms[adapters.id] == ("dongle", "usb-c hub")
    assert tree.descriptions[adapters.id] == "plugs one port into another"
    offer = "Anker 7-in-1 USB-C dongle with HDMI"
    before = StaticEmbeddingClassifier(plain).top_k([offer], k=3)[0]
    after = StaticEmbeddingClassifier(tree).top_k([offer], k=3)[0]
    score = dict(after)[adapters.id] - dict(before)[plain.resolve("Electronics > Adapters").id]
    assert score > 0.05
    assert after[0][0] == adapters.id
    assert StaticEmbeddingClassifier(tree).version != StaticEmbeddingClassifier(plain).version


def test_a_saved_matcher_predicts_the_same(
    matcher: StaticEmbeddingClassifier, tmp_path: Path
) -> None:
    texts = ["Mens T-Shirt", "Xbox controller"]
    path = save_classifier(matcher, tmp_path / "zero.joblib")
    assert path.stat().st_size < 1_000_000  # the vectors stay in the package, not the file
    assert load_classifier(path).predict(texts) == matcher.predict(texts)


SHIRT_SHOP = [
    "Mens cotton crew neck T-Shirt",
    "Womens long sleeve blouse",
    "Classic polo shirt navy",
    "Zip hoodie sweatshirt grey",
    "V-neck tee white",
    "Flannel button-down shirt",
    "Knit cardigan sweater",
    "Tank top ribbed",
    "Linen shirt short sleeve",
    "Graphic print t-shirt black",
]
BALL_SHOP = [
    "Official size 5 soccer ball",
    "Indoor basketball composite leather",
    "Tennis balls can of 3",
    "Volleyball beach soft touch",
    "Rugby ball match size",
    "Golf balls pack of 12",
    "American football junior size",
    "Table tennis balls white",
    "Handball grip size 2",
    "Netball training ball",
]
SHOP_TREE = [
    "Clothing > Upper Body Wear/Tops",
    "Clothing > Lower Body Wear/Bottoms",
    "Sports Equipment > Sports Balls",
    "Sports Equipment > Fitness Equipment",
    "Footwear > Athletic Footwear",
    "Computing > Laptops",
]


def test_the_catalogues_own_mix_decides_its_close_calls() -> None:
    """'Rugby Shirt' is a shirt in a shirt shop and a ball-sports item in a ball shop:
    the matcher estimates each catalogue's category shares from its own offers."""
    tree = load_paths(SHOP_TREE, name="shops")
    matcher = StaticEmbeddingClassifier(tree)
    offer = "Rugby Shirt"
    in_shirts = matcher.predict([*SHIRT_SHOP * 20, offer])[-1]
    in_balls = matcher.predict([*BALL_SHOP * 20, offer])[-1]
    assert tree[in_shirts.node_id].path_text == "Clothing > Upper Body Wear/Tops"
    assert tree[in_balls.node_id].path_text == "Sports Equipment > Sports Balls"
    assert in_shirts.confidence <= ZERO_SHOT_MAX_CONFIDENCE
    # The catalogue's own offers stay where they were.
    shirts = matcher.predict(SHIRT_SHOP * 3)
    assert {tree[p.node_id].path[0] for p in shirts} == {"Clothing"}


def test_one_offer_alone_keeps_its_own_best_category() -> None:
    """With nothing else to go on, the estimated shares cannot move an offer off its best
    leaf: predicting one text is predicting it without any prior."""
    tree = load_paths(SHOP_TREE, name="shops")
    with_prior = StaticEmbeddingClassifier(tree)
    without = StaticEmbeddingClassifier(tree, params=StaticParams(prior_temperature=0.0))
    for text in [
        *SHIRT_SHOP[:4],
        *BALL_SHOP[:4],
        "Rugby Shirt",
        "Football Fan Shirt",
        "Dell XPS 13 laptop",
    ]:
        assert with_prior.predict([text])[0].node_id == without.predict([text])[0].node_id
    assert with_prior.version != without.version


def test_a_catalogue_too_large_to_keep_in_memory_gets_the_same_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `KEPT_CELLS` the shares come from a first pass over a sample; when the sample is
    every text, the answers are those of the one-pass path."""
    import taxonomy.static as static

    tree = load_paths(SHOP_TREE, name="shops")
    texts = [*SHIRT_SHOP * 20, "Rugby Shirt", "", *BALL_SHOP[:3]]
    one_pass = StaticEmbeddingClassifier(tree).predict(texts)
    monkeypatch.setattr(static, "KEPT_CELLS", 1)
    two_pass = StaticEmbeddingClassifier(tree).predict(texts)
    assert two_pass == one_pass
    assert tree[two_pass[200].node_id].path_text == "Clothing > Upper Body Wear/Tops"
    assert two_pass[201].node_id is None
