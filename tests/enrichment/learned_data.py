"""Small hand-made offers for the learned extractor's tests: two categories, brands at the
start of the title, colours and sizes (shoes) or roasts and weights (coffee) after it."""

from __future__ import annotations

import random

from enrichment.learned.examples import LabelledRecord
from enrichment.learned.model import ExtractorParams
from enrichment.learned.tagger import CRFParams

FAST = ExtractorParams(crf=CRFParams(max_iterations=60), folds=3)
BRANDS = ["Acme", "Borton", "Caldera", "Dynamo", "Everline", "Fjord", "Granite", "Helix"]
COLORS = ["Red", "Blue", "Black", "White", "Grey", "Navy"]
SHOES = ["Running Shoe", "Trail Sneaker", "Leather Boot", "Canvas Loafer"]
ROASTS = ["Dark Roast", "Medium Roast", "Light Roast"]
COFFEES = ["Whole Bean Coffee", "Ground Coffee", "Espresso Beans"]


def shoe(brand: str, rng: random.Random) -> tuple[str, dict[str, str]]:
    color, size, product = rng.choice(COLORS), str(rng.randint(5, 13)), rng.choice(SHOES)
    gender = rng.choice(["Men's", "Women's"])
    template = rng.choice(
        [
            "{b} {g} {p}, {c}, Size {s}",
            "{b} {g} {p} - {c} - Size {s} US",
            "{b} {p} for {g} feet, colour {c}, Size {s}",
        ]
    )
    title = template.format(b=brand, g=gender, p=product, c=color, s=size)
    return title, {"Brand": brand, "Color": color, "Size": size}


def coffee(brand: str, rng: random.Random) -> tuple[str, dict[str, str]]:
    roast, grams, product = (
        rng.choice(ROASTS),
        rng.choice(["250g", "500g", "1kg"]),
        rng.choice(COFFEES),
    )
    template = rng.choice(["{b} {r} {p} {w}", "{b} {p}, {r}, {w} bag"])
    title = template.format(b=brand, r=roast, p=product, w=grams)
    return title, {"Brand": brand, "Roast": roast, "Net content": grams}


def records(n: int = 72, seed: int = 7, brands: list[str] | None = None) -> list[LabelledRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        brand = rng.choice(brands or BRANDS)
        group = "Shoes" if i % 2 == 0 else "Coffee"
        title, values = shoe(brand, rng) if group == "Shoes" else coffee(brand, rng)
        out.append(
            LabelledRecord(
                id=f"r{i}",
                texts={"title": title},
                group=group,
                values={a: [v] for a, v in values.items()},
            )
        )
    return out
