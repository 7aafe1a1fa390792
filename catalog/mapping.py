"""Source rows onto the catalogue schema: which column feeds which attribute, and typed values.

Ingest is all-or-nothing, so this module never guesses: a header that cannot be matched, a value
that is not what its attribute's type asks for, a missing or repeated id all become problems that
name the file, row and column. Rows with a problem are left out of the typed frame; the caller
stops the ingest if any problem exists, so nothing half-valid is ever stored.

Matching headers: a schema attribute's `source:` names are compared with the file's header
casefolded, with runs of spaces, underscores and hyphens read as one space (`Item #`,
`item_#` and `ITEM  #` are one column; `Item#` is another).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from catalog import normalize, units
from catalog.errors import InputError, InputProblem
from catalog.rows import RowBatch
from catalog.schema import Attribute, AttributeType, CatalogSchema

_NUMERIC_TYPES = (AttributeType.NUMBER, AttributeType.INTEGER)
_QUANTITY_HINT = re.compile(normalize.QUANTITY_HINT)
_CURRENCY = re.compile(
    "|".join(re.escape(s) for s in normalize.CURRENCIES)
    + r"|(?i:\b(?:"
    + "|".join(sorted(normalize.CURRENCY_CODES))
    + r")\b)"
)
_SHOWN_COLUMNS = 30
_SHOWN_VALUE = 60


@dataclass(frozen=True)
class ColumnMapping:
    """Which attribute each source column feeds, in header order, and the columns skipped."""

    attribute_for_column: dict[str, str]
    ignored: tuple[str, ...] = ()

    @property
    def column_for_attribute(self) -> dict[str, str]:
        return {attribute: column for column, attribute in self.attribute_for_column.items()}


@dataclass
class MappedBatch:
    """One batch typed by the schema.

    `frame` is indexed by external id (named `external_id`) and has one column per mapped
    attribute, in schema order, holding python values (str, float, int, bool, list) with None
    for missing; only rows without problems are in it. `row_numbers` gives each of its ids'
    row in the source.
    """

    frame: pd.DataFrame
    row_numbers: dict[str, int]
    problems: list[InputProblem]


def column_key(name: str) -> str:
    """How headers and `source:` names are compared: casefolded, NFKC, invisible characters
    dropped, and runs of whitespace, underscores and hyphens read as one space."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return " ".join(re.sub(r"[\s_\-]+", " ", text).split())


def resolve_columns(
    columns: Sequence[str],
    schema: CatalogSchema,
    *,
    source: str,
    overrides: Mapping[str, str] | None = None,
) -> ColumnMapping:
    """Match a file's header against the schema.

    Each attribute takes the first of its `source_columns` found in the header. `overrides`
    (`{column: attribute}`, the CLI's `--map`) come first and take their column away from any
    attribute whose `source:` also lists it.

    Raises:
        InputError: every header problem at once: the id attribute or a required attribute (one
            no model derives) without a column, a column two attributes claim, an override naming
            an unknown column or attribute, and unknown columns when the schema's
            `unknown_columns` is `error`.
    """
    header = list(columns)
    by_key: dict[str, list[str]] = {}
    for column in header:
        by_key.setdefault(column_key(column), []).append(column)
    problems: list[InputProblem] = []
    attribute_for_column: dict[str, str] = {}
    overridden: set[str] = set()

    def problem(message: str, column: str | None = None) -> None:
        problems.append(InputProblem(source=source, message=message, column=column))

    def find(name: str) -> list[str]:
        matches = by_key.get(column_key(name), [])
        exact = [c for c in matches if c == name]
        return exact or matches

    for column, target in (overrides or {}).items():
        if target not in schema.by_name:
            problem(
                f"--map sends column '{column}' to attribute '{target}', which the schema "
                f"does not define; attributes: {_listing(a.name for a in schema.attributes)}",
                column,
            )
            continue
        matches = find(column)
        if len(matches) != 1:
            what = "has no column" if not matches else "has several columns matching"
            problem(
                f"--map names '{column}' but the file {what} '{column}'; "
                f"the file has: {_listing(header)}",
                column,
            )
            continue
        actual = matches[0]
        if actual in attribute_for_column:
            problem(
                f"--map sends column '{actual}' to both '{attribute_for_column[actual]}' and "
                f"'{target}'",
                actual,
            )
            continue
        if target in overridden:
            problem(f"--map sends two columns to attribute '{target}'", actual)
            continue
        attribute_for_column[actual] = target
        overridden.add(target)

    for attribute in schema.attributes:
        if attribute.name in overridden:
            continue
        for candidate in attribute.source_columns:
            # a column --map gave to another attribute is not this one's to take
            matches = [c for c in find(candidate) if attribute_for_column.get(c) not in overridden]
            if not matches:
                continue
            if len(matches) > 1:
                problem(
                    f"columns {_listing(matches)} all match attribute '{attribute.name}' "
                    f"(source '{candidate}'); rename one, or choose with --map"
                )
            elif matches[0] in attribute_for_column:
                other = attribute_for_column[matches[0]]
                problem(
                    f"column '{matches[0]}' is mapped by two attributes, '{other}' and "
                    f"'{attribute.name}'; remove it from one attribute's `source:`",
                    matches[0],
                )
            else:
                attribute_for_column[matches[0]] = attribute.name
            break

    mapped = set(attribute_for_column.values())
    for attribute in schema.attributes:
        if attribute.name in mapped:
            continue
        looked = ", ".join(f"'{c}'" for c in attribute.source_columns)
        if attribute.name == schema.id:
            role = f"the id attribute '{attribute.name}'"
        elif attribute.required and attribute.derive is None:
            role = f"required attribute '{attribute.name}'"
        else:
            continue
        problem(f"{role} has no column; looked for {looked}; the file has: {_listing(header)}")

    unknown = [c for c in header if c not in attribute_for_column]
    if unknown and schema.unknown_columns == "error":
        problem(
            f"unknown column{'s' if len(unknown) > 1 else ''} {_listing(unknown)}: no attribute "
            f"of schema '{schema.name}' reads {'them' if len(unknown) > 1 else 'it'}; add "
            f"{'each' if len(unknown) > 1 else 'it'} to an attribute's `source:` list, map it "
            f"with --map, or set `unknown_columns: ignore` in the schema",
            unknown[0] if len(unknown) == 1 else None,
        )
    if problems:
        raise InputError(problems)
    ordered = {c: attribute_for_column[c] for c in header if c in attribute_for_column}
    return ColumnMapping(attribute_for_column=ordered, ignored=tuple(unknown))


