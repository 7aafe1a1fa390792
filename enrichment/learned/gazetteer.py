"""Known values: every labelled value, by attribute, as a token sequence.

The tagger reads "this span is a known Brand" as one feature among many, so it still finds a
brand it has never seen from the words around it. To learn that balance, the training
features of a record are computed with a gazetteer that does *not* hold that record's own
values (out-of-fold): otherwise every labelled span would be a known value in training, and the
tagger would learn to trust the list and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_VALUE_TOKENS = 8
"""Longer labelled values are kept for training but not listed (they are descriptions, not
names, and matching them costs more than they bring)."""


@dataclass
class Gazetteer:
    """Counts of (value tokens, attribute), with per-fold counts to leave a fold out."""

    counts: dict[tuple[str, ...], Counter[str]] = field(default_factory=dict)
    fold_counts: list[dict[tuple[str, ...], Counter[str]]] = field(default_factory=list)
    longest: int = 0
    _starts: dict[str, tuple[int, ...]] | None = field(default=None, repr=False, compare=False)
    _starts_size: int = field(default=-1, repr=False, compare=False)

    @classmethod
    def build(
        cls, entries: Iterable[tuple[int, str, tuple[str, ...]]], *, folds: int = 0
    ) -> Gazetteer:
        """From (fold, attribute, value words) triples; `folds` > 0 keeps per-fold counts."""
        gazetteer = cls(fold_counts=[{} for _ in range(folds)])
        for fold, attribute, key in entries:
            if not key or len(key) > MAX_VALUE_TOKENS or not any(w.isalnum() for w in key):
                continue
            gazetteer.counts.setdefault(key, Counter())[attribute] += 1
            if folds:
                gazetteer.fold_counts[fold].setdefault(key, Counter())[attribute] += 1
            gazetteer.longest = max(gazetteer.longest, len(key))
        return gazetteer

    def known(self, attribute: str, value_words: tuple[str, ...]) -> int:
        """How many training records had this value for this attribute."""
        hit = self.counts.get(value_words)
        return hit[attribute] if hit else 0

    def tags(self, lowered: Sequence[str], *, leave_out: int | None = None) -> list[list[str]]:
        """Per token, the matches covering it: `Brand:B` (a known Brand starts here),
        `Brand:I` (inside one). `leave_out` ignores that fold's own values."""
        out: list[list[str]] = [[] for _ in lowered]
        if not self.counts:
            return out
        excluded = self.fold_counts[leave_out] if leave_out is not None else None
        n = len(lowered)
        counts = self.counts
        starts = self._first_words()
        for i in [i for i, word in enumerate(lowered) if word in starts]:
            for length in starts[lowered[i]]:
                if length > n - i or length > self.longest:
                    continue
                key = tuple(lowered[i : i + length])
                hit = counts.get(key)
                if hit is None:
                    continue
                gone = excluded.get(key) if excluded is not None else None
                for attribute, count in hit.items():
                    if gone is not None and count - gone.get(attribute, 0) <= 0:
                        continue
                    out[i].append(f"{attribute}:B")
                    for j in range(i + 1, i + length):
                        out[j].append(f"{attribute}:I")
        return out

    def _first_words(self) -> dict[str, tuple[int, ...]]:
        """Words a listed value starts with, and the lengths (in words) of the values that
        start with each, longest first: every other position and length is skipped at once
        (the same matches, in the same order, as trying every length down from `longest`)."""
        if self._starts is None or self._starts_size != len(self.counts):
            lengths: dict[str, set[int]] = {}
            for key in self.counts:
                lengths.setdefault(key[0], set()).add(len(key))
            self._starts = {w: tuple(sorted(ls, reverse=True)) for w, ls in lengths.items()}
            self._starts_size = len(self.counts)
        return self._starts

    def to_json(self) -> list[list[object]]:
        """Sorted `[words, {attribute: count}]` pairs (fold counts are training-only)."""
        return [[list(k), dict(sorted(v.items()))] for k, v in sorted(self.counts.items())]

    @classmethod
    def from_json(cls, data: list[list[Any]]) -> Gazetteer:
        counts: dict[tuple[str, ...], Counter[str]] = {tuple(k): Counter(v) for k, v in data}
        return cls(counts=counts, longest=max((len(k) for k in counts), default=0))
