"""The validate stage's rules: a Great Expectations suite derived from the catalogue schema.

The schema already says what a good record looks like (required attributes, enum values,
patterns, ranges, types, the id), so the suite is derived from it rather than written by hand:
a catalogue owner changes the YAML and validation follows. `SuiteRunner` builds the GX context
and suites once and validates the catalogue batch by batch, keeping only counts and a few
example rows per expectation, so memory stays flat however many batches a run has (apart from
the set of ids seen, which cross-batch uniqueness needs).

Semantics worth knowing:

- `required` means required, also for attributes a model fills (`derive:`): a record whose
  derived value is still waiting for review has no value yet and fails validation, which is
  what keeps half-enriched records from being distributed.
- Blank strings and empty lists count as missing for `required`.
- `pattern` is searched, as in JSON Schema (`re.search`); anchor it (`^…$`) to match the
  whole value. Non-text scalars are matched on their text form.
- A value of the wrong type (text in a number column, `true` in an integer column) fails the
  type expectation; the range check only looks at values of the right type.
- Elements of array attributes are checked one by one (enum, pattern, range).
- `severity: warning` attributes give non-blocking expectations; the id's uniqueness and
  presence always block.

GX only runs rules on columns, so each expectation runs on a column of a prepared frame
(one column per expectation) whose values are the raw values or a vectorised projection of
them (a conformity flag for types, numbers for ranges, exploded elements for arrays); the
examples in the report always show the raw value.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from catalog.collector import collector_paused
from catalog.gtin import gtin_problem
from catalog.schema import Attribute, AttributeType, CatalogSchema

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_suite import ExpectationSuite

Kind = Literal["not_null", "in_set", "match_regex", "between", "unique", "type", "gtin"]

_SPEC_META = "skuflow_expectation"
_TYPE_CHECKED = (
    AttributeType.NUMBER,
    AttributeType.INTEGER,
    AttributeType.BOOLEAN,
    AttributeType.ARRAY,
)
_NUMERIC = (AttributeType.NUMBER, AttributeType.INTEGER)


@dataclass(frozen=True)
class ExpectationSpec:
    """One rule derived from the schema, named so a report reader can find it in the YAML.

    Attributes:
        name: Unique, readable name, e.g. `price_between_0_and_100000`.
        attribute: The schema attribute the rule is about.
        kind: `not_null`, `in_set`, `match_regex`, `between`, `unique`, `type` or `gtin`.
        blocking: Whether a failure halts the run (`severity: error`) or is only reported.
        kwargs: The rule's parameters (`value_set`, `regex`, `min_value`/`max_value`, `type`);
            `each_item: True` marks a rule on the elements of an array attribute.
    """

    name: str
    attribute: str
    kind: Kind
    blocking: bool
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def each_item(self) -> bool:
        return bool(self.kwargs.get("each_item"))

    def describe(self) -> str:
        """The rule in words, for reports."""
        subject = f"each element of `{self.attribute}`" if self.each_item else f"`{self.attribute}`"
        kw = self.kwargs
        if self.kind == "not_null":
            return f"{subject} has a value"
        if self.kind == "unique":
            return f"{subject} is unique across the run"
        if self.kind == "type":
            return f"{subject} is {'an' if kw['type'][0] in 'aeiou' else 'a'} {kw['type']}"
        if self.kind == "in_set":
            values = [str(v) for v in kw["value_set"]]
            shown = ", ".join(values[:12]) + (
                f", … ({len(values)} values)" if len(values) > 12 else ""
            )
            return f"{subject} is one of: {shown}"
        if self.kind == "match_regex":
            return f"{subject} matches `{kw['regex']}`"
        if self.kind == "gtin":
            return (
                f"{subject} is a GTIN (8, 12, 13 or 14 digits, a right GS1 check digit, no "
                "restricted or coupon prefix)"
            )
        low, high = kw.get("min_value"), kw.get("max_value")
        if low is not None and high is not None:
            return f"{subject} is between {_num(low)} and {_num(high)}"
        if low is not None:
            return f"{subject} is at least {_num(low)}"
        return f"{subject} is at most {_num(high)}"


def expectations_for(schema: CatalogSchema) -> list[ExpectationSpec]:
    """Derive the catalogue's expectations from its schema, in attribute order.

    Args:
        schema: The catalogue schema.

    Returns:
        One spec per rule: not-null for required attributes and the id, a type check for
        number/integer/boolean/array attributes, value-set for enums, regex for patterns,
        range for min/max, uniqueness for the id.
    """
    return [
        spec for a in schema.attributes for spec in _attribute_specs(a, is_id=a.name == schema.id)
    ]


def _attribute_specs(attr: Attribute, *, is_id: bool) -> list[ExpectationSpec]:
    blocking = attr.severity == "error"
    specs: list[ExpectationSpec] = []

    def add(kind: Kind, name: str, blocks: bool = blocking, **kwargs: Any) -> None:
        specs.append(ExpectationSpec(f"{attr.name}_{name}", attr.name, kind, blocks, kwargs))

    if attr.required or is_id:
        add("not_null", "not_null", blocking or is_id)
    if attr.type in _TYPE_CHECKED:
        add("type", f"is_{attr.type.value}", type=attr.type.value)
    array = attr.type is AttributeType.ARRAY
    element = attr.items if array else attr.type
    item = {"each_item": True} if array else {}
    prefix = "items_" if array else ""
    if attr.enum:
        add("in_set", f"{prefix}in_set", value_set=list(attr.enum), **item)
    if attr.pattern is not None:
        add("match_regex", f"{prefix}match_regex", regex=attr.pattern, **item)
    if element is AttributeType.GTIN:
        add("gtin", f"{prefix}is_gtin", **item)
    if (attr.min is not None or attr.max is not None) and element in _NUMERIC:
        name = _range_name(attr, prefix=prefix)
        add("between", name, min_value=attr.min, max_value=attr.max, **item)
    if is_id:
        add("unique", "unique", True)
    return specs


@dataclass
class ExpectationResult:
    """How one expectation fared over every batch validated so far.

    Attributes:
        spec: The rule.
        success: True when no row broke it (and GX could evaluate it).
        unexpected_count: Rows (array elements, for `each_item` rules) that broke it.
        examples: Up to `max_examples` of them, `{'id': external_id, 'value': raw value}`.
        error: Why GX could not evaluate the rule, when it could not; such a rule counts as failed.
    """

    spec: ExpectationSpec
    success: bool = True
    unexpected_count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "attribute": self.spec.attribute,
            "kind": self.spec.kind,
            "blocking": self.spec.blocking,
            "kwargs": self.spec.kwargs,
            "rule": self.spec.describe(),
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "examples": self.examples,
            "error": self.error,
        }


@dataclass
class ValidationReport:
    """The outcome of validating a catalogue: whether it may be distributed, and why not.

    Attributes:
        success: False iff a blocking expectation failed.
        records: Rows validated.
        results: One result per expectation, in schema order.
        held: Source rows the run held back instead of applying (`catalog.held`): how many,
            and the first of them (`{id, source, row, reasons}`).
    """

    success: bool
    records: int
    results: list[ExpectationResult]
    held_count: int = 0
    held: list[dict[str, Any]] = field(default_factory=list)

    def failed(self, blocking_only: bool = True) -> list[ExpectationResult]:
        """Expectations that failed; by default only the ones that halt the run."""
        return [r for r in self.results if not r.success and (r.spec.blocking or not blocking_only)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form, for the saved report and the API."""
        return {
            "success": self.success,
            "records": self.records,
            "expectations": len(self.results),
            "failed_blocking": len(self.failed()),
            "failed_warning": len(self.failed(False)) - len(self.failed()),
            "results": [r.to_dict() for r in self.results],
            "held": self.held_count,
            "held_rows": self.held,
        }

    def summary(self) -> str:
        """One line, for logs and the `ValidationFailed` message."""
        blocking, warned = len(self.failed()), len(self.failed(False)) - len(self.failed())
        status = "passed" if self.success else "FAILED"
        parts = [
            f"validation {status}: {self.records} record(s), {len(self.results)} expectation(s)"
        ]
        if blocking:
            names = ", ".join(r.spec.name for r in self.failed())
            parts.append(f"{blocking} blocking failure(s) ({names})")
        if warned:
            parts.append(f"{warned} warning(s)")
        return "; ".join(parts)

    def to_markdown(self) -> str:
        """A report a catalogue owner can act on: which rules failed, how many rows, which ids."""
        lines = [
            "# Validation report",
            "",
            f"**{'Passed' if self.success else 'FAILED — run halted, nothing distributed'}**",
            "",
            f"- records validated: {self.records}",
            f"- expectations: {len(self.results)}",
            f"- blocking failures: {len(self.failed())}",
            f"- warnings: {len(self.failed(False)) - len(self.failed())}",
        ]
        failures = sorted(self.failed(False), key=lambda r: not r.spec.blocking)
        if failures:
            lines += [
                "",
                "## Failed expectations",
                "",
                "| expectation | rule | severity | failing rows |",
                "|---|---|---|---|",
            ]
            for r in failures:
                rows = "error" if r.error else str(r.unexpected_count)
                lines.append(
                    f"| `{r.spec.name}` | {_cell(r.spec.describe())} "
                    f"| {'blocking' if r.spec.blocking else 'warning'} | {rows} |"
                )
            for r in failures:
                lines += ["", f"### `{r.spec.name}`", "", r.spec.describe() + "."]
                if r.error:
                    lines.append(f"Could not be evaluated: {r.error}")
                if r.examples:
                    more = r.unexpected_count - len(r.examples)
                    what = "element(s)" if r.spec.each_item else "row(s)"
                    lines += ["", f"{r.unexpected_count} {what} failed; examples (id: value):", ""]
                    lines += [
                        f"- {_code(e['id'])}: {_code(e['value'], as_json=True)}" for e in r.examples
                    ]
                    if more > 0:
                        lines.append(f"- … and {more} more")
        if self.held_count:
            lines += [
                "",
                "## Held rows (not applied)",
                "",
                f"{self.held_count} source row(s) broke a blocking rule and were held for review; "
                "the catalogue keeps its current values for them.",
                "",
            ]
            for row in self.held:
                where = str(row["source"]) + (f", row {row['row']}" if row.get("row") else "")
                why = "; ".join(f"{r['attribute']}: {r['message']}" for r in row["reasons"])
                lines.append(f"- {_code(row['id'])} ({_cell(where)}): {_cell(why)}")
            if self.held_count > len(self.held):
                lines.append(f"- … and {self.held_count - len(self.held)} more")
        passed = [r.spec.name for r in self.results if r.success]
        if passed:
            lines += ["", "## Passed", "", ", ".join(f"`{n}`" for n in passed)]
        return "\n".join(lines) + "\n"


