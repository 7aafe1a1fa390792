"""Training data: labelled records, and their labels placed on tokens.

A `LabelledRecord` is what every door hands in — a CSV row, a stored record — : its text
fields, its group (category) and, per attribute, the value(s) it has or `[]` for "not present".
An attribute missing from `values` is *unknown* for that record and is treated as not present
(a CRF cannot leave tokens unlabelled); `prepare_training` only takes records with at least one
value.

A labelled value is placed on every token-aligned occurrence in the text (case-sensitive
first, then ignoring case). A value that does not occur, or only inside a longer word
("Print" in "Printed"), cannot be a span: it is skipped and counted, never trained on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from enrichment.learned.tokens import MAX_FIELD_CHARS, Token, tokenize

OUTSIDE = "O"
_REASON_COUNTS = {
    "not in the text": "not_in_text",
    "only inside a longer word": "inside_word",
    "overlaps a longer value": "overlapping",
}
MAX_EXAMPLES = 20
"""Skipped values listed by name in a summary; the rest are counted."""


@dataclass(frozen=True)
class LabelledRecord:
    """One record to learn from.

    Attributes:
        id: How the record is named in messages (a CSV id, an external id).
        texts: Text field → text, title first.
        group: Category or other grouping the values depend on ("" for none).
        values: Attribute → acceptable surface strings; `[]` = not present in this record.
        rejected: Attribute → values a person rejected for this record: their spans are
            trained as not being the attribute (and they are part of the model's cache key).
    """

    id: str
    texts: Mapping[str, str]
    group: str = ""
    values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    rejected: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SkippedValue:
    record: str
    attribute: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"record {self.record!r}, {self.attribute} = {self.value!r}: {self.reason}"


@dataclass
class AlignedRecord:
    """A record's tokens with one label per token (an attribute name or `O`)."""

    record: LabelledRecord
    tokens: list[Token]
    labels: list[str]
    fold: int


@dataclass
class TrainingSet:
    """Aligned records plus what could not be used and why."""

    records: list[AlignedRecord]
    attributes: list[str]
    counts: Counter[str]
    skipped: list[SkippedValue]
    """The first `MAX_EXAMPLES` skipped values, named."""

    def summary(self) -> str:
        c = self.counts
        text = (
            f"{c['records']} labelled record(s), {c['values_aligned']} value(s) placed on the "
            f"text; {c['skipped_values']} skipped"
        )
        if c["skipped_values"]:
            text += (
                f" ({c['not_in_text']} not in the text, {c['inside_word']} only inside a longer "
                f"word, {c['overlapping']} overlapping a longer value)"
            )
        if c["records_without_values"]:
            text += f"; {c['records_without_values']} record(s) without any value left out"
        return text


def fold_of(record: LabelledRecord, folds: int) -> int:
    """Fold by the record's normalised text, so exact duplicates land in the same fold."""
    key = " ".join(" ".join(record.texts.values()).casefold().split())
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % folds


def _occurrences(text: str, value: str, ignore_case: bool) -> list[int]:
    haystack, needle = (text.casefold(), value.casefold()) if ignore_case else (text, value)
    if ignore_case and len(haystack) != len(text):
        return []  # casefold changed lengths (ß → ss): offsets would not line up
    found, at = [], haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def align(
    record: LabelledRecord, *, max_chars: int = MAX_FIELD_CHARS
) -> tuple[list[Token], list[str], list[tuple[str, str, str]]]:
    """Tokens, their labels, and the (attribute, value, reason) of values that found no span."""
    tokens = tokenize(record.texts, max_chars=max_chars)
    labels = [OUTSIDE] * len(tokens)
    starts = {(t.field, t.start): i for i, t in enumerate(tokens)}
    ends = {(t.field, t.end): i for i, t in enumerate(tokens)}
    problems: list[tuple[str, str, str]] = []
    # Longest values first, so a Size "36 (5.5-6 Women's B US)" keeps its span and the Gender
    # "Women's" takes another occurrence.
    wanted = sorted(
        (
            (attribute, [v.strip() for v in values if v.strip()])
            for attribute, values in record.values.items()
        ),
        key=lambda item: -max((len(v) for v in item[1]), default=0),
    )
    for attribute, values in wanted:
        if not values:
            continue
        reason = "not in the text"
        placed = False
        for ignore_case in (False, True):
            for value in values:
                for name, text in record.texts.items():
                    text = (text or "")[:max_chars]
                    for at in _occurrences(text, value, ignore_case):
                        first = starts.get((name, at))
                        last = ends.get((name, at + len(value)))
                        if first is None or last is None or last < first:
                            if reason == "not in the text":
                                reason = "only inside a longer word"
                            continue
                        if any(labels[j] != OUTSIDE for j in range(first, last + 1)):
                            reason = "overlaps a longer value"
                            continue
                        labels[first : last + 1] = [attribute] * (last - first + 1)
                        placed = True
            if placed:
                break
        if not placed:
            problems.append((attribute, values[0], reason))
    return tokens, labels, problems


def prepare_training(
    records: Sequence[LabelledRecord],
    *,
    folds: int,
    max_chars: int = MAX_FIELD_CHARS,
) -> TrainingSet:
    """Align every record; count and name what could not be used.

    Records with no value at all (every attribute empty or unknown) are left out: they teach
    only "nothing here", which a partly filled catalogue cannot vouch for.
    """
    counts: Counter[str] = Counter()
    skipped: list[SkippedValue] = []
    aligned: list[AlignedRecord] = []
    attributes: dict[str, None] = {}
    for record in records:
        for attribute in record.values:
            attributes.setdefault(attribute, None)
        if not any(v.strip() for vs in record.values.values() for v in vs):
            counts["records_without_values"] += 1
            continue
        tokens, labels, problems = align(record, max_chars=max_chars)
        given = sum(1 for vs in record.values.values() if any(v.strip() for v in vs))
        counts["values"] += given
        counts["rejected_values"] += sum(len(v) for v in record.rejected.values())
        counts["values_aligned"] += given - len(problems)
        for attribute, value, reason in problems:
            counts["skipped_values"] += 1
            counts[_REASON_COUNTS[reason]] += 1
            if len(skipped) < MAX_EXAMPLES:
                skipped.append(SkippedValue(record.id, attribute, value, reason))
        if not tokens:
            counts["records_without_text"] += 1
            continue
        counts["records"] += 1
        aligned.append(AlignedRecord(record, tokens, labels, fold_of(record, folds)))
    return TrainingSet(aligned, list(attributes), counts, skipped)
