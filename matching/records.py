"""Records prepared for matching: each column given a role, each value normalised once.

A matcher trained on one supplier's column names must work on another's ("title" / "Product
Name", "manufacturer" / "Brand", "modelno" / "MFR Part No"), so the model knows *roles*, not
column names: `title` (the first text column unless one is named like a title), `brand`,
`description`, `category`, `price`, `code` (MPN / model number), `gtin` (UPC / EAN), and any
other text. Records are prepared once and pairs refer to them by row number, so a record in a
hundred candidate pairs is normalised once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching.text import code_key, fold, gtin, join_text, model_codes, quantities

ROLES = ("title", "brand", "description", "category", "price", "code", "gtin", "text", "ignore")
_ROLE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ignore", re.compile(r"(currency)")),
    ("gtin", re.compile(r"\b(gtin|upc|ean|isbn|barcode)")),
    (
        "code",
        re.compile(r"(model\s*_?no|modelno|model number|\bmpn\b|part\s*(no|number|#)|\bsku\b)"),
    ),
    ("brand", re.compile(r"(brand|manufacturer|maker|vendor)")),
    ("description", re.compile(r"(description|details|summary)")),
    ("category", re.compile(r"(category|categories|department|breadcrumb)")),
    ("price", re.compile(r"^(unit\s*)?price$|price$")),
    ("title", re.compile(r"(title|name|product)")),
)
_PRICE = re.compile(r"\d+(?:[.,]\d+)*")
NOT_ATTRIBUTES = frozenset({"id", "cluster_id", "pair_id", "label", "is_hard_negative"})
"""Pair-file columns that are identifiers or labels, never evidence (WDC's `cluster_id` *is*
the answer)."""


def role_of(column: str) -> str:
    """The role a column plays, from its name; `text` when nothing fits."""
    name = fold(column).replace("_", " ").strip()
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(name):
            return role
    return "text"


def assign_roles(columns: Sequence[str]) -> dict[str, list[str]]:
    """Map each role to the columns that fill it, in the given order.

    The first text-like column is the title when no column is named like one, so
    `--text name` and `--text Offer` both work.
    """
    roles: dict[str, list[str]] = {role: [] for role in ROLES}
    for column in columns:
        roles[role_of(column)].append(column)
    if not roles["title"] and roles["text"]:
        roles["title"].append(roles["text"].pop(0))
    if not roles["title"] and roles["description"]:
        roles["title"].append(roles["description"].pop(0))
    return roles


def parse_price(value: str) -> float:
    """A price as a float (NaN when absent): `$1,299.00`, `1299,00`, `1.299,00 €`."""
    match = _PRICE.search(value or "")
    if not match:
        return math.nan
    text = match.group(0)
    if "," in text and "." in text:
        text = (
            text.replace(",", "")
            if text.rfind(".") > text.rfind(",")
            else (text.replace(".", "").replace(",", "."))
        )
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return math.nan


@dataclass
class RecordTable:
    """Normalised records, one list entry (or array row) per record."""

    title: list[str]
    brand: list[str]
    description: list[str]
    category: list[str]
    other: list[str]
    price: np.ndarray
    codes: list[tuple[str, ...]]
    """Per record, the model codes found in the title plus the normalised code column, sorted.
    A tuple, not a set: a set costs 216+ bytes per record even when empty, which at a million
    records was a third of the table's memory."""
    code_value: list[str]
    gtin: list[str | None]
    quantities: list[tuple[str, ...]]
    """`value|unit` strings per record, sorted."""
    roles: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.title)

    def subset(self, rows: np.ndarray) -> RecordTable:
        """The records at `rows`, in that order (a held-out part of a training table)."""
        picked = [int(r) for r in rows]
        return RecordTable(
            title=[self.title[r] for r in picked],
            brand=[self.brand[r] for r in picked],
            description=[self.description[r] for r in picked],
            category=[self.category[r] for r in picked],
            other=[self.other[r] for r in picked],
            price=self.price[np.asarray(picked, dtype=np.int64)],
            codes=[self.codes[r] for r in picked],
            code_value=[self.code_value[r] for r in picked],
            gtin=[self.gtin[r] for r in picked],
            quantities=[self.quantities[r] for r in picked],
            roles=dict(self.roles),
        )

    def present_roles(self) -> frozenset[str]:
        """The roles some record has a value for (what a model trained on this table saw)."""
        found = {"title"}
        for role in ("brand", "description", "category", "other", "code_value"):
            if any(getattr(self, role)):
                found.add(role)
        if bool(np.isfinite(self.price).any()):
            found.add("price")
        if any(self.gtin):
            found.add("gtin")
        return frozenset(found)

    def limited_to(self, roles: frozenset[str]) -> RecordTable:
        """This table with every role outside `roles` emptied: a model trained on titles and
        brands reads a catalogue that also has descriptions as if it had none, instead of
        meeting similarities (whole-text cosine) it never saw in training."""
        n = len(self)
        blank = [""] * n

        def keep(role: str) -> list[str]:
            return list(getattr(self, role)) if role in roles else blank

        code_value = keep("code_value")
        codes = (
            list(self.codes)
            if "code_value" in roles
            else [_sorted(model_codes(t)) for t in self.title]  # codes from the title alone
        )
        return RecordTable(
            title=list(self.title),
            brand=keep("brand"),
            description=keep("description"),
            category=keep("category"),
            other=keep("other"),
            price=self.price.copy() if "price" in roles else np.full(n, math.nan),
            codes=codes,
            code_value=code_value,
            gtin=list(self.gtin) if "gtin" in roles else [None] * n,
            quantities=list(self.quantities),
            roles=dict(self.roles),
        )

    @property
    def fulltext(self) -> list[str]:
        """Every text role joined: what a person reads as the whole listing."""
        return [
            join_text(parts)
            for parts in zip(self.title, self.brand, self.description, self.other, strict=True)
        ]


