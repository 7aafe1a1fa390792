"""The reference provider: values from tables the user trusts — a product master, another
catalogue, a companies table — matched by identifiers first, then by name.

Product tables (a CSV product master, a DataFrame, another stored catalogue) are matched by
GTIN (digits only, leading zeros ignored, so UPC-A, EAN-13 and GTIN-14 of one product meet),
then MPN + brand, then exact normalised name, then fuzzy name.
Companies are matched by `enrichment.firmographics.match_suppliers` (domain, exact, fuzzy name).
A column feeds a field when its header names the field (`enrichment.matching`).

Reliability: GTIN 0.95, MPN + brand 0.93, domain 0.95 (the companies table's own 0.98 rule is
kept for the catalogue stage), exact name 0.9, fuzzy name ≤ 0.87 (see `fuzzy_confidence`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from catalog.errors import InputError
from catalog.schema import Attribute, CatalogSchema
from enrichment.evidence import Evidence, reference_source
from enrichment.firmographics import (
    CompanyTable,
    _field_values,
    fit_value,
    fuzzy_confidence,
    match_suppliers,
    normalise_name,
    revenue_band,
    revenue_scale,
)
from enrichment.matching import field_key, label_quality, normalise_label
from enrichment.output_schema import OutputField, OutputSchema

PROVIDER = "reference"
GTIN_RELIABILITY = 0.95
MPN_BRAND_RELIABILITY = 0.93
NAME_RELIABILITY = 0.9
DOMAIN_RELIABILITY = 0.95
FUZZY_THRESHOLD = 90
_GTIN_KEYS = ("gtin", "gtin13", "gtin12", "gtin14", "ean", "upc", "barcode")
_MPN_KEYS = ("mpn", "part_number", "manufacturer_part_number", "mfr_part_number", "model_number")
_BRAND_KEYS = ("brand", "manufacturer", "make")
_NAME_KEYS = ("name", "title", "product_name", "product_title")
_COMPANY_NAME_KEYS = ("supplier", "supplier_name", "company", "company_name", "vendor", "name")
_COMPANY_SITE_KEYS = ("website", "domain", "supplier_website", "url", "email")
_COMPANY_FIELDS = {
    "employee range": "employee_range",
    "employees": "employee_range",
    "revenue": "revenue",
    "revenue range": "revenue_range",
    "annual revenue": "revenue_range",
    "industry": "industry",
    "country": "country",
    "website": "website",
    "founding year": "founding_year",
}


def _gtin(value: Any) -> str | None:
    digits = re.sub(r"\D", "", str(value)) if value is not None else ""
    digits = digits.lstrip("0")
    return digits if len(digits) >= 6 else None


def _token(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = re.sub(r"[^0-9a-z]", "", str(value).casefold())
    return text or None


def _first(item: dict[str, Any], keys: Sequence[str]) -> Any:
    lowered = {k.casefold(): v for k, v in item.items()}
    for key in keys:
        value = lowered.get(key)
        if value is not None and str(value).strip():
            return value
    return None


@dataclass
class ReferenceTable:
    """A table of known-good rows (product master, another catalogue).

    `frame` keeps the columns as given; identifier columns are found by name (gtin/ean/upc,
    mpn/part_number, brand/manufacturer, name/title). Rows are cited as
    `reference:<name>#row=<n>` (`first_row_number` = the spreadsheet row of the first record).
    """

    name: str
    frame: pd.DataFrame
    first_row_number: int = 2
    row_keys: list[str] | None = None
    """Stable ids to cite rows by (a stored catalogue's external ids) instead of row numbers."""
    _index: dict[str, dict[Any, int]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_csv(cls, path: str | Path, *, name: str | None = None) -> ReferenceTable:
        path = Path(path)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError.single(str(path), "file not found") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError.single(str(path), f"not a readable CSV: {exc}") from exc
        return cls(name or path.stem, frame)

    @classmethod
    def from_catalog(
        cls, session: Session, *, catalog_id: int, name: str, batch_size: int = 10_000
    ) -> ReferenceTable:
        """Another stored catalogue's current values as a reference, cited by external id."""
        from catalog.records import iter_current_values

        keys: list[str] = []
        rows: list[dict[str, Any]] = []
        for ids, values in iter_current_values(
            session, catalog_id=catalog_id, batch_size=batch_size
        ):
            keys += ids
            rows += values
        return cls(name, pd.DataFrame.from_records(rows), row_keys=keys)

    def __post_init__(self) -> None:
        self.frame = self.frame.reset_index(drop=True)
        columns = {c.casefold(): c for c in self.frame.columns}

        def column(keys: Sequence[str]) -> str | None:
            return next((columns[k] for k in keys if k in columns), None)

        self.gtin_column = column(_GTIN_KEYS)
        self.mpn_column = column(_MPN_KEYS)
        self.brand_column = column(_BRAND_KEYS)
        self.name_column = column(_NAME_KEYS)
        if self.gtin_column:
            self._index["gtin"] = _first_rows(self.frame[self.gtin_column].map(_gtin))
        if self.mpn_column and self.brand_column:
            keys = [
                (m, b) if m and b else None
                for m, b in zip(
                    self.frame[self.mpn_column].map(_token),
                    self.frame[self.brand_column].map(_token),
                    strict=True,
                )
            ]
            self._index["mpn"] = _first_rows(pd.Series(keys, dtype=object))
        if self.name_column:
            names = self.frame[self.name_column].map(
                lambda v: normalise_name(str(v)) if str(v).strip() else None
            )
            self._index["name"] = _first_rows(names)
            self._names = [(k, r) for k, r in self._index["name"].items()]

    def cite(self, row: int) -> str:
        if self.row_keys is not None:
            return f"{reference_source(self.name)}#id={self.row_keys[row]}"
        return reference_source(self.name, row + self.first_row_number)

    def match(self, item: dict[str, Any]) -> tuple[int, str, float] | None:
        """(row, method, reliability) for the item's best match, or None."""
        gtin = _gtin(_first(item, _GTIN_KEYS))
        if gtin and gtin in self._index.get("gtin", {}):
            return self._index["gtin"][gtin], "gtin-match", GTIN_RELIABILITY
        mpn, brand = _token(_first(item, _MPN_KEYS)), _token(_first(item, _BRAND_KEYS))
        if mpn and brand and (mpn, brand) in self._index.get("mpn", {}):
            return self._index["mpn"][(mpn, brand)], "mpn-brand-match", MPN_BRAND_RELIABILITY
        name = _first(item, _NAME_KEYS)
        if name is None or "name" not in self._index:
            return None
        key = normalise_name(str(name))
        if key in self._index["name"]:
            return self._index["name"][key], "exact-name", NAME_RELIABILITY
        if len(key) < 4 or not self._names:
            return None
        from rapidfuzz import fuzz, process

        best = process.extractOne(
            key,
            [k for k, _ in self._names],
            scorer=fuzz.token_sort_ratio,
            score_cutoff=FUZZY_THRESHOLD,
        )
        if best is None:
            return None
        _, score, position = best
        return self._names[position][1], f"fuzzy-name {score:.0f}", fuzzy_confidence(score)


def _first_rows(keys: pd.Series) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for row, key in enumerate(keys.tolist()):
        if key is not None and key == key and key not in out:
            out[key] = row
    return out


def reference_provider(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: Any,
    wanted: dict[int, frozenset[str]],
) -> list[Evidence]:
    out: list[Evidence] = []
    for table in options.references:
        out.extend(_table_evidence(items, schema, table, wanted))
    if options.companies is not None:
        catalog = getattr(options, "catalog", None)
        out.extend(_company_evidence(items, schema, options.companies, wanted, catalog))
    return out


def _table_evidence(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    table: ReferenceTable,
    wanted: dict[int, frozenset[str]],
) -> list[Evidence]:
    columns: dict[str, tuple[str, float]] = {}
    for spec in schema.fields:
        scored = [(label_quality(str(c), spec), str(c)) for c in table.frame.columns]
        quality, column = max(scored, default=(0.0, ""))
        if quality > 0:
            columns[spec.name] = (column, quality)
    if not columns:
        return []
    out: list[Evidence] = []
    for i, names in wanted.items():
        fields = [n for n in names if n in columns]
        if not fields:
            continue
        found = table.match(items[i])
        if found is None:
            continue
        row, method, reliability = found
        for name in fields:
            column, quality = columns[name]
            value = table.frame.at[row, column]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            out.append(
                Evidence(
                    item=i,
                    field=name,
                    value=value,
                    source=table.cite(row),
                    provider=PROVIDER,
                    method=method,
                    reliability=round(reliability * quality, 3),
                    quote=f"{column}: {value}",
                )
            )
    return out


def _company_evidence(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    table: CompanyTable,
    wanted: dict[int, frozenset[str]],
    catalog: CatalogSchema | None = None,
) -> list[Evidence]:
    """Firmographic evidence. With the items' catalogue, its `derive: firmographics.<field>`
    attributes are the fields and its `supplier_name` / `supplier_website` the keys matched;
    otherwise fields and keys are recognised by their names."""
    fields = _company_fields(schema, catalog)
    rows = [i for i, names in wanted.items() if any(n in fields for n in names)]
    if not rows:
        return []
    if catalog is not None and (catalog.supplier_name or catalog.supplier_website):
        names = [_str(items[i].get(catalog.supplier_name or "")) for i in rows]
        sites = [_str(items[i].get(catalog.supplier_website or "")) for i in rows]
    else:
        names = [_str(_first(items[i], _COMPANY_NAME_KEYS)) for i in rows]
        sites = [_str(_first(items[i], _COMPANY_SITE_KEYS)) for i in rows]
    matches = match_suppliers(names, sites, table)
    values = _field_values(table)
    attributes = catalog.by_name if catalog is not None else {}
    specs = {spec.name: spec for spec in schema.fields}
    # A batch names few distinct companies: each (row, field) is valued, cited and described
    # once, then shared by every record matched to that row.
    found: dict[tuple[int, str], tuple[Any, str, str] | None] = {}
    out: list[Evidence] = []
    for i, match in zip(rows, matches, strict=True):
        if match is None:
            continue
        reliability = min(match.confidence, DOMAIN_RELIABILITY)
        row = match.row_index
        for name in wanted[i]:
            if name not in fields:
                continue
            key = (row, name)
            if key not in found:
                found[key] = _company_fact(
                    table, values, fields[name], row, specs[name], attributes.get(name)
                )
            fact = found[key]
            if fact is None:
                continue
            value, source, quote = fact
            # item, field, value, source, provider, method, reliability, quote (positional: cheaper)
            out.append(Evidence(i, name, value, source, PROVIDER, match.method, reliability, quote))
    return out


def _company_fact(
    table: CompanyTable,
    values: dict[str, list[Any]],
    fact: str,
    row: int,
    spec: OutputField,
    attribute: Attribute | None,
) -> tuple[Any, str, str] | None:
    """(value, source, quote) of one company fact for one field, or None when the row has no
    value for it (or none that fits the attribute)."""
    value = _company_value(values, fact, row, spec, attribute)
    if attribute is not None:
        value = fit_value(value, attribute)
    if value is None:
        return None
    source = reference_source(table.source, int(table.row_labels[row]))
    return value, source, f"{table.describe(row)}: {fact} {value}"


def _company_fields(schema: OutputSchema, catalog: CatalogSchema | None) -> dict[str, str]:
    """Field → the company fact that fills it: a catalogue attribute's `derive:
    firmographics.<fact>`, else (an attribute no model derives, or no catalogue) the fact its
    name names."""
    fields: dict[str, str] = {}
    attributes = catalog.by_name if catalog is not None else {}
    for spec in schema.fields:
        attribute = attributes.get(spec.name)
        derive = attribute.derive if attribute is not None else None
        if derive is not None:  # the catalogue says how it is filled
            kind, _, fact = derive.partition(".")
            if kind == "firmographics":
                fields[spec.name] = fact
            continue
        known = _COMPANY_FIELDS.get(field_key(spec.name))
        if known is not None:
            fields[spec.name] = known
    return fields


def _company_value(
    values: dict[str, list[Any]],
    fact: str,
    row: int,
    spec: OutputField,
    attribute: Attribute | None,
) -> Any:
    if fact == "revenue_range":
        revenue = values["revenue"][row]
        return revenue_band(revenue) if revenue is not None else None
    value = values[fact][row] if fact in values else None
    if fact == "revenue" and value is not None:
        if attribute is not None:
            return value / revenue_scale(attribute)
        return _revenue(value, spec)
    return value


def _str(value: Any) -> str | None:
    return str(value).strip() if value is not None and str(value).strip() else None


def _revenue(value: float, spec: OutputField) -> Any:
    """Revenue is held in USD; a field asking in millions (`revenue_musd`, unit MUSD) gets it so
    (a catalogue attribute says it with its unit: `revenue_scale`)."""
    unit = (spec.unit or normalise_label(spec.name).split()[-1]).casefold()
    scale = {"kusd": 1e3, "musd": 1e6, "busd": 1e9}.get(unit, 1.0)
    return value / scale
