"""Write skuflow's bundled example: a supplier catalogue, its suppliers, taxonomy and schema.

Everything here is invented for skuflow: twelve fictional suppliers (on `.example.com`
domains, reserved for documentation), their brands and products. The catalogue is messy the way
a distributor's supplier feeds are (supplier names spelled four ways, prices with and without
`$`, weights in lb and kg, colour synonyms, non-breaking spaces, smart quotes, a few fullwidth
characters, a category on fewer than half the rows) while every row stays valid input, so the
demo exercises each stage and still passes validation.

The output is byte-for-byte reproducible: one seeded `random.Random`, no clock, stdlib only.
Run `python examples/make_example.py` to rewrite the files beside this script, or pass
`--out DIR`. `benchmarks/generate.py` loads this file for its vocabulary (`COLUMNS`,
`FAMILIES`, `make_product`, `render_row`), so a benchmark catalogue of any size reads like the
example.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20261101
N_PRODUCTS = 360
N_RELISTED = 6
"""Rows that list an earlier product again (same brand, part number and UPC, other spelling)."""
LABELLED_SHARE = 0.45
"""Share of rows whose supplier gave a category; the pipeline classifies the rest."""
SKU_PREFIX = "AC-"
SKU_START = 10000

CATALOG_FILE = "acme_supplier_catalog.csv"
SUPPLIERS_FILE = "suppliers.csv"
TAXONOMY_FILE = "taxonomy.txt"
SCHEMA_FILE = "catalog.yaml"

COLUMNS = [
    "Item #",
    "Product Name",
    "Description",
    "Brand",
    "MFR Part No",
    "Supplier",
    "Supplier Website",
    "Unit Price",
    "Weight",
    "Colour",
    "Material",
    "Category",
    "UPC",
]
SUPPLIER_COLUMNS = ["name", "website", "employees", "annual_revenue_usd", "industry", "country"]

TAXONOMY_TEXT = """\
# Example_Taxonomy_Version: 2026-11-01
1000 - Tools
1100 - Tools > Power Tools
1101 - Tools > Power Tools > Drills & Drivers
1102 - Tools > Power Tools > Saws
1103 - Tools > Power Tools > Grinders
1200 - Tools > Hand Tools
1201 - Tools > Hand Tools > Wrenches
1202 - Tools > Hand Tools > Screwdrivers
1203 - Tools > Hand Tools > Pliers
2000 - Fasteners
2100 - Fasteners > Bolts & Screws
2101 - Fasteners > Bolts & Screws > Hex Bolts
2102 - Fasteners > Bolts & Screws > Machine Screws
2200 - Fasteners > Nuts & Washers
2201 - Fasteners > Nuts & Washers > Hex Nuts
2202 - Fasteners > Nuts & Washers > Flat Washers
3000 - Safety
3100 - Safety > Hand Protection
3101 - Safety > Hand Protection > Disposable Gloves
3102 - Safety > Hand Protection > Work Gloves
3200 - Safety > Eye Protection
3201 - Safety > Eye Protection > Safety Glasses
3300 - Safety > Hearing Protection
3301 - Safety > Hearing Protection > Earplugs
3400 - Safety > Head Protection
3401 - Safety > Head Protection > Hard Hats
4000 - Electrical
4100 - Electrical > Wire & Cable
4101 - Electrical > Wire & Cable > Extension Cords
4200 - Electrical > Circuit Protection
4201 - Electrical > Circuit Protection > Circuit Breakers
4300 - Electrical > Lighting
4301 - Electrical > Lighting > LED High Bay Lights
4302 - Electrical > Lighting > LED Tubes
5000 - Plumbing
5100 - Plumbing > Valves
5101 - Plumbing > Valves > Ball Valves
5200 - Plumbing > Pipe Fittings
5201 - Plumbing > Pipe Fittings > Couplings
6000 - HVAC
6100 - HVAC > Air Filters
6101 - HVAC > Air Filters > Pleated Filters
6200 - HVAC > Fans & Ventilation
6201 - HVAC > Fans & Ventilation > Exhaust Fans
7000 - Pneumatics
7100 - Pneumatics > Air Compressors
7101 - Pneumatics > Air Compressors > Stationary Compressors
7102 - Pneumatics > Air Compressors > Portable Compressors
7200 - Pneumatics > Air Hoses & Fittings
7201 - Pneumatics > Air Hoses & Fittings > Air Hoses
8000 - Material Handling
8100 - Material Handling > Carts & Trucks
8101 - Material Handling > Carts & Trucks > Hand Trucks
8200 - Material Handling > Storage
8201 - Material Handling > Storage > Shelving
9000 - Janitorial
9100 - Janitorial > Cleaning Chemicals
9101 - Janitorial > Cleaning Chemicals > Degreasers
9200 - Janitorial > Paper Products
9201 - Janitorial > Paper Products > Paper Towels
10000 - Adhesives & Sealants
10100 - Adhesives & Sealants > Adhesives
10101 - Adhesives & Sealants > Adhesives > Epoxies
10200 - Adhesives & Sealants > Tapes
10201 - Adhesives & Sealants > Tapes > Duct Tape
11000 - Electronics
11100 - Electronics > Cables & Adapters
11101 - Electronics > Cables & Adapters > Ethernet Cables
11102 - Electronics > Cables & Adapters > USB Cables
11103 - Electronics > Cables & Adapters > Video Adapters
11200 - Electronics > Components
11201 - Electronics > Components > Resistors
11202 - Electronics > Components > Capacitors
11300 - Electronics > Development Boards
11301 - Electronics > Development Boards > Microcontroller Boards
11400 - Electronics > Batteries
11401 - Electronics > Batteries > Rechargeable Batteries
11402 - Electronics > Batteries > Alkaline Batteries
11500 - Electronics > Networking
11501 - Electronics > Networking > Network Switches
11502 - Electronics > Networking > Wireless Access Points
11600 - Electronics > Computer Accessories
11601 - Electronics > Computer Accessories > Keyboards
11602 - Electronics > Computer Accessories > Mice
11700 - Electronics > Test Equipment
11701 - Electronics > Test Equipment > Multimeters
11702 - Electronics > Test Equipment > Oscilloscopes
"""

COLOURS: dict[str, list[str]] = {
    "Black": ["blk", "bk"],
    "White": ["wht", "wh"],
    "Grey": ["gray", "gry"],
    "Silver": ["stainless", "chrome", "slv", "metallic"],
    "Red": ["rd"],
    "Orange": ["org", "safety orange"],
    "Yellow": ["yel", "ylw"],
    "Green": ["grn"],
    "Blue": ["blu"],
    "Brown": ["brn", "tan"],
    "Clear": ["transparent", "clr"],
    "Multicolour": ["multicolor", "multi", "assorted"],
}
"""Canonical colours and the other spellings suppliers use for them."""

MATERIALS: dict[str, list[str]] = {
    "Steel": ["carbon steel", "alloy steel", "stl"],
    "Stainless Steel": ["ss", "stainless", "inox", "304 ss", "316 ss", "a2 stainless"],
    "Zinc-Plated Steel": ["zinc plated", "zinc plated steel", "zp steel"],
    "Chrome Vanadium": ["cr-v", "crv", "chrome vanadium steel"],
    "Aluminum": ["aluminium", "alu"],
    "Brass": ["lead-free brass"],
    "Copper": ["cu"],
    "PVC": ["vinyl", "pvc plastic"],
    "ABS": ["abs plastic"],
    "Polycarbonate": ["pc"],
    "Polyethylene": ["hdpe", "pe", "hppe"],
    "Polyurethane": ["pu"],
    "Polyester": ["synthetic", "poly"],
    "Nylon": ["polyamide", "pa66", "glass-filled nylon"],
    "Nitrile": ["nbr", "nitrile rubber"],
    "Rubber": ["epdm"],
    "Leather": ["genuine leather", "split leather"],
    "Foam": ["pu foam", "polyurethane foam"],
    "Paper": ["recycled paper"],
    "Epoxy": ["epoxy resin"],
    "FR-4": ["fr4", "glass epoxy"],
    "Fiberglass": ["fibreglass", "frp"],
}
"""Canonical materials and the other spellings suppliers use for them."""


# --- suppliers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supplier:
    """A fictional supplier: canonical reference data and how its own feed writes it."""

    key: str
    name: str
    domain: str
    employees: int
    revenue_usd: int
    industry: str
    country: str
    spellings: tuple[str, ...]
    metric: bool = False
    """Weights in kg/g rather than lb."""
    decimal_comma: bool = False
    """Sometimes writes prices the European way, `12,50 USD`."""


SUPPLIERS: dict[str, Supplier] = {
    s.key: s
    for s in (
        Supplier("acme", "Acme Industrial Supply Inc.", "acme-industrial.example.com", 1850,
                 412_000_000, "Industrial Distribution", "United States",
                 ("Acme Industrial Supply Inc.", "Acme Industrial Supply, Inc.",
                  "ACME INDUSTRIAL SUPPLY", "acme industrial")),
        Supplier("northwind", "Northwind Fastener Co.", "northwind-fasteners.example.com", 240,
                 58_500_000, "Fastener Manufacturing", "United States",
                 ("Northwind Fastener Co.", "Northwind Fasteners", "NORTHWIND FASTENER CO",
                  "Northwind Fastener Company")),
        Supplier("ironclad", "Ironclad Safety Products LLC", "ironclad-safety.example.com", 610,
                 134_000_000, "Personal Protective Equipment", "United States",
                 ("Ironclad Safety Products LLC", "Ironclad Safety Products, L.L.C.",
                  "IRONCLAD SAFETY", "ironclad safety products")),
        Supplier("bluepeak", "Bluepeak Electrical Ltd.", "bluepeak-electrical.example.com", 1320,
                 287_000_000, "Electrical Equipment Distribution", "United Kingdom",
                 ("Bluepeak Electrical Ltd.", "Bluepeak Electrical Limited",
                  "BLUEPEAK ELECTRICAL LTD", "Bluepeak Elec."), metric=True),
        Supplier("harbor", "Harbor Tool & Pneumatics Inc.", "harbor-tool.example.com", 95,
                 21_400_000, "Tool Manufacturing", "United States",
                 ("Harbor Tool & Pneumatics Inc.", "Harbor Tool and Pneumatics",
                  "HARBOR TOOL & PNEUMATICS, INC.", "Harbor Tool")),
        Supplier("summit", "Summit Facility Supply Co.", "summit-facility.example.com", 430,
                 96_000_000, "Janitorial and Facility Supplies", "Canada",
                 ("Summit Facility Supply Co.", "Summit Facility Supply Company",
                  "SUMMIT FACILITY SUPPLY", "summit facility supply co"), metric=True),
        Supplier("riverbend", "Riverbend Plumbing & HVAC Supply Inc.",
                 "riverbend-supply.example.com", 320, 71_000_000,
                 "Plumbing and HVAC Distribution", "United States",
                 ("Riverbend Plumbing & HVAC Supply Inc.", "Riverbend Plumbing and HVAC Supply",
                  "RIVERBEND PLUMBING & HVAC", "Riverbend Supply")),
        Supplier("kestrel", "Kestrel Klebetechnik GmbH", "kestrel-kleben.example.com", 180,
                 38_000_000, "Adhesives and Sealants Manufacturing", "Germany",
                 ("Kestrel Klebetechnik GmbH", "KESTREL KLEBETECHNIK GMBH",
                  "Kestrel Klebetechnik", "Kestrel Adhesives (Klebetechnik GmbH)"),
                 metric=True, decimal_comma=True),
        Supplier("voltaic", "Voltaic Components Corp.", "voltaic-components.example.com", 2100,
                 655_000_000, "Electronic Components Distribution", "United States",
                 ("Voltaic Components Corp.", "Voltaic Components Corporation",
                  "VOLTAIC COMPONENTS", "voltaic components corp")),
        Supplier("bitwave", "Bitwave Networks Ltd.", "bitwave-networks.example.com", 760,
                 188_000_000, "Networking Equipment", "Taiwan",
                 ("Bitwave Networks Ltd.", "BitWave Networks Limited", "BITWAVE NETWORKS",
                  "Bitwave Networks"), metric=True),
        Supplier("quartzline", "Quartzline Instruments Inc.", "quartzline-instruments.example.com",
                 140, 32_500_000, "Test and Measurement Instruments", "United States",
                 ("Quartzline Instruments Inc.", "Quartzline Instruments, Inc.",
                  "QUARTZLINE INSTRUMENTS", "Quartzline Instr.")),
        Supplier("pinecone", "Pinecone Electronics Pte. Ltd.", "pinecone-electronics.example.com",
                 55, 9_800_000, "Consumer Electronics Accessories", "Singapore",
                 ("Pinecone Electronics Pte. Ltd.", "Pinecone Electronics Pte Ltd",
                  "PINECONE ELECTRONICS", "pinecone electronics"), metric=True),
    )
}


# --- product families --------------------------------------------------------------------------


@dataclass
class Spec:
    """What a product family's maker decides; `render_row` turns it into messy columns."""

    name: str
    key_facts: list[str] = field(default_factory=list)
    """Sentences the description must keep: they carry attributes the name leaves out."""
    facts: list[str] = field(default_factory=list)
    colour: str | None = None
    material: str | None = None
    weight_kg: float = 1.0
    price: float = 10.0
    dims_mm: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Family:
    """One kind of product: its taxonomy leaf, share of rows, suppliers, brands and maker."""

    key: str
    category: str
    share: float
    suppliers: tuple[str, ...]
    brands: tuple[tuple[str, str], ...]
    """(brand, part-number prefix)."""
    make: Callable[[random.Random], Spec]