class SuiteRunner:
    """Validates a catalogue batch by batch against the suite derived from its schema.

    The GX context, data source and suites are built once; `validate` may then be called for
    any number of batches, and `report` gives the result over all of them.

    GX's cost is mostly per call (it plans every expectation's metrics anew, tens of
    milliseconds each), not per row, so small batches are pooled until `rows_per_check` rows
    are waiting before GX runs; `report` checks what is left. Memory is bounded by that pool,
    the examples kept, and the set of ids seen (which cross-batch uniqueness needs).

    Example:
        runner = SuiteRunner(schema)
        for frame in batches:
            runner.validate(frame)
        report = runner.report()
    """

    def __init__(
        self,
        schema: CatalogSchema,
        *,
        id_column: str = "external_id",
        max_examples: int = 20,
        rows_per_check: int = 50_000,
    ) -> None:
        self.schema = schema
        self.id_column = id_column
        self.max_examples = max_examples
        self.rows_per_check = rows_per_check
        self.specs = expectations_for(schema)
        self._results = {s.name: ExpectationResult(s) for s in self.specs}
        self._records = 0
        self._pending: list[pd.DataFrame] = []
        self._pending_rows = 0
        self._seen_ids: set[str] = set()
        self._duplicated_ids: set[str] = set()
        """Ids whose every occurrence so far is already counted as a uniqueness failure."""
        self._row_specs = [s for s in self.specs if not s.each_item]
        self._item_specs = [s for s in self.specs if s.each_item]
        self._batch_definition, self._row_suite, self._item_suite = _build_gx(
            self._row_specs, self._item_specs
        )

    @collector_paused()
    def validate(self, frame: pd.DataFrame) -> None:
        """Add one batch to the run; it is checked now or pooled with the next ones.

        Args:
            frame: One row per record; columns are attribute names plus the id column (extra
                columns are ignored, absent attributes count as all-null). Values are as JSON
                gives them: str, float, int, bool, lists, None.

        Raises:
            ValueError: The frame has neither the id column nor the schema's id attribute,
                so failing rows could not be named.
        """
        if frame.empty:
            return
        self._ids(frame)  # refuse a frame without ids now, not when the pool is checked
        columns = [c for c in frame.columns if c in self.schema.by_name or c == self.id_column]
        self._pending.append(frame[columns].reset_index(drop=True))
        self._pending_rows += len(frame)
        if self._pending_rows >= self.rows_per_check:
            self._check_pending()

    def report(self) -> ValidationReport:
        """The outcome over every batch given so far."""
        self._check_pending()
        results = list(self._results.values())
        success = not any(r.spec.blocking and not r.success for r in results)
        return ValidationReport(success=success, records=self._records, results=results)

    def _check_pending(self) -> None:
        if not self._pending:
            return
        pending = self._pending
        frame = pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
        self._pending, self._pending_rows = [], 0
        self._check(frame)

    def _check(self, frame: pd.DataFrame) -> None:
        ids = _text(self._ids(frame))
        self._records += len(frame)
        columns = {a.name: _column(frame, a.name) for a in self.schema.attributes}
        if self.schema.id not in frame.columns:
            # The id attribute's value *is* the external id; stores may keep it only there.
            columns[self.schema.id] = ids
        if self._row_specs:
            prepared, raw = _prepare_rows(self._row_specs, self.schema, columns)
            self._run(self._row_suite, prepared, raw, ids)
        if self._item_specs:
            prepared, raw, owners = _prepare_items(self._item_specs, self.schema, columns, ids)
            if len(prepared):
                self._run(self._item_suite, prepared, raw, owners)
        self._check_ids_across_batches(columns[self.schema.id], ids)

    def _ids(self, frame: pd.DataFrame) -> pd.Series:
        if self.id_column in frame.columns:
            return frame[self.id_column]
        if self.schema.id in frame.columns:
            return frame[self.schema.id]
        found = ", ".join(map(str, frame.columns))
        raise ValueError(
            f"validation needs the record id: the frame has neither an '{self.id_column}' "
            f"column nor the id attribute '{self.schema.id}' (columns: {found})"
        )

    def _run(
        self,
        suite: ExpectationSuite,
        prepared: pd.DataFrame,
        raw: dict[str, pd.Series],
        ids: pd.Series,
    ) -> None:
        """Run one suite over a prepared frame (RangeIndex = row position) and tally it."""
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": prepared})
        with warnings.catch_warnings():
            # pandas warns when a schema pattern has groups (GX searches with str.contains).
            warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expr")
            outcome = batch.validate(
                suite,
                result_format={
                    # SUMMARY names the first failing rows by index. GX's other ways to name
                    # them (`unexpected_index_column_names`, COMPLETE) cost a pandas lookup per
                    # failing row: seconds per batch when every row fails.
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": max(self.max_examples, 1),
                    "return_unexpected_index_query": False,
                },
            )
        for er in outcome.results:
            # A suite's results always carry the expectation that produced them.
            assert er.expectation_config is not None
            acc = self._results[er.expectation_config.meta[_SPEC_META]]
            error = _exception_message(er.exception_info)
            if error:
                acc.success, acc.error = False, acc.error or error
                continue
            count = int(er.result.get("unexpected_count") or 0)
            if count:
                acc.success = False
                acc.unexpected_count += count
                values = raw[acc.spec.name]
                rows = [int(i) for i in er.result.get("partial_unexpected_index_list") or []]
                self._add_examples(acc, ((ids.iloc[i], values.iloc[i]) for i in rows))

    def _check_ids_across_batches(self, id_values: pd.Series, ids: pd.Series) -> None:
        """Uniqueness across batches: GX sees one batch; a set of ids seen remembers the rest.

        Counts rows the same way GX does within a batch (every row sharing an id), so an id
        that first appeared in an earlier batch adds that earlier row once, too.
        """
        acc = self._results.get(f"{self.schema.id}_unique")
        if acc is None:
            return
        keys = _text(id_values)
        present = keys.notna().to_numpy()
        key_values = keys.to_numpy(dtype=object)
        in_batch = keys.duplicated(keep=False).to_numpy() & present
        before = np.fromiter((k in self._seen_ids for k in key_values), bool, len(keys)) & present
        extra = before & ~in_batch  # rows GX did not already count
        earlier = {k for k in key_values[before] if k not in self._duplicated_ids}
        if extra.any() or earlier:
            acc.success = False
            acc.unexpected_count += int(extra.sum()) + len(earlier)
            raw = id_values.to_numpy(dtype=object)
            self._add_examples(acc, zip(ids.to_numpy(dtype=object)[extra], raw[extra], strict=True))
        self._duplicated_ids.update(key_values[in_batch | before])
        self._seen_ids.update(key_values[present])

    def _add_examples(self, acc: ExpectationResult, rows: Iterable[tuple[Any, Any]]) -> None:
        room = self.max_examples - len(acc.examples)
        for identifier, value in rows:
            if room <= 0:
                break
            acc.examples.append({"id": _plain(identifier), "value": _plain(value)})
            room -= 1