def prepare(
    rows: Sequence[Mapping[str, str]] | Mapping[str, Sequence[str]],
    roles: Mapping[str, Sequence[str]],
) -> RecordTable:
    """Normalise records for matching.

    Args:
        rows: Columns as a mapping of column name → values (what `DataFrame.to_dict('list')`
            gives), or a list of row mappings.
        roles: Role → column names, as `assign_roles` returns.

    Returns:
        The prepared table, rows in input order.
    """
    columns = _as_columns(rows)
    n = len(next(iter(columns.values()))) if columns else 0

    def joined(role: str) -> list[str]:
        names = [c for c in roles.get(role, ()) if c in columns]
        if not names:
            return [""] * n
        return [fold(join_text(str(columns[c][i] or "") for c in names)) for i in range(n)]

    title = joined("title")
    brand = joined("brand")
    description = joined("description")
    category = joined("category")
    other = joined("text")
    code_value = [code_key(v) for v in joined("code")]
    price_names = [c for c in roles.get("price", ()) if c in columns]
    price = np.array(
        [parse_price(str(columns[price_names[0]][i] or "")) for i in range(n)]
        if price_names
        else [math.nan] * n,
        dtype=np.float64,
    )
    gtin_names = [c for c in roles.get("gtin", ()) if c in columns]
    gtins = [gtin(str(columns[gtin_names[0]][i] or "")) if gtin_names else None for i in range(n)]
    codes = []
    for t, value in zip(title, code_value, strict=True):
        found = model_codes(t)
        if len(value) >= 3:
            found.add(value)
        codes.append(_sorted(found))
    return RecordTable(
        title=title,
        brand=brand,
        description=description,
        category=category,
        other=other,
        price=price,
        codes=codes,
        code_value=code_value,
        gtin=gtins,
        quantities=[_sorted(quantities(t)) for t in title],
        roles={k: list(v) for k, v in roles.items()},
    )


def _sorted(items: set[str]) -> tuple[str, ...]:
    return tuple(sorted(items))


def _as_columns(
    rows: Sequence[Mapping[str, str]] | Mapping[str, Sequence[str]],
) -> dict[str, list[str]]:
    if isinstance(rows, Mapping):
        return {k: ["" if v is None else str(v) for v in values] for k, values in rows.items()}
    if not rows:
        return {}
    keys = list(rows[0].keys())
    return {k: ["" if r.get(k) is None else str(r.get(k)) for r in rows] for k in keys}
