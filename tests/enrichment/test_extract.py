"""Extraction of attribute values from a record's own title and description."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from catalog.changes import Proposal
from catalog.schema import CatalogSchema
from enrichment.extract import AMBIGUOUS_CAP, extract_attributes
from tests.conftest import SHARED_DATA, shared_path

MWPD = SHARED_DATA / "products" / "mwpd2020" / "mwpd2020_train_validation.csv"


@pytest.fixture(scope="module")
def schema() -> CatalogSchema:
    return CatalogSchema.from_dict(
        {
            "name": "acme-mro",
            "id": "sku",
            "text": ["title", "description"],
            "attributes": [
                {"name": "sku", "required": True},
                {"name": "title"},
                {"name": "description"},
                {"name": "horsepower", "type": "number", "unit": "hp", "derive": "extract"},
                {"name": "power", "type": "number", "unit": "W", "derive": "extract"},
                {
                    "name": "voltage",
                    "type": "number",
                    "unit": "V",
                    "derive": "extract",
                    "min": 1,
                    "max": 1000,
                },
                {
                    "name": "drive_size",
                    "type": "number",
                    "unit": "in",
                    "derive": "extract",
                    "synonyms": {"drive": ["drive"]},
                },
                {"name": "length", "type": "number", "unit": "mm", "derive": "extract"},
                {"name": "width", "type": "number", "unit": "mm", "derive": "extract"},
                {"name": "height", "type": "number", "unit": "mm", "derive": "extract"},
                {
                    "name": "material",
                    "type": "enum",
                    "derive": "extract",
                    "enum": ["Stainless Steel", "Aluminium", "Brass"],
                    "synonyms": {"Stainless Steel": ["inox", "SS"], "Aluminium": ["aluminum"]},
                },
                {
                    "name": "color",
                    "type": "enum",
                    "derive": "extract",
                    "enum": ["Black", "Red", "Yellow"],
                },
                {"name": "cordless", "type": "boolean", "derive": "extract"},
                {
                    "name": "waterproof",
                    "type": "boolean",
                    "derive": "extract",
                    "synonyms": {"waterproof": ["water-proof"]},
                },
                {"name": "pack_size", "type": "integer", "derive": "extract"},
                {"name": "brand", "derive": "extract"},
                {"name": "model", "derive": "extract", "synonyms": {"model": ["model no"]}},
            ],
        }
    )


def records(rows: dict[str, dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "sku"
    return frame


def by_field(proposals: list[Proposal], record_id: object) -> dict[str, Proposal]:
    found = {p.field: p for p in proposals if p.record_id == record_id}
    assert len(found) == len([p for p in proposals if p.record_id == record_id]), "one per field"
    return found


def test_units_in_the_title(schema: CatalogSchema) -> None:
    frame = records({"AC-1": {"title": "Industrial Air Compressor 5HP 230V", "description": ""}})
    found = by_field(extract_attributes(frame, schema), "AC-1")

    assert found["horsepower"].value == 5.0
    assert found["horsepower"].confidence == 0.95
    assert found["horsepower"].method == "title-unit-match"
    assert found["horsepower"].sources == ("record:title",)
    assert found["horsepower"].explanation.startswith('"5HP" in title')
    assert found["voltage"].value == 230.0
    # "5HP" is claimed by the attribute whose unit is hp, not converted into `power` (W).
    assert "power" not in found
    assert all(p.provider == "extract" for p in found.values())


def test_values_are_converted_to_the_attribute_unit(schema: CatalogSchema) -> None:
    frame = records(
        {
            "W-1": {"title": "Socket wrench 3/8 in drive"},
            "W-2": {"title": "Impact socket, 12.7mm drive"},
            "P-1": {"title": "Pump 1,200 W", "description": "Rated 1.2kW"},
            "P-2": {"title": "Heater 2,5 kW"},
        }
    )
    proposals = extract_attributes(frame, schema)

    assert by_field(proposals, "W-1")["drive_size"].value == pytest.approx(0.375)
    w2 = by_field(proposals, "W-2")["drive_size"]
    assert w2.value == pytest.approx(0.5)
    assert "converted to 0.5 in" in w2.explanation
    p1 = by_field(proposals, "P-1")["power"]
    assert p1.value == 1200.0
    assert p1.sources == ("record:title", "record:description")  # both say 1200 W
    assert by_field(proposals, "P-2")["power"].value == 2500.0


def test_source_values_are_never_overwritten(schema: CatalogSchema) -> None:
    frame = records(
        {
            "AC-1": {"title": "Air Compressor 5HP 230V", "voltage": 240.0, "horsepower": None},
            "AC-2": {"title": "Air Compressor 5HP 230V", "voltage": None, "horsepower": ""},
        }
    )
    proposals = extract_attributes(frame, schema)

    assert set(by_field(proposals, "AC-1")) == {"horsepower"}
    assert set(by_field(proposals, "AC-2")) == {"horsepower", "voltage"}


def test_no_evidence_no_proposal(schema: CatalogSchema) -> None:
    frame = records(
        {
            "X-1": {"title": "Replacement part", "description": "Fits most models. Ships fast."},
            "X-2": {"title": None, "description": None},
            "X-3": {"title": "Bored reddish blackboard", "description": "5 in stock"},
        }
    )
    assert extract_attributes(frame, schema) == []


def test_dimension_strings_and_labelled_values(schema: CatalogSchema) -> None:
    frame = records(
        {
            "B-1": {"title": "Storage box 10 x 20 x 30 mm"},
            "B-2": {"title": "Storage box 1 x 2 x 3 cm (W x H x L)"},
            "B-3": {"title": "Rod", "description": "Length: 300 mm, 12 mm dia"},
            "B-4": {"title": "Plate 40 x 20 x 5 mm", "description": "Overall length: 45 mm"},
        }
    )
    proposals = extract_attributes(frame, schema)

    b1 = by_field(proposals, "B-1")
    assert (b1["length"].value, b1["width"].value, b1["height"].value) == (10.0, 20.0, 30.0)
    assert b1["length"].confidence == 0.85  # position alone: a reviewer confirms the order
    assert b1["length"].method == "title-dimension-position-1"
    b2 = by_field(proposals, "B-2")  # the stated order wins over the default L x W x H
    assert (b2["width"].value, b2["height"].value, b2["length"].value) == (10.0, 20.0, 30.0)
    assert b2["length"].confidence == 0.95
    b3 = by_field(proposals, "B-3")
    assert b3["length"].value == 300.0
    assert b3["length"].method == "description-labelled-unit"
    assert "width" not in b3 and "height" not in b3  # "12 mm dia" is no width or height
    b4 = by_field(proposals, "B-4")  # a labelled value outranks a dimension position
    assert b4["length"].value == 45.0
    assert b4["width"].value == 20.0


def test_enum_values_and_synonyms_whole_words(schema: CatalogSchema) -> None:
    frame = records(
        {
            "E-1": {"title": "Hose clamp, inox", "description": ""},
            "E-2": {"title": "Pipe fitting", "description": "Made of aluminum. Red handle."},
            "E-3": {"title": "Brassiere hook", "description": "Colour: Yellow; black trim"},
            "E-4": {"title": "Stainless-steel bolt"},
        }
    )
    proposals = extract_attributes(frame, schema)

    e1 = by_field(proposals, "E-1")["material"]
    assert (e1.value, e1.method, e1.confidence) == ("Stainless Steel", "title-enum-synonym", 0.87)
    assert e1.explanation.startswith('"inox" in title')
    e2 = by_field(proposals, "E-2")
    assert e2["material"].value == "Aluminium"
    assert e2["material"].confidence == 0.85
    assert e2["color"].value == "Red"
    e3 = by_field(proposals, "E-3")
    assert "material" not in e3  # "Brassiere" is not brass
    assert e3["color"].value == "Yellow"  # the labelled colour outranks a passing mention
    assert e3["color"].method == "description-enum-labelled"
    assert by_field(proposals, "E-4")["material"].value == "Stainless Steel"


def test_booleans_and_negation(schema: CatalogSchema) -> None:
    frame = records(
        {
            "D-1": {"title": "Cordless drill 18V"},
            "D-2": {"title": "Torch", "description": "Not waterproof."},
            "D-3": {"title": "Non-waterproof jacket"},
            "D-4": {"title": "Drill without cordless option"},
            "D-5": {"title": "Water-proof boots"},
        }
    )
    proposals = extract_attributes(frame, schema)

    assert by_field(proposals, "D-1")["cordless"].value is True
    assert by_field(proposals, "D-2")["waterproof"].value is False
    d3 = by_field(proposals, "D-3")["waterproof"]
    assert (d3.value, d3.method) == (False, "title-boolean-negation")
    assert d3.explanation.startswith('"Non-waterproof" in title')
    assert by_field(proposals, "D-4")["cordless"].value is False
    assert by_field(proposals, "D-5")["waterproof"].value is True


@pytest.mark.parametrize(
    ("title", "size"),
    [
        ("Nitrile gloves, pack of 10", 10),
        ("Cable ties 100-pack", 100),
        ("Hex bolts 25 pcs", 25),
        ("Staples, box of 1000", 1000),
        ("Screwdriver set of 3", 3),
        ("AA batteries x4", 4),
        ("Washers qty 50", 50),
        ("Wipes 12/pk", 12),
    ],
)
def test_pack_sizes(schema: CatalogSchema, title: str, size: int) -> None:
    found = by_field(extract_attributes(records({"K-1": {"title": title}}), schema), "K-1")
    assert found["pack_size"].value == size
    assert isinstance(found["pack_size"].value, int)


def test_dimensions_are_not_pack_sizes(schema: CatalogSchema) -> None:
    frame = records({"K-1": {"title": "Sheet 10 x 20 mm"}, "K-2": {"title": "M6 x 20 screw"}})
    proposals = extract_attributes(frame, schema)
    assert not [p for p in proposals if p.field == "pack_size"]


def test_labelled_text(schema: CatalogSchema) -> None:
    frame = records(
        {
            "T-1": {"title": "Angle grinder", "description": "Brand: Acme Tools, Model: X200."},
            "T-2": {"title": "Angle grinder Brand: Makita Model No: GA4530"},
        }
    )
    proposals = extract_attributes(frame, schema)

    t1 = by_field(proposals, "T-1")
    assert (t1["brand"].value, t1["model"].value) == ("Acme Tools", "X200")
    assert t1["brand"].confidence == 0.9
    assert t1["brand"].method == "description-labelled-text"
    t2 = by_field(proposals, "T-2")
    assert (t2["brand"].value, t2["model"].value) == ("Makita", "GA4530")


def test_conflicting_evidence_goes_to_review(schema: CatalogSchema) -> None:
    frame = records(
        {
            "C-1": {"title": "Compressor 5HP", "description": "A 3HP motor"},
            "C-2": {"title": "Adapter 110V 220V"},
            "C-3": {"title": "Gloves pack of 10", "description": "box of 100"},
        }
    )
    proposals = extract_attributes(frame, schema)

    c1 = by_field(proposals, "C-1")["horsepower"]
    assert c1.value == 5.0  # the title's value
    assert c1.confidence <= AMBIGUOUS_CAP
    assert '"3HP" in description' in c1.explanation
    assert by_field(proposals, "C-2")["voltage"].confidence <= AMBIGUOUS_CAP
    assert by_field(proposals, "C-3")["pack_size"].confidence <= AMBIGUOUS_CAP


def test_value_outside_schema_range_is_capped(schema: CatalogSchema) -> None:
    found = by_field(extract_attributes(records({"V-1": {"title": "Cable 5 kV"}}), schema), "V-1")
    assert found["voltage"].value == 5000.0
    assert found["voltage"].confidence <= 0.5
    assert "outside the schema's range" in found["voltage"].explanation


def test_attribute_sharing_a_dimension_is_less_sure_without_its_unit() -> None:
    schema = CatalogSchema.from_dict(
        {
            "name": "s",
            "id": "sku",
            "text": ["title"],
            "attributes": [
                {"name": "sku"},
                {"name": "title"},
                {"name": "weight", "type": "number", "unit": "kg", "derive": "extract"},
                {
                    "name": "load_capacity",
                    "type": "number",
                    "unit": "kg",
                    "derive": "extract",
                    "synonyms": {"capacity": ["capacity"]},
                },
            ],
        }
    )
    frame = records(
        {
            "L-1": {"title": "Trolley 12 kg"},
            "L-2": {"title": "Trolley, capacity 150 kg, weight: 12 kg"},
        }
    )
    proposals = extract_attributes(frame, schema)

    l1 = by_field(proposals, "L-1")
    assert l1["weight"].confidence == l1["load_capacity"].confidence == 0.55
    l2 = by_field(proposals, "L-2")
    assert (l2["weight"].value, l2["weight"].confidence) == (12.0, 0.95)
    assert (l2["load_capacity"].value, l2["load_capacity"].confidence) == (150.0, 0.95)


def test_only_the_first_text_attribute_counts_as_title(schema: CatalogSchema) -> None:
    frame = records({"A-1": {"title": "Compressor", "description": "Motor 230V"}})
    voltage = by_field(extract_attributes(frame, schema), "A-1")["voltage"]
    assert (voltage.confidence, voltage.method) == (0.9, "description-unit-match")


def test_schema_without_extract_attributes_or_text_gives_nothing() -> None:
    schema = CatalogSchema.from_dict(
        {
            "name": "s",
            "id": "sku",
            "attributes": [
                {"name": "sku"},
                {"name": "voltage", "type": "number", "unit": "V", "derive": "extract"},
            ],
        }
    )
    assert extract_attributes(records({"A": {"sku": "A"}}), schema) == []


@pytest.fixture(scope="module")
def web_offers() -> pd.DataFrame:
    raw = pd.read_csv(shared_path(MWPD), usecols=["ID", "Name", "Description"], nrows=3000)
    frame = raw.rename(columns={"Name": "title", "Description": "description"}).set_index("ID")
    frame["description"] = frame["description"].str.slice(0, 400)
    return frame


def test_real_web_offers_quote_evidence_found_in_the_cited_text(web_offers: pd.DataFrame) -> None:
    schema = CatalogSchema.from_dict(
        {
            "name": "web",
            "id": "sku",
            "text": ["title", "description"],
            "attributes": [
                {"name": "sku"},
                {"name": "title"},
                {"name": "description"},
                {
                    "name": "screen_size",
                    "type": "number",
                    "unit": "in",
                    "derive": "extract",
                    "synonyms": {"screen": ["screen", "display"]},
                },
                {"name": "weight", "type": "number", "unit": "kg", "derive": "extract"},
                {"name": "capacity", "type": "number", "unit": "GB", "derive": "extract"},
                {
                    "name": "color",
                    "type": "enum",
                    "derive": "extract",
                    "enum": ["Black", "White", "Red", "Blue", "Green", "Grey"],
                    "synonyms": {"Grey": ["gray"]},
                },
                {"name": "pack_size", "type": "integer", "derive": "extract"},
                {"name": "waterproof", "type": "boolean", "derive": "extract"},
            ],
        }
    )
    proposals = extract_attributes(web_offers, schema)

    assert len(proposals) > 300
    assert len({(p.record_id, p.field) for p in proposals}) == len(proposals)
    for p in proposals:
        assert 0.0 < p.confidence <= 1.0
        match = re.match(r'^"(.*?)" in (title|description)\b', p.explanation, re.S)
        assert match, p.explanation
        evidence, column = match.groups()
        assert f"record:{column}" in p.sources
        assert evidence in str(web_offers.at[p.record_id, column]), p
    # The HP monitor offer: "58.40 cm (23')" in its title is a 23-inch screen.
    monitor = by_field(proposals, 5664)["screen_size"]
    assert monitor.value == pytest.approx(58.4 / 2.54)


def test_thread_sizes_and_mixed_units_are_not_dimension_strings(schema: CatalogSchema) -> None:
    frame = records(
        {
            "F-1": {"title": "Hex Bolt M12 x 30mm (Pack of 100)"},
            "F-2": {"title": 'Air Hose 1/4" x 100 ft'},
            "F-3": {"title": "Angle Grinder 125mm 1100W 230V"},
        }
    )
    proposals = extract_attributes(frame, schema)

    f1 = by_field(proposals, "F-1")
    assert f1["length"].value == 30.0  # M12 is the thread, 30 mm the length
    assert "width" not in f1 or f1["width"].confidence < 0.6
    f2 = by_field(proposals, "F-2")
    assert "dimension-position" not in f2["length"].method
    assert f2["length"].confidence <= AMBIGUOUS_CAP  # 1/4" and 100 ft disagree
    # A bare length in a title may be the disc, the blade, the thread: a reviewer decides.
    assert by_field(proposals, "F-3")["length"].confidence < 0.9


@pytest.mark.parametrize(
    "hostile", ["1" * 20_000 + " x 2", "1." * 10_000 + " x 2", "1," * 10_000 + " x 2 mm"]
)
def test_a_hostile_title_is_read_in_linear_time(schema: CatalogSchema, hostile: str) -> None:
    """Number patterns start only where a number starts and never give digits back, so a
    title of 20,000 digits (or dotted digits) costs milliseconds, not seconds."""
    import time

    frame = records({"H-1": {"title": hostile, "description": hostile}})
    started = time.perf_counter()
    extract_attributes(frame, schema)
    assert time.perf_counter() - started < 1.0
