"""Attribute values read from a record's own text: `derive: extract` in the schema.

Supplier feeds often leave structured columns empty while the title says it all ("Industrial Air
Compressor 5HP 230V"). This module proposes those values — never overwriting a value the source
gave — with a confidence a reviewer can trust, and the evidence quoted.

How it stays fast (tens of thousands of records a second): each finder first picks the rows that
can match with an RE2 pre-filter over the whole Arrow column (C++, no Python per row), then runs
its exact Python regex once over those rows joined into one string; matches are mapped back to
rows with `searchsorted`. Candidates live in DataFrames and are resolved with group-bys; Python
per-item work is per match and per proposal, never per record.

Confidence (title = the schema's first `text` attribute; later text attributes count as
description):

=====================================================  =======  ===========
evidence                                               title    description
=====================================================  =======  ===========
labelled value ("Length: 30 mm", "8GB RAM", "Brand:")  0.95     0.90
labelled bare number, in the attribute's unit          0.75     0.70
explicit order ("10x20x30 mm (LxWxH)")                 0.95     0.90
dimension string position ("10 x 20 x 30 mm")          0.85     0.80
only quantity of the attribute's dimension ("5HP")     0.95     0.90
same, for a length/width/height/diameter/… attribute   0.70     0.65
same, but another attribute shares the dimension       0.55     0.55
enum value labelled ("Colour: red")                    0.95     0.90
enum value word / synonym                              0.90 /   0.87 /
                                                       0.87     0.85
boolean word / negated word ("non-waterproof")         0.90     0.85
pack phrase ("pack of 10", "10 pcs", "qty 25")         0.90     0.85
bare multiplier ("x10")                                0.70     0.65
=====================================================  =======  ===========

Evidence is ranked in tiers (labelled > positional > plain mentions); only the best tier found for
a record counts. If it holds several different values for one attribute (title and description
disagree, "5HP … 3HP"), the earliest title value is proposed with confidence capped at 0.6 so it
goes to human review, and the explanation lists the other candidates. A value outside the
attribute's `min`/`max` is capped at 0.5. No evidence, no proposal.

A quantity whose unit is exactly one attribute's unit is claimed by that attribute ("5HP" goes to
`horsepower: {unit: hp}`, not to `power: {unit: W}`); quantities inside a labelled value or a
dimension string are not reused as plain mentions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from catalog.changes import Proposal
from catalog.schema import Attribute, AttributeType, CatalogSchema
from catalog.units import (
    NUMBER_PATTERN,
    QUANTITY_PATTERN,
    UNIT_PATTERN,
    UnitError,
    canonical_unit,
    dimension_of,
    linear_conversion,
    parse_number,
    unit_regex,
)

PROVIDER = "extract"
AMBIGUOUS_CAP = 0.6
OUT_OF_RANGE_CAP = 0.5
SHARED_DIMENSION_CONFIDENCE = 0.55
BARE_LENGTH_CONFIDENCE = {True: 0.7, False: 0.65}
"""A plain length for an attribute named length/width/height/depth/diameter/thickness (title,
description): "125mm" in "Angle Grinder 125mm" is the disc, not the tool's length."""

_TIER_LABELLED, _TIER_POSITION, _TIER_MENTION = 0, 1, 2

_ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # role: (labels before a value, words after a value)
    "length": (("length", "len", "overall length"), ("long", "length", "in length")),
    "width": (("width", "wd", "overall width"), ("wide", "width", "in width")),
    "height": (("height", "ht", "overall height"), ("high", "tall", "height", "in height")),
    "depth": (("depth", "overall depth"), ("deep", "depth", "in depth")),
    "diameter": (("diameter", "dia", "dia.", "Ø", "ø", "⌀"), ("dia", "dia.", "diameter")),
    "thickness": (("thickness", "thk"), ("thick", "thickness", "thk")),
}
_ROLE_ALIASES = {"len": "length", "dia": "diameter", "diam": "diameter", "thk": "thickness"}
_ORDER_LETTERS = {"l": "length", "w": "width", "h": "height", "d": "depth"}
_PACK_WORDS = {"pack", "packsize", "qty", "quantity", "count", "pieces", "pcs", "units"}
_BOOLEAN_PREFIXES = {"is", "has", "with", "supports", "includes"}

_SEPARATOR = "\n\x00\n"
"""Joins rows for one regex pass: a line break (so `\\s` patterns stop) around a NUL (so nothing
spans two records)."""

_CANDIDATE_COLUMNS = [
    "pos",
    "start",
    "value",
    "conf",
    "tier",
    "source",
    "evidence",
    "method",
    "from_unit",
]

_SIGNED = r"[-−]?" + NUMBER_PATTERN
_TIMES = r"\s*[x×X*]\s*"
_ORDER = r"(?P<{p}1>[LWHD]){t}(?P<{p}2>[LWHD])(?:{t}(?P<{p}3>[LWHD]))?"
_DIMENSIONS_RE = re.compile(
    r"(?P<an>"
    + NUMBER_PATTERN
    + r")\s?(?P<au>"
    + UNIT_PATTERN
    + r")?"
    + _TIMES
    + r"(?P<bn>"
    + NUMBER_PATTERN
    + r")\s?(?P<bu>"
    + UNIT_PATTERN
    + r")?"
    r"(?:" + _TIMES + r"(?P<cn>" + NUMBER_PATTERN + r"))?"
    r"\s?(?P<cu>" + UNIT_PATTERN + r")"
    r"(?:\s*\(?\s*" + _ORDER.format(p="post", t=_TIMES) + r"(?!\w)\s*\)?)?"
)
"""`10 x 20 x 30 mm`, `10mm x 20mm`, `10x20x30 mm (W x D x H)`; starts on a digit (fast)."""
_ORDER_BEFORE = re.compile(  # "(LxWxH): 10 x 20 x 30 cm", read from the lower-cased text before
    r"(?<!\w)\(?(?P<pre1>[lwhd])\s*[x×*]\s*(?P<pre2>[lwhd])(?:\s*[x×*]\s*(?P<pre3>[lwhd]))?"
    r"\s*\)?\s*[:=]?\s*$"
)
_DIMENSIONS_FILTER = (r"\d[^\n]{0,12}?[x×X*]\s*\d",)