def validate_frame(frame: pd.DataFrame, schema: CatalogSchema, **kw: Any) -> ValidationReport:
    """Validate one frame on its own; `kw` goes to `SuiteRunner`."""
    runner = SuiteRunner(schema, **kw)
    runner.validate(frame)
    return runner.report()


# --- which rows break which rules --------------------------------------------------------------


@dataclass(frozen=True)
class RuleBreak:
    """One rule one row breaks: what a held row carries so a reviewer sees why."""

    rule: str
    attribute: str
    value: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "attribute": self.attribute,
            "value": _plain(self.value),
            "message": self.message,
        }


def source_rules(schema: CatalogSchema, attributes: Iterable[str]) -> list[ExpectationSpec]:
    """The blocking rules a source row can break on its own: those on the attributes it carries,
    except uniqueness (ingest refuses a repeated id) and `required` on an attribute a model
    fills (the model has not run yet)."""
    given = set(attributes)
    return [
        spec
        for spec in expectations_for(schema)
        if spec.blocking
        and spec.attribute in given
        and spec.kind != "unique"
        and not (spec.kind == "not_null" and schema.by_name[spec.attribute].derive)
    ]


def rule_breaks(
    frame: pd.DataFrame, schema: CatalogSchema, specs: list[ExpectationSpec]
) -> dict[int, list[RuleBreak]]:
    """Row position → the rules of `specs` it breaks, judged as the suite judges them.

    The suite (GX) counts failures and keeps a few examples; holding rows back needs every
    failing row, so this evaluates the same projections column by column (vectorised) and
    names them all. `frame` has one column per attribute (absent ones count as all-null).
    """
    frame = frame.reset_index(drop=True)
    breaks: dict[int, list[RuleBreak]] = {}
    for spec in specs:
        attr = schema.by_name[spec.attribute]
        values = _column(frame, spec.attribute)
        if spec.each_item:
            elements = values.astype(object).explode()
            elements = elements[elements.notna().to_numpy()]
            owners = elements.index.to_numpy()
            elements = elements.reset_index(drop=True)
            failing = _failing(spec, _element_attribute(attr), elements)
            cells = elements.to_numpy(dtype=object)
            hits = [(int(owners[i]), cells[i]) for i in np.flatnonzero(failing)]
        else:
            failing = _failing(spec, attr, values)
            cells = values.to_numpy(dtype=object)
            hits = [(int(i), cells[i]) for i in np.flatnonzero(failing)]
        for row, value in hits:
            found = breaks.setdefault(row, [])
            if any(b.rule == spec.name for b in found):
                continue  # one break per rule per row: the first bad element names it
            found.append(RuleBreak(spec.name, spec.attribute, value, _break_message(spec, value)))
    return breaks


