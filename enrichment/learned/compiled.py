"""Prediction's features as rows of the tagger's weight matrix instead of strings.

`TokenFeatures.sequence` builds ~30 strings per token for CRFsuite; at prediction only their
row in the weight matrix matters, and most of them are unknown to the model. Here each token
gets a fixed number of slots (one per feature `sequence` would build, in the same order), the
ids are looked up once per distinct token text (or word pair, or group and text) and held,
and the slots are filled with numpy, a few hundred records at a time. A slot with no feature
holds the model's zero row and is left out: each token's known slots, in order, are one row
of a sparse tokens × features matrix of ones.

Its product with the weights adds each row's entries in order to a zero start (CSR's row
loop), which is what summing the slots in `sequence`'s order adds (adding the zero row changes
nothing), and what CRFsuite's feature list adds, so the emissions — and every label, marginal
and confidence read from them — are bit for bit those of the strings.
`tests/enrichment/test_learned_decoding.py` checks that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat

import numpy as np
from scipy import sparse

from enrichment.learned.features import text_features
from enrichment.learned.tokens import TokenColumns

_CACHE_LIMIT = 200_000
_PART_RECORDS = 256
"""Records compiled at a time (their slot arrays a few MB, in cache); the parts' rows are
joined into one matrix."""
OWN_SLOTS = 9
"""`w`, `sh`, `p2`, `p3`, `s2`, `s3`, `len`, and `shl` and `num` when they apply."""


@dataclass
class CompiledBatch:
    """Feature rows of a batch of records, records one after another: per token, the ids of
    its features that the model knows, in slot order (the rows of a sparse tokens × features
    matrix of ones; slots holding the zero row are left out, as adding zeros changes no sum)."""

    indptr: np.ndarray
    """Token i's ids are `indices[indptr[i]:indptr[i + 1]]`."""
    indices: np.ndarray
    bounds: np.ndarray
    """Record k's tokens are rows `bounds[k]:bounds[k + 1]`."""
    features: int
    """Columns of the matrix: the model's features and its zero row."""

    def emissions(self, rows: Sequence[int], state: np.ndarray) -> np.ndarray:
        """The tokens of the records in `rows`, one after another, × labels: each token's
        feature rows summed in slot order (CSR's row product adds a row's entries in
        order, each times 1.0, to a zero start: the very sums of the slots).

        Only these tokens' matrix is built: a slice when the records' tokens are one run (as
        `LearnedExtractor.predict` orders them), its ones a fraction of the batch's."""
        chosen = np.asarray(rows, dtype=np.intp)
        starts = self.bounds[chosen]
        lengths = self.bounds[chosen + 1] - starts
        if not len(starts) or not lengths.sum():
            return np.zeros((0, state.shape[1]))
        if np.array_equal(starts[1:], (starts + lengths)[:-1]):  # one run of tokens: a slice
            first, stop = int(starts[0]), int(starts[-1] + lengths[-1])
            indptr = self.indptr[first : stop + 1] - self.indptr[first]
            indices = self.indices[self.indptr[first] : self.indptr[stop]]
        else:
            tokens = token_ranges(starts, lengths)
            widths = self.indptr[tokens + 1] - self.indptr[tokens]
            indptr = np.zeros(len(tokens) + 1, dtype=np.int64)
            np.cumsum(widths, out=indptr[1:])
            indices = self.indices[token_ranges(self.indptr[tokens], widths)]
        matrix = sparse.csr_matrix(
            (np.ones(len(indices)), indices, indptr),
            shape=(len(indptr) - 1, self.features),
            copy=False,
        )
        return np.asarray(matrix @ state)