_QUANTITY_RE = re.compile(QUANTITY_PATTERN)
_QUANTITY_FILTER = (r"\d\s?-?\s?(?:" + unit_regex(lookarounds=False) + ")",)

_PACK_RE = re.compile(  # matched against lower-cased text
    r"(?<!\w)(?:"
    r"(?:pack|pk|box|bag|set|case|carton|pkg|package|tub|kit|bundle|lot)\s*(?:of|/)\s*(?P<a>\d+)"
    r"|(?P<b>\d+)\s*-?\s*(?:pack|pk|pcs|pces|pieces?|pc|count|ct|pairs?)(?!\w)"
    r"|(?P<c>\d+)\s*(?:/|per\s+)\s*(?:pk|pack|box|bx|bag|case|carton|set)(?!\w)"
    r"|(?:qty|quantity)\s*[:.=]?\s*(?P<d>\d+)(?![\d.,])"
    r"|(?<!\d\s)[x×]\s?(?P<w>\d+)(?![\w.,/])(?!\s*[x×*])(?!\s?-?\s?" + UNIT_PATTERN + r")"
    r")"
)
_PACK_FILTER = (
    r"(?i)\b(?:pack|pk|box|bag|set|case|carton|pkg|package|tub|kit|bundle|lot)\s*(?:of|/)\s*\d"
    r"|\d\s*-?\s*(?:pack|pk|pcs|pces|pieces?|pc|count|ct|pairs?)\b"
    r"|\d\s*(?:/|per\s+)\s*(?:pk|pack|box|bx|bag|case|carton|set)\b"
    r"|\b(?:qty|quantity)\s*[:.=]?\s*\d|(?:^|\W)[x×]\s?\d",
)
_NEGATION_BEFORE = re.compile(
    r"(?:(?<!\w)non[\s-]?|(?<!\w)not\s+|(?<!\w)without\s+"
    r"|(?<!\w)no\s+)$"
)
_UNIT_AFTER = re.compile(r"\s?-?\s?(?P<unit>" + UNIT_PATTERN + r")")


def extract_attributes(frame: pd.DataFrame, schema: CatalogSchema) -> list[Proposal]:
    """Propose values for the schema's `derive: extract` attributes from each record's text.

    Args:
        frame: One row per record, index = record id, columns = attribute names. Attributes
            missing from the frame count as empty.
        schema: Names the text attributes (title first) and the attributes to fill.

    Returns:
        One proposal per (record, attribute) that is empty in `frame` and has evidence in the
        text; see the module docstring for how confident each kind of evidence is. Array and
        reference attributes are not extracted.
    """
    attributes = [a for a in schema.derived("extract") if _supported(a)]
    text_columns = [c for c in schema.text if c in frame.columns]
    if not attributes or not text_columns or frame.empty:
        return []
    empty = {a.name: empty_mask(frame, a.name) for a in attributes}
    positions = np.flatnonzero(np.logical_or.reduce(list(empty.values())))
    if positions.size == 0:
        return []
    plan = _plan(tuple(a.model_dump_json() for a in attributes))
    candidates: dict[str, list[pd.DataFrame]] = {a.name: [] for a in attributes}
    for order, column in enumerate(text_columns):
        text = _Text(column, frame[column], positions, title=order == 0)
        for name, found in plan.find(text):
            if not found.empty:
                found["col"] = order
                candidates[name].append(found)

    record_ids = frame.index.to_numpy()
    proposals: list[Proposal] = []
    for attribute in attributes:
        if not candidates[attribute.name]:
            continue
        found = pd.concat(candidates[attribute.name], ignore_index=True)
        found = found[empty[attribute.name][found["pos"].to_numpy(dtype=int)]]
        proposals.extend(_resolve(found, attribute, record_ids))
    return proposals


def _supported(attribute: Attribute) -> bool:
    return attribute.type in (
        AttributeType.NUMBER,
        AttributeType.INTEGER,
        AttributeType.BOOLEAN,
        AttributeType.ENUM,
        AttributeType.TEXT,
    )


