"""Taxonomy versions: diff, re-mapping assignments (pure and in the store), the CLI, and
Shopify attributes and cross-walk from the shared release files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from catalog.changes import ChangeFilter, review_queue
from catalog.db import session_scope
from catalog.models import Catalog, Change, Record
from catalog.records import upsert_records
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema
from cli.main import app
from taxonomy.importers import load_google, load_taxonomy
from taxonomy.model import Taxonomy
from taxonomy.store import find_taxonomy, load_stored, remap_catalog, save_taxonomy
from taxonomy.versions import diff_taxonomies, remap_paths
from tests.conftest import SHARED_DATA, shared_path

SHOPIFY = SHARED_DATA / "taxonomies" / "shopify-2024-10"
GOOGLE_TXT = SHARED_DATA / "taxonomies" / "google-2021-09-21" / "taxonomy-with-ids.en-US.txt"

V1 = """# Google_Product_Taxonomy_Version: v1
1 - Hardware
2 - Hardware > Power Tools
3 - Hardware > Hand Tools
4 - Hardware > Fasteners
5 - Hardware > Power Tools > Drills
"""
# v2: 2 renamed (same id), 3 re-issued under a new id with the same path, 4 gone for good.
V2 = """# Google_Product_Taxonomy_Version: v2
1 - Hardware
2 - Hardware > Electric Tools
30 - Hardware > Hand Tools
5 - Hardware > Electric Tools > Drills
6 - Hardware > Screws & Bolts
"""


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path, Taxonomy, Taxonomy]:
    first, second = tmp_path / "v1.txt", tmp_path / "v2.txt"
    first.write_text(V1, encoding="utf-8")
    second.write_text(V2, encoding="utf-8")
    return first, second, load_google(first, name="tools"), load_google(second, name="tools")


def test_diff_lists_added_removed_and_moved(versions: tuple) -> None:
    _, _, old, new = versions
    change = diff_taxonomies(old, new)
    assert change.added == ["30", "6"]
    assert change.removed == ["3", "4"]
    assert change.moved == [
        ("2", "Hardware > Power Tools", "Hardware > Electric Tools"),
        ("5", "Hardware > Power Tools > Drills", "Hardware > Electric Tools > Drills"),
    ]
    assert diff_taxonomies(old, old).unchanged


def test_assignments_follow_id_then_path_else_review(versions: tuple) -> None:
    _, _, old, new = versions
    plan = remap_paths(
        old,
        new,
        [
            "Hardware",
            "Hardware > Power Tools > Drills",
            "Hardware > Hand Tools",
            "Hardware > Fasteners",
        ],
    )
    assert plan["Hardware"].how == "unchanged"
    drills = plan["Hardware > Power Tools > Drills"]
    assert (drills.how, drills.new_path) == ("id", "Hardware > Electric Tools > Drills")
    hand = plan["Hardware > Hand Tools"]
    assert (hand.how, hand.new_id) == ("path", "30")
    gone = plan["Hardware > Fasteners"]
    assert (gone.how, gone.new_path) == ("review", None)


def test_remapping_a_catalogue_applies_known_and_queues_the_rest(
    versions: tuple, store_url: str, tmp_path: Path
) -> None:
    _, _, old, new = versions
    schema_file = tmp_path / "catalog.yaml"
    schema_file.write_text(
        "name: tools\nid: sku\ntext: [title]\nattributes:\n"
        "  - {name: sku, type: text, required: true}\n"
        "  - {name: title, type: text}\n"
        "  - {name: category, type: text, derive: classify}\n",
        encoding="utf-8",
    )
    schema = CatalogSchema.from_yaml(schema_file)
    rows = {
        "A": ("Cordless drill 18V", "Hardware > Power Tools > Drills"),
        "B": ("Claw hammer", "Hardware > Hand Tools"),
        "C": ("Hex bolts M8 zinc screws", "Hardware > Fasteners"),
        "D": ("Toolbox", "Hardware"),
    }
    frame = pd.DataFrame(
        [{"sku": k, "title": t, "category": c} for k, (t, c) in rows.items()]
    ).set_index(pd.Index(list(rows), name="external_id"))
    hashes = pd.Series([f"h{k}" for k in rows], index=frame.index)
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="default")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        catalog.taxonomy_id = save_taxonomy(session, organization=org, taxonomy=old).id
        upsert_records(session, catalog_id=catalog.id, frame=frame, hashes=hashes, source="t")
        catalog_id = catalog.id
    runs = []
    for _ in range(2):
        with session_scope(store_url) as session:
            runs.append(remap_catalog(session, catalog_id=catalog_id, schema=schema, new=new))
    assert runs[0] == {"id": 1, "path": 1, "review": 1, "unchanged": 1}
    assert runs[1] == {"unchanged": 3, "review": 1}  # the re-run finds the work done
    with session_scope(store_url) as session:
        values = {r.external_id: r.values["category"] for r in session.scalars(sa.select(Record))}
        queued = review_queue(session, where=ChangeFilter(catalog_id=catalog_id))
        changes = session.scalars(sa.select(Change).where(Change.operation == "remap")).all()
        current = session.get(Catalog, catalog_id).taxonomy_id
        stored_new = find_taxonomy(
            session,
            organization=get_or_create_organization(session, name="default"),
            name="tools",
            version="v2",
        ).id
    assert values["A"] == "Hardware > Electric Tools > Drills"
    assert values["B"] == "Hardware > Hand Tools"
    assert values["C"] == "Hardware > Fasteners"  # unchanged until a person decides
    assert [c.new_value for c in queued] == ["Hardware > Screws & Bolts"]
    # B keeps its path text (only its id changed), so only A and C needed a change.
    assert sorted(c.method for c in changes) == ["remap-by-id", "remap-review"]
    assert all(c.model == "taxonomy:tools:v2" for c in changes)
    assert current == stored_new


def test_cli_imports_lists_shows_and_diffs_versions(versions: tuple) -> None:
    first, second, _, _ = versions
    runner = CliRunner()
    for path in (first, second, first):
        result = runner.invoke(app, ["taxonomy", "import", str(path), "--name", "tools"])
        assert result.exit_code == 0, result.output
    assert "version v1: 5 categories" in result.output
    listed = runner.invoke(app, ["taxonomy", "list"])
    assert listed.exit_code == 0 and listed.output.count("tools") == 2
    shown = runner.invoke(app, ["taxonomy", "show", "tools", "--node", "Electric Tools"])
    assert shown.exit_code == 0, shown.output
    assert "2  Hardware > Electric Tools" in shown.output and "child 5  Drills" in shown.output
    diffed = runner.invoke(app, ["taxonomy", "diff", "tools", "v1", "v2"])
    assert "2 added, 2 removed, 2 moved or renamed" in diffed.output
    assert "~ 2  Hardware > Power Tools → Hardware > Electric Tools" in diffed.output


def test_shopify_release_carries_attributes_and_maps_to_google() -> None:
    from enrichment.output_schema import OutputSchema
    from taxonomy.shopify import (
        attribute_fields,
        attribute_schema,
        load_shopify_google_crosswalk,
    )

    shopify = load_taxonomy(shared_path(SHOPIFY))
    assert (shopify.name, shopify.version) == ("shopify", "2024-10")
    clothing = shopify.resolve("Apparel & Accessories > Clothing")
    handles = [a.handle for a in shopify.attributes_of(clothing.id)]
    assert handles == ["color", "fabric", "pattern", "target-gender"]
    schema = attribute_schema(shopify, clothing.id)
    assert "Black" in schema["properties"]["color"]["enum"]
    fields = OutputSchema.parse(attribute_fields(shopify, clothing.id)).fields
    assert [f.name for f in fields] == handles and "Black" in fields[0].enum
    tops = shopify.resolve("Apparel & Accessories > Clothing > Clothing Tops")
    assert shopify.attributes_of(tops.id)  # listed for every Shopify category

    google = load_google(shared_path(GOOGLE_TXT))
    crosswalk = load_shopify_google_crosswalk(
        shared_path(SHOPIFY) / "shopify_to_google_mapping.csv", google=google
    )
    assert google[crosswalk.translate(clothing.id)].path_text == "Apparel & Accessories > Clothing"
    assert all(target in google for target in crosswalk.mapping.values())


def test_stored_taxonomy_round_trips_with_attributes(store_url: str) -> None:
    from taxonomy.model import CategoryAttribute

    taxonomy = load_google(shared_path(GOOGLE_TXT))
    taxonomy.attributes = {"1": (CategoryAttribute("color", "Color", "", ("Red", "Blue")),)}
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="default")
        stored = save_taxonomy(session, organization=org, taxonomy=taxonomy)
        loaded = load_stored(session, stored)
    assert loaded.content_hash == taxonomy.content_hash and loaded.version == taxonomy.version
    assert loaded.attributes == taxonomy.attributes