def _inch(r: random.Random) -> str:
    return r.choice(['"', '"', '"', " in", " in.", "”", "-in"])


def _price(r: random.Random, low: float, high: float) -> float:
    value = r.uniform(low, high)
    if value < 5:
        return round(value, 2)
    return round(int(value) + r.choice([0.99, 0.99, 0.49, 0.95, 0.0, 0.5]), 2)


def _dims(r: random.Random, length: float, width: float, height: float) -> tuple[float, ...]:
    return tuple(round(v * r.uniform(0.9, 1.1), 1) for v in (length, width, height))


def _drill(r: random.Random) -> Spec:
    volts = r.choice([12, 18, 20, 20, 24])
    chuck = r.choice(["1/2", "1/2", "3/8"])
    kind = r.choice(["Cordless Drill/Driver", "Hammer Drill", "Brushless Drill/Driver",
                     "Compact Drill/Driver"])
    suffix = r.choice(["", "", " Kit", " - Tool Only", " w/ 2 Batteries & Charger"])
    torque = r.choice([300, 350, 400, 450, 530, 620])
    spec = Spec(name="", colour=r.choice(["Yellow", "Red", "Blue", "Black", "Orange"]),
                material=r.choice(["Nylon", "ABS"]), weight_kg=r.uniform(1.1, 2.4),
                price=_price(r, 69, 289), dims_mm=_dims(r, 200, 78, 230))
    if r.random() < 0.7:
        spec.name = f"{kind} {volts}V Li-Ion, {chuck}{_inch(r)} Chuck{suffix}"
    else:
        spec.name = f"{kind}, {chuck}{_inch(r)} Keyless Chuck{suffix}"
        spec.key_facts.append(f"Runs on the {volts} V lithium-ion battery platform.")
    spec.facts += [
        f"Delivers {torque} in-lbs of torque with a 2-speed gearbox "
        f"(0-{r.choice([450, 500, 550])}/0-{r.choice([1700, 1800, 2000])} RPM).",
        "LED work light and belt clip; 21+1 clutch settings.",
    ]
    return spec


def _saw(r: random.Random) -> Spec:
    kind = r.choice(["circular", "circular", "recip", "jig"])
    spec = Spec(name="", colour=r.choice(["Yellow", "Red", "Blue", "Grey"]),
                material=r.choice(["Aluminum", "ABS", "Nylon"]))
    if kind == "circular":
        amps = r.choice([13, 15])
        spec.name = f"Circular Saw {r.choice(['7-1/4', '6-1/2'])}{_inch(r)} {amps} Amp 120V"
        spec.facts = [f"{r.choice([5000, 5200, 5800])} RPM motor with 0-{r.choice([50, 56])}° "
                      "bevel capacity and electric brake.",
                      "Includes a 24T carbide-tipped blade and rip fence."]
        spec.weight_kg, spec.price = r.uniform(3.2, 5.4), _price(r, 59, 199)
        spec.dims_mm = _dims(r, 330, 240, 260)
    elif kind == "recip":
        volts = r.choice([18, 20])
        if r.random() < 0.6:
            spec.name = f"Cordless Reciprocating Saw {volts}V, Tool Only"
        else:
            spec.name = "Cordless Reciprocating Saw, Tool-Free Blade Change"
            spec.key_facts.append(f"{volts}-volt brushless motor, 1-1/8 in stroke length.")
        spec.facts = ["Variable speed trigger, 0-3000 SPM.", "Pivoting shoe for flush cuts."]
        spec.weight_kg, spec.price = r.uniform(2.3, 3.6), _price(r, 89, 229)
        spec.dims_mm = _dims(r, 440, 80, 190)
    else:
        watts = r.choice([650, 750, 800])
        spec.name = f"Jigsaw {r.choice(['6.5', '7'])} Amp Variable Speed, Orbital Action"
        spec.key_facts.append(f"Corded 120 V motor, {watts} W input, 4 orbital settings.")
        spec.facts = ["Bevels 0-45° left and right.", "Dust blower keeps the cut line clear."]
        spec.weight_kg, spec.price = r.uniform(2.1, 2.8), _price(r, 49, 159)
        spec.dims_mm = _dims(r, 240, 80, 210)
    return spec


def _grinder(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Yellow", "Red", "Blue", "Green", "Black"]),
                material=r.choice(["Aluminum", "Nylon"]))
    if r.random() < 0.65:
        watts, volts = r.choice([850, 900, 1100, 1400]), r.choice([120, 230])
        disc = r.choice([f"4-1/2{_inch(r)}", f"5{_inch(r)}", "115 mm", "125mm"])
        if r.random() < 0.7:
            spec.name = f"Angle Grinder {disc} {watts}W {volts}V"
        else:
            spec.name = f"Angle Grinder {disc}, Paddle Switch"
            spec.key_facts.append(f"{watts} W motor, {volts} V, {r.choice([11000, 12000])} RPM.")
        spec.facts = ["Tool-free guard adjustment and side handle.",
                      "Spindle lock for quick disc changes."]
        spec.weight_kg, spec.price = r.uniform(1.6, 2.6), _price(r, 39, 169)
        spec.dims_mm = _dims(r, 300, 110, 100)
    else:
        hp = r.choice(["1/2", "1/3", "3/4"])
        spec.name = f"Bench Grinder {r.choice(['6', '8'])}{_inch(r)} {hp} HP 120V"
        spec.facts = ["Cast iron base with two eye shields and tool rests.",
                      "Includes 36 and 60 grit wheels, 3450 RPM."]
        spec.weight_kg, spec.price = r.uniform(8, 16), _price(r, 79, 249)
        spec.material = "Steel"
        spec.dims_mm = _dims(r, 380, 240, 270)
    return spec


def _wrench(r: random.Random) -> Spec:
    kind = r.random()
    spec = Spec(name="", colour="Silver", material="Chrome Vanadium")
    if kind < 0.4:
        n = r.choice([7, 11, 14, 16])
        spec.name = f"Combination Wrench Set {n}-Piece Metric 8-{8 + n + 1}mm"
        spec.facts = ["12-point box end with 15° offset; full-polish chrome finish.",
                      "Comes in a roll-up canvas pouch."]
        spec.weight_kg, spec.price = r.uniform(1.2, 3.5), _price(r, 29, 129)
    elif kind < 0.75:
        length = r.choice([6, 8, 10, 12])
        spec.name = f"Adjustable Wrench {length}{_inch(r)} Chrome Vanadium"
        spec.facts = ["Wide jaw capacity with laser-etched scale.",
                      "Forged and heat-treated for strength."]
        spec.weight_kg, spec.price = 0.05 * length, _price(r, 9, 39)
    else:
        spec.name = (f"Torque Wrench 1/2{_inch(r)} Drive "
                     f"{r.choice(['20-150', '10-80', '30-250'])} ft-lb")
        spec.facts = ["Click-type mechanism accurate to ±4%.", "Dual-range scale in ft-lb and N·m."]
        spec.colour = r.choice(["Black", "Silver"])
        spec.weight_kg, spec.price = r.uniform(1.4, 2.2), _price(r, 49, 189)
    spec.dims_mm = None
    return spec