def empty_mask(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Rows where attribute ``name`` has no value (absent column, NaN/None or blank text):
    the only rows a provider may propose a value for."""
    if name not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    values = frame[name]
    missing = values.isna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        missing = missing | values.astype(str).str.strip().eq("").to_numpy()
    return missing


class _Text:
    """One text column of the rows being worked on, scannable as a whole."""

    def __init__(self, name: str, values: pd.Series, positions: np.ndarray, *, title: bool):
        import pyarrow as pa

        self.name = name
        self.title = title
        self.positions = positions
        raw = values.to_numpy(dtype=object)[positions]
        self.texts: list[str] = ["" if _is_missing(v) else str(v) for v in raw]
        # Lower-cased twins for case-insensitive patterns made of plain literals (the regex
        # engine skips ahead on literal first characters, not on [aA] classes). The rare text
        # whose length changes when lower-cased ("İ") is kept as is.
        lowered = map(str.lower, self.texts)
        self.lowered: list[str] = [
            low if len(low) == len(t) else t for t, low in zip(self.texts, lowered, strict=True)
        ]
        self.arrow = pa.array(self.texts, type=pa.large_string())

    def rows(self, prefilters: Sequence[str]) -> np.ndarray:
        """Indexes of rows matching every RE2 pre-filter (all rows if RE2 cannot take one)."""
        import pyarrow.compute as pc
        from pyarrow import ArrowInvalid

        keep = np.ones(len(self.texts), dtype=bool)
        for pattern in prefilters:
            try:
                hit = pc.match_substring_regex(self.arrow, pattern)
            except (ArrowInvalid, NotImplementedError):
                continue
            keep &= hit.to_numpy(zero_copy_only=False)
        return np.flatnonzero(keep)

    def scan(
        self, pattern: re.Pattern[str], prefilters: Sequence[str] = (), *, lowered: bool = False
    ) -> pd.DataFrame:
        """Every match of `pattern` in the rows passing `prefilters`.

        Returns a frame with the record's frame position (`pos`), the working row (`row`),
        `start`/`end` within the row, the matched text (`evidence`) and one column per named
        group — all text cut from the original, even when matching ran on the lower-cased
        twin (`lowered=True`, for patterns written in lower case).
        """
        names = sorted(pattern.groupindex, key=pattern.groupindex.__getitem__)
        if pattern.groups != len(names):
            raise ValueError(f"every group must be named in {pattern.pattern[:60]!r}")
        columns = ["evidence", *names, "start", "end"]
        rows = self.rows(prefilters)
        if rows.size == 0:
            return pd.DataFrame(columns=["pos", *columns, "row"])
        texts = [self.texts[i] for i in rows]
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        offsets = np.concatenate(([0], np.cumsum(lengths + len(_SEPARATOR))[:-1]))
        blob = _SEPARATOR.join(texts)
        searched = _SEPARATOR.join([self.lowered[i] for i in rows]) if lowered else blob
        if lowered:
            rows_found = [
                [blob[a:b] if a >= 0 else None for a, b in m.regs] + [m.start(), m.end()]
                for m in pattern.finditer(searched)
            ]
        else:
            rows_found = [
                [m.group(0), *m.groups(), m.start(), m.end()] for m in pattern.finditer(blob)
            ]
        found = pd.DataFrame(rows_found, columns=columns, dtype=object)
        if found.empty:
            return pd.DataFrame(columns=["pos", *columns, "row"])
        starts = found["start"].to_numpy(dtype=np.int64)
        row = np.searchsorted(offsets, starts, side="right") - 1
        found["start"] = starts - offsets[row]
        found["end"] = found["end"].to_numpy(dtype=np.int64) - offsets[row]
        found.insert(0, "pos", self.positions[rows[row]])
        found["row"] = rows[row]
        return found

    def before(self, found: pd.DataFrame, width: int) -> list[str]:
        """Up to `width` lower-cased characters before each match, for context checks."""
        return [
            self.lowered[r][max(0, s - width) : s]
            for r, s in zip(found["row"], found["start"], strict=True)
        ]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


# -- regex building ------------------------------------------------------------------------


def _word_trie(phrases: Iterable[str], *, lowered: bool = True) -> str:
    """Whole-word alternation of phrases as a trie, for matching lower-cased text.

    With `lowered=False` each letter becomes a `[aA]` class instead, for original-case text.
    Spaces, hyphens and underscores inside a phrase match any run of them ("stainless steel" =
    "Stainless-Steel"). Each first character is followed by a check that no word character
    precedes it, instead of a leading look-behind, so the engine can skip ahead quickly.
    """
    root: dict = {}
    for phrase in {" ".join(p.replace("_", " ").split()) for p in phrases if p.strip()}:
        node = root
        for char in phrase.lower() if lowered else phrase:
            if char in " -":
                atom = r"[\s_-]+"
            elif (
                not lowered
                and char.lower() != char.upper()
                and len(char.lower()) == len(char.upper()) == 1
            ):
                atom = f"[{re.escape(char.lower())}{re.escape(char.upper())}]"
            else:
                atom = re.escape(char)
            node = node.setdefault(atom, {})
        node[""] = r"(?!\w)" if phrase[-1].isalnum() or phrase[-1] == "_" else ""

    def render(node: dict, top: bool = False) -> str:
        branches = []
        for atom in sorted(a for a in node if a):
            guard = r"(?<!\w.)" if top else ""
            branches.append(atom + guard + render(node[atom]))
        if "" in node:
            branches.append(node[""])
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return render(root, top=True) if root else "(?!)"


def _re2_words(phrases: Iterable[str]) -> str:
    """RE2 pre-filter for the same phrases: case-insensitive, `\\b` only at ASCII word edges
    (RE2's `\\b` is ASCII), so it matches a superset of what the Python pattern does."""
    parts = sorted({" ".join(p.replace("_", " ").split()) for p in phrases if p.strip()})
    escaped = []
    for phrase in parts:
        body = re.escape(phrase).replace(r"\ ", r"[\s_-]+").replace(r"\-", r"[\s_-]+")
        head = r"\b" if phrase[0].isascii() and phrase[0].isalnum() else ""
        tail = r"\b" if phrase[-1].isascii() and phrase[-1].isalnum() else ""
        escaped.append(head + body + tail)
    return "(?i:" + "|".join(escaped) + ")" if escaped else "[^\\x00-\\x{10FFFF}]"


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\W]+", name.casefold()) if w]


def _synonym_words(attribute: Attribute) -> list[str]:
    """For non-enum attributes, `synonyms` lists other names of the attribute itself."""
    words: list[str] = []
    for key, values in attribute.synonyms.items():
        words.extend([key, *values])
    return [w for w in words if w.strip()]


def _label_key(text: str) -> str:
    return " ".join(re.split(r"[\s_-]+", text.casefold().strip().rstrip(".:")))


def _role(attribute: Attribute) -> str | None:
    for word in _words(attribute.name) + [w.casefold() for w in _synonym_words(attribute)]:
        word = _ROLE_ALIASES.get(word, word)
        if word in _ROLES:
            return word
    return None


# -- the plan: which finders one schema needs ----------------------------------------------


@lru_cache(maxsize=32)
def _plan(attributes: tuple[str, ...]) -> _Plan:
    """Compiling the patterns costs a few hundred ms; batches of one schema share them."""
    return _Plan([Attribute.model_validate_json(a) for a in attributes])


class _Plan:
    """Compiled patterns and label tables for one schema's extract attributes."""

    def __init__(self, attributes: list[Attribute]) -> None:
        self.numeric: list[Attribute] = []
        self.pack: list[Attribute] = []
        self.enums: list[tuple[Attribute, re.Pattern[str], str, re.Pattern[str]]] = []
        self.booleans: list[tuple[Attribute, re.Pattern[str], str]] = []
        self.texts: list[Attribute] = []
        self.units: dict[str, str] = {}
        self.dimensions: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        for attribute in attributes:
            if attribute.type in (AttributeType.NUMBER, AttributeType.INTEGER):
                self._add_numeric(attribute)
            elif attribute.type is AttributeType.ENUM:
                self._add_enum(attribute)
            elif attribute.type is AttributeType.BOOLEAN:
                self._add_boolean(attribute)
            else:
                self.texts.append(attribute)
        self.sharing: dict[str, list[str]] = {}
        for name, dimension in self.dimensions.items():
            self.sharing.setdefault(dimension, []).append(name)
        self._build_labelled()
        self._build_text_labels()

    def _add_numeric(self, attribute: Attribute) -> None:
        unit = canonical_unit(attribute.unit) if _known_unit(attribute.unit) else None
        is_pack = attribute.type is AttributeType.INTEGER and (
            (unit is not None and dimension_of(unit) == "count")
            or bool(set(_words(attribute.name)) & _PACK_WORDS)
        )
        if is_pack:
            self.pack.append(attribute)
            return
        self.numeric.append(attribute)
        if unit is not None:
            self.units[attribute.name] = unit
            self.dimensions[attribute.name] = dimension_of(unit)
        role = _role(attribute)
        if role is not None:
            self.roles[attribute.name] = role

    def _add_enum(self, attribute: Attribute) -> None:
        spellings = list(attribute.canonical_enum())
        labels = [attribute.name]
        if attribute.name.casefold() in ("color", "colour"):
            labels += ["color", "colour"]
        self.enums.append(
            (
                attribute,
                re.compile(_word_trie(spellings)),
                _re2_words(spellings),
                re.compile(r"(?:" + _word_trie(labels) + r")\s*[:=]\s*$"),
            )
        )

    def _add_boolean(self, attribute: Attribute) -> None:
        words = _words(attribute.name)
        while len(words) > 1 and words[0] in _BOOLEAN_PREFIXES:
            words = words[1:]
        phrases = [" ".join(words), *_synonym_words(attribute)]
        self.booleans.append((attribute, re.compile(_word_trie(phrases)), _re2_words(phrases)))

    def _labels(self, attribute: Attribute, where: int) -> list[str]:
        labels = [attribute.name.replace("_", " "), *_synonym_words(attribute)]
        role = self.roles.get(attribute.name)
        if role:
            labels.extend(_ROLES[role][where])
        return labels

    def _build_labelled(self) -> None:
        self.leading: dict[str, set[str]] = {}
        self.trailing: dict[str, set[str]] = {}
        for attribute in self.numeric:
            for label in self._labels(attribute, 0):
                self.leading.setdefault(_label_key(label), set()).add(attribute.name)
            for label in self._labels(attribute, 1):
                self.trailing.setdefault(_label_key(label), set()).add(attribute.name)
        # Every role word is a label, even without an attribute for it: "12 mm dia" is then no
        # plain mention a width or height could take.
        lead_labels = [label for a in self.numeric for label in self._labels(a, 0)]
        lead_labels += [label for words, _ in _ROLES.values() for label in words]
        trail_labels = [label for a in self.numeric for label in self._labels(a, 1)]
        trail_labels += [label for _, words in _ROLES.values() for label in words]
        # Matched lower-cased; the unit (case matters: mW, MW) is read after, from the original.
        self.lead_re = re.compile(
            r"(?P<label>" + _word_trie(lead_labels) + r")\.?\s*(?:\([^)\n]{0,15}\))?\s*"
            r"(?P<sep>[:=]|-|(?:of|is)\s)?\s*(?P<number>" + _SIGNED + r")"
        )
        self.lead_filter = (_re2_words(lead_labels) + r"[^\n\d]{0,24}\d",)
        self.trail_re = re.compile(
            QUANTITY_PATTERN
            + r"\s*(?:[iI][nN]\s+)?(?P<label>"
            + _word_trie(trail_labels, lowered=False)
            + r")(?!\s*[:=])"
        )
        self.trail_filter = (
            r"\d\s?-?\s?(?:"
            + unit_regex(lookarounds=False)
            + r")\s*(?i:in\s+)?"
            + _re2_words(trail_labels),
        )

    def _build_text_labels(self) -> None:
        self.text_labels: dict[str, set[str]] = {}
        labels = []
        for attribute in self.texts:
            for label in [attribute.name.replace("_", " "), *_synonym_words(attribute)]:
                self.text_labels.setdefault(_label_key(label), set()).add(attribute.name)
                labels.append(label)
        self.text_re = re.compile(
            r"(?P<label>" + _word_trie(labels) + r")\s*(?:[:=#]|is\s)\s*"
            r"(?P<value>[^,;|\n:()\[\]]{1,80}?)"
            r"(?=\s*(?:[,;|\n()\[\]]|\.\s|\.?$)|\s+[\w-]+\s*[:=]|\s+(?:"
            + _word_trie(labels)
            + r")\s*[:=#])"
        )
        self.text_filter = (_re2_words(labels) + r"\s*(?:[:=#]|(?i:is)\s)",)

    # -- finders ----------------------------------------------------------------------------

    def find(self, text: _Text) -> Iterable[tuple[str, pd.DataFrame]]:
        """Yield (attribute name, candidates) for one text column."""
        if self.numeric:
            yield from self._numeric(text)
        if self.pack:
            found = _pack(text)
            for attribute in self.pack:
                yield attribute.name, found.copy()
        for attribute, pattern, prefilter, label in self.enums:
            yield attribute.name, _enum(text, attribute, pattern, prefilter, label)
        for attribute, pattern, prefilter in self.booleans:
            yield attribute.name, _boolean(text, pattern, prefilter)
        if self.texts:
            yield from self._labelled_text(text)

    def _numeric(self, text: _Text) -> Iterable[tuple[str, pd.DataFrame]]:
        strong, weak = (0.95, 0.90) if text.title else (0.90, 0.85)
        claimed: list[pd.DataFrame] = []
        # 1. labelled values: "Length: 30 mm", "30 mm long", "8GB RAM"
        lead = _quantities(
            _with_units(text.scan(self.lead_re, self.lead_filter, lowered=True), text)
        )
        # A bare number needs an explicit "Label:"; "Height 3 positions" is no height.
        lead = lead[lead["unit"].notna() | lead["sep"].fillna("").str.strip().isin([":", "="])]
        trail = _quantities(text.scan(self.trail_re, self.trail_filter))
        for found, table in ((lead, self.leading), (trail, self.trailing)):
            if found.empty:
                continue
            claimed.append(found[["pos", "start", "end"]])
            owners = _map_unique(found["label"], partial(_label_owners, table))
            owners = owners.tolist()
            bare = found["unit"].isna().to_numpy()
            for attribute in self.numeric:
                mine = np.fromiter((attribute.name in o for o in owners), bool, len(owners))
                if mine.any():
                    yield (
                        attribute.name,
                        self._converted(
                            attribute.name,
                            found[mine],
                            np.where(bare[mine], weak - 0.15, strong),
                            tier=_TIER_LABELLED,
                            text=text,
                            method=np.where(bare[mine], "labelled-number", "labelled-unit"),
                        ),
                    )
        # 2. dimension strings: "10 x 20 x 30 mm"
        dims = _plausible_dimensions(text.scan(_DIMENSIONS_RE, _DIMENSIONS_FILTER), text)
        if not dims.empty:
            claimed.append(dims[["pos", "start", "end"]])
            yield from self._dimension_strings(dims, text)
        # 3. plain quantities outside labelled values and dimension strings
        found = _quantities(_unclaimed(text.scan(_QUANTITY_RE, _QUANTITY_FILTER), claimed))
        if found.empty:
            return
        units = found["canon"]
        dims_of = _map_unique(units, dimension_of)
        for attribute in self.numeric:
            name = attribute.name
            if name not in self.dimensions:
                continue
            mine = (dims_of == self.dimensions[name]).to_numpy().copy()
            # A bare length could be any measurement (diameter, thread, blade): an attribute named
            # for one of them takes it only with review.
            plain = strong if name not in self.roles else BARE_LENGTH_CONFIDENCE[text.title]
            conf = np.full(len(found), plain)
            others = [n for n in self.sharing[self.dimensions[name]] if n != name]
            if others:
                unit = self.units[name]
                their_units = {self.units[o] for o in others}
                # A unit only this attribute uses claims the quantity; another's unit loses it.
                exact = (units == unit).to_numpy() & (unit not in their_units)
                mine &= ~units.isin(their_units - {unit}).to_numpy()
                conf = np.where(exact, plain, SHARED_DIMENSION_CONFIDENCE)
            if mine.any():
                yield (
                    name,
                    self._converted(
                        name,
                        found[mine],
                        conf[mine],
                        tier=_TIER_MENTION,
                        text=text,
                        method="unit-match",
                    ),
                )

    def _dimension_strings(
        self, dims: pd.DataFrame, text: _Text
    ) -> Iterable[tuple[str, pd.DataFrame]]:
        explicit_conf = 0.95 if text.title else 0.90
        default_conf = 0.85 if text.title else 0.80
        before = [_ORDER_BEFORE.search(b) for b in text.before(dims, 24)]
        for i in (1, 2, 3):
            dims[f"pre{i}"] = [m.group(f"pre{i}") if m else None for m in before]
        dims["evidence"] = [
            text.texts[row][start - (len(m.group(0)) if m else 0) : end]
            for m, row, start, end in zip(
                before, dims["row"], dims["start"], dims["end"], strict=True
            )
        ]
        pre = dims["pre1"].notna()
        orders = {
            i: dims[f"pre{i}"].where(pre, dims[f"post{i}"]).str.casefold().map(_ORDER_LETTERS)
            for i in (1, 2, 3)
        }
        explicit = orders[1].notna().to_numpy()
        triple = dims["cn"].notna().to_numpy()
        slots = {
            1: (dims["an"], dims["au"].fillna(dims["cu"]), np.ones(len(dims), dtype=bool)),
            2: (dims["bn"], dims["bu"].fillna(dims["cu"]), np.ones(len(dims), dtype=bool)),
            3: (dims["cn"], dims["cu"], triple),
        }
        default_roles = {1: "length", 2: "width", 3: "height"}
        for attribute in self.numeric:
            role = self.roles.get(attribute.name)
            if role is None or self.dimensions.get(attribute.name) != "length":
                continue
            for slot, (number, unit, present) in slots.items():
                by_order = explicit & orders[slot].eq(role).to_numpy()
                by_default = ~explicit & present & (default_roles[slot] == role)
                mine = by_order | by_default
                if not mine.any():
                    continue
                part = dims[mine].assign(number=number[mine], unit=unit[mine])
                yield (
                    attribute.name,
                    self._converted(
                        attribute.name,
                        part,
                        np.where(by_order[mine], explicit_conf, default_conf),
                        tier=np.where(by_order[mine], _TIER_LABELLED, _TIER_POSITION),
                        text=text,
                        method=f"dimension-position-{slot}",
                    ),
                )

    def _converted(
        self,
        name: str,
        found: pd.DataFrame,
        conf: np.ndarray,
        *,
        tier: int | np.ndarray,
        text: _Text,
        method: str | np.ndarray,
    ) -> pd.DataFrame:
        """`number` in `unit` → value in the attribute's unit; rows that cannot convert drop."""
        target = self.units.get(name)
        found = _quantities(found)
        values = found["amount"].to_numpy(dtype=float)
        canonical = found["canon"]
        has_unit = canonical.notna().to_numpy()
        ok = ~np.isnan(values)
        if target is None:
            ok &= ~has_unit  # nothing to convert to: only bare labelled numbers
            scale, shift = np.ones(len(values)), np.zeros(len(values))
        else:
            pairs = {u: _factor(u, target) for u in pd.unique(canonical.dropna())}
            scale = (
                np.array([p[0] if (p := pairs.get(u)) else np.nan for u in canonical.tolist()])
                if len(canonical)
                else values
            )
            shift = (
                np.array([p[1] if (p := pairs.get(u)) else 0.0 for u in canonical.tolist()])
                if len(canonical)
                else values
            )
            ok &= ~has_unit | ~np.isnan(scale)  # quantities of another dimension drop out
            scale = np.where(has_unit, scale, 1.0)
            shift = np.where(has_unit, shift, 0.0)
        converted = _round_significant(values * scale + shift)
        integer = any(a.name == name and a.type is AttributeType.INTEGER for a in self.numeric)
        if integer:
            ok &= np.isclose(converted, np.round(converted), rtol=0, atol=1e-9)
        result = pd.DataFrame(
            {
                "pos": found["pos"].to_numpy(),
                "start": found["start"].to_numpy(),
                "value": converted,
                "conf": conf,
                "tier": tier,
                "source": text.name,
                "evidence": found["evidence"].to_numpy(),
                "method": method,
                "from_unit": canonical.to_numpy(dtype=object),
            },
            copy=False,
        )[ok]
        if integer:
            result["value"] = result["value"].round().astype(int).astype(object)
        return result

    def _labelled_text(self, text: _Text) -> Iterable[tuple[str, pd.DataFrame]]:
        found = text.scan(self.text_re, self.text_filter, lowered=True)
        if found.empty:
            return
        values = found["value"].str.strip().str.rstrip(".").str.strip()
        keys = _map_unique(found["label"], _label_key)
        conf = 0.95 if text.title else 0.90
        for attribute in self.texts:
            mine = keys.map(lambda k, n=attribute.name: n in self.text_labels.get(k, ()))
            mine = mine.to_numpy(dtype=bool) & (values.str.len() > 0).to_numpy()
            if attribute.pattern:
                mine &= values.str.fullmatch(attribute.pattern).fillna(False).to_numpy(bool)
            if mine.any():
                yield (
                    attribute.name,
                    _candidates(
                        found[mine],
                        values[mine].to_numpy(dtype=object),
                        conf,
                        _TIER_LABELLED,
                        text,
                        "labelled-text",
                    ),
                )


# -- finders shared by several attribute kinds ---------------------------------------------


def _candidates(
    found: pd.DataFrame,
    values: np.ndarray,
    conf: float | np.ndarray,
    tier: int | np.ndarray,
    text: _Text,
    method: str | np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pos": found["pos"].to_numpy(),
            "start": found["start"].to_numpy(),
            "value": values,
            "conf": conf,
            "tier": tier,
            "source": text.name,
            "evidence": found["evidence"].to_numpy(),
            "method": method,
            "from_unit": None,
        }
    )


