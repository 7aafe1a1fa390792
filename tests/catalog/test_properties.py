"""Property tests (hypothesis) for the parsers and coercions every supplier value goes through:
numbers and units, text, booleans, lists, GTINs, the ingest mapping's typing, and the CSV and
JSON readers. Each one says what holds for any input: no exception other than the documented
one, and round-trips where a value is written and read back."""

from __future__ import annotations

import csv
import json
import math
import string
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import normalize, units
from catalog.errors import InputError
from catalog.gtin import check_digit, gtin14, gtin_problem, normalize_gtin
from catalog.mapping import map_batch, resolve_columns
from catalog.rows import RowBatch
from catalog.schema import CatalogSchema
from connectors.files import FileSource

FAST = settings(
    max_examples=60,
    deadline=3000,  # the machine may be loaded; a hang still fails
    suppress_health_check=[HealthCheck.too_slow],
)
# what suppliers' cells hold: any text, numbers as XLSX/JSON give them, flags, nothing
text = st.text(max_size=40)
cells = st.one_of(
    st.none(),
    text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(alphabet="0123456789.,- $€kgmVW/", max_size=16),
)


# --- units and numbers -------------------------------------------------------------------------


@FAST
@given(text)
def test_parse_number_and_parse_quantity_never_raise(value: str) -> None:
    number = units.parse_number(value)
    assert number is None or isinstance(number, float)
    quantity = units.parse_quantity(value)
    assert quantity is None or (
        isinstance(quantity[0], float) and quantity[1] in units.known_units()
    )


@FAST
@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False).map(lambda x: round(x, 4)))
def test_a_plain_decimal_number_reads_back_as_itself(value: float) -> None:
    written = f"{value:.4f}"
    assert units.parse_number(written) == pytest.approx(float(written), rel=1e-12, abs=1e-12)


@FAST
@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators_read_back_as_the_number(value: int) -> None:
    assert units.parse_number(f"{value:,}") == value
    if value >= 1_000_000:  # one dot group is a decimal point (1.000 is 1); two are thousands
        assert units.parse_number(f"{value:,}".replace(",", ".")) == value


@FAST
@given(
    st.floats(min_value=0.001, max_value=1e6, allow_nan=False), st.sampled_from(["mm", "cm", "m"])
)
def test_a_length_converts_to_metres_and_back(value: float, unit: str) -> None:
    metres = units.convert(value, unit, "m")
    assert units.convert(metres, "m", unit) == pytest.approx(value, rel=1e-9)


@FAST
@given(cells, st.sampled_from(["mm", "kg", "V", "W"]))
def test_to_unit_only_raises_unit_error(value: Any, unit: str) -> None:
    try:
        result = units.to_unit(value, unit)
    except units.UnitError:
        return
    assert result is None or isinstance(result, float)


# --- normalize (vectorised coercions) ------------------------------------------------------------


@FAST
@given(st.lists(cells, max_size=20))
def test_normalize_text_is_idempotent_and_never_raises(values: list[Any]) -> None:
    once = normalize.normalize_text(pd.Series(values, dtype=object))
    twice = normalize.normalize_text(once)
    assert once.fillna("<NA>").tolist() == twice.fillna("<NA>").tolist()
    assert all(isinstance(v, str) and v == v.strip() and v for v in once.dropna())


@FAST
@given(st.lists(cells, max_size=20), st.sampled_from([None, "mm", "kg", "USD", "%"]))
def test_normalize_units_reads_or_flags_every_cell(values: list[Any], unit: str | None) -> None:
    numbers, failed = normalize.normalize_units(pd.Series(values, dtype=object), unit)
    assert len(numbers) == len(failed) == len(values)
    for number, bad in zip(numbers.tolist(), failed.tolist(), strict=True):
        assert not (bad and not math.isnan(number))  # a flagged cell has no value


@FAST
@given(st.lists(cells, max_size=20))
def test_normalize_boolean_gives_a_flag_none_or_a_failure(values: list[Any]) -> None:
    out, failed = normalize.normalize_boolean(pd.Series(values, dtype=object))
    for value, bad in zip(out.tolist(), failed.tolist(), strict=True):
        assert value in (True, False, None) and not (bad and value is not None)


@FAST
@given(st.lists(st.one_of(cells, st.lists(text, max_size=4)), max_size=12))
def test_split_lists_indexes_elements_by_their_cell(values: list[Any]) -> None:
    elements = normalize.split_lists(pd.Series(values, dtype=object), ";")
    assert all(0 <= int(i) < len(values) for i in elements.index)


@FAST
@given(st.lists(st.text(alphabet="abc;", min_size=1, max_size=6), min_size=1, max_size=5))
def test_a_joined_list_splits_back_into_its_elements(items: list[str]) -> None:
    kept = [i for i in items if i.strip("; ")] if all(";" not in i for i in items) else None
    if kept is None:
        return
    elements = normalize.split_lists(pd.Series([";".join(kept)], dtype=object), ";")
    assert elements.tolist() == kept


# --- GTINs --------------------------------------------------------------------------------------


def _with_check(body: str) -> str:
    return body + str(check_digit(body))


upc_bodies = st.text(alphabet=string.digits, min_size=11, max_size=11)