def map_batch(batch: RowBatch, mapping: ColumnMapping, schema: CatalogSchema) -> MappedBatch:
    """Type one batch of raw rows by the schema, column by column.

    See `catalog.normalize` for how each kind of value is read. Enum values outside the schema's
    set and missing required values are kept: validation reports rule violations, ingest only
    what cannot be read at all.
    """
    if len(batch.rows) != len(batch.row_numbers):
        raise ValueError(
            f"{batch.source}: batch has {len(batch.rows)} rows but "
            f"{len(batch.row_numbers)} row numbers"
        )
    n = len(batch.rows)
    row_numbers = np.asarray(batch.row_numbers, dtype=np.int64)
    column_for = mapping.column_for_attribute
    attributes = [a for a in schema.attributes if a.name in column_for]
    order = {a.name: i for i, a in enumerate(attributes)}
    failures: list[tuple[int, int, str, str]] = []  # position, attribute order, column, message
    data: dict[str, np.ndarray] = {}
    columns = [column_for[a.name] for a in attributes]
    # One C-level pass over the row dicts; a key a row lacks reads as missing.
    table = pd.DataFrame(batch.rows, columns=columns, dtype=object) if n else None
    for attribute in attributes:
        column = column_for[attribute.name]
        if table is None:
            raw = pd.Series([], dtype=object)
        else:
            raw = table[column].reset_index(drop=True)
        if attribute.name == schema.id:
            values, causes = _type_id(raw, attribute)
        elif attribute.type is AttributeType.ARRAY:
            values, causes = _type_array(raw, attribute)
        else:
            values, causes = _type_scalar(raw, attribute, attribute.type)
        for position in _nul_positions(raw):
            causes.setdefault(position, _NUL_CAUSE)
        data[attribute.name] = values
        failures += [(p, order[attribute.name], column, m) for p, m in causes.items()]

    ids = data[schema.id]
    id_column = column_for[schema.id]
    with_id = np.flatnonzero(ids != None)  # noqa: E711 - elementwise on an object array
    repeated, duplicate_problems = _duplicates(
        ids[with_id].tolist(), row_numbers[with_id].tolist(), {}, batch.source, id_column
    )
    bad = np.zeros(n, dtype=bool)
    bad[with_id[repeated]] = True
    ranked = [
        (int(row_numbers[p]), rank, InputProblem(batch.source, m, int(row_numbers[p]), c))
        for p, rank, c, m in failures
    ] + [(int(p.row or 0), order[schema.id], p) for p in duplicate_problems]
    ranked.sort(key=lambda item: item[:2])
    for position, *_ in failures:
        bad[position] = True
    good = np.flatnonzero(~bad)
    index = pd.Index(ids[good].tolist(), dtype=object, name="external_id")
    frame = pd.DataFrame(
        {a.name: data[a.name][good] for a in attributes}, index=index, dtype=object
    )
    return MappedBatch(
        frame=frame,
        row_numbers=dict(zip(index.tolist(), row_numbers[good].tolist(), strict=True)),
        problems=[problem for *_, problem in ranked],
    )