def _plausible_dimensions(dims: pd.DataFrame, text: _Text) -> pd.DataFrame:
    """Drop "M12 x 30mm" (thread x length: a letter glued to the first number) and
    "1/4\" x 100 ft" (mixed units: a cross-section and a length, not L x W x H)."""
    if dims.empty:
        return dims
    glued = np.array([b[-1:].isalpha() for b in text.before(dims, 1)], dtype=bool)
    a, b, c = (_canonical_units(dims[col]).to_numpy(dtype=object) for col in ("au", "bu", "cu"))
    mixed = ((a != c) & pd.notna(a)) | ((b != c) & pd.notna(b))  # "cu" is always present
    return dims[~glued & ~mixed]


def _with_units(found: pd.DataFrame, text: _Text) -> pd.DataFrame:
    """Read the unit after each labelled number from the original text (case matters)."""
    matches = [
        _UNIT_AFTER.match(text.texts[row], end)
        for row, end in zip(found["row"], found["end"], strict=True)
    ]
    return found.assign(
        unit=[m.group("unit") if m else None for m in matches],
        end=[m.end() if m else e for m, e in zip(matches, found["end"], strict=True)],
        evidence=[
            ev + m.group(0) if m else ev for m, ev in zip(matches, found["evidence"], strict=True)
        ],
    )