def _failing(spec: ExpectationSpec, attr: Attribute, values: pd.Series) -> np.ndarray:
    """Where `values` break `spec`, with GX's semantics: nulls only fail `not_null`."""
    projected = _PROJECTIONS[spec.kind](values, attr)
    if spec.kind == "not_null":
        return projected.isna().to_numpy(dtype=bool)
    present = projected.notna().to_numpy(dtype=bool)
    kw = spec.kwargs
    if spec.kind in ("type", "gtin"):
        ok = projected.fillna(True).to_numpy(dtype=bool)
    elif spec.kind == "in_set":
        ok = projected.isin([str(v) for v in kw["value_set"]]).to_numpy(dtype=bool)
    elif spec.kind == "match_regex":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expr")
            found = projected.str.contains(kw["regex"], regex=True)
        ok = found.fillna(False).to_numpy(dtype=bool)
    elif spec.kind == "between":
        numbers_ = projected.to_numpy(dtype=float, na_value=np.nan)
        ok = np.ones(len(numbers_), bool)
        with np.errstate(invalid="ignore"):
            if kw.get("min_value") is not None:
                ok &= ~(numbers_ < kw["min_value"])
            if kw.get("max_value") is not None:
                ok &= ~(numbers_ > kw["max_value"])
    else:
        return np.zeros(len(values), bool)
    return present & ~ok