def find_duplicate_ids(
    ids: Sequence[str],
    row_numbers: Sequence[int],
    seen: dict[str, int],
    source: str,
    *,
    column: str | None = None,
) -> list[InputProblem]:
    """Problems for ids already seen (in this batch or, through `seen`, an earlier one).

    `seen` maps each id to the row it first appeared at and is updated in place, so a caller
    reading many batches passes the same dict to every call.
    """
    return _duplicates(ids, row_numbers, seen, source, column)[1]


def content_hashes(frame: pd.DataFrame) -> pd.Series:
    """A sha256 (64 hex digits) of each row's non-missing values, as canonical JSON.

    The text hashed is `json.dumps(values, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` of the row's non-missing values, with integral floats (below 2**53)
    written as integers, so `5` and `5.0` hash alike. The hash is the same across runs,
    processes, row and column order, and a schema that gains an empty attribute does not make
    every record look changed. Built column by column (see `_json_cells`), not row by row.
    """
    columns = sorted(frame.columns, key=str)
    cells = [_json_cells(str(c), frame[c]) for c in columns]
    if cells:
        bodies = pc.binary_join_element_wise(*cells, _text(","), null_handling="skip").to_pylist()
    else:
        bodies = [""] * len(frame)
    digests = [hashlib.sha256(f"{{{body}}}".encode()).hexdigest() for body in bodies]
    return pd.Series(digests, index=frame.index, dtype=object, name="content_hash")


# --- typing ------------------------------------------------------------------------------------


def _type_id(raw: pd.Series, attribute: Attribute) -> tuple[np.ndarray, dict[int, str]]:
    values, causes = _type_text(raw, attribute, normalize.normalize_id)
    for position in np.flatnonzero(values == None):  # noqa: E711
        if int(position) not in causes:
            causes[int(position)] = (
                f"the id is empty (attribute {attribute.name} is the record's id)"
            )
    return values, causes


_NUL_CAUSE = (
    "holds a NUL character (\\x00), which no text column can store; remove it from the source"
)


def _nul_positions(raw: pd.Series) -> list[int]:
    """Positions of text cells holding a NUL: PostgreSQL refuses them in text and JSON, so such
    a row is refused here, naming its field, rather than failing the whole batch's write."""
    if raw.empty:
        return []
    try:
        found = raw.astype(object).str.contains("\x00", regex=False, na=False)
    except AttributeError:  # no text in the column (numbers, lists): nothing to hold a NUL
        return []
    return [int(p) for p in np.flatnonzero(found.to_numpy(dtype=bool))]


def _type_scalar(
    raw: pd.Series, attribute: Attribute, kind: AttributeType
) -> tuple[np.ndarray, dict[int, str]]:
    """Typed python values (None for missing) and the reason for each unreadable position."""
    if kind in _NUMERIC_TYPES:
        return _type_number(raw, attribute, kind)
    if kind is AttributeType.BOOLEAN:
        values, failed = normalize.normalize_boolean(raw)
        cells = raw.to_numpy(dtype=object)
        causes = {
            int(p): f"{_show(cells[p])} is not a yes/no value (attribute {attribute.name}; "
            "write yes/no, y/n, true/false, 1/0, or x for yes)"
            for p in np.flatnonzero(failed.to_numpy())
        }
        return values.to_numpy(dtype=object), causes
    if kind is AttributeType.ENUM:
        lookup = attribute.canonical_enum()
        return _type_text(raw, attribute, lambda s: normalize.normalize_enum(s, lookup))
    if kind is AttributeType.GTIN:
        return _type_text(raw, attribute, normalize.normalize_gtins)
    return _type_text(raw, attribute, normalize.normalize_text)


def _type_text(
    raw: pd.Series, attribute: Attribute, how: Callable[[pd.Series], pd.Series]
) -> tuple[np.ndarray, dict[int, str]]:
    causes: dict[int, str] = {}
    containers = _containers(raw)
    if containers.any():
        cells = raw.to_numpy(dtype=object)
        for position in np.flatnonzero(containers):
            kind = "list" if isinstance(cells[position], list | tuple | set) else "mapping"
            causes[int(position)] = (
                f"{_show(cells[position])} is a {kind}, not a single value "
                f"(attribute {attribute.name} is {attribute.type.value})"
            )
        raw = raw.where(~containers, None)
    return _objects(how(raw)), causes