@FAST
@given(st.one_of(cells, st.text(alphabet=string.digits + " -", max_size=20)))
def test_gtin_checks_never_raise_and_agree(value: Any) -> None:
    problem = gtin_problem(value)
    normal = gtin14(value)
    assert (normal is None) == (problem is not None or normalize_gtin(value) is None)
    if normal is not None:
        assert len(normal) == 14 and normal.isdigit() and gtin14(normal) == normal


@FAST
@given(upc_bodies)
def test_upc_a_ean_13_and_gtin_14_of_one_product_are_one_gtin(body: str) -> None:
    upc = _with_check(body)
    forms = [upc, "0" + upc, "00" + upc, int(upc), f"{upc[:1]} {upc[1:6]} {upc[6:]}"]
    if gtin_problem(upc) is not None:  # a restricted or all-zero number: refused in every form
        assert all(gtin14(f) is None for f in forms)
        return
    assert {gtin14(f) for f in forms} == {"00" + upc}


@FAST
@given(upc_bodies, st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_refused_with_the_right_one_named(body: str, off: int) -> None:
    right = check_digit(body)
    wrong = body + str((right + off) % 10)
    assert f"it should be {right}" in (gtin_problem(wrong) or "")


@FAST
@given(
    st.sampled_from(["02", "04", "05", "20", "25", "29", "98", "99"]),
    st.text(alphabet=string.digits, min_size=10, max_size=10),
)
def test_restricted_and_coupon_prefixes_are_refused(prefix: str, rest: str) -> None:
    problem = gtin_problem(_with_check(prefix + rest))
    assert problem and ("in-store" in problem or "coupon" in problem or "variable" in problem)


# --- the ingest mapping's typing ----------------------------------------------------------------

SCHEMA = CatalogSchema.from_dict(
    {
        "name": "props",
        "id": "sku",
        "unknown_columns": "ignore",
        "attributes": [
            {"name": "sku", "required": True},
            {"name": "title"},
            {"name": "price", "type": "number"},
            {"name": "weight", "type": "number", "unit": "kg"},
            {"name": "pack", "type": "integer"},
            {"name": "hazmat", "type": "boolean"},
            {"name": "colour", "type": "enum", "enum": ["Red", "Blue"]},
            {"name": "tags", "type": "array"},
            {"name": "sizes", "type": "array", "items": "number", "unit": "mm"},
            {"name": "gtin", "type": "gtin"},
        ],
    }
)
COLUMNS = [a.name for a in SCHEMA.attributes]
MAPPING = resolve_columns(COLUMNS, SCHEMA, source="props")


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                c: st.one_of(
                    cells, st.lists(cells, max_size=3), st.dictionaries(text, text, max_size=2)
                )
                for c in COLUMNS
            }
        ),
        max_size=15,
    )
)
def test_typing_a_batch_keeps_or_names_every_row(rows: list[dict[str, Any]]) -> None:
    numbers = list(range(2, len(rows) + 2))
    mapped = map_batch(RowBatch(rows=rows, row_numbers=numbers, source="props"), MAPPING, SCHEMA)
    bad_rows = {p.row for p in mapped.problems}
    assert bad_rows <= set(numbers)
    assert all(p.message for p in mapped.problems)
    # every row is either typed or named in a problem, never silently dropped
    assert set(mapped.row_numbers.values()) | bad_rows == set(numbers)
    for value in mapped.frame["gtin"].dropna():
        assert isinstance(value, str)


# --- CSV and JSON files ---------------------------------------------------------------------------

csv_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


def _read(path: Path) -> list[dict[str, Any]]:
    return [row for batch in FileSource(path=str(path)).read_batches(7) for row in batch.rows]


@FAST
@given(
    st.lists(
        st.tuples(st.text(string.ascii_letters, min_size=1, max_size=8), csv_text, csv_text),
        min_size=1,
        max_size=12,
    )
)
def test_csv_written_by_any_writer_reads_back_value_for_value(
    rows: list[tuple[str, str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "a", "b"])
            writer.writerows(rows)
        read = _read(path)
    assert read == [{"id": i, "a": a or None, "b": b or None} for i, a, b in rows]


@FAST
@given(st.binary(max_size=300), st.sampled_from([".csv", ".json", ".jsonl"]))
def test_any_bytes_read_as_rows_or_fail_with_an_input_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"feed{suffix}"
        path.write_bytes(data)
        try:
            rows = _read(path)
        except InputError as exc:
            assert exc.problems and all(p.message for p in exc.problems)
            return
    assert all(isinstance(row, dict) for row in rows)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    text,
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)


@FAST
@given(
    st.lists(
        st.dictionaries(
            st.text(string.ascii_letters, min_size=1, max_size=6),
            json_scalars,
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=10,
    ),
    st.booleans(),
)
def test_json_and_jsonl_read_back_every_object(rows: list[dict[str, Any]], lines: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("feed.jsonl" if lines else "feed.json")
        body = "\n".join(json.dumps(r) for r in rows) if lines else json.dumps(rows)
        path.write_text(body, encoding="utf-8")
        read = _read(path)
    assert len(read) == len(rows)
    for got, sent in zip(read, rows, strict=True):
        assert got.keys() == sent.keys()
        for key, value in sent.items():
            if isinstance(value, float):
                assert float(got[key]) == value
            else:
                assert got[key] == value