def token_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])` in a few calls."""
    ends = np.cumsum(lengths)
    out = np.arange(int(ends[-1]), dtype=np.intp)
    out += np.repeat(np.asarray(starts, dtype=np.intp) - (ends - lengths), lengths)
    return out


class CompiledFeatures:
    """Per-text feature ids of one tagger's features (`index`: feature string → row;
    `zero`: the row of zeros that unknown features weigh)."""

    def __init__(self, index: Mapping[str, int], zero: int) -> None:
        self._index = index
        self._zero = zero
        self._texts: dict[str, int] = {}
        self._lower: list[str] = []
        self._rows: list[tuple[int, ...]] = []
        """Per text: own slots (OWN_SLOTS), w-1, sh-1, w+1, sh+1, w-2, w+2."""
        self._table = np.zeros((OWN_SLOTS + 6, 0), dtype=np.int32)
        """`_rows` as an array, one row per slot (extended as texts are added)."""
        self._grouped: dict[str, np.ndarray] = {}
        """Group feature → per text row, the id of `c=…|w=…` (-1: not looked up yet)."""
        self._pairs: dict[int, int] = {}
        """Rows of two texts (first << 32 | second) → ids of `b-=a|b` << 32 | `b+=a|b`."""
        self._constants: dict[str, int] = {}
        self._match_rows: dict[str, dict[tuple[str, ...], int]] = {}
        """Group → a token's matches → its place in `_match_list` …"""
        self._match_list: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []
        """… which holds its `_match_row`."""
        self._match_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._words: tuple[frozenset[str], frozenset[str]] | None = None

    def _known_words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The words the model has a `c=…|w=` feature for, and the first words of the word
        pairs (`b-=a|b`, `b+=a|b`) it knows: a new group word or pair whose word is not
        among them has no feature, found without building its strings (most of them, as
        the tagger's L1 penalty keeps few). Supersets (a `|` in a group name or a word only
        adds entries), so no known feature is missed."""
        if self._words is None:
            grouped, paired = set(), set()
            for feature in self._index:
                if feature.startswith(("b-=", "b+=")):
                    paired.add(feature[3:].split("|", 1)[0])
                elif feature.startswith("c=") and "|w=" in feature:
                    grouped.add(feature.rsplit("|w=", 1)[1])
            self._words = frozenset(grouped), frozenset(paired)
        return self._words

    def _id(self, feature: str) -> int:
        return self._index.get(feature, self._zero)

    def _constant(self, feature: str) -> int:
        held = self._constants.get(feature)
        if held is None:
            held = self._constants[feature] = self._id(feature)
        return held

    def _text(self, text: str) -> int:
        """Row of `text` in the per-text tables, computed the way `sequence` does."""
        own, left, right, far = text_features(text)
        get, zero = self._index.get, self._zero
        ids = list(map(get, own, repeat(zero)))
        ids += [zero] * (OWN_SLOTS - len(ids))
        ids += map(get, (*left, *right, *far), repeat(zero))
        lower = text.casefold()
        self._lower.append(lower)
        self._rows.append(tuple(ids))
        row = self._texts[text] = len(self._rows) - 1
        return row

    def batch(
        self,
        records: Sequence[TokenColumns],
        groups: Sequence[str],
        known: Sequence[Mapping[int, Sequence[str]]],
    ) -> CompiledBatch:
        """The slots of every token of `records` (as `TokenFeatures.sequence` would build
        its strings for `tokens`, `group` and gazetteer matches `known`: per record, token
        position → its matches, for the tokens that have any, in increasing position, as
        `Gazetteer.matches` gives them)."""
        if len(self._texts) > _CACHE_LIMIT:
            self._texts.clear()
            self._lower.clear()
            self._rows.clear()
            self._grouped.clear()
            self._pairs.clear()
            self._match_rows.clear()
            self._match_list.clear()
            self._match_arrays = None
            self._table = self._table[:, :0]
        parts = [
            self._part(
                records[a : a + _PART_RECORDS],
                groups[a : a + _PART_RECORDS],
                known[a : a + _PART_RECORDS],
            )
            for a in range(0, max(len(records), 1), _PART_RECORDS)  # (no record: one part)
        ]
        if len(parts) == 1:
            indptr, indices, bounds = parts[0]
        else:
            nnz = np.cumsum([0] + [p[0][-1] for p in parts])
            tokens = np.cumsum([0] + [p[2][-1] for p in parts])
            indptr = np.concatenate(
                [np.zeros(1, dtype=np.int32)] + [p[0][1:] + nnz[k] for k, p in enumerate(parts)]
            ).astype(np.int32)
            indices = np.concatenate([p[1] for p in parts])
            bounds = np.concatenate(
                [np.zeros(1, dtype=np.intp)] + [p[2][1:] + tokens[k] for k, p in enumerate(parts)]
            )
        return CompiledBatch(indptr, indices, bounds, self._zero + 1)

    def _part(
        self,
        records: Sequence[TokenColumns],
        groups: Sequence[str],
        known: Sequence[Mapping[int, Sequence[str]]],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`batch` of a few hundred records (arrays small enough to stay in the caches): the
        CSR row pointers and column ids of its tokens, and its records' bounds."""
        texts_index = self._texts
        texts: list[str] = []
        glued_list: list[bool] = []
        run_fields: list[str] = []
        run_lengths: list[int] = []
        lengths_list: list[int] = []
        for columns in records:
            texts += columns.texts
            glued_list += columns.glued
            lengths_list.append(len(columns.texts))
            for field, count in columns.runs:
                run_fields.append(field)
                run_lengths.append(count)
        rows: list[int | None] = list(map(texts_index.get, texts))
        if None in rows:
            for j, text in enumerate(texts):
                if rows[j] is None:
                    held = texts_index.get(text)
                    rows[j] = self._text(text) if held is None else held
        n = len(rows)
        lengths = np.asarray(lengths_list, dtype=np.intp)
        bounds = np.zeros(len(records) + 1, dtype=np.intp)
        np.cumsum(lengths, out=bounds[1:])
        zero = self._zero
        fixed = 24
        if n == 0:
            return np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), bounds
        text_row = np.asarray(rows, dtype=np.intp)
        if self._table.shape[1] < len(self._rows):
            added = np.asarray(self._rows[self._table.shape[1] :], dtype=np.int32).T
            self._table = np.concatenate([self._table, added], axis=1)
        table = self._table[:, text_row]  # (OWN_SLOTS + 6) × n
        # Segments: one per (record, field), a run of tokens; neighbours count only within
        # a segment.
        field_names = list(dict.fromkeys(run_fields))
        field_index = {f: k for k, f in enumerate(field_names)}
        run_length = np.asarray(run_lengths, dtype=np.intp)
        run_start = np.zeros(len(run_lengths), dtype=np.intp)
        np.cumsum(run_length[:-1], out=run_start[1:])
        field_of = np.repeat(
            np.fromiter(map(field_index.__getitem__, run_fields), np.intp, len(run_fields)),
            run_length,
        )
        record_of = np.repeat(np.arange(len(records)), lengths)
        glued = np.asarray(glued_list, dtype=bool)
        same_left = np.ones(n, dtype=bool)
        same_left[run_start] = False
        same_right = np.zeros(n, dtype=bool)
        same_right[:-1] = same_left[1:]
        same_left2 = np.zeros(n, dtype=bool)
        same_left2[2:] = same_left[2:] & same_left[1:-1]
        same_right2 = np.zeros(n, dtype=bool)
        same_right2[:-2] = same_left2[2:]
        index = np.minimum(np.arange(n) - np.repeat(run_start, run_length), 6)

        extra_at, extra_level, extra_id = self._gazetteer(groups, known, bounds)
        levels = int(extra_level.max(initial=-1)) + 1
        # Slot-major (one contiguous row per slot), read token by token at the end.
        slots = np.full((fixed + levels, n), zero, dtype=np.int32)
        slots[fixed + extra_level, extra_at] = extra_id
        group_words, pair_words = self._known_words()
        group_names = list(dict.fromkeys(groups))
        group_of_record = np.asarray([group_names.index(g) for g in groups], dtype=np.intp)
        group_of = group_of_record[record_of]
        field_list = list(field_names)
        slots[1] = np.asarray([self._constant("f=" + f) for f in field_list])[field_of]
        slots[2] = np.asarray([self._constant(f"i={k}") for k in range(7)])[index]
        for g, group in enumerate(group_names):
            mine = group_of == g if len(group_names) > 1 else slice(None)
            c = "c=" + group
            slots[0, mine] = self._constant(c)
            slots[3, mine] = np.asarray([self._constant(f"{c}|i={min(k, 4)}") for k in range(7)])[
                index[mine]
            ]
            grouped = self._grouped.get(c)
            if grouped is None or len(grouped) < len(self._rows):
                size = max(len(self._rows), 2 * len(grouped) if grouped is not None else 0)
                grown = np.full(size, -1, dtype=np.int64)
                if grouped is not None:
                    grown[: len(grouped)] = grouped
                grouped = self._grouped[c] = grown
            mine_rows = text_row[mine]
            found = grouped[mine_rows]
            if (found < 0).any():
                for r in np.unique(mine_rows[found < 0]).tolist():
                    word = self._lower[r]
                    grouped[r] = self._id(f"{c}|w={word}") if word in group_words else zero
                found = grouped[mine_rows]
            slots[13, mine] = found
        slots[4 : 4 + OWN_SLOTS] = table[:OWN_SLOTS]
        slots[14, glued] = self._constant("gl")
        left = np.flatnonzero(same_left)
        slots[15, left] = table[OWN_SLOTS, left - 1]
        slots[16, left] = table[OWN_SLOTS + 1, left - 1]
        # Word pairs (token i, token i + 1): b- of i + 1, b+ of i; one lookup per pair.
        if left.size:
            pairs, lower = self._pairs, self._lower
            keys = ((text_row[left - 1].astype(np.int64) << 32) | text_row[left]).tolist()
            count = len(keys)
            both = np.fromiter(map(pairs.get, keys, repeat(-1)), dtype=np.int64, count=count)
            get, zero = self._index.get, self._zero
            for j in np.flatnonzero(both < 0).tolist():
                key = keys[j]
                held = pairs.get(key)
                if held is None:
                    first = lower[key >> 32]
                    if first in pair_words or "|" in first:
                        body = first + "|" + lower[key & 0xFFFFFFFF]
                        held = (get("b-=" + body, zero) << 32) | get("b+=" + body, zero)
                    else:
                        held = (zero << 32) | zero
                    pairs[key] = held
                both[j] = held
            slots[17, left] = both >> 32
            slots[21, left - 1] = both & 0xFFFFFFFF
        far_left = np.flatnonzero(same_left2)
        slots[18, far_left] = table[OWN_SLOTS + 4, far_left - 2]
        slots[18, ~same_left] = self._constant("bof")
        right = np.flatnonzero(same_right)
        slots[19, right] = table[OWN_SLOTS + 2, right + 1]
        slots[20, right] = table[OWN_SLOTS + 3, right + 1]
        glued_right = right[glued[right + 1]]
        slots[22, glued_right] = self._constant("gr")
        far_right = np.flatnonzero(same_right2)
        slots[23, far_right] = table[OWN_SLOTS + 5, far_right + 2]
        slots[23, ~same_right] = self._constant("eof")
        # Token by token, each token's known slots in order.
        by_token = np.ascontiguousarray(slots.T)
        known_slot = by_token != zero
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.count_nonzero(known_slot, axis=1), out=indptr[1:])
        indices = np.compress(known_slot.ravel(), by_token.ravel())
        return indptr, indices, bounds

    def _match_row(
        self, c: str, matches: tuple[str, ...]
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """The ids of a token's matches as its own features (`g=`, then `c|g=`, per match),
        as its next token's (`g-1=`) and as its previous token's (`g+1=`)."""
        here: list[int] = []
        for match in matches:
            here += (self._id("g=" + match), self._id(f"{c}|g={match}"))
        return (
            tuple(here),
            tuple(self._id("g-1=" + x) for x in matches),
            tuple(self._id("g+1=" + x) for x in matches),
        )

    def _gazetteer(
        self,
        groups: Sequence[str],
        known: Sequence[Mapping[int, Sequence[str]]],
        bounds: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The gazetteer features (`g=`, `c|g=`, `g-1=`, `g+1=`) of the few tokens that have
        them, as slots after the fixed ones: token rows, slot numbers (0 = the first slot
        after the fixed ones) and feature rows."""
        # Every hit of the part at once: its record, its position there and its matches.
        hit_record: list[int] = []
        hit_position: list[int] = []
        hit_matches: list[Sequence[str]] = []
        for k, matches in enumerate(known):
            if matches:
                hit_record += repeat(k, len(matches))
                hit_position += matches.keys()
                hit_matches += matches.values()
        if not all(hit_matches):  # (a position with no match is no hit)
            kept = list(map(bool, hit_matches))
            hit_record = list(compress(hit_record, kept))
            hit_position = list(compress(hit_position, kept))
            hit_matches = list(compress(hit_matches, kept))
        empty = np.zeros(0, dtype=np.intp)
        if not hit_record:
            return empty, empty, empty
        keys = list(map(tuple, hit_matches))
        hit_groups = set(map(groups.__getitem__, set(hit_record)))
        hit_row: list[int | None]
        if len(hit_groups) == 1:
            (group,) = hit_groups
            held_rows = self._match_rows.setdefault(group, {})
            hit_row = list(map(held_rows.get, keys))
        else:
            hit_row = [
                self._match_rows.get(groups[k], {}).get(key)
                for k, key in zip(hit_record, keys, strict=True)
            ]
        if None in hit_row:
            for j, key in enumerate(keys):
                if hit_row[j] is None:
                    group = groups[hit_record[j]]
                    held_rows = self._match_rows.setdefault(group, {})
                    held = held_rows.get(key)
                    if held is None:
                        held = held_rows[key] = len(self._match_list)
                        self._match_list.append(self._match_row("c=" + group, key))
                    hit_row[j] = held
        record = np.asarray(hit_record, dtype=np.intp)
        at = bounds[record] + np.asarray(hit_position, dtype=np.intp)
        row = np.asarray(hit_row, dtype=np.intp)
        flat, start, length = self._match_table()
        # (A record's tokens are bounds[k]:bounds[k + 1].)
        has_next = at < bounds[record + 1] - 1
        has_previous = at > bounds[record]
        # Per token, its parts in order: its own matches (0), the previous token's as `g-1=`
        # (1), the next token's as `g+1=` (2); a token has each part at most once.
        token = np.concatenate([at, at[has_next] + 1, at[has_previous] - 1])
        part = np.repeat(np.arange(3, dtype=np.intp), [len(at), has_next.sum(), has_previous.sum()])
        source = np.concatenate([row, row[has_next], row[has_previous]])
        order = np.argsort(token * 3 + part, kind="stable")
        token, part, source = token[order], part[order], source[order]
        sizes = length[source, part]
        ids = flat[token_ranges(start[source, part], sizes)] if sizes.sum() else empty
        # Slot numbers: the rank of each id among its token's.
        new_token = np.ones(len(token), dtype=bool)
        new_token[1:] = token[1:] != token[:-1]
        ends = np.cumsum(sizes)
        token_start = (ends - sizes)[new_token]
        levels = np.arange(int(ends[-1]), dtype=np.intp) - np.repeat(
            np.repeat(token_start, np.diff(np.append(np.flatnonzero(new_token), len(token)))),
            sizes,
        )
        return np.repeat(token, sizes), levels, ids

    def _match_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`_match_list` as arrays: all ids one after another, and per row and part (own,
        `g-1=`, `g+1=`) where its ids start and how many there are."""
        if self._match_arrays is None or len(self._match_arrays[1]) < len(self._match_list):
            sizes = np.asarray(
                [[len(p) for p in parts] for parts in self._match_list], dtype=np.intp
            ).reshape(-1, 3)
            flat = np.fromiter(
                chain.from_iterable(chain.from_iterable(self._match_list)),
                dtype=np.intp,
                count=int(sizes.sum()),
            )
            starts = (np.cumsum(sizes.ravel()) - sizes.ravel()).reshape(-1, 3)
            self._match_arrays = (flat, starts, sizes)
        return self._match_arrays