def _type_number(
    raw: pd.Series, attribute: Attribute, kind: AttributeType
) -> tuple[np.ndarray, dict[int, str]]:
    numbers, failed_series = normalize.normalize_units(raw, attribute.unit)
    values = numbers.to_numpy()
    failed = failed_series.to_numpy()
    cells = raw.to_numpy(dtype=object)
    at = np.flatnonzero(failed)
    cleaned = _objects(normalize.normalize_text(raw.iloc[at]))  # one vectorised pass
    causes = {
        int(p): _number_cause(cells[p], text, attribute)
        for p, text in zip(at, cleaned, strict=True)
    }
    present = ~np.isnan(values)
    if kind is AttributeType.INTEGER:
        fractional = present & ((values != np.floor(values)) | (np.abs(values) >= 2.0**63))
        for position in np.flatnonzero(fractional):
            causes[int(position)] = (
                f"{_show(cells[position])} is not a whole number "
                f"(attribute {attribute.name}{_unit_note(attribute)})"
            )
        present &= ~fractional
        out = np.full(len(values), None, dtype=object)
        out[present] = values[present].astype(np.int64).astype(object)
        return out, causes
    out = values.astype(object)
    out[~present] = None
    return out, causes


def _type_array(raw: pd.Series, attribute: Attribute) -> tuple[np.ndarray, dict[int, str]]:
    """Arrays are typed element by element (all cells' elements in one vectorised pass)."""
    elements = normalize.split_lists(raw, attribute.separator)
    parents = elements.index.to_numpy()
    kind = attribute.items if attribute.items is not AttributeType.ARRAY else AttributeType.TEXT
    values, element_causes = _type_scalar(elements.reset_index(drop=True), attribute, kind)
    causes: dict[int, str] = {}
    cells, items = raw.to_numpy(dtype=object), elements.to_numpy(dtype=object)
    for element, cause in element_causes.items():
        position = int(parents[element])
        if position in causes:  # the first bad element of a cell is enough to fix it
            continue
        shown = _show(items[element])
        if cause.startswith(shown):  # "'abc' in '1;abc' is not a number (…)"
            cause = f"{shown} in {_show(cells[position])}{cause[len(shown) :]}"
        causes[position] = cause
    keep = values != None  # noqa: E711
    kept, owners = values[keep], parents[keep]
    counts = np.bincount(owners, minlength=len(raw)) if len(owners) else np.zeros(len(raw), int)
    return _regroup(kept, counts), causes


