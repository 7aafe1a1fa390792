"""Taxonomy importers on Google's real files and on broken inputs a user could hand us."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import InputError
from taxonomy.importers import load_csv, load_google, load_paths, load_shopify, load_taxonomy
from taxonomy.model import Taxonomy, TaxonomyNode
from tests.conftest import SHARED_DATA, shared_path

GOOGLE_DIR = SHARED_DATA / "taxonomies" / "google-2021-09-21"
GOOGLE_TXT = GOOGLE_DIR / "taxonomy-with-ids.en-US.txt"
GOOGLE_CSV = GOOGLE_DIR / "google_product_taxonomy.csv"
SHOPIFY_DIR = SHARED_DATA / "taxonomies" / "shopify-2024-10"


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return load_google(shared_path(GOOGLE_TXT))


def test_google_text_loads_every_node_with_its_version(google: Taxonomy) -> None:
    assert len(google) == 5595
    assert google.version == "2021-09-21"
    assert len(google.leaves()) == 4719
    assert google.depth == 7
    drills = google.nodes["1217"]
    assert drills.path == ("Hardware", "Tools", "Drills")
    assert drills.parent_id == "1167"
    assert drills.level == 3
    assert [n.name for n in google.ancestors("2629")] == ["Hardware", "Tools", "Drills"]
    assert "Handheld Power Drills" in [n.name for n in google.children("1217")]


def test_google_parents_and_paths_are_consistent(google: Taxonomy) -> None:
    for node in google:
        assert isinstance(node.id, str)
        if node.parent_id is None:
            assert node.level == 1
        else:
            parent = google.nodes[node.parent_id]
            assert node.path[:-1] == parent.path
            assert node.name == node.path[-1]
        assert google.by_path(node.path_text) is node


def test_csv_and_text_versions_of_google_agree(google: Taxonomy) -> None:
    from_csv = load_csv(shared_path(GOOGLE_CSV))
    assert list(from_csv.nodes) == list(google.nodes)
    assert from_csv.nodes == google.nodes
    assert from_csv.content_hash == google.content_hash
    # No version in the CSV: the content hash stands in, so reloading gives the same version.
    assert from_csv.version == google.content_hash[:16]
    assert load_csv(shared_path(GOOGLE_CSV)).version == from_csv.version


def test_shopify_text_and_csv_agree() -> None:
    from_text = load_shopify(shared_path(SHOPIFY_DIR) / "categories.txt")
    assert len(from_text) == 10365 and len(from_text.leaves()) == 8326
    assert from_text.version == "2024-10"
    assert from_text.nodes["aa-1"].path == ("Apparel & Accessories", "Clothing")
    assert (
        from_text.content_hash == load_csv(shared_path(SHOPIFY_DIR) / "categories.csv").content_hash
    )
    assert load_taxonomy(shared_path(SHOPIFY_DIR) / "categories.txt").version == "2024-10"


def test_load_taxonomy_detects_the_format(google: Taxonomy, tmp_path: Path) -> None:
    assert load_taxonomy(shared_path(GOOGLE_TXT)).content_hash == google.content_hash
    assert load_taxonomy(shared_path(GOOGLE_CSV)).content_hash == google.content_hash
    paths_file = tmp_path / "labels.txt"
    paths_file.write_text("Tools > Drills\nTools > Saws\n\nGarden\n", encoding="utf-8")
    plain = load_taxonomy(paths_file)
    assert sorted(n.path_text for n in plain) == [
        "Garden",
        "Tools",
        "Tools > Drills",
        "Tools > Saws",
    ]
    headed = tmp_path / "export.data"
    headed.write_text("id,path\n7,Tools\n8,Tools > Saws\n", encoding="utf-8")
    assert load_taxonomy(headed).nodes["8"].parent_id == "7"


def test_lookups_ignore_case_and_spacing_and_refuse_ambiguity(google: Taxonomy) -> None:
    assert google.by_path("  hardware >tools >   DRILLS ") is google.nodes["1217"]
    assert google.resolve("1217") is google.nodes["1217"]
    assert google.resolve("Hardware > Tools > Drills") is google.nodes["1217"]
    assert google.resolve("handheld power drills") is google.nodes["2629"]
    assert google.resolve("Hardware") is google.nodes["632"]
    assert google.by_path("Hardware > Nope") is None
    assert google.resolve("Nope") is None
    shared_name = load_paths(["Bikes > Parts", "Cars > Parts"])
    assert shared_name.resolve("parts") is None  # two nodes: no guessing
    assert shared_name.resolve("cars > parts") is shared_name.nodes["Cars > Parts"]


def test_csv_creates_missing_parents_with_path_ids(tmp_path: Path) -> None:
    source = tmp_path / "partial.csv"
    source.write_text(
        "id,full_path\n10,Home > Kitchen > Knives\n11,Home > Kitchen > Pans\n12,Home\n",
        encoding="utf-8",
    )
    taxonomy = load_csv(source)
    kitchen = taxonomy.by_path("Home > Kitchen")
    assert kitchen is not None and kitchen.id == "Home > Kitchen"
    assert kitchen.parent_id == "12"  # the real node listed later in the file is used
    assert taxonomy.nodes["10"].parent_id == "Home > Kitchen"
    assert list(taxonomy.nodes).index("12") < list(taxonomy.nodes).index("Home > Kitchen")


def test_load_paths_merges_repeats_and_uses_paths_as_ids() -> None:
    taxonomy = load_paths(
        ["Computing > Computers > Laptops", "computing >  computers > laptops", "Clothing"]
    )
    assert len(taxonomy) == 4
    laptops = taxonomy.nodes["Computing > Computers > Laptops"]
    assert laptops.parent_id == "Computing > Computers"
    assert taxonomy.is_leaf(laptops.id) and not taxonomy.is_leaf("Computing")


def test_bad_google_line_names_the_line(tmp_path: Path) -> None:
    source = tmp_path / "google.txt"
    source.write_text(
        "# Google_Product_Taxonomy_Version: 2021-09-21\n1 - Animals\nAnimals > Pets\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_google(source)
    problem = caught.value.problems[0]
    assert problem.source == str(source) and problem.row == 3
    assert "expected 'id - Category > Subcategory'" in problem.message


def test_duplicate_id_with_another_path_names_both_lines(tmp_path: Path) -> None:
    source = tmp_path / "google.txt"
    source.write_text("1 - Animals\n2 - Animals > Pets\n2 - Animals > Toys\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_google(source)
    problem = caught.value.problems[0]
    assert problem.row == 3
    assert "id '2' is used again" in problem.message and "row 2" in problem.message


def test_same_path_under_two_ids_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "dupe.csv"
    source.write_text("id,path\n1,Animals\n2,animals\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_csv(source)
    assert caught.value.problems[0].row == 3
    assert "listed again" in str(caught.value)


def test_empty_segment_and_missing_column_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,path\n1,Tools > \n2,\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_csv(bad)
    rows = [(p.row, p.column) for p in caught.value.problems]
    assert rows == [(2, "path"), (3, "path")]
    no_path = tmp_path / "nopath.csv"
    no_path.write_text("id,name\n1,Tools\n", encoding="utf-8")
    with pytest.raises(InputError, match="no path column"):
        load_csv(no_path)


@pytest.mark.parametrize("content", ["", "# Google_Product_Taxonomy_Version: 1\n\n"])
def test_empty_files_are_input_errors(tmp_path: Path, content: str) -> None:
    source = tmp_path / "empty.txt"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="no categories"):
        load_google(source)
    with pytest.raises(InputError, match="no categories"):
        load_taxonomy(source)


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_taxonomy(tmp_path / "missing.txt")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("1 - Caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_google(latin)


def test_taxonomy_rejects_inconsistent_nodes() -> None:
    root = TaxonomyNode("1", "Tools", ("Tools",), None)
    stray = TaxonomyNode("2", "Saws", ("Garden", "Saws"), "1")
    with pytest.raises(ValueError, match="does not extend"):
        Taxonomy.from_nodes("t", [root, stray])


def test_yaml_tree_and_gs1_label_levels(tmp_path: Path) -> None:
    from taxonomy.importers import label_path, load_label_levels, load_yaml

    tree = tmp_path / "tree.yaml"
    tree.write_text(
        "name: shop\nversion: 3\ncategories:\n"
        "  - name: Tools\n    id: t\n    children:\n"
        "      - {name: Drills, id: t-1}\n      - Saws\n"
        "  - {path: Garden > Hoses}\n",
        encoding="utf-8",
    )
    taxonomy = load_yaml(tree)
    assert (taxonomy.name, taxonomy.version) == ("shop", "3")
    assert taxonomy["t-1"].path_text == "Tools > Drills" and taxonomy["t-1"].parent_id == "t"
    assert taxonomy.by_path("Tools > Saws") is not None
    assert taxonomy.by_path("Garden") is not None  # missing parent added
    assert load_taxonomy(tree).content_hash == taxonomy.content_hash

    broken = tmp_path / "broken.yaml"
    broken.write_text("categories:\n  - name: A\n    children: 5\n  - 7\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_yaml(broken)
    assert "'children' must be a list" in str(caught.value)
    assert "categories #2" in str(caught.value)

    levels = [
        ("64000000_Personal Accessories", "64010000_Personal Accessories", "64010100_Jewellery")
    ]
    assert label_path(levels[0]) == "Personal Accessories > Personal Accessories > Jewellery"
    gs1 = load_label_levels(levels)
    assert gs1.by_path("Personal Accessories > Personal Accessories > Jewellery").level == 3