def _unclaimed(found: pd.DataFrame, claimed: list[pd.DataFrame]) -> pd.DataFrame:
    """Matches that overlap none of the claimed spans in the same row."""
    if found.empty or not claimed:
        return found
    spans = pd.concat(claimed, ignore_index=True)
    numbered = found.reset_index(drop=True).assign(_id=lambda f: np.arange(len(f)))
    pairs = numbered[["_id", "pos", "start", "end"]].merge(spans, on="pos", suffixes=("", "_c"))
    overlapping = pairs[(pairs["start"] < pairs["end_c"]) & (pairs["start_c"] < pairs["end"])]
    return numbered[~numbered["_id"].isin(overlapping["_id"])].drop(columns="_id")


def _pack(text: _Text) -> pd.DataFrame:
    found = text.scan(_PACK_RE, _PACK_FILTER, lowered=True)
    if found.empty:
        return _no_candidates()
    explicit = found["a"].fillna(found["b"]).fillna(found["c"]).fillna(found["d"])
    weak = explicit.isna().to_numpy()
    number = explicit.fillna(found["w"]).astype(int).to_numpy()
    strong_conf, weak_conf = (0.90, 0.70) if text.title else (0.85, 0.65)
    result = _candidates(
        found,
        number.astype(object),
        np.where(weak, weak_conf, strong_conf),
        np.where(weak, _TIER_POSITION, _TIER_LABELLED),
        text,
        np.where(weak, "pack-multiplier", "pack-phrase"),
    )
    return result[number > 0]