def _regroup(kept: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Elements (in cell order) back into one list per cell; None for a cell with none."""
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    try:
        lists = pa.LargeListArray.from_arrays(
            pa.array(offsets), pa.array(kept.tolist()), mask=pa.array(counts == 0)
        ).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # elements arrow cannot hold in one array
        lists = [kept[offsets[i] : offsets[i + 1]].tolist() or None for i in range(len(counts))]
    return np.fromiter(lists, dtype=object, count=len(counts))  # fromiter: no broadcasting


def _objects(series: pd.Series) -> np.ndarray:
    """A column as python objects with None for missing (arrow-backed strings convert fastest)."""
    if isinstance(series.dtype, pd.StringDtype):
        return pa.array(series).to_numpy(zero_copy_only=False)
    return series.to_numpy(dtype=object, na_value=None)


def _containers(raw: pd.Series) -> np.ndarray:
    values = raw.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty", "integer", "floating"):
        return np.zeros(len(values), dtype=bool)
    return np.fromiter(
        (isinstance(v, list | tuple | set | dict) for v in values), dtype=bool, count=len(values)
    )


def _number_cause(value: Any, text: str | None, attribute: Attribute) -> str:
    """Why a value (`text`: as normalised) is not a number in the attribute's unit, in words
    the user can act on."""
    where = f"attribute {attribute.name}{_unit_note(attribute)}"
    shown = _show(value)
    if not isinstance(value, str) or text is None:
        return f"{shown} is not a number ({where})"
    currency = _currency_in(text)
    if currency is not None and attribute.unit is not None:
        wanted = normalize.CURRENCIES.get(attribute.unit, attribute.unit).casefold()
        if wanted in normalize.CURRENCY_CODES:
            return f"{shown} is in {currency.upper()}, not {attribute.unit} ({where})"
        return f"{shown} is a price, not a quantity in {attribute.unit} ({where})"
    quantity = units.parse_quantity(text) if _QUANTITY_HINT.search(text) else None
    if quantity is None:
        return f"{shown} is not a number ({where})"
    written = quantity[1]
    if attribute.unit is None:
        return (
            f"{shown} has a unit ({written}) but attribute {attribute.name} has none; write "
            "bare numbers, or give the attribute a `unit:` in the schema"
        )
    return f"{shown} is in {written}, which cannot be converted to {attribute.unit} ({where})"


def _currency_in(text: str) -> str | None:
    found = _CURRENCY.search(text)
    if found is None:
        return None
    named = found.group(0).casefold()
    return normalize.CURRENCIES.get(named, named)


def _unit_note(attribute: Attribute) -> str:
    return f", unit {attribute.unit}" if attribute.unit else ""


# --- duplicates and hashing ----------------------------------------------------------------------


def _duplicates(
    ids: Sequence[str],
    row_numbers: Sequence[int],
    seen: dict[str, int],
    source: str,
    column: str | None,
) -> tuple[list[int], list[InputProblem]]:
    """Positions (into `ids`) of repeated ids and a problem for each; `seen` is updated."""
    positions: list[int] = []
    problems: list[InputProblem] = []
    for position, (external_id, row) in enumerate(zip(ids, row_numbers, strict=True)):
        first = seen.setdefault(external_id, row)
        if first != row:
            positions.append(position)
            problems.append(
                InputProblem(
                    source=source,
                    message=f"duplicate id '{external_id}' (first at row {first})",
                    row=int(row),
                    column=column,
                )
            )
    return positions, problems


def _json_cells(name: str, series: pd.Series) -> pa.Array:
    """`"name":<value as JSON>` for each cell of one column; null where the value is missing.

    Plain strings and numbers are written by arrow kernels; only strings that need escaping,
    non-integral floats (written with python's `repr`, as `json` does) and other values go
    through python one by one.
    """
    values = series.to_numpy(dtype=object)
    n = len(values)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        text = pa.array(values, type=pa.large_string(), from_pandas=True)
        escape = np.flatnonzero(_filled(pc.match_substring_regex(text, r'["\\\x00-\x1f]')))
        quoted = pc.binary_join_element_wise(_text('"'), text, _text('"'), _text(""))
        if len(escape):
            written = quoted.to_numpy(zero_copy_only=False)
            written[escape] = [_dumps(v) for v in values[escape]]
            quoted = pa.array(written, type=pa.large_string())
    elif kind in ("floating", "integer", "mixed-integer-float"):
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**53)
        written = np.full(n, None, dtype=object)
        integers = pa.array(numbers[whole].astype(np.int64))
        written[whole] = pc.cast(integers, pa.large_string()).to_numpy(zero_copy_only=False)
        fractional = np.flatnonzero(np.isfinite(numbers) & ~whole & (np.abs(numbers) < 2**53))
        written[fractional] = list(map(float.__repr__, numbers[fractional].tolist()))  # as json
        other = np.flatnonzero(~pd.isna(values) & (written == None))  # noqa: E711
        written[other] = [_dumps(_canonical(v)) for v in values[other]]
        quoted = pa.array(written, type=pa.large_string())
    elif kind == "boolean":
        written = np.full(n, None, dtype=object)
        present = ~pd.isna(values)
        written[present] = np.where(values[present].astype(bool), "true", "false")
        quoted = pa.array(written, type=pa.large_string())
    else:
        written = np.full(n, None, dtype=object)
        for position in np.flatnonzero(~pd.isna(values)):
            value = values[position]
            if isinstance(value, list) and all(type(v) is str for v in value):
                written[position] = _dumps(value)  # lists of text: nothing to canonicalise
                continue
            value = _canonical(value)
            if value is not None:
                written[position] = _dumps(value)
        quoted = pa.array(written, type=pa.large_string())
    return pc.binary_join_element_wise(_text(_dumps(name) + ":"), quoted, _text(""))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _JSON.encode(value)


def _filled(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _canonical(value: Any) -> Any:
    """A JSON-ready value with one spelling per meaning (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if isinstance(value, list | tuple | np.ndarray):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --- messages ------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > _SHOWN_VALUE:
        text = text[: _SHOWN_VALUE - 1] + "…"
    return f"'{text}'" if isinstance(value, str) else text


def _listing(names: Any) -> str:
    names = list(names)
    shown = ", ".join(f"'{n}'" for n in names[:_SHOWN_COLUMNS])
    more = len(names) - _SHOWN_COLUMNS
    return shown + (f" … ({more} more)" if more > 0 else "")