def _break_message(spec: ExpectationSpec, value: Any) -> str:
    if spec.kind == "gtin":
        return gtin_problem(value) or spec.describe()
    if spec.kind == "not_null":
        return f"{spec.describe().replace(' has a value', '')} has no value (it is required)"
    return f"{_code(_plain(value), as_json=True)} breaks the rule: {spec.describe()}"


def report_of_breaks(
    schema: CatalogSchema, rows: list[tuple[str, list[RuleBreak]]], *, records: int
) -> ValidationReport:
    """A validation report over `records` rows of which `rows` (id, breaks) broke rules: the
    report a run halted at ingest saves, in the same form as the suite's."""
    results = {s.name: ExpectationResult(s) for s in expectations_for(schema)}
    for identifier, breaks in rows:
        for item in breaks:
            acc = results[item.rule]
            acc.success = False
            acc.unexpected_count += 1
            if len(acc.examples) < 20:
                acc.examples.append({"id": identifier, "value": _plain(item.value)})
    values = list(results.values())
    success = not any(r.spec.blocking and not r.success for r in values)
    return ValidationReport(success=success, records=records, results=values)


# --- preparing the frames GX sees -------------------------------------------------------------


def _prepare_rows(
    specs: list[ExpectationSpec], schema: CatalogSchema, columns: dict[str, pd.Series]
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """One column per row-level expectation; the raw values each one reports from."""
    data: dict[str, pd.Series] = {}
    raw: dict[str, pd.Series] = {}
    for spec in specs:
        values = columns[spec.attribute]
        data[spec.name] = _PROJECTIONS[spec.kind](values, schema.by_name[spec.attribute])
        raw[spec.name] = values
    return pd.DataFrame(data), raw


def _prepare_items(
    specs: list[ExpectationSpec],
    schema: CatalogSchema,
    columns: dict[str, pd.Series],
    ids: pd.Series,
) -> tuple[pd.DataFrame, dict[str, pd.Series], pd.Series]:
    """Array elements stacked into one frame, one column per element-level expectation.

    Each row holds one element of one attribute; the other attributes' columns are null
    there, which every GX column-map expectation skips, so one GX run covers them all.
    Also returns the raw elements and, per element, the id of the record it came from.
    """
    by_attribute: dict[str, list[ExpectationSpec]] = {}
    for spec in specs:
        by_attribute.setdefault(spec.attribute, []).append(spec)
    parts: list[pd.DataFrame] = []
    raw_parts: list[pd.Series] = []
    owner_parts: list[pd.Series] = []
    for name, attr_specs in by_attribute.items():
        element_attr = _element_attribute(schema.by_name[name])
        elements = columns[name].astype(object).explode()
        elements = elements[elements.notna().to_numpy()]
        owners = elements.index.to_numpy()
        elements = elements.reset_index(drop=True)
        part = {s.name: _PROJECTIONS[s.kind](elements, element_attr) for s in attr_specs}
        parts.append(pd.DataFrame(part, index=elements.index))
        raw_parts.append(elements)
        owner_parts.append(ids.iloc[owners])
    prepared = pd.concat(parts, ignore_index=True)
    for spec in specs:  # concat leaves other attributes' rows as object NaN; restore dtypes
        prepared[spec.name] = prepared[spec.name].astype(_PROJECTED_DTYPE[spec.kind])
    elements = pd.concat(raw_parts, ignore_index=True)
    owners = pd.concat(owner_parts, ignore_index=True)
    return prepared, dict.fromkeys((s.name for s in specs), elements), owners


def _element_attribute(attr: Attribute) -> Attribute:
    return attr.model_copy(update={"type": attr.items})


def _present(values: pd.Series, attr: Attribute) -> pd.Series:
    """True where the value is there, null where it is missing (null, blank text, empty list)."""
    out = pd.Series(True, index=values.index, dtype="boolean")
    out[_blank(values)] = pd.NA
    return out


def _conforms(values: pd.Series, attr: Attribute) -> pd.Series:
    """True where the value has the attribute's type, False where not, null where null."""
    out = pd.Series(_type_mask(values, attr.type), index=values.index, dtype="boolean")
    out[values.isna().to_numpy()] = pd.NA
    return out


def _as_number(values: pd.Series, attr: Attribute) -> pd.Series:
    """Numbers for the range check; values of another type become null (the type check has them)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    ok = _type_mask(values, AttributeType.NUMBER) & values.notna().to_numpy()
    return pd.to_numeric(values.astype(object).where(ok, None), errors="coerce").astype(float)


def _text(values: pd.Series, attr: Attribute | None = None) -> pd.Series:
    """Values as text (pandas `str` dtype); `7` and `'7'` are the same id, enum value or code."""
    dtype = values.dtype
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return values
    if pd.api.types.is_object_dtype(dtype):
        values = values.map(_text_form, na_action="ignore")
    elif pd.api.types.is_float_dtype(dtype):
        values = values.astype(object).map(_text_form, na_action="ignore")
    return values.astype("str")


def _text_form(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON numbers often arrive as floats: 7.0 is the id 7
    return str(value)


def _is_gtin(values: pd.Series, attr: Attribute) -> pd.Series:
    """True where the value is a usable GTIN, False where not, null where missing."""
    out = pd.Series(
        [None if v is None else gtin_problem(v) is None for v in values.astype(object)],
        index=values.index,
        dtype="boolean",
    )
    out[values.isna().to_numpy()] = pd.NA
    return out


_PROJECTIONS: dict[str, Callable[[pd.Series, Attribute], pd.Series]] = {
    "not_null": _present,
    "type": _conforms,
    "gtin": _is_gtin,
    "in_set": _text,
    "match_regex": _text,
    "between": _as_number,
    "unique": _text,
}
_PROJECTED_DTYPE = {
    "not_null": "boolean",
    "type": "boolean",
    "gtin": "boolean",
    "in_set": "str",
    "match_regex": "str",
    "between": "float64",
    "unique": "str",
}


def _type_mask(values: pd.Series, kind: AttributeType) -> np.ndarray:
    """Whether each (non-null) value has the type; vectorised when the dtype already tells."""
    dtype = values.dtype
    is_bool = pd.api.types.is_bool_dtype(dtype)
    if kind is AttributeType.BOOLEAN and is_bool:
        return np.ones(len(values), bool)
    if kind in _NUMERIC and pd.api.types.is_numeric_dtype(dtype) and not is_bool:
        if kind is AttributeType.NUMBER or pd.api.types.is_integer_dtype(dtype):
            return np.ones(len(values), bool)
        numbers_ = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return np.isfinite(numbers_) & (numbers_ == np.floor(numbers_))
    if not pd.api.types.is_object_dtype(dtype):
        # Typed columns (str, bool, numbers) of the wrong type: nothing conforms.
        return np.zeros(len(values), bool)
    check = _VALUE_CHECKS.get(kind, lambda v: True)
    return np.fromiter((check(v) for v in values.to_numpy(dtype=object)), bool, len(values))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _is_integer(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and float(value).is_integer()


_VALUE_CHECKS: dict[AttributeType, Callable[[Any], bool]] = {
    AttributeType.NUMBER: _is_number,
    AttributeType.INTEGER: _is_integer,
    AttributeType.BOOLEAN: lambda v: isinstance(v, bool | np.bool_),
    AttributeType.ARRAY: lambda v: isinstance(v, list | tuple | np.ndarray),
}


def _blank(values: pd.Series) -> np.ndarray:
    """Null, blank text or an empty list: what `required` treats as missing."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_object_dtype(values.dtype):
        empty = np.fromiter(
            (
                (isinstance(v, str) and not v.strip())
                or (isinstance(v, list | tuple | np.ndarray) and len(v) == 0)
                for v in values.to_numpy(dtype=object)
            ),
            bool,
            len(values),
        )
        return missing | empty
    if pd.api.types.is_string_dtype(values.dtype):
        return missing | values.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return missing


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


# --- Great Expectations -----------------------------------------------------------------------


def _build_gx(
    row_specs: list[ExpectationSpec], item_specs: list[ExpectationSpec]
) -> tuple[BatchDefinition, ExpectationSuite, ExpectationSuite]:
    """An in-memory context with one pandas data source and the two suites (rows, elements)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas(name="skuflow").add_dataframe_asset(name="records")
    batch_definition = asset.add_batch_definition_whole_dataframe("batch")
    suites = [
        context.suites.add(
            gx.ExpectationSuite(name=name, expectations=[_gx_expectation(s) for s in specs])
        )
        for name, specs in (("rows", row_specs), ("elements", item_specs))
    ]
    return batch_definition, suites[0], suites[1]


def _gx_expectation(spec: ExpectationSpec) -> Any:
    import great_expectations.expectations as gxe

    common: dict[str, Any] = {"column": spec.name, "meta": {_SPEC_META: spec.name}}
    kw = spec.kwargs
    if spec.kind == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(**common)
    if spec.kind == "unique":
        return gxe.ExpectColumnValuesToBeUnique(**common)
    if spec.kind in ("type", "gtin"):
        return gxe.ExpectColumnValuesToBeInSet(value_set=[True], **common)
    if spec.kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(value_set=list(kw["value_set"]), **common)
    if spec.kind == "match_regex":
        return gxe.ExpectColumnValuesToMatchRegex(regex=kw["regex"], **common)
    return gxe.ExpectColumnValuesToBeBetween(
        min_value=kw.get("min_value"), max_value=kw.get("max_value"), **common
    )


def _exception_message(info: Any) -> str | None:
    """GX reports an evaluation error either flat or keyed by metric; find the first message."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "GX raised an exception")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "GX raised an exception")
    return None


# --- small helpers ----------------------------------------------------------------------------


def _range_name(attr: Attribute, *, prefix: str) -> str:
    if attr.min is not None and attr.max is not None:
        return f"{prefix}between_{_num(attr.min)}_and_{_num(attr.max)}"
    if attr.min is not None:
        return f"{prefix}at_least_{_num(attr.min)}"
    return f"{prefix}at_most_{_num(attr.max)}"


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a value from a frame (numpy scalars, NaN, arrays)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _code(value: Any, *, as_json: bool = False) -> str:
    """A value as inline code; values as JSON so `"3"`, `3` and `null` stay apart."""
    text = json.dumps(value, ensure_ascii=False) if as_json or not isinstance(value, str) else value
    text = text.replace("\n", " ")
    if len(text) > 120:
        text = text[:117] + "…"
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