def _screwdriver(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Red", "Yellow", "Black", "Blue"]),
                material="Chrome Vanadium")
    kind = r.random()
    if kind < 0.45:
        n = r.choice([6, 8, 10])
        spec.name = f"Screwdriver Set {n}-Piece Phillips/Slotted, Magnetic Tips"
        spec.facts = ["Cushion-grip handles; shafts of hardened chrome vanadium steel.",
                      "Black oxide tips for a better fit."]
        spec.weight_kg, spec.price = r.uniform(0.5, 1.1), _price(r, 14, 49)
    elif kind < 0.75:
        n = r.choice([5, 7])
        spec.name = f"Insulated Screwdriver Set 1000V, {n}-Pc, VDE Tested"
        spec.facts = ["Each tool tested at 10,000 V for live work up to 1000 V AC.",
                      "Two-colour insulation shows wear."]
        spec.weight_kg, spec.price = r.uniform(0.4, 0.9), _price(r, 29, 79)
    else:
        spec.name = "Precision Screwdriver Set 32-in-1 with Magnetic Driver"
        spec.facts = ["Includes Phillips, Torx, hex and pentalobe bits.",
                      "Aluminum handle with swivel cap."]
        spec.material = r.choice(["Aluminum", "Chrome Vanadium"])
        spec.weight_kg, spec.price = r.uniform(0.15, 0.3), _price(r, 12, 35)
    return spec