def _enum(
    text: _Text,
    attribute: Attribute,
    pattern: re.Pattern[str],
    prefilter: str,
    label: re.Pattern[str],
) -> pd.DataFrame:
    found = text.scan(pattern, (prefilter,), lowered=True)
    if found.empty:
        return _no_candidates()
    lookup = {_label_key(k): v for k, v in attribute.canonical_enum().items()}
    keys = _map_unique(found["evidence"], _label_key)
    values = keys.map(lookup)
    exact = (keys == _map_unique(values, _label_key)).to_numpy()
    labelled = np.fromiter(
        (label.search(b) is not None for b in text.before(found, 24)), bool, len(found)
    )
    strong, synonym = (0.90, 0.87) if text.title else (0.87, 0.85)
    conf = np.where(labelled, 0.95 if text.title else 0.90, np.where(exact, strong, synonym))
    method = np.where(labelled, "enum-labelled", np.where(exact, "enum-value", "enum-synonym"))
    tier = np.where(labelled, _TIER_LABELLED, _TIER_MENTION)
    result = _candidates(found, values.to_numpy(dtype=object), conf, tier, text, method)
    return result[values.notna().to_numpy()]


def _boolean(text: _Text, pattern: re.Pattern[str], prefilter: str) -> pd.DataFrame:
    found = text.scan(pattern, (prefilter,), lowered=True)
    if found.empty:
        return _no_candidates()
    before = text.before(found, 12)
    negation = [_NEGATION_BEFORE.search(b) for b in before]
    negated = np.array([m is not None for m in negation], dtype=bool)
    evidence = [
        text.texts[row][start - (len(m.group(0)) if m else 0) : end]
        for m, row, start, end in zip(
            negation, found["row"], found["start"], found["end"], strict=True
        )
    ]
    result = _candidates(
        found.assign(evidence=evidence),
        np.array([bool(not n) for n in negated], dtype=object),
        0.90 if text.title else 0.85,
        _TIER_MENTION,
        text,
        np.where(negated, "boolean-negation", "boolean-word"),
    )
    return result


