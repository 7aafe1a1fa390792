"""Labelled pairs and offers made from the example generator (no `../shared` needed)."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

import pytest

from benchmarks.generate import columns, iter_listings

ATTRIBUTES = {
    "title": "Product Name",
    "brand": "Brand",
    "mpn": "MFR Part No",
    "price": "Unit Price",
}


def listings(n: int, seed: int = 0) -> tuple[list[dict[str, str]], list[int]]:
    header = columns()
    rows, products = [], []
    for row, product in iter_listings(n, seed=seed):
        rows.append(dict(zip(header, row, strict=True)))
        products.append(product)
    return rows, products


def write_pairs(path: Path, n: int = 8000, seed: int = 0) -> Path:
    """Pairs: every relisting with its original (1), and per match up to three non-matches: a
    lookalike (another product under the same title, told apart only by its part number and
    GTIN), another product of the same brand, and a random one (0)."""
    rows, products = listings(n, seed)
    r = random.Random(seed)
    by_product: dict[int, list[int]] = defaultdict(list)
    by_brand: dict[str, list[int]] = defaultdict(list)
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, (row, product) in enumerate(zip(rows, products, strict=True)):
        by_product[product].append(i)
        by_brand[row["Brand"]].append(i)
        by_title[" ".join(row["Product Name"].lower().split())].append(i)
    pairs: list[tuple[int, int, int]] = []
    for members in by_product.values():
        for other in members[1:]:
            a = members[0]
            pairs.append((a, other, 1))
            title = " ".join(rows[a]["Product Name"].lower().split())
            lookalikes = [j for j in by_title[title] if products[j] != products[a]]
            if lookalikes:
                pairs.append((a, r.choice(lookalikes), 0))
            same_brand = [j for j in by_brand[rows[a]["Brand"]] if products[j] != products[a]]
            if same_brand:
                pairs.append((a, r.choice(same_brand), 0))
            b = r.randrange(len(rows))
            if products[b] != products[a]:
                pairs.append((a, b, 0))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        names = list(ATTRIBUTES)
        writer.writerow(
            [
                "pair_id",
                "label",
                "id_left",
                *[f"{a}_left" for a in names],
                "id_right",
                *[f"{a}_right" for a in names],
            ]
        )
        for a, b, label in pairs:
            left, right = rows[a], rows[b]
            writer.writerow(
                [
                    f"{left['Item #']}#{right['Item #']}",
                    label,
                    left["Item #"],
                    *[left[c] for c in ATTRIBUTES.values()],
                    right["Item #"],
                    *[right[c] for c in ATTRIBUTES.values()],
                ]
            )
    return path


@pytest.fixture(scope="session")
def pairs_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("pairs") / "pairs.csv")
