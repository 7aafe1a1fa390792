"""Which output field a label names: a schema.org property path, a spec-table label, a
reference-table column header.

`weight_kg` is named by "weight", "Weight (kg)", "Net weight" and schema.org `weight`; `brand` by
"manufacturer"; `gtin` by `gtin13`, "EAN" or "UPC". Exact names beat synonyms beat fuzzy labels,
and how well a label matched scales the evidence's reliability.
"""

from __future__ import annotations

import re
from functools import lru_cache

from catalog.units import UnitError, canonical_unit
from enrichment.output_schema import OutputField

EXACT, SYNONYM, FUZZY = 1.0, 0.95, 0.85
FUZZY_THRESHOLD = 90

_SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split("|"))
    for group in (
        "brand|brand name|manufacturer|make|brand_name",
        "mpn|part number|manufacturer part number|mfr part number|model number|part no|mfg part",
        "gtin|gtin13|gtin12|gtin14|gtin8|ean|upc|barcode|ean13|product gtin",
        "price|offers price|price amount|offers lowprice|sale price",
        "currency|pricecurrency|offers pricecurrency|price currency",
        "color|colour|finish color",
        "weight|net weight|item weight|product weight|shipping weight",
        "image|images|image url|image urls|photo|picture",
        "name|title|product name|product title",
        "rating|ratingvalue|aggregaterating ratingvalue|average rating",
        "review count|reviewcount|aggregaterating reviewcount|reviews",
        "availability|offers availability|stock status|in stock",
        "condition|itemcondition|offers itemcondition",
        "founding year|foundingdate|founded|year founded|founding date|established",
        "employee range|employees|numberofemployees|number of employees|company size|headcount",
        "country|addresscountry|address addresscountry|headquarters country|hq country",
        "industry|sector|naics|industry sector",
        "website|url|homepage|web site",
        "description|product description|overview",
        "material|materials|construction",
        "sku|item number|product code|article number",
        "tech stack|technologies|technology stack|built with",
        "dimensions|size|product dimensions",
    )
)
_SKIP_PATH_PARTS = frozenset(
    "review reviews seller isrelatedto issimilarto referenced_product related_products "
    "author publisher".split()
)
ORGANIZATION_FIELDS = frozenset(
    "founding year|employee range|employees|country|industry|revenue|website|tech stack"
    "|legal name|headquarters".split("|")
)


def normalise_label(label: str) -> str:
    """`Weight (kg):` → `weight`; `aggregateRating.ratingValue` → `aggregaterating ratingvalue`."""
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", label)
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text) if "." not in text else text
    text = re.sub(r"[^0-9a-zA-Z]+", " ", text).casefold()
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def field_key(name: str) -> str:
    """A field name as a label: `weight_kg` → `weight`, `bore_diameter` → `bore diameter`."""
    words = normalise_label(name.replace("_", " ")).split()
    if len(words) > 1:
        try:
            canonical_unit(words[-1])
            words = words[:-1]
        except UnitError:
            pass
    return " ".join(words)


@lru_cache(maxsize=65536)
def _match(label_key: str, key: str) -> float:
    if not label_key:
        return 0.0
    if label_key == key or label_key.replace(" ", "") == key.replace(" ", ""):
        return EXACT
    for group in _SYNONYMS:
        if key in group and label_key in group:
            return SYNONYM
    if len(label_key) >= 4 and len(key) >= 4:
        from rapidfuzz import fuzz

        if fuzz.token_set_ratio(label_key, key) >= FUZZY_THRESHOLD and _shares_head(label_key, key):
            return FUZZY
    return 0.0


def _shares_head(a: str, b: str) -> bool:
    """Fuzzy label matches must share their last word ("outer diameter" ≠ "inner diameter" is
    caught by the ratio; "net weight" ~ "weight" shares "weight")."""
    return a.split()[-1] == b.split()[-1]


def label_quality(label: str, field: OutputField, *, entity: str = "page") -> float:
    """How well `label` names `field` (0 when it does not), as a reliability factor."""
    key = field_key(field.name)
    normalised = normalise_label(label)
    parts = normalised.split()
    if _SKIP_PATH_PARTS.intersection(parts):
        return 0.0
    if entity in ("Organization", "Corporation", "LocalBusiness"):
        if key not in ORGANIZATION_FIELDS and key not in ("name", "description", "brand"):
            return 0.0
    elif entity != "page" and key in ORGANIZATION_FIELDS and key not in ("website",):
        return 0.0
    best = _match(normalised, key)
    if "." in label:  # a path: its last property alone may name the field too
        best = max(best, _match(normalise_label(label.rsplit(".", 1)[1]), key) * 0.98)
    return best