def _no_candidates() -> pd.DataFrame:
    return pd.DataFrame(columns=_CANDIDATE_COLUMNS)


# -- resolution ----------------------------------------------------------------------------


def _resolve(found: pd.DataFrame, attribute: Attribute, record_ids: np.ndarray) -> list[Proposal]:
    """Best tier per record; one value; capped confidence when the evidence disagrees."""
    if found.empty:
        return []
    found = found.reset_index(drop=True)
    found["key"] = _value_keys(found["value"])
    found = found.sort_values(
        ["pos", "tier", "conf", "col", "start"],
        ascending=[True, True, False, True, True],
        kind="stable",
    )
    found = found[found["tier"] == found.groupby("pos", sort=False)["tier"].transform("min")]
    by_pos = found.groupby("pos", sort=False)["key"]
    distinct = by_pos.transform("nunique").to_numpy()
    same = (found["key"] == by_pos.transform("first")).to_numpy()
    first = ~found["pos"].duplicated().to_numpy()
    chosen = found[first]
    positions = chosen["pos"].to_numpy(dtype=int)

    # Which text columns agree with the chosen value, as a bit mask per record.
    column_of = dict(
        zip(*(found.drop_duplicates("col")[c].tolist() for c in ("col", "source")), strict=True)
    )
    agree_pos, agree_col = found["pos"].to_numpy()[same], found["col"].to_numpy()[same]
    mask_of = np.zeros(len(positions), dtype=np.int64)
    for col in column_of:
        mask_of |= np.isin(positions, agree_pos[agree_col == col]).astype(np.int64) << col
    masks = dict(zip(positions.tolist(), mask_of.tolist(), strict=True))

    others: dict[int, str] = {}
    rest = found[~same & (distinct > 1)].drop_duplicates(["pos", "key"])
    for pos, evidence, source in zip(
        rest["pos"].tolist(), rest["evidence"].tolist(), rest["source"].tolist(), strict=True
    ):
        quoted = f'"{evidence}" in {source}'
        others[pos] = f"{others[pos]}, {quoted}" if pos in others else quoted

    target_unit = canonical_unit(attribute.unit) if _known_unit(attribute.unit) else None
    order = sorted(column_of)
    sources_of = {
        mask: tuple(f"record:{column_of[c]}" for c in order if mask >> c & 1)
        for mask in set(masks.values())
    }
    outside = _out_of_range(chosen["value"], attribute)
    confidences = np.round(chosen["conf"].to_numpy(dtype=float), 3).tolist()
    proposals = []
    for pos, record_id, raw, conf, out, method, evidence, source, from_unit in zip(
        positions.tolist(),
        record_ids[positions].tolist(),
        chosen["value"].tolist(),
        confidences,
        outside.tolist(),
        chosen["method"].tolist(),
        chosen["evidence"].tolist(),
        chosen["source"].tolist(),
        chosen["from_unit"].tolist(),
        strict=True,
    ):
        value = raw.item() if isinstance(raw, np.generic) else raw
        sources = sources_of.get(masks.get(pos, 0)) or (f"record:{source}",)
        explanation = f'"{evidence}" in {source}'
        if len(sources) > 1:
            agreeing = ", ".join(
                s.removeprefix("record:") for s in sources if s != f"record:{source}"
            )
            explanation += f" ({agreeing} agrees)"
        if target_unit and isinstance(from_unit, str) and from_unit != target_unit:
            explanation += f", converted to {value:g} {target_unit}"
        confidence = conf
        if pos in others:
            confidence = min(confidence, AMBIGUOUS_CAP)
            explanation += f"; other candidates: {others[pos]}"
        if out:
            confidence = min(confidence, OUT_OF_RANGE_CAP)
            explanation += f"; outside the schema's range [{attribute.min}, {attribute.max}]"
        proposals.append(
            Proposal(
                record_id=record_id,
                field=attribute.name,
                value=value,
                confidence=confidence,
                provider=PROVIDER,
                method=f"{source}-{method}",
                sources=sources,
                explanation=explanation,
            )
        )
    return proposals