def _pliers(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Red", "Blue", "Yellow", "Black"]), material="Steel")
    kind = r.random()
    if kind < 0.4:
        length = r.choice([6, 8])
        spec.name = f"Needle Nose Pliers {length}{_inch(r)}, Side Cutter"
        spec.facts = ["Serrated jaws and induction-hardened cutting edges.",
                      "Dual-material comfort grips."]
        spec.weight_kg = 0.02 * length
    elif kind < 0.7:
        apostrophe = r.choice(["'", "’"])
        spec.name = f"Lineman{apostrophe}s Pliers 9{_inch(r)} Insulated 1000V"
        spec.facts = ["High-leverage design with crimping die behind the joint.",
                      "Insulated handles rated for live work."]
        spec.weight_kg = r.uniform(0.35, 0.45)
    else:
        spec.name = f"Tongue & Groove Pliers 10{_inch(r)}, {r.choice([5, 7, 9])} Positions"
        spec.facts = ["Right-angle teeth grip pipe and fittings.",
                      "Forged from high-carbon steel."]
        spec.weight_kg = r.uniform(0.3, 0.4)
    spec.price = _price(r, 11, 45)
    return spec


_METRIC_FASTENER_MATERIALS = [
    ("316 Stainless Steel", "Stainless Steel"),
    ("304 Stainless Steel", "Stainless Steel"),
    ("A2 Stainless", "Stainless Steel"),
    ("Zinc Plated Steel", "Zinc-Plated Steel"),
    ("Class 8.8 Steel", "Steel"),
]


def _hex_bolt(r: random.Random) -> Spec:
    pack = r.choice([10, 25, 50, 50, 100])
    spec = Spec(name="")
    if r.random() < 0.7:
        d = r.choice([6, 8, 10, 12])
        length = r.choice([20, 25, 30, 40, 50, 60, 80, 100])
        label, spec.material = r.choice(_METRIC_FASTENER_MATERIALS)
        spec.colour = "Silver" if r.random() < 0.6 else None
        roll = r.random()
        if roll < 0.45:
            spec.name = f"{label} Hex Bolt M{d} x {length}mm (Pack of {pack})"
        elif roll < 0.75:
            spec.name = f"Hex Head Bolt, M{d}x{length}, {label}, {pack}/Pk"
        else:
            spec.name = f"{label} Hex Bolt M{d} x {length} mm, Fully Threaded"
            spec.key_facts.append(f"Sold in boxes of {pack}.")
        spec.facts = ["DIN 933 / ISO 4017, coarse thread.", "Corrosion-resistant finish."]
        spec.weight_kg = pack * d * d * length * 6.5e-6
    else:
        d, tpi = r.choice([("1/4", 20), ("3/8", 16), ("1/2", 13)])
        length = r.choice(["1", "1-1/2", "2", "3"])
        spec.name = (f"Grade 8 Hex Cap Screw {d}{_inch(r)}-{tpi} x {length}{_inch(r)} "
                     f"Zinc Yellow, Box of {pack}")
        spec.material, spec.colour = "Zinc-Plated Steel", "Yellow"
        spec.facts = ["SAE J429 Grade 8 alloy steel, yellow zinc dichromate finish."]
        spec.weight_kg = pack * r.uniform(0.015, 0.09)
    spec.price = _price(r, 6, 95)
    return spec


def _machine_screw(r: random.Random) -> Spec:
    pack = r.choice([50, 100, 100, 200])
    spec = Spec(name="", colour="Silver")
    if r.random() < 0.7:
        d, length = r.choice([3, 4, 5, 6]), r.choice([8, 10, 12, 16, 20, 25])
        label, spec.material = r.choice(_METRIC_FASTENER_MATERIALS[:4])
        spec.name = f"Phillips Pan Head Machine Screw M{d} x {length}mm {label}, {pack}/pk"
        spec.facts = ["ISO 7045 pan head with cross recess."]
    else:
        size = r.choice(["#6-32", "#8-32", "#10-24"])
        spec.name = f"{size} x 1/2{_inch(r)} Slotted Round Head Machine Screw, Brass, {pack} pcs"
        spec.material, spec.colour = "Brass", None
        spec.facts = ["Solid brass for electrical and decorative work."]
    spec.weight_kg = pack * r.uniform(0.001, 0.006)
    spec.price = _price(r, 5, 39)
    return spec


def _hex_nut(r: random.Random) -> Spec:
    pack = r.choice([50, 100, 100, 250])
    spec = Spec(name="", colour="Silver")
    if r.random() < 0.6:
        d = r.choice([5, 6, 8, 10, 12])
        label, spec.material = r.choice(_METRIC_FASTENER_MATERIALS)
        spec.name = f"Hex Nut M{d} {label} (Pack of {pack})"
        spec.facts = ["DIN 934 full height nut, coarse pitch."]
    else:
        d, tpi = r.choice([("1/4", 20), ("5/16", 18), ("3/8", 16)])
        spec.name = f"Nylon Insert Lock Nut {d}{_inch(r)}-{tpi}, Box of {pack}"
        spec.material = r.choice(["Zinc-Plated Steel", "Stainless Steel"])
        spec.facts = ["Nylon insert resists loosening under vibration."]
    spec.weight_kg = pack * r.uniform(0.002, 0.012)
    spec.price = _price(r, 4, 45)
    return spec


def _washer(r: random.Random) -> Spec:
    pack = r.choice([100, 200, 500])
    spec = Spec(name="", colour="Silver")
    if r.random() < 0.6:
        d = r.choice([4, 5, 6, 8, 10])
        label, spec.material = r.choice(_METRIC_FASTENER_MATERIALS[:4])
        spec.name = f"Flat Washer M{d} {label}, Pack of {pack}"
        spec.facts = ["DIN 125 form A."]
    else:
        spec.name = (f"Fender Washer {r.choice(['1/4', '5/16', '3/8'])}{_inch(r)} x "
                     f"1-1/4{_inch(r)} OD, Zinc Plated, {pack} ct")
        spec.material = "Zinc-Plated Steel"
        spec.facts = ["Large outside diameter spreads the load on thin sheet."]
    spec.weight_kg = pack * r.uniform(0.001, 0.006)
    spec.price = _price(r, 4, 29)
    return spec


def _disposable_gloves(r: random.Random) -> Spec:
    size = r.choice(["S", "M", "L", "L", "XL"])
    pack = r.choice([100, 100, 200])
    spec = Spec(name="", weight_kg=pack * 0.0055, price=_price(r, 8, 24))
    roll = r.random()
    if roll < 0.5:
        spec.colour, spec.material = r.choice(["Blue", "Blue", "Black", "Orange"]), "Nitrile"
        spec.name = f"Nitrile Exam Gloves, {spec.colour}, Size {size}, Box of {pack}"
        spec.facts = ["Powder-free and latex-free, textured fingertips.",
                      f"{r.choice([3, 4, 5])} mil thickness, 9.5 in length."]
    elif roll < 0.75:
        spec.colour, spec.material = "Clear", "PVC"
        spec.name = f"Vinyl Disposable Gloves Powder-Free, Clear, {size}, {pack}/Box"
        spec.facts = ["General-purpose food service and cleaning glove."]
    else:
        spec.colour, spec.material = r.choice(["Black", "Orange"]), "Nitrile"
        mil = r.choice([6, 8])
        spec.name = f"{spec.colour} Nitrile Gloves {mil} mil {size}"
        spec.key_facts.append(f"Heavy-duty mechanic glove; {pack} gloves per box.")
        spec.facts = ["Diamond grip texture for oily parts."]
    return spec


def _work_gloves(r: random.Random) -> Spec:
    spec = Spec(name="", price=_price(r, 24, 89))
    pairs = r.choice([6, 12])
    if r.random() < 0.6:
        spec.colour = r.choice(["Grey", "Black", "Yellow"])
        spec.material = "Polyethylene"
        spec.name = (f"Cut Resistant Work Gloves ANSI A{r.choice([2, 3, 4])}, {spec.colour}, "
                     f"Size {r.choice([8, 9, 10])}, {pairs} Pairs")
        spec.facts = ["HPPE shell with polyurethane palm coating.", "Touchscreen compatible."]
    else:
        spec.colour, spec.material = r.choice(["Brown", "Yellow"]), "Leather"
        spec.name = f"Leather Driver Gloves, Cowhide, Size {r.choice(['M', 'L', 'XL'])}"
        spec.key_facts.append(f"Sold by the dozen ({pairs} pair pack) with keystone thumb.")
    spec.weight_kg = pairs * 0.06
    return spec


def _safety_glasses(r: random.Random) -> Spec:
    spec = Spec(name="", material="Polycarbonate", price=_price(r, 3, 59))
    if r.random() < 0.4:
        spec.name, spec.colour = "Safety Glasses Clear Anti-Fog", "Clear"
        spec.weight_kg = 0.03
        spec.key_facts.append("Polycarbonate lens meets ANSI Z87.1+, wraparound frame.")
    else:
        lens, spec.colour = r.choice([("Clear", "Clear"), ("Smoke", "Grey"),
                                      ("Amber", "Yellow")])
        pack = r.choice([10, 12])
        spec.name = f"Safety Glasses {lens} Lens ANSI Z87.1, {pack}/Box"
        spec.facts = ["Scratch-resistant hard coat; 99.9% UV protection."]
        spec.weight_kg = pack * 0.03
    return spec


def _earplugs(r: random.Random) -> Spec:
    pack = r.choice([100, 200])
    corded = r.choice(["Corded", "Uncorded"])
    spec = Spec(name=f"Foam Earplugs NRR {r.choice([29, 32, 33])}dB {corded}, "
                     f"Box of {pack} Pairs",
                colour=r.choice(["Orange", "Yellow", "Green"]), material="Foam",
                weight_kg=pack * 0.002, price=_price(r, 18, 49))
    spec.facts = ["Tapered slow-recovery foam for all-day comfort.",
                  "Individually wrapped pairs."]
    return spec


def _hard_hat(r: random.Random) -> Spec:
    colour = r.choice(["White", "Yellow", "Blue", "Orange", "Red", "Green"])
    spec = Spec(name=f"Hard Hat Type I Class E 4-Point Ratchet, {colour}", colour=colour,
                material="Polyethylene", weight_kg=r.uniform(0.38, 0.45),
                price=_price(r, 12, 39))
    spec.facts = ["HDPE shell with rain trough; tested to 20,000 volts.",
                  "Accessory slots for earmuffs and face shields."]
    return spec


def _extension_cord(r: random.Random) -> Spec:
    length = r.choice([25, 50, 100])
    gauge, amps = r.choice([(16, 13), (14, 15), (12, 15)])
    colour = r.choice(["Orange", "Yellow", "Green", "Blue"])
    spec = Spec(name="", colour=colour, material=r.choice(["PVC", "Rubber"]),
                weight_kg=length * (0.06 if gauge == 12 else 0.04),
                price=_price(r, 19, 119))
    if r.random() < 0.75:
        spec.name = f"Outdoor Extension Cord {length} ft {gauge}/3 SJTW {amps}A 125V, {colour}"
    else:
        spec.name = f"Heavy Duty Extension Cord {gauge}/3, {colour}, Lighted End"
        spec.key_facts.append(f"{length} ft long, rated {amps} A at 125 V.")
    spec.facts = ["Weather-resistant jacket stays flexible in cold."]
    return spec


def _breaker(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Black", "White", None]), material="Polycarbonate",
                weight_kg=r.uniform(0.1, 0.35), price=_price(r, 6, 69))
    roll = r.random()
    if roll < 0.4:
        spec.name = f"Single Pole Circuit Breaker {r.choice([15, 20, 30])}A 120/240V Plug-On"
        spec.facts = ["10 kA interrupting rating, UL listed."]
    elif roll < 0.7:
        spec.name = f"Double Pole Circuit Breaker {r.choice([30, 40, 50])}A 240V"
        spec.facts = ["Common trip; fits standard load centres."]
    else:
        spec.name = f"MCB C{r.choice([10, 16, 20, 32])} 1P 6kA DIN Rail Miniature Circuit Breaker"
        spec.key_facts.append("Rated 230 V AC, type C curve, 18 mm module width.")
    return spec


def _high_bay(r: random.Random) -> Spec:
    watts = r.choice([100, 150, 150, 200, 240])
    cct = r.choice([4000, 5000, 5000, 5700])
    spec = Spec(name="", colour=r.choice(["Black", "Grey", "Silver"]), material="Aluminum",
                weight_kg=r.uniform(2.5, 5.5), price=_price(r, 69, 249),
                dims_mm=_dims(r, 320, 320, 150))
    roll = r.random()
    if roll < 0.5:
        spec.name = f"LED High Bay Light {watts}W {cct}K"
        spec.facts = [f"{watts * 140:,} lumens, 100-277 V input, 0-10 V dimming."]
    elif roll < 0.8:
        spec.name = f"UFO LED High Bay {watts}W {watts * 140}lm, {cct}K"
        spec.facts = ["IP65 die-cast aluminium housing with hanging hook."]
    else:
        spec.name = f"LED High Bay Fixture, {cct}K Daylight, Warehouse Light"
        spec.key_facts.append(f"Draws {watts} W and replaces a {watts * 3} W metal halide lamp.")
    return spec


def _led_tube(r: random.Random) -> Spec:
    pack = r.choice([10, 25])
    cct = r.choice([3500, 4000, 5000])
    spec = Spec(name="", colour="White", material=r.choice(["Polycarbonate", "Aluminum"]),
                weight_kg=pack * 0.25, price=_price(r, 39, 149))
    if r.random() < 0.7:
        watts = r.choice([12, 15, 18])
        spec.name = f"T8 LED Tube 4ft {watts}W {cct}K Ballast Bypass (Pack of {pack})"
        spec.facts = ["Frosted lens, single-end power, 120-277 V."]
    else:
        spec.name = f"T5 LED Tube 1200mm 16W {cct}K, {pack} pcs"
        spec.facts = ["Direct replacement for 28 W fluorescent, no flicker."]
    return spec


def _ball_valve(r: random.Random) -> Spec:
    size = r.choice(["1/2", "3/4", "1", "1-1/4", "2"])
    spec = Spec(name="", weight_kg=r.uniform(0.2, 1.8), price=_price(r, 9, 129))
    roll = r.random()
    if roll < 0.5:
        spec.name = f"Brass Ball Valve {size}{_inch(r)} NPT Full Port 600 WOG"
        spec.material, spec.colour = "Brass", r.choice(["Red", "Yellow", None])
        spec.facts = ["Lead-free forged body, lever handle, PTFE seats."]
    elif roll < 0.75:
        spec.name = f"Stainless Steel Ball Valve {size} in. 1000 WOG, 2-Piece"
        spec.material, spec.colour = "Stainless Steel", "Silver"
        spec.facts = ["CF8M body with locking handle."]
    else:
        spec.name = f"PVC Ball Valve {size}{_inch(r)} Socket, Sch 80"
        spec.material, spec.colour = "PVC", "Grey"
        spec.facts = ["True union design for easy removal, 150 PSI at 73°F."]
    return spec


def _coupling(r: random.Random) -> Spec:
    size = r.choice(["1/2", "3/4", "1", "1-1/2"])
    pack = r.choice([10, 25])
    spec = Spec(name="", weight_kg=pack * r.uniform(0.01, 0.06), price=_price(r, 4, 39))
    if r.random() < 0.55:
        spec.name = f"PVC Coupling {size}{_inch(r)} Sch 40 Slip x Slip, Pack of {pack}"
        spec.material, spec.colour = "PVC", "White"
        spec.facts = ["NSF-61 listed for potable water."]
    else:
        spec.name = f"Copper Coupling {size}{_inch(r)} with Stop, {pack}/Bag"
        spec.material, spec.colour = "Copper", None
        spec.facts = ["Wrot copper sweat fitting, C x C."]
    return spec


def _pleated_filter(r: random.Random) -> Spec:
    size = r.choice(["16x20x1", "20x20x1", "20x25x1", "16x25x2", "24x24x2"])
    pack = r.choice([4, 6, 12])
    spec = Spec(name=f"Pleated Air Filter {size} MERV {r.choice([8, 11, 13])}, Case of {pack}",
                colour="White", material=r.choice(["Polyester", "Fiberglass"]),
                weight_kg=pack * 0.35, price=_price(r, 24, 99))
    spec.facts = ["Electrostatically charged media captures dust, pollen and pet dander.",
                  "Beverage-board frame; replace every 90 days."]
    return spec


def _exhaust_fan(r: random.Random) -> Spec:
    d = r.choice([12, 16, 20, 24])
    spec = Spec(name="", colour=r.choice(["Silver", "Grey", "Black"]),
                material=r.choice(["Steel", "Aluminum"]), weight_kg=r.uniform(5, 16),
                price=_price(r, 89, 349))
    if r.random() < 0.6:
        hp = r.choice(["1/4", "1/3", "1/2"])
        spec.name = f"Wall Mount Exhaust Fan {d}{_inch(r)} {hp} HP 115V"
        spec.facts = [f"Moves {d * 150} CFM; automatic aluminium shutter."]
    else:
        watts = r.choice([70, 110, 150])
        spec.name = f"Shutter Exhaust Fan {d}{_inch(r)} 120V"
        spec.key_facts.append(f"{watts} W permanently lubricated motor, {d * 140} CFM.")
    return spec


def _stationary_compressor(r: random.Random) -> Spec:
    hp = r.choice([3, 5, 5, 7.5, 10])
    gal = r.choice([60, 80, 120])
    volts = r.choice([208, 230, 460])
    spec = Spec(name="", colour=r.choice(["Red", "Blue", "Black", "Grey", "Orange"]),
                material="Steel", weight_kg=r.uniform(110, 260), price=_price(r, 1199, 4299),
                dims_mm=_dims(r, 760, 700, 1850))
    hp_text = f"{hp:g}"
    if r.random() < 0.7:
        spec.name = f"Industrial Air Compressor {hp_text}HP {volts}V {gal} Gal"
    else:
        spec.name = f"Two-Stage Vertical Air Compressor {gal} Gallon, Cast Iron Pump"
        spec.key_facts.append(f"{hp_text} HP motor, {volts} V single phase, 175 PSI max.")
    spec.facts = [f"Delivers {hp * 3.4:.1f} CFM at 90 PSI.", "Magnetic starter and auto drain."]
    return spec


def _portable_compressor(r: random.Random) -> Spec:
    gal = r.choice([2, 6, 8])
    hp = r.choice(["0.6", "0.8", "1.5"])
    spec = Spec(name="", colour=r.choice(["Red", "Yellow", "Blue", "Orange"]), material="Steel",
                weight_kg=r.uniform(9, 22), price=_price(r, 99, 329))
    if r.random() < 0.6:
        spec.name = f"Pancake Air Compressor {gal} Gal 150 PSI {hp} HP 120V"
    else:
        spec.name = f"Hot Dog Air Compressor {gal} Gal, Oil-Free"
        spec.key_facts.append(f"{hp} HP induction motor on 120 V household power, 150 PSI.")
    spec.facts = ["Quick recovery; two couplers for two users."]
    return spec


def _air_hose(r: random.Random) -> Spec:
    length = r.choice([25, 50, 100])
    d = r.choice(["1/4", "3/8"])
    spec = Spec(name="", colour=r.choice(["Blue", "Red", "Yellow", "Green"]),
                material=r.choice(["Rubber", "PVC", "Polyurethane"]),
                weight_kg=length * 0.05, price=_price(r, 19, 89))
    if r.random() < 0.65:
        spec.name = f"Hybrid Air Hose {d}{_inch(r)} x {length} ft 300 PSI"
    else:
        spec.name = f"Polyurethane Air Hose {d}{_inch(r)} x {length}', {spec.colour}"
        spec.material = "Polyurethane"
        spec.key_facts.append(f"{length} feet long, 1/4 in MNPT fittings, 200 PSI working.")
    spec.facts = ["Kink-resistant, stays flexible down to -40°F."]
    return spec


def _hand_truck(r: random.Random) -> Spec:
    cap = r.choice([500, 600, 800, 1000])
    material = r.choice(["Steel", "Aluminum"])
    spec = Spec(name="", colour=r.choice(["Black", "Red", "Blue", "Silver"]), material=material,
                weight_kg=r.uniform(12, 30), price=_price(r, 79, 329),
                dims_mm=_dims(r, 520, 480, 1300))
    if r.random() < 0.6:
        spec.name = f"Convertible Hand Truck {cap} lb Capacity, {material}"
    else:
        spec.name = f"{material} Hand Truck, 10{_inch(r)} Pneumatic Wheels"
        spec.key_facts.append(f"Holds up to {cap} lb; folding nose plate.")
    spec.facts = ["Converts from 2-wheel to 4-wheel platform."]
    return spec


def _shelving(r: random.Random) -> Spec:
    shelves = r.choice([4, 5])
    w, d, h = r.choice([(36, 18, 72), (48, 24, 72), (48, 18, 84)])
    spec = Spec(name=f"Boltless Steel Shelving Unit {shelves}-Shelf {w}{_inch(r)} W x "
                     f"{d}{_inch(r)} D x {h}{_inch(r)} H",
                colour=r.choice(["Black", "Grey", "Blue"]), material="Steel",
                weight_kg=r.uniform(25, 45), price=_price(r, 89, 299))
    spec.facts = [f"Each shelf holds {r.choice([500, 800, 1000])} lb evenly distributed.",
                  "Powder-coated finish, assembles with a rubber mallet."]
    return spec


def _degreaser(r: random.Random) -> Spec:
    size, litres = r.choice([("1 Gal", 3.8), ("5 Gal Pail", 19), ("32 fl oz Spray", 0.95)])
    pack = r.choice([1, 4, 6])
    spec = Spec(name="", colour=r.choice(["Orange", "Clear", "Green", None]), material=None,
                weight_kg=litres * pack * 1.05, price=_price(r, 9, 149))
    if pack > 1:
        spec.name = f"Heavy Duty Citrus Degreaser {size}, Case of {pack}"
    else:
        spec.name = f"Heavy Duty Citrus Degreaser {size}"
    spec.facts = ["Biodegradable, dilutes up to 1:40 for floors and equipment.",
                  "Cuts grease, oil and carbon on contact."]
    return spec


def _paper_towels(r: random.Random) -> Spec:
    spec = Spec(name="", material="Paper", price=_price(r, 24, 69))
    if r.random() < 0.6:
        packs, sheets = r.choice([(16, 250), (16, 250), (20, 200)])
        spec.colour = r.choice(["White", "Brown"])
        spec.name = f"Multifold Paper Towels, {spec.colour}, {packs} Packs of {sheets}"
        spec.weight_kg = packs * 0.55
        spec.facts = ["1-ply, fits standard multifold dispensers."]
    else:
        spec.colour = r.choice(["White", "Brown"])
        spec.name = f"Hardwound Roll Towels 8{_inch(r)} x 800 ft, 6 Rolls"
        spec.weight_kg = 9.5
        spec.facts = ["100% recycled fibre, Green Seal certified."]
    return spec


def _epoxy(r: random.Random) -> Spec:
    ml = r.choice([25, 50, 400])
    spec = Spec(name="", colour=r.choice(["Clear", "Grey", "White"]), material="Epoxy",
                weight_kg=ml * 0.0014, price=_price(r, 6, 69))
    if ml < 100:
        spec.name = f"Two-Part Epoxy {r.choice([5, 5, 30])}-Minute Set {ml} ml Syringe"
        spec.facts = ["Bonds metal, ceramic, wood and most plastics.",
                      "Mixes 1:1, full cure in 24 hours."]
    else:
        spec.name = f"Structural Epoxy Adhesive {ml} ml Cartridge, {spec.colour}"
        spec.facts = ["High-strength 2K adhesive for dispensing guns, 1:1 mix ratio."]
    return spec


def _duct_tape(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Silver", "Silver", "Black", "White"]),
                material="Polyethylene", price=_price(r, 5, 89))
    if r.random() < 0.6:
        rolls = r.choice([1, 6, 24])
        label = f", {rolls} Rolls" if rolls > 1 else ""
        spec.name = f"Duct Tape 1.88{_inch(r)} x 60 yd {spec.colour}{label}"
        spec.weight_kg = rolls * 0.42
    else:
        spec.name = f"Gewebeband / Cloth Duct Tape 48 mm x 50 m, {spec.colour}"
        spec.weight_kg = 0.38
    spec.facts = ["Polyethylene-coated cloth tape, tears by hand.",
                  "Rubber adhesive sticks to rough surfaces."]
    return spec


def _ethernet(r: random.Random) -> Spec:
    colour = r.choice(["Blue", "Grey", "Black", "Yellow", "Green", "Red", "White"])
    spec = Spec(name="", colour=colour, material=r.choice(["PVC", "PVC", "Copper"]),
                price=_price(r, 3, 39))
    if r.random() < 0.6:
        ft = r.choice([3, 5, 7, 10, 14, 25, 50])
        cat = r.choice(["5e", "6", "6"])
        pack = r.choice(["", "", " (5-Pack)"])
        spec.name = f"Cat{cat} Ethernet Patch Cable {ft}ft {colour}{pack}"
        spec.weight_kg = 0.02 + ft * 0.012
    else:
        m = r.choice([0.5, 1, 2, 3, 5])
        spec.name = f"Cat6a S/FTP Patch Cord {m:g}m {colour}, Snagless"
        spec.weight_kg = 0.02 + m * 0.045
    spec.facts = ["24 AWG pure copper conductors with gold-plated RJ45 plugs.",
                  "Tested to 550 MHz."]
    return spec


def _usb_cable(r: random.Random) -> Spec:
    colour = r.choice(["Black", "White", "Grey"])
    spec = Spec(name="", colour=colour, material=r.choice(["Nylon", "PVC"]),
                weight_kg=r.uniform(0.03, 0.09), price=_price(r, 5, 29))
    roll = r.random()
    if roll < 0.5:
        watts = r.choice([60, 100, 240])
        spec.name = f"USB-C to USB-C Cable {watts}W {r.choice([1, 2])}m Braided"
        spec.facts = ["USB 2.0 data at 480 Mbps; e-marker chip.",
                      "Aramid-fibre core survives 20,000 bends."]
    elif roll < 0.8:
        spec.name = f"USB-A to Micro-USB Cable {r.choice([3, 6, 10])}ft, {colour}"
        spec.facts = ["Charges and syncs Android phones and dev boards."]
    else:
        spec.name = "USB-C Charging Cable, Right-Angle, Braided"
        spec.key_facts.append(f"{r.choice([1, 2])} m long, supports {r.choice([60, 100])} W "
                              "power delivery.")
    return spec


def _video_adapter(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Grey", "Black", "Silver"]),
                material=r.choice(["Aluminum", "ABS"]), weight_kg=r.uniform(0.02, 0.06),
                price=_price(r, 9, 39))
    spec.name = r.choice(["USB-C to HDMI Adapter 4K 60Hz", "DisplayPort to HDMI Adapter 1080p",
                          "Mini DisplayPort to VGA Adapter", "USB-C to DisplayPort Adapter 8K",
                          "HDMI to VGA Converter with 3.5mm Audio"])
    spec.facts = ["Plug and play, no driver needed.", "Gold-plated connectors."]
    return spec


def _resistor(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Blue", "Multicolour", None]), material=None,
                price=_price(r, 2, 19))
    if r.random() < 0.7:
        ohm = r.choice(["10", "220", "1k", "4.7k", "10k", "100k"])
        pack = r.choice([100, 100, 500])
        spec.name = f"Metal Film Resistor {ohm} Ohm 1/4W 1% (Pack of {pack})"
        spec.facts = ["Through-hole axial leads, 50 ppm/°C."]
        spec.weight_kg = pack * 0.0003
    else:
        spec.name = "Carbon Film Resistor Kit, 30 Values, 600 pcs"
        spec.key_facts.append("Each resistor rated 0.25 W, 5% tolerance, 10 Ω to 1 MΩ.")
        spec.weight_kg = 0.2
    return spec


def _capacitor(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Black", "Blue", None]), price=_price(r, 3, 29))
    if r.random() < 0.7:
        uf, volts = r.choice([(100, 25), (470, 16), (1000, 25), (2200, 35), (10, 50)])
        pack = r.choice([10, 20, 50])
        spec.name = f"Electrolytic Capacitor {uf}uF {volts}V 105°C, {pack} pcs"
        spec.facts = ["Radial leads, 2000 h load life."]
        spec.weight_kg = pack * 0.002
    else:
        spec.name = "Ceramic Capacitor 100nF X7R 0805 SMD, Reel of 4000"
        spec.key_facts.append("50 V rating, 10% tolerance.")
        spec.weight_kg = 0.15
    return spec


def _dev_board(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Blue", "Black", "Green"]), material="FR-4",
                weight_kg=r.uniform(0.008, 0.03), price=_price(r, 4, 29))
    roll = r.random()
    if roll < 0.35:
        spec.name = "Arduino-compatible ESP32 Dev Board"
        spec.key_facts.append("Dual-core 240 MHz, Wi-Fi and Bluetooth, 3.3 V logic.")
    elif roll < 0.6:
        pack = r.choice([2, 3, 5])
        spec.name = f"ESP32 Development Board WiFi + Bluetooth, USB-C, 3.3V ({pack}-Pack)"
        spec.facts = ["CP2102 USB-UART bridge, 38 pins, breadboard friendly."]
    elif roll < 0.8:
        spec.name = "RP2040 Microcontroller Board 264KB SRAM, USB-C"
        spec.key_facts.append("Dual Cortex-M0+ at 133 MHz, 3.3 V I/O, 16 MB flash.")
    else:
        spec.name = "ATmega328P Uno-compatible Board with USB Cable"
        spec.facts = ["5V logic, 14 digital I/O pins, 16 MHz crystal."]
    return spec


def _rechargeable(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Blue", "Green", "Black", "White", None]),
                price=_price(r, 6, 49))
    roll = r.random()
    if roll < 0.45:
        mah = r.choice([2600, 3000, 3400, 3500])
        if r.random() < 0.75:
            spec.name = f"Li-ion 18650 Battery {mah}mAh 3.7V"
        else:
            spec.name = "Li-ion 18650 Battery, Flat Top, Protected"
            spec.key_facts.append(f"{mah} mAh capacity, 3.7 V nominal, 10 A discharge.")
        spec.weight_kg = 0.048
        spec.facts = ["Ships at 30% charge per transport rules."]
    elif roll < 0.8:
        mah, pack = r.choice([2000, 2500, 2800]), r.choice([4, 8])
        spec.name = f"NiMH AA Rechargeable Batteries {mah}mAh 1.2V, {pack}-Pack"
        spec.weight_kg = pack * 0.03
        spec.facts = ["Low self-discharge: keeps 85% after one year."]
    else:
        ah = r.choice([50, 100])
        spec.name = f"LiFePO4 Battery 12V {ah}Ah Deep Cycle"
        spec.weight_kg = ah * 0.11
        spec.price = _price(r, 199, 499)
        spec.facts = ["Built-in BMS, 4000+ cycles; for solar, RV and marine."]
        spec.dims_mm = _dims(r, 330, 172, 215)
    return spec


def _alkaline(r: random.Random) -> Spec:
    size, volts, each = r.choice([("AA", "1.5", 0.023), ("AAA", "1.5", 0.012),
                                  ("9V", "9", 0.045), ("D", "1.5", 0.14)])
    pack = r.choice([4, 12, 24, 48])
    spec = Spec(name="", colour=r.choice(["Black", "Silver", None]), weight_kg=pack * each,
                price=_price(r, 5, 39))
    if size == "9V":
        spec.name = f"9V Alkaline Battery, {pack}/Box"
    elif r.random() < 0.7:
        spec.name = f"{size} Alkaline Batteries {volts}V, Pack of {pack}"
    else:
        spec.name = f"Industrial {size} Alkaline Batteries, Pack of {pack}"
        spec.key_facts.append(f"{volts} V cells with 7-year shelf life.")
    return spec


def _switch(r: random.Random) -> Spec:
    ports = r.choice([5, 8, 16, 24, 48])
    spec = Spec(name="", colour=r.choice(["Black", "Grey", "Silver", "Blue"]),
                material=r.choice(["Steel", "Aluminum"]), weight_kg=0.05 * ports + 0.2,
                dims_mm=_dims(r, 44 * min(ports, 10), 120, 27))
    if ports <= 8:
        spec.name = f"{ports}-Port Gigabit Ethernet Switch, Unmanaged"
        spec.facts = ["Fanless metal case, plug and play.", "12 V DC external power adapter."]
        spec.price = _price(r, 15, 49)
    else:
        budget = r.choice([190, 370])
        spec.name = f"{ports}-Port PoE+ Managed Switch {budget}W"
        spec.facts = ["4 SFP uplinks, VLAN and QoS, rack-mountable 1U.",
                      "Web, CLI and SNMP management."]
        spec.price = _price(r, 189, 899)
    return spec


def _access_point(r: random.Random) -> Spec:
    spec = Spec(name="", colour="White", material="ABS", weight_kg=r.uniform(0.4, 0.9),
                price=_price(r, 79, 299))
    if r.random() < 0.7:
        spec.name = f"Wi-Fi 6 Ceiling Access Point AX{r.choice([1800, 3000, 5400])} PoE"
        spec.facts = ["Dual-band, MU-MIMO, supports up to 250 clients.",
                      f"Powered by 802.3at PoE, {r.choice([13, 17])} W max."]
    else:
        spec.name = "Outdoor Wireless Access Point 5GHz IP67"
        spec.facts = ["Weatherproof for pole or wall mount, 24 V passive PoE."]
    return spec


def _keyboard(r: random.Random) -> Spec:
    colour = r.choice(["Black", "White", "Grey"])
    spec = Spec(name="", colour=colour, material=r.choice(["ABS", "Aluminum"]),
                weight_kg=r.uniform(0.45, 1.0), price=_price(r, 19, 129),
                dims_mm=_dims(r, 440, 135, 30))
    if r.random() < 0.6:
        spec.name = f"Wireless Keyboard Full Size 2.4GHz, {colour}"
        spec.facts = ["Quiet scissor keys; USB nano receiver.",
                      "Runs 24 months on 2 AAA batteries."]
    else:
        spec.name = "Mechanical Keyboard Tenkeyless, Brown Switches, USB-C"
        spec.facts = ["Hot-swappable switches, PBT keycaps, white backlight."]
    return spec


def _mouse(r: random.Random) -> Spec:
    colour = r.choice(["Black", "Grey", "White", "Blue"])
    spec = Spec(name="", colour=colour, material="ABS", weight_kg=r.uniform(0.07, 0.13),
                price=_price(r, 8, 59))
    if r.random() < 0.6:
        spec.name = f"Ergonomic Wireless Mouse 2.4GHz {r.choice([1600, 2400, 4000])} DPI"
        spec.facts = ["Vertical grip reduces wrist strain.", "USB receiver stores in the base."]
    else:
        spec.name = f"Wired Optical Mouse USB, {colour}"
        spec.facts = ["1.8 m cable, ambidextrous shape."]
    return spec


def _multimeter(r: random.Random) -> Spec:
    spec = Spec(name="", colour=r.choice(["Yellow", "Red", "Orange", "Grey"]), material="ABS",
                weight_kg=r.uniform(0.3, 0.6), price=_price(r, 29, 329),
                dims_mm=_dims(r, 185, 90, 50))
    roll = r.random()
    if roll < 0.4:
        spec.name = "Digital Multimeter True RMS 600V"
        spec.facts = ["Measures AC/DC voltage and current, resistance, capacitance."]
    elif roll < 0.75:
        volts = r.choice([600, 1000])
        spec.name = f"Digital Multimeter Auto-Ranging CAT III {volts}V, 6000 Counts"
        spec.facts = ["Backlit display, non-contact voltage detection, 9 V battery included."]
    else:
        spec.name = "Clamp Meter 400A AC/DC True RMS"
        spec.key_facts.append("Reads up to 600 V; jaw opens to 30 mm.")
    return spec


def _oscilloscope(r: random.Random) -> Spec:
    mhz = r.choice([50, 100, 200])
    channels = r.choice([2, 4])
    spec = Spec(name=f"Digital Oscilloscope {mhz}MHz {channels}-Channel "
                     f"{r.choice([1, 2])}GSa/s",
                colour=r.choice(["Grey", "White", "Black"]), material="ABS",
                weight_kg=r.uniform(2.2, 4.5), price=_price(r, 299, 1799),
                dims_mm=_dims(r, 320, 130, 160))
    spec.facts = ["7 in colour display, 10 Mpts memory.",
                  "Powered from 100-240 V AC, USB and LAN ports."]
    return spec


_MRO_TOOLS = ("acme", "harbor")
_ELEC = ("voltaic", "pinecone")
FAMILIES: tuple[Family, ...] = (
    Family("drill", "Tools > Power Tools > Drills & Drivers", 1.6, _MRO_TOOLS,
           (("Torqline", "TQL"), ("Voltmaster", "VM"), ("Brackwell", "BW")), _drill),
    Family("saw", "Tools > Power Tools > Saws", 1.0, _MRO_TOOLS,
           (("Torqline", "TQL"), ("Brackwell", "BW")), _saw),
    Family("grinder", "Tools > Power Tools > Grinders", 1.0, _MRO_TOOLS,
           (("Voltmaster", "VM"), ("Brackwell", "BW")), _grinder),
    Family("wrench", "Tools > Hand Tools > Wrenches", 1.0, ("acme", "harbor"),
           (("Steelhart", "SH"), ("Grippa", "GP")), _wrench),
    Family("screwdriver", "Tools > Hand Tools > Screwdrivers", 0.8, ("acme",),
           (("Steelhart", "SH"), ("Grippa", "GP")), _screwdriver),
    Family("pliers", "Tools > Hand Tools > Pliers", 0.8, ("acme", "bluepeak"),
           (("Grippa", "GP"), ("Steelhart", "SH")), _pliers),
    Family("hex_bolt", "Fasteners > Bolts & Screws > Hex Bolts", 1.6, ("northwind", "acme"),
           (("Northwind", "NWF"), ("BoltCraft", "BC")), _hex_bolt),
    Family("machine_screw", "Fasteners > Bolts & Screws > Machine Screws", 1.0,
           ("northwind", "acme"), (("Northwind", "NWF"), ("BoltCraft", "BC")), _machine_screw),
    Family("hex_nut", "Fasteners > Nuts & Washers > Hex Nuts", 1.0, ("northwind",),
           (("Northwind", "NWF"), ("BoltCraft", "BC")), _hex_nut),
    Family("washer", "Fasteners > Nuts & Washers > Flat Washers", 0.8, ("northwind", "acme"),
           (("Northwind", "NWF"), ("BoltCraft", "BC")), _washer),
    Family("disposable_gloves", "Safety > Hand Protection > Disposable Gloves", 1.5,
           ("ironclad", "summit"), (("SafeHand", "SHD"), ("Ironclad", "IC")), _disposable_gloves),
    Family("work_gloves", "Safety > Hand Protection > Work Gloves", 1.0, ("ironclad", "acme"),
           (("Ironclad", "IC"), ("SafeHand", "SHD")), _work_gloves),
    Family("safety_glasses", "Safety > Eye Protection > Safety Glasses", 1.0,
           ("ironclad", "acme"), (("ClearView", "CV"), ("Ironclad", "IC")), _safety_glasses),
    Family("earplugs", "Safety > Hearing Protection > Earplugs", 0.7, ("ironclad",),
           (("Ironclad", "IC"), ("HushGuard", "HG")), _earplugs),
    Family("hard_hat", "Safety > Head Protection > Hard Hats", 0.7, ("ironclad", "acme"),
           (("Ironclad", "IC"), ("Topline", "TL")), _hard_hat),
    Family("extension_cord", "Electrical > Wire & Cable > Extension Cords", 1.0,
           ("bluepeak", "acme"), (("Bluepeak", "BPE"), ("CordPro", "CP")), _extension_cord),
    Family("breaker", "Electrical > Circuit Protection > Circuit Breakers", 0.9, ("bluepeak",),
           (("Bluepeak", "BPE"), ("Tripwell", "TW")), _breaker),
    Family("high_bay", "Electrical > Lighting > LED High Bay Lights", 1.2, ("bluepeak", "acme"),
           (("Lumenar", "LMR"), ("Bluepeak", "BPE")), _high_bay),
    Family("led_tube", "Electrical > Lighting > LED Tubes", 0.9, ("bluepeak",),
           (("Lumenar", "LMR"),), _led_tube),
    Family("ball_valve", "Plumbing > Valves > Ball Valves", 1.0, ("riverbend", "acme"),
           (("FlowRite", "FR"), ("Riverbend", "RB")), _ball_valve),
    Family("coupling", "Plumbing > Pipe Fittings > Couplings", 0.8, ("riverbend",),
           (("FlowRite", "FR"), ("Riverbend", "RB")), _coupling),
    Family("pleated_filter", "HVAC > Air Filters > Pleated Filters", 0.8, ("riverbend", "summit"),
           (("AirKeep", "AK"),), _pleated_filter),
    Family("exhaust_fan", "HVAC > Fans & Ventilation > Exhaust Fans", 0.6, ("riverbend",),
           (("Ventura", "VNT"), ("AirKeep", "AK")), _exhaust_fan),
    Family("stationary_compressor", "Pneumatics > Air Compressors > Stationary Compressors", 0.7,
           ("harbor", "acme"), (("Harbor", "HTP"), ("PressAir", "PA")), _stationary_compressor),
    Family("portable_compressor", "Pneumatics > Air Compressors > Portable Compressors", 0.7,
           ("harbor",), (("PressAir", "PA"), ("Harbor", "HTP")), _portable_compressor),
    Family("air_hose", "Pneumatics > Air Hoses & Fittings > Air Hoses", 0.8, ("harbor", "acme"),
           (("PressAir", "PA"), ("Harbor", "HTP")), _air_hose),
    Family("hand_truck", "Material Handling > Carts & Trucks > Hand Trucks", 0.7,
           ("summit", "acme"), (("Liftwell", "LW"),), _hand_truck),
    Family("shelving", "Material Handling > Storage > Shelving", 0.6, ("summit", "acme"),
           (("Stackmore", "SM"),), _shelving),
    Family("degreaser", "Janitorial > Cleaning Chemicals > Degreasers", 0.7, ("summit",),
           (("Sparkline", "SPK"), ("Summit Pro", "SP")), _degreaser),
    Family("paper_towels", "Janitorial > Paper Products > Paper Towels", 0.6, ("summit",),
           (("Summit Pro", "SP"),), _paper_towels),
    Family("epoxy", "Adhesives & Sealants > Adhesives > Epoxies", 0.8, ("kestrel", "acme"),
           (("Kestrel", "KST"), ("Tackfast", "TF")), _epoxy),
    Family("duct_tape", "Adhesives & Sealants > Tapes > Duct Tape", 0.7, ("kestrel", "acme"),
           (("Tackfast", "TF"), ("Kestrel", "KST")), _duct_tape),
    Family("ethernet", "Electronics > Cables & Adapters > Ethernet Cables", 1.4,
           ("bitwave", "pinecone"), (("Bitwave", "BWN"), ("Linkora", "LK")), _ethernet),
    Family("usb_cable", "Electronics > Cables & Adapters > USB Cables", 1.2, ("pinecone",),
           (("Linkora", "LK"), ("Pinecone", "PCE")), _usb_cable),
    Family("video_adapter", "Electronics > Cables & Adapters > Video Adapters", 0.8,
           ("pinecone", "bitwave"), (("Linkora", "LK"), ("Pinecone", "PCE")), _video_adapter),
    Family("resistor", "Electronics > Components > Resistors", 0.8, ("voltaic",),
           (("Voltaic", "VC"), ("Quillon", "QL")), _resistor),
    Family("capacitor", "Electronics > Components > Capacitors", 0.8, ("voltaic",),
           (("Voltaic", "VC"), ("Quillon", "QL")), _capacitor),
    Family("dev_board", "Electronics > Development Boards > Microcontroller Boards", 1.0,
           _ELEC, (("Pinecone", "PCE"), ("Sparrowboard", "SPB")), _dev_board),
    Family("rechargeable", "Electronics > Batteries > Rechargeable Batteries", 1.3, _ELEC,
           (("Everpeak", "EP"), ("Voltaic", "VC")), _rechargeable),
    Family("alkaline", "Electronics > Batteries > Alkaline Batteries", 0.7, ("voltaic", "acme"),
           (("Everpeak", "EP"),), _alkaline),
    Family("switch", "Electronics > Networking > Network Switches", 0.9, ("bitwave",),
           (("Bitwave", "BWN"), ("Netmora", "NM")), _switch),
    Family("access_point", "Electronics > Networking > Wireless Access Points", 0.6,
           ("bitwave",), (("Netmora", "NM"), ("Bitwave", "BWN")), _access_point),
    Family("keyboard", "Electronics > Computer Accessories > Keyboards", 0.7, ("pinecone",),
           (("Keyloft", "KL"), ("Pinecone", "PCE")), _keyboard),
    Family("mouse", "Electronics > Computer Accessories > Mice", 0.7, ("pinecone",),
           (("Keyloft", "KL"), ("Pinecone", "PCE")), _mouse),
    Family("multimeter", "Electronics > Test Equipment > Multimeters", 0.8,
           ("quartzline", "acme"), (("Quartzline", "QZ"), ("Metrava", "MT")), _multimeter),
    Family("oscilloscope", "Electronics > Test Equipment > Oscilloscopes", 0.5, ("quartzline",),
           (("Quartzline", "QZ"), ("Metrava", "MT")), _oscilloscope),
)


# --- rendering: turning a clean product into what a supplier feed really says ------------------


@dataclass
class Product:
    """A product as the truth knows it, before any supplier writes it down."""

    family: Family
    spec: Spec
    brand: str
    mpn: str
    upc: str


def make_product(r: random.Random, family: Family) -> Product:
    """Draw one product of a family: its spec, brand, manufacturer part number and UPC."""
    spec = family.make(r)
    brand, prefix = r.choice(family.brands)
    mpn = f"{prefix}-{r.randint(1000, 9999)}{r.choice(['', '', '', 'A', 'B', '-K2', '-BL'])}"
    company = _company_prefix(brand)
    body = f"{company}{r.randint(0, 99999):05d}"
    return Product(family, spec, brand, mpn, body + _upc_check_digit(body))


_NOT_TRADE_ITEMS = "245"
"""A UPC-A's first digits GS1 does not allot to trade items: 2 and 4 are in-store codes and 5 a
coupon (`catalog.gtin` refuses them)."""


def _company_prefix(brand: str) -> str:
    """The brand's six-digit GS1 company prefix, fixed per brand, in a trade-item range. A
    prefix that would start in a restricted range moves to another first digit (never 0, so
    which UPCs lose a leading zero in a spreadsheet, and the random draws after, stay put)."""
    code = zlib.crc32(brand.encode())
    prefix = f"{code % 1_000_000:06d}"
    if prefix[0] in _NOT_TRADE_ITEMS:
        prefix = "136789"[code % 6] + prefix[1:]
    return prefix


def _upc_check_digit(eleven: str) -> str:
    odd = sum(int(c) for c in eleven[0::2])
    even = sum(int(c) for c in eleven[1::2])
    return str((10 - (odd * 3 + even) % 10) % 10)


_NBSP = "\u00a0"


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _mess_text(r: random.Random, text: str, *, rate: float) -> str:
    """Spacing accidents of spreadsheets and copy-paste: non-breaking, doubled, trailing."""
    if " " in text and r.random() < rate:
        i = r.choice([i for i, c in enumerate(text) if c == " "])
        text = text[:i] + _NBSP + text[i + 1:]
    if " " in text and r.random() < rate:
        i = r.choice([i for i, c in enumerate(text) if c == " "])
        text = text[:i] + "  " + text[i + 1:]
    if r.random() < rate:
        text += r.choice([" ", "  ", _NBSP])
    return text


def _mess_name(r: random.Random, name: str) -> str:
    name = _mess_text(r, name, rate=0.05)
    if r.random() < 0.01:  # a word pasted from a CJK-locale spreadsheet
        words = name.split(" ")
        candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 2]
        if candidates:
            i = r.choice(candidates)
            words[i] = _fullwidth(words[i])
            name = " ".join(words)
    if "(" in name and r.random() < 0.08:
        name = name.replace("(", "（").replace(")", "）")
    return name


def _render_description(r: random.Random, product: Product, supplier: Supplier) -> str:
    spec = product.spec
    optional = list(spec.facts)
    if spec.dims_mm is not None and r.random() < 0.6:
        length, width, height = spec.dims_mm
        if supplier.metric or r.random() < 0.3:
            optional.append(f"Dimensions (L x W x H): {length:.0f} x {width:.0f} x "
                            f"{height:.0f} mm.")
        else:
            optional.append(f"Measures {length / 25.4:.1f} x {width / 25.4:.1f} x "
                            f"{height / 25.4:.1f} in (L x W x H).")
    if r.random() < 0.35:
        kg = spec.weight_kg
        optional.append(r.choice([
            f"Weighs {_kilograms(kg)}.",
            f"Weight: {_pounds(kg)}.",
            f"Shipping weight {_pounds(kg, unit='lbs')} ({_kilograms(kg)}).",
        ]))
    if spec.material and r.random() < 0.3:
        material = spec.material if spec.material.isupper() else spec.material.lower()
        optional.append(f"Made of {material}"
                        + (f", {spec.colour.lower()} finish." if spec.colour else "."))
    elif spec.colour and r.random() < 0.2:
        optional.append(f"Colour: {spec.colour.lower()}.")
    if not spec.key_facts and r.random() < 0.08:
        return ""
    keep = max(0, min(len(optional), r.randint(1, 3) - len(spec.key_facts)))
    sentences = spec.key_facts + r.sample(optional, keep)
    text = " ".join(sentences)
    if r.random() < 0.3:
        text = text.replace("'", "’")
    return _mess_text(r, text, rate=0.04)


def _render_enum(r: random.Random, value: str | None, synonyms: dict[str, list[str]]) -> str:
    if value is None:
        return ""
    roll = r.random()
    if roll < 0.5:
        return value
    if roll < 0.65:
        return value.lower()
    if roll < 0.75:
        return value.upper()
    spellings = synonyms.get(value) or [value]
    chosen = r.choice(spellings)
    return chosen.upper() if r.random() < 0.25 else chosen.title() if r.random() < 0.5 else chosen


def _render_price(r: random.Random, price: float, supplier: Supplier) -> str:
    if supplier.decimal_comma and r.random() < 0.5:
        return f"{price:.2f}".replace(".", ",") + " USD"
    roll = r.random()
    if price >= 1000:
        return f"${price:,.2f}" if roll < 0.6 else f"{price:,.2f}" if roll < 0.8 else f"{price:.2f}"
    if roll < 0.35:
        return f"${price:.2f}"
    if roll < 0.9:
        return f"{price:.2f}"
    return f"{price:.2f} "


def _render_weight(r: random.Random, kg: float, supplier: Supplier) -> str:
    if r.random() < 0.1:
        return ""
    if supplier.metric or r.random() < 0.12:
        if kg < 0.1 or (kg < 1 and r.random() < 0.7):
            return _grams(kg)
        return f"{kg:.1f}kg" if r.random() < 0.5 else f"{kg:.2f} kg"
    return _pounds(kg, unit="lbs" if r.random() < 0.3 else "lb")


def _grams(kg: float) -> str:
    return f"{max(1, round(kg * 1000))} g"


def _pounds(kg: float, *, unit: str = "lb") -> str:
    lb = kg / 0.45359237
    if lb < 1:
        return f"{max(lb, 0.01):.2f} {unit}"
    return f"{lb:.1f} {unit}" if lb < 10 else f"{lb:.0f} {unit}"


def _kilograms(kg: float) -> str:
    return _grams(kg) if kg < 1 else f"{kg:.1f} kg"


def _render_website(r: random.Random, supplier: Supplier) -> str:
    roll = r.random()
    domain = supplier.domain
    if roll < 0.4:
        return domain
    if roll < 0.55:
        return f"www.{domain}"
    if roll < 0.65:
        return f"https://www.{domain}/"
    if roll < 0.85:
        return f"{r.choice(['orders', 'sales', 'info'])}@{domain}"
    return ""


def _render_category(r: random.Random, path: str) -> str:
    roll = r.random()
    if roll < 0.55:
        return path
    if roll < 0.67:
        return path.lower()
    if roll < 0.73:
        return path.upper()
    if roll < 0.85:
        return path.replace(" > ", ">")
    if roll < 0.93:
        top, *rest = path.split(" > ")
        return f"{top}  >  " + " >".join(rest)
    head, _, leaf = path.rpartition(" > ")
    return f"{head} > {leaf.lower()} "


def render_row(
    r: random.Random, product: Product, *, number: int, labelled: bool, relisted: bool = False
) -> list[str]:
    """Write one product the way one of its suppliers would, in `COLUMNS` order.

    Args:
        r: The generator's random source; every choice draws from it, in a fixed order.
        product: The product to write.
        number: Numeric part of the SKU; callers keep it unique.
        labelled: Whether this supplier filled the Category column.
        relisted: A second listing of a product already written: another supplier spelling,
            a slightly different price.
    """
    spec = product.spec
    supplier = SUPPLIERS[r.choice(product.family.suppliers)]
    sku = f"{SKU_PREFIX}{number}" + (r.choice([" ", "  "]) if r.random() < 0.03 else "")
    name = spec.name.upper() if relisted and r.random() < 0.5 else spec.name
    supplier_name = r.choices(supplier.spellings, weights=(4, 2, 2, 2))[0]
    if r.random() < 0.05:
        supplier_name += " "
    price = round(spec.price * r.uniform(0.95, 1.08), 2) if relisted else spec.price
    mpn = product.mpn if r.random() > 0.05 else ""
    if mpn and r.random() < 0.04:
        mpn = mpn.lower()
    upc = product.upc if r.random() > 0.15 else ""
    if upc.startswith("0") and r.random() < 0.3:  # a spreadsheet took it for a number
        upc = upc.lstrip("0")
    return [
        sku,
        _mess_name(r, name),
        _render_description(r, product, supplier),
        _mess_text(r, product.brand, rate=0.03),
        mpn,
        supplier_name,
        _render_website(r, supplier),
        _render_price(r, price, supplier),
        _render_weight(r, spec.weight_kg, supplier),
        _render_enum(r, spec.colour, COLOURS),
        _render_enum(r, spec.material, MATERIALS),
        _render_category(r, product.family.category) if labelled else "",
        upc,
    ]


def sku_number(r: random.Random, index: int) -> int:
    """The numeric part of the index-th SKU: increasing with random gaps, so unique for any n."""
    return SKU_START + index * 3 + r.randrange(3)


def example_rows(seed: int = SEED) -> Iterator[list[str]]:
    """The example catalogue's rows: family counts in proportion to their shares, exactly
    `LABELLED_SHARE` of each family labelled, a few products listed twice."""
    r = random.Random(seed)
    new = N_PRODUCTS - N_RELISTED
    total = sum(f.share for f in FAMILIES)
    exact = [f.share / total * new for f in FAMILIES]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(FAMILIES)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: new - sum(counts)]:
        counts[i] += 1
    plan: list[tuple[Family, bool]] = []
    for family, count in zip(FAMILIES, counts, strict=True):
        labelled = round(count * LABELLED_SHARE)
        plan += [(family, k < labelled) for k in range(count)]
    r.shuffle(plan)
    relist_at = set(r.sample(range(N_PRODUCTS // 4, N_PRODUCTS), N_RELISTED))
    written: list[Product] = []
    for index in range(N_PRODUCTS):
        number = sku_number(r, index)
        if index in relist_at:
            product = r.choice(written)
            yield render_row(r, product, number=number, labelled=r.random() < LABELLED_SHARE,
                             relisted=True)
            continue
        family, labelled = plan.pop()
        product = make_product(r, family)
        written.append(product)
        yield render_row(r, product, number=number, labelled=labelled)


# --- the other files ---------------------------------------------------------------------------


def taxonomy_paths() -> list[str]:
    """Every node path of the example taxonomy, in file order."""
    return [
        line.split(" - ", 1)[1]
        for line in TAXONOMY_TEXT.splitlines()
        if line and not line.startswith("#")
    ]


def _yaml_list(items: list[str], indent: int) -> str:
    """A flow list of quoted strings, wrapped so the schema stays readable."""
    lines, line = [], "["
    for i, item in enumerate(items):
        token = json.dumps(item, ensure_ascii=False) + ("]" if i == len(items) - 1 else ",")
        if len(line) + len(token) + indent > 96:
            lines.append(line)
            line = ""
        line += token if line in ("", "[") else " " + token
    lines.append(line)
    return ("\n" + " " * (indent + 1)).join(lines)


def _yaml_synonyms(synonyms: dict[str, list[str]], indent: int) -> str:
    return "".join(
        f"\n{' ' * indent}{json.dumps(k)}: {_yaml_list(v, indent + len(json.dumps(k)) + 2)}"
        for k, v in synonyms.items()
        if v
    )


def _schema_yaml() -> str:

    return f"""\
# Catalogue schema of the bundled example. Generated by examples/make_example.py: edit there.
name: acme-supplier-catalog
kind: products
description: Synthetic MRO and electronics products from twelve fictional suppliers.
id: sku
text: [title, description]
supplier_name: supplier
supplier_website: supplier_website
thresholds: {{auto_apply: 0.9, reject: 0.5}}
unknown_columns: error
attributes:
  # Columns of the supplier feed.
  - {{name: sku, type: text, required: true, source: ["Item #"],
     description: "Distributor item number; stable across re-imports."}}
  - {{name: title, type: text, required: true, source: ["Product Name"]}}
  - {{name: description, type: text, source: ["Description"]}}
  - {{name: brand, type: text, source: ["Brand"]}}
  - {{name: mpn, type: text, source: ["MFR Part No"], description: "Manufacturer part number."}}
  - {{name: supplier, type: text, source: ["Supplier"]}}
  - {{name: supplier_website, type: text, source: ["Supplier Website"],
     description: "Domain, URL or order e-mail address of the supplier."}}
  - {{name: price, type: number, unit: USD, min: 0, required: true, source: ["Unit Price"]}}
  - {{name: weight, type: number, unit: kg, min: 0, source: ["Weight"]}}
  - name: colour
    type: enum
    source: ["Colour", "Color"]
    enum: {_yaml_list(list(COLOURS), 10)}
    synonyms:{_yaml_synonyms(COLOURS, 6)}
  - name: material
    type: enum
    source: ["Material"]
    enum: {_yaml_list(list(MATERIALS), 10)}
    synonyms:{_yaml_synonyms(MATERIALS, 6)}
  - {{name: upc, type: text, pattern: '^\\d{{12}}$', severity: warning, source: ["UPC"],
     description: "12-digit UPC-A; spreadsheets drop leading zeros, so a miss only warns."}}
  # Filled by classification where the supplier gave no category.
  - {{name: category, type: reference, derive: classify, source: ["Category"],
     description: "Node of examples/taxonomy.txt."}}
  # Filled by extraction from title and description.
  - {{name: voltage, type: number, unit: V, min: 0, derive: extract}}
  - {{name: power, type: number, unit: W, min: 0, derive: extract}}
  - {{name: horsepower, type: number, unit: hp, min: 0, derive: extract}}
  - {{name: capacity_mah, type: number, unit: mAh, min: 0, derive: extract,
     description: "Battery capacity."}}
  - {{name: length, type: number, unit: mm, min: 0, derive: extract}}
  - {{name: pack_size, type: integer, min: 1, derive: extract,
     description: "Units sold together (box, pack, case)."}}
  # Filled from the supplier reference table (examples/suppliers.csv).
  - {{name: supplier_employee_range, type: text, derive: firmographics.employee_range}}
  - {{name: supplier_revenue, type: number, unit: USD, min: 0, derive: firmographics.revenue}}
  - {{name: supplier_industry, type: text, derive: firmographics.industry}}
  - {{name: supplier_country, type: text, derive: firmographics.country}}
# Duplicates across suppliers: a few products are listed twice. With no trained pair model the
# matcher is unsupervised, so its merges wait for review (`skuflow review list --operation dedupe`).
matching:
  enabled: true
"""


def write_example(out: Path, *, seed: int = SEED) -> list[Path]:
    """Write the catalogue, suppliers table, taxonomy and schema into `out`.

    Returns:
        The written paths, in a fixed order.
    """
    out.mkdir(parents=True, exist_ok=True)
    known = set(taxonomy_paths())
    missing = [f.category for f in FAMILIES if f.category not in known]
    if missing:
        raise ValueError(f"families name categories missing from the taxonomy: {missing}")

    catalog = out / CATALOG_FILE
    with catalog.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(example_rows(seed))

    suppliers = out / SUPPLIERS_FILE
    with suppliers.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SUPPLIER_COLUMNS)
        for s in SUPPLIERS.values():
            writer.writerow([s.name, s.domain, s.employees, s.revenue_usd, s.industry, s.country])

    taxonomy = out / TAXONOMY_FILE
    taxonomy.write_text(TAXONOMY_TEXT, encoding="utf-8", newline="\n")
    schema = out / SCHEMA_FILE
    schema.write_text(_schema_yaml(), encoding="utf-8", newline="\n")
    return [catalog, suppliers, taxonomy, schema]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write into (default: beside this script)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in write_example(args.out, seed=args.seed):
        print(path)


if __name__ == "__main__":
    main()
