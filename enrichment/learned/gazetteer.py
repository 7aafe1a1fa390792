"""Known values: every labelled value, by attribute, as a token sequence.

The tagger reads "this span is a known Brand" as one feature among many, so it still finds a
brand it has never seen from the words around it. To learn that balance, the training
features of a record are computed with a gazetteer that does *not* hold that record's own
values (out-of-fold): otherwise every labelled span would be a known value in training, and the
tagger would learn to trust the list and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
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
    _words: Any = field(default=None, repr=False, compare=False)
    _starts: Any = field(default=None, repr=False, compare=False)
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
        if leave_out is None:
            for i, held in self.matches(lowered).items():
                out[i] = held
            return out
        n = len(lowered)
        starts, pairs, tagged, _ = self._lookup()
        excluded = self.fold_counts[leave_out]
        for i in list(compress(range(n), map(starts.__contains__, lowered))):
            word = lowered[i]
            single, longer = starts[word]
            # Lengths of the values starting with this word and the next, longest first,
            # then the one-word value: the other lengths have no value to find.
            if longer and i + 1 < n:
                for length in pairs.get((word, lowered[i + 1]), ()):
                    if length <= n - i:
                        self._tag(out, i, length, tuple(lowered[i : i + length]), excluded)
            if single is not None:
                self._tag(out, i, 1, single, excluded)
        return out

    def word_tags(
        self, lowered: Sequence[str], *, leave_out: int | None = None
    ) -> dict[int, Sequence[str]]:
        """Per token whose word (with a letter) is a word of some listed values, the tags
        `Flavor:W` of their attributes, in attribute order: a value never seen whole ("dark
        chocolate sea salt") is still made of words seen in values of its attribute.
        `leave_out` ignores that fold's own values (as `tags` does). Token position → tags,
        positions in increasing order."""
        words, fold_words, tagged = self._word_lookup()
        if leave_out is None:  # every value counts: the tags held per word
            return {i: tagged[w] for i, w in enumerate(lowered) if w in tagged}
        out: dict[int, Sequence[str]] = {}
        excluded = fold_words[leave_out]
        for i in list(compress(range(len(lowered)), map(words.__contains__, lowered))):
            word = lowered[i]
            gone = excluded.get(word)
            held = [
                f"{a}:W" for a, n in words[word].items() if gone is None or n - gone.get(a, 0) > 0
            ]
            if held:
                out[i] = held
        return out

    def _word_lookup(
        self,
    ) -> tuple[dict[str, Counter[str]], list[dict[str, Counter[str]]], dict[str, tuple[str, ...]]]:
        """Per word (with a letter) of the listed values, how many labelled values of each
        attribute hold it, in all and per fold (attributes sorted, so the tags' order is
        fixed), and its tags when no fold is left out; built once per gazetteer."""
        if self._words is None or self._words[3] != len(self.counts):
            words = _value_words(self.counts)
            self._words = (
                words,
                [_value_words(f) for f in self.fold_counts],
                {w: tuple(f"{a}:W" for a in c) for w, c in words.items()},
                len(self.counts),
            )
        return self._words[0], self._words[1], self._words[2]

    def matches(self, lowered: Sequence[str]) -> dict[int, list[str]]:
        """`tags` of every listed value (no fold left out) for the tokens that have any:
        token position → its tags, positions in increasing order (prediction reads only
        these, most tokens having none)."""
        out: dict[int, list[str]] = {}
        if not self.counts:
            return out
        n = len(lowered)
        starts, pairs, tagged, _ = self._lookup()
        # Every listed value counts: its tags are held, one extend per match.
        for i in list(compress(range(n), map(starts.__contains__, lowered))):
            word = lowered[i]
            single, longer = starts[word]
            if longer and i + 1 < n:
                for length in pairs.get((word, lowered[i + 1]), ()):
                    if length <= n - i:
                        held = tagged.get(tuple(lowered[i : i + length]))
                        if held is not None:
                            here = out.get(i)
                            if here is None:
                                here = out[i] = []
                            here += held[0]
                            for j in range(i + 1, i + length):
                                inside = out.get(j)
                                if inside is None:
                                    inside = out[j] = []
                                inside += held[1]
            if single is not None:
                here = out.get(i)
                if here is None:
                    out[i] = list(tagged[single][0])
                else:
                    here += tagged[single][0]
        return out

    def _tag(
        self,
        out: list[list[str]],
        i: int,
        length: int,
        key: tuple[str, ...],
        excluded: dict[tuple[str, ...], Counter[str]],
    ) -> None:
        """Tag tokens `i … i + length - 1` with every attribute `key` is a listed value of
        (that the left-out fold does not alone account for)."""
        hit = self.counts.get(key)
        if hit is None:
            return
        gone = excluded.get(key)
        for attribute, begin, inside in self._starts[3][key]:
            if gone is not None and hit[attribute] - gone.get(attribute, 0) <= 0:
                continue
            out[i].append(begin)
            for j in range(i + 1, i + length):
                out[j].append(inside)

    def _lookup(
        self,
    ) -> tuple[
        dict[str, tuple[tuple[str] | None, bool]],
        dict[tuple[str, str], tuple[int, ...]],
        dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]],
        dict[tuple[str, ...], tuple[tuple[str, str, str], ...]],
    ]:
        """What `tags` looks up, built once per gazetteer: per word that starts a listed
        value, the key of that one-word value (None if it is not one) and whether longer ones
        start with it; per first two
        words of the longer values, their lengths (in words), longest first; per value, the
        tags of all its attributes at its first word (`:B`) and at the others (`:I`), in
        attribute order, which is what tagging them one attribute at a time appends; and per
        value, its attributes with their `:B` and `:I` tags. Only lengths that some value has
        are tried, so the matches (and their order) are those of trying every length down
        from `longest`."""
        if self._starts is None or self._starts_size != len(self.counts):
            starts: dict[str, tuple[tuple[str] | None, bool]] = {}
            pairs: dict[tuple[str, str], set[int]] = {}
            for key in self.counts:
                single, longer = starts.get(key[0], (None, False))
                starts[key[0]] = (
                    (key[0],) if len(key) == 1 else single,
                    longer or len(key) > 1,
                )
                if len(key) > 1:
                    pairs.setdefault((key[0], key[1]), set()).add(len(key))
            self._starts = (
                starts,
                {k: tuple(sorted(ls, reverse=True)) for k, ls in pairs.items()},
                {
                    key: (tuple(f"{a}:B" for a in hit), tuple(f"{a}:I" for a in hit))
                    for key, hit in self.counts.items()
                },
                {
                    key: tuple((a, f"{a}:B", f"{a}:I") for a in hit)
                    for key, hit in self.counts.items()
                },
            )
            self._starts_size = len(self.counts)
        return self._starts

    def to_json(self) -> list[list[object]]:
        """Sorted `[words, {attribute: count}]` pairs (fold counts are training-only)."""
        return [[list(k), dict(sorted(v.items()))] for k, v in sorted(self.counts.items())]

    @classmethod
    def from_json(cls, data: list[list[Any]]) -> Gazetteer:
        counts: dict[tuple[str, ...], Counter[str]] = {tuple(k): Counter(v) for k, v in data}
        return cls(counts=counts, longest=max((len(k) for k in counts), default=0))


def _value_words(counts: dict[tuple[str, ...], Counter[str]]) -> dict[str, Counter[str]]:
    """Word → attribute → labelled values holding it (each value's word counted once)."""
    out: dict[str, Counter[str]] = {}
    for key, hit in counts.items():
        for word in set(key):
            if any(ch.isalpha() for ch in word):
                out.setdefault(word, Counter()).update(hit)
    return {w: Counter(dict(sorted(c.items()))) for w, c in out.items()}


def merged(
    matches: dict[int, list[str]], words: Mapping[int, Sequence[str]]
) -> dict[int, list[str]]:
    """`Gazetteer.matches` (its lists are the caller's: extended in place) with `word_tags`
    after each position's own, positions in increasing order (what prediction's compiled
    features read)."""
    if not words:
        return matches
    if not matches:
        return {i: list(t) for i, t in words.items()}
    for i, tags in words.items():
        here = matches.get(i)
        if here is None:
            matches[i] = list(tags)
        else:
            here += tags
    return dict(sorted(matches.items()))