# -- small helpers -------------------------------------------------------------------------


def _label_owners(table: dict[str, set[str]], label: str) -> set[str] | tuple[()]:
    """The attributes a label (as written) names in `table`; none when it names none."""
    return table.get(_label_key(label), ())


def _map_unique(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """`values.map(func)`, calling `func` once per distinct non-missing value."""
    return values.map({v: func(v) for v in pd.unique(values.dropna())})


def _quantities(found: pd.DataFrame) -> pd.DataFrame:
    """Add `amount` (the number read) and `canon` (canonical unit) once per scan."""
    if "amount" in found.columns:
        return found
    return found.assign(amount=_numbers(found["number"]), canon=_canonical_units(found["unit"]))


def _numbers(texts: pd.Series) -> np.ndarray:
    lookup = {}
    for text in pd.unique(texts.dropna()):
        value = parse_number(text)
        lookup[text] = np.nan if value is None else value
    return texts.map(lookup).to_numpy(dtype=float)


def _canonical_units(units: pd.Series) -> pd.Series:
    return _map_unique(units, _canonical_or_none)


@lru_cache(maxsize=4096)
def _canonical_or_none(unit: str) -> str | None:
    try:
        return canonical_unit(unit)
    except UnitError:
        return None


def _factor(unit: str, target: str) -> tuple[float, float] | None:
    try:
        return linear_conversion(unit, target)
    except UnitError:
        return None


def _known_unit(unit: str | None) -> TypeGuard[str]:
    if not unit:
        return False
    try:
        canonical_unit(unit)
    except UnitError:
        return False
    return True


def _round_significant(values: np.ndarray, digits: int = 12) -> np.ndarray:
    """Conversion noise off (12.7 mm → 0.5 in, not 0.49999999999999994)."""
    out = values.astype(float).copy()
    finite = np.isfinite(out) & (out != 0)
    magnitude = np.floor(np.log10(np.abs(out[finite])))
    scale = 10.0 ** (digits - 1 - magnitude)
    out[finite] = np.round(out[finite] * scale) / scale
    return out


def _value_keys(values: pd.Series) -> pd.Series:
    """What makes two candidate values the same: 9 decimals for numbers, case for text."""
    unique = pd.unique(values)
    lookup = {
        v: round(v, 9) if isinstance(v, float) else v.casefold() if isinstance(v, str) else v
        for v in unique
    }
    return values.map(lookup)


def _out_of_range(values: pd.Series, attribute: Attribute) -> np.ndarray:
    """Numeric values below the attribute's `min` or above its `max`."""
    outside = np.zeros(len(values), dtype=bool)
    if attribute.type not in (AttributeType.NUMBER, AttributeType.INTEGER):
        return outside
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if attribute.min is not None:
        outside |= numbers < attribute.min
    if attribute.max is not None:
        outside |= numbers > attribute.max
    return outside
