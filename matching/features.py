"""Pairwise features: how two records agree, as numbers a model (and a person) can read.

Every feature is computed for a whole array of pairs at once: records are turned into sparse
matrices once (TF-IDF of title words and characters, token, code and quantity indicators), and
a pair's similarity is the row-wise product of its two rows. A missing comparison (no price on
one side, no brand on either) is NaN, not 0: "unknown" is not "disagree", and the tree model
routes NaN on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from rapidfuzz.process import cpdist
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from catalog.ngrams import WordwiseCharVectorizer
from matching.records import RecordTable
from matching.text import code_key, number_runs, words

FEATURES: tuple[str, ...] = (
    "title_cosine_words",
    "title_cosine_chars",
    "title_jaccard",
    "title_unmatched_max",
    "title_unmatched_min",
    "title_token_set_ratio",
    "title_ratio",
    "title_length_ratio",
    "text_cosine",
    "description_cosine",
    "code_shared_weight",
    "code_both_present",
    "code_conflict",
    "code_best_similarity",
    "code_value_equal",
    "gtin_equal",
    "quantity_jaccard",
    "quantity_unit_conflict",
    "number_jaccard",
    "brand_equal",
    "brand_in_other_title",
    "category_cosine",
    "price_ratio",
    "title_unmatched_rarest",
    "title_shared_rarest",
    "title_unmatched_rarest_min",
    "digit_unmatched_rarest",
    "digit_jaccard",
    "digit_unmatched_min",
    "digit_unmatched_max",
    "code_in_other_text",
    "title_first_word_equal",
    "number_run_jaccard",
    "number_run_unmatched_max",
    "number_run_unmatched_min",
    "number_run_unmatched_rarest",
    "number_run_unmatched_rarest_min",
)
"""Feature names, in column order (kept in saved models, shown in explanations)."""

COMPACT_DESCRIPTION = 300
"""Characters of the description searched for the other side's codes (bounded work per pair)."""
CHUNK_PAIRS = 50_000
"""Pairs featurised per step: bounds the sparse intermediates' memory."""


@dataclass
class FeatureSpace:
    """The sparse views of one record table that pair features are read from.

    Built from the records being compared (a pair file's records, or the catalogue being
    deduplicated), so word weights reflect that corpus: a token on every listing of a shop
    ("free shipping") weighs little there, whatever the training shop said.
    """

    table: RecordTable
    title_words: sp.csr_matrix
    title_chars: sp.csr_matrix
    title_binary: sp.csr_matrix
    title_idf: np.ndarray
    text_words: sp.csr_matrix
    description_words: sp.csr_matrix
    codes: sp.csr_matrix
    quantities: sp.csr_matrix
    quantity_units: sp.csr_matrix
    numbers: sp.csr_matrix
    brand_tokens: sp.csr_matrix
    category_words: sp.csr_matrix
    title_rarity: np.ndarray
    """1/df of each title word (scale-free: 1 for a word only one record has)."""
    digit_tokens: sp.csr_matrix
    """Title tokens holding a digit (`2400g`, `1650`, `27.5`): the part of a name that says
    which model, size or generation it is."""
    digit_rarity: np.ndarray
    number_runs: sp.csr_matrix
    """Every number in the title, inside codes and next to units too (`text.number_runs`)."""
    number_run_rarity: np.ndarray
    first_words: list[str]
    compact_text: list[str]
    """Title and the start of the description, letters and digits only, to find a code one
    side states in the other's text however it is spaced."""

    @classmethod
    def build(cls, table: RecordTable) -> FeatureSpace:
        """Vectorise every record of `table` (one pass per view)."""
        n = len(table)
        titles = table.title
        word = TfidfVectorizer(
            token_pattern=r"(?u)\b\w[\w.]*\b", sublinear_tf=True, dtype=np.float32
        )
        title_words = _fit(word, titles, n)
        char = WordwiseCharVectorizer(
            ngram_range=(3, 5),
            sublinear_tf=True,
            dtype=np.float32,
            min_df=1,
            max_features=2_000_000,
        )
        title_chars = _fit(char, titles, n)
        binary = CountVectorizer(token_pattern=r"(?u)\b\w[\w.]*\b", binary=True, dtype=np.float32)
        title_binary = _fit(binary, titles, n)
        df = np.asarray((title_binary > 0).sum(axis=0)).ravel().astype(np.float64)
        title_idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        text_words = _fit(
            TfidfVectorizer(sublinear_tf=True, dtype=np.float32, max_features=500_000),
            table.fulltext,
            n,
        )
        description_words = _fit(
            TfidfVectorizer(sublinear_tf=True, dtype=np.float32, max_features=500_000),
            table.description,
            n,
        )
        codes = _sets(table.codes, n, idf=True)
        quantities = _sets(table.quantities, n, idf=False)
        units = _sets([{q.split("|", 1)[1] for q in qs} for qs in table.quantities], n, idf=False)
        numbers = _sets(
            [{w for w in words(t) if w[0].isdigit() and _is_number(w)} for t in titles],
            n,
            idf=False,
        )
        brand_tokens = _fit(
            CountVectorizer(
                token_pattern=r"(?u)\b\w[\w.]*\b",
                binary=True,
                dtype=np.float32,
                vocabulary=getattr(binary, "vocabulary_", None) or None,
            ),
            table.brand,
            n,
        )
        category_words = _fit(
            TfidfVectorizer(sublinear_tf=True, dtype=np.float32), table.category, n
        )
        rarity = (1.0 / np.maximum(df, 1.0)).astype(np.float32)
        digit_tokens = _sets(
            [{w for w in words(t) if any(c.isdigit() for c in w)} for t in titles], n, idf=False
        )
        runs = _sets([number_runs(t) for t in titles], n, idf=False)
        compact_text = [
            code_key(f"{t} {d[:COMPACT_DESCRIPTION]}")
            for t, d in zip(titles, table.description, strict=True)
        ]
        return cls(
            table=table,
            title_words=title_words,
            title_chars=title_chars,
            title_binary=title_binary,
            title_idf=title_idf,
            text_words=text_words,
            description_words=description_words,
            codes=codes,
            quantities=quantities,
            quantity_units=units,
            numbers=numbers,
            brand_tokens=brand_tokens,
            category_words=category_words,
            title_rarity=rarity,
            digit_tokens=digit_tokens,
            digit_rarity=(
                1.0 / np.maximum(np.asarray(digit_tokens.sum(axis=0)).ravel(), 1.0)
            ).astype(np.float32),
            number_runs=runs,
            number_run_rarity=_rarity(runs),
            first_words=[_first_word(t) for t in titles],
            compact_text=compact_text,
        )

    def features(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Feature matrix (pairs × `FEATURES`, float32) for pairs (left[i], right[i]).

        Symmetric in the two sides, so a pair scores the same whichever record comes first.
        """
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        if left.shape != right.shape:
            raise ValueError("left and right must have the same length")
        out = np.empty((left.size, len(FEATURES)), dtype=np.float32)
        for start, chunk in self.feature_chunks(left, right):
            out[start : start + chunk.shape[0]] = chunk
        return out

    def feature_chunks(
        self, left: np.ndarray, right: np.ndarray
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(first pair's position, its chunk's feature rows), `CHUNK_PAIRS` pairs at a time:
        for callers that keep less than the rows (a score, agreement levels), so memory
        follows the chunk, not the number of candidates."""
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        if left.shape != right.shape:
            raise ValueError("left and right must have the same length")
        for start in range(0, left.size, CHUNK_PAIRS):
            stop = min(start + CHUNK_PAIRS, left.size)
            yield start, self._chunk(left[start:stop], right[start:stop])

    def _chunk(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        t = self.table
        cols: dict[str, np.ndarray] = {}
        cols["title_cosine_words"] = _rowdot(self.title_words, a, b)
        cols["title_cosine_chars"] = _rowdot(self.title_chars, a, b)

        bin_a, bin_b = self.title_binary[a], self.title_binary[b]
        size_a = np.asarray(bin_a.sum(axis=1)).ravel()
        size_b = np.asarray(bin_b.sum(axis=1)).ravel()
        shared = bin_a.multiply(bin_b)
        inter = np.asarray(shared.sum(axis=1)).ravel()
        union = size_a + size_b - inter
        cols["title_jaccard"] = _div(inter, union)
        weight_a = bin_a @ self.title_idf
        weight_b = bin_b @ self.title_idf
        weight_shared = shared @ self.title_idf
        unmatched_a = _div(weight_a - weight_shared, weight_a)
        unmatched_b = _div(weight_b - weight_shared, weight_b)
        cols["title_unmatched_max"] = np.fmax(unmatched_a, unmatched_b)
        cols["title_unmatched_min"] = np.fmin(unmatched_a, unmatched_b)
        titles_a = [t.title[i] for i in a]
        titles_b = [t.title[i] for i in b]
        cols["title_token_set_ratio"] = _fuzzy(fuzz.token_set_ratio, titles_a, titles_b)
        cols["title_ratio"] = _fuzzy(fuzz.ratio, titles_a, titles_b)
        cols["title_length_ratio"] = _div(np.fmin(size_a, size_b), np.fmax(size_a, size_b))

        cols["text_cosine"] = _rowdot(self.text_words, a, b)
        cols["description_cosine"] = _rowdot_present(self.description_words, a, b)

        codes_a, codes_b = self.codes[a], self.codes[b]
        has_a = np.diff(codes_a.indptr) > 0
        has_b = np.diff(codes_b.indptr) > 0
        shared_codes = codes_a.multiply(codes_b)
        shared_weight = (
            np.asarray(shared_codes.max(axis=1).todense()).ravel()
            if shared_codes.shape[1]
            else np.zeros(a.size, dtype=np.float32)
        )
        both = has_a & has_b
        cols["code_shared_weight"] = shared_weight
        cols["code_both_present"] = both.astype(np.float32)
        cols["code_conflict"] = np.where(both, (shared_weight == 0).astype(np.float32), np.nan)
        cols["code_best_similarity"] = np.where(
            both,
            np.where(shared_weight > 0, 1.0, self._near_codes(a, b, both & (shared_weight == 0))),
            np.nan,
        )
        cols["code_value_equal"] = _equal(
            [t.code_value[i] for i in a], [t.code_value[i] for i in b]
        )
        cols["gtin_equal"] = _equal([t.gtin[i] or "" for i in a], [t.gtin[i] or "" for i in b])

        q_a, q_b = self.quantities[a], self.quantities[b]
        q_size_a = np.diff(q_a.indptr)
        q_size_b = np.diff(q_b.indptr)
        q_inter = np.asarray(q_a.multiply(q_b).sum(axis=1)).ravel()
        cols["quantity_jaccard"] = _div(q_inter, q_size_a + q_size_b - q_inter)
        units_both = np.asarray(
            self.quantity_units[a].multiply(self.quantity_units[b]).sum(axis=1)
        ).ravel()
        conflict = np.clip(units_both - q_inter, 0, None)
        cols["quantity_unit_conflict"] = np.where(units_both > 0, conflict, np.nan)

        n_a, n_b = self.numbers[a], self.numbers[b]
        n_inter = np.asarray(n_a.multiply(n_b).sum(axis=1)).ravel()
        cols["number_jaccard"] = _div(n_inter, np.diff(n_a.indptr) + np.diff(n_b.indptr) - n_inter)

        cols["brand_equal"] = _equal([t.brand[i] for i in a], [t.brand[i] for i in b])
        cols["brand_in_other_title"] = np.fmax(
            self._brand_in_title(a, b), self._brand_in_title(b, a)
        )
        cols["category_cosine"] = _rowdot_present(self.category_words, a, b)
        price_a, price_b = t.price[a], t.price[b]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.fmin(price_a, price_b) / np.fmax(price_a, price_b)
        cols["price_ratio"] = np.where(np.isfinite(ratio), ratio, np.nan)
        only_a = bin_a - shared
        only_b = bin_b - shared
        # nothing one-sided is rarity 0 ("no unmatched word"), not unknown; NaN: empty title
        rarest_a = np.where(size_a > 0, np.nan_to_num(_row_max(only_a, self.title_rarity)), np.nan)
        rarest_b = np.where(size_b > 0, np.nan_to_num(_row_max(only_b, self.title_rarity)), np.nan)
        cols["title_unmatched_rarest"] = np.fmax(rarest_a, rarest_b)
        cols["title_unmatched_rarest_min"] = np.fmin(rarest_a, rarest_b)
        cols["title_shared_rarest"] = _row_max(shared, self.title_rarity)
        d_a, d_b = self.digit_tokens[a], self.digit_tokens[b]
        d_size_a, d_size_b = np.diff(d_a.indptr), np.diff(d_b.indptr)
        d_inter = np.asarray(d_a.multiply(d_b).sum(axis=1)).ravel()
        cols["digit_jaccard"] = _div(d_inter, d_size_a + d_size_b - d_inter)
        present = (d_size_a > 0) | (d_size_b > 0)
        d_left, d_right = d_size_a - d_inter, d_size_b - d_inter
        cols["digit_unmatched_min"] = np.where(present, np.fmin(d_left, d_right), np.nan)
        cols["digit_unmatched_max"] = np.where(present, np.fmax(d_left, d_right), np.nan)
        d_shared = d_a.multiply(d_b)
        cols["digit_unmatched_rarest"] = np.where(
            present,
            np.fmax(
                np.nan_to_num(_row_max(d_a - d_shared, self.digit_rarity)),
                np.nan_to_num(_row_max(d_b - d_shared, self.digit_rarity)),
            ),
            np.nan,
        )
        cols["code_in_other_text"] = np.fmax(self._code_in_text(a, b), self._code_in_text(b, a))
        first = self.first_words
        cols["title_first_word_equal"] = _equal([first[i] for i in a], [first[i] for i in b])
        (
            cols["number_run_jaccard"],
            cols["number_run_unmatched_min"],
            cols["number_run_unmatched_max"],
            cols["number_run_unmatched_rarest"],
            cols["number_run_unmatched_rarest_min"],
        ) = _set_agreement(self.number_runs[a], self.number_runs[b], self.number_run_rarity)
        return np.column_stack([np.asarray(cols[name], dtype=np.float32) for name in FEATURES])

    def _code_in_text(self, code_side: np.ndarray, text_side: np.ndarray) -> np.ndarray:
        """Share of one record's title codes found, unspaced, in the other's title or
        description ("MHXPRO-2W" in a listing that spells it "mhxpro2w" or names it only in
        its description); NaN where the first has no code."""
        codes = self.table.codes
        text = self.compact_text
        out = np.full(code_side.size, np.nan, dtype=np.float32)
        for i, (x, y) in enumerate(zip(code_side.tolist(), text_side.tolist(), strict=True)):
            mine = codes[x]
            if mine:
                other = text[y]
                out[i] = sum(1 for c in mine if c in other) / len(mine)
        return out

    def _near_codes(self, a: np.ndarray, b: np.ndarray, which: np.ndarray) -> np.ndarray:
        """Best normalised edit similarity between the two records' codes, where they share
        none: 0.9 for "st4000ne001" / "st6000ne001" says *a sibling model*, a strong no."""
        out = np.zeros(a.size, dtype=np.float32)
        codes = self.table.codes
        for i in np.flatnonzero(which):
            best = 0.0
            for x in codes[a[i]]:
                for y in codes[b[i]]:
                    best = max(best, Indel.normalized_similarity(x, y))
            out[i] = best
        return out

    def _brand_in_title(self, brand_side: np.ndarray, title_side: np.ndarray) -> np.ndarray:
        """Share of one record's brand tokens found in the other's title (NaN without brand)."""
        if self.brand_tokens.shape[1] != self.title_binary.shape[1]:
            return np.full(brand_side.size, np.nan)
        brands = self.brand_tokens[brand_side]
        size = np.asarray(brands.sum(axis=1)).ravel()
        found = np.asarray(brands.multiply(self.title_binary[title_side]).sum(axis=1)).ravel()
        return _div(found, size)


def _fit(vectorizer: CountVectorizer, texts: list[str], n: int) -> sp.csr_matrix:
    """Fit-transform, or an empty n×0 matrix when the texts hold no token at all."""
    if not any(texts):
        return sp.csr_matrix((n, 0), dtype=np.float32)
    try:
        return sp.csr_matrix(vectorizer.fit_transform(texts), dtype=np.float32)
    except ValueError:  # "empty vocabulary": only stop-words or punctuation
        return sp.csr_matrix((n, 0), dtype=np.float32)


def _sets(values: Sequence[Collection[str]], n: int, *, idf: bool) -> sp.csr_matrix:
    """Indicator matrix of string sets; with `idf`, each entry weighs 1/sqrt(df), so the product
    of two rows' entries for a shared code is 1/df: 0.5 for a code only those two records have,
    0.01 for one on a hundred. Scale-free, unlike log(n/df), so a model trained on a file of
    2,000 records reads a catalogue of a million the same way."""
    vocabulary: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    for items in values:
        for item in sorted(items):
            indices.append(vocabulary.setdefault(item, len(vocabulary)))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    matrix = sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(n, len(vocabulary)),
    )
    if idf and matrix.shape[1]:
        df = np.asarray(matrix.sum(axis=0)).ravel()
        weights = np.sqrt(1.0 / df).astype(np.float32)
        matrix = sp.csr_matrix(matrix @ sp.diags(weights))
    return matrix


def _rarity(matrix: sp.csr_matrix) -> np.ndarray:
    """1/df of each column of an indicator matrix (1 for a value only one record has)."""
    return (1.0 / np.maximum(np.asarray(matrix.sum(axis=0)).ravel(), 1.0)).astype(np.float32)


def _set_agreement(
    rows_a: sp.csr_matrix, rows_b: sp.csr_matrix, rarity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """How two indicator rows agree, per pair: Jaccard, the fewer and the more values one side
    has alone, and the rarest one-sided value (1/df) of the side with the rarer one and of the
    other. All NaN where neither side has a value; a side with none has rarity 0."""
    size_a, size_b = np.diff(rows_a.indptr), np.diff(rows_b.indptr)
    shared = rows_a.multiply(rows_b)
    inter = np.asarray(shared.sum(axis=1)).ravel()
    present = (size_a > 0) | (size_b > 0)
    only_a, only_b = size_a - inter, size_b - inter
    rarest_a = np.nan_to_num(_row_max(rows_a - shared, rarity))
    rarest_b = np.nan_to_num(_row_max(rows_b - shared, rarity))
    return (
        _div(inter, size_a + size_b - inter),
        np.where(present, np.fmin(only_a, only_b), np.nan),
        np.where(present, np.fmax(only_a, only_b), np.nan),
        np.where(present, np.fmax(rarest_a, rarest_b), np.nan),
        np.where(present, np.fmin(rarest_a, rarest_b), np.nan),
    )


def _rowdot(matrix: sp.csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if matrix.shape[1] == 0:
        return np.zeros(a.size, dtype=np.float32)
    return np.asarray(matrix[a].multiply(matrix[b]).sum(axis=1)).ravel()


def _rowdot_present(matrix: sp.csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine where both rows have text, NaN where either is empty."""
    if matrix.shape[1] == 0:
        return np.full(a.size, np.nan, dtype=np.float32)
    rows_a, rows_b = matrix[a], matrix[b]
    present = (np.diff(rows_a.indptr) > 0) & (np.diff(rows_b.indptr) > 0)
    dot = np.asarray(rows_a.multiply(rows_b).sum(axis=1)).ravel()
    return np.where(present, dot, np.nan)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(den > 0, out, np.nan)


def _equal(left: list[str], right: list[str]) -> np.ndarray:
    """1 equal, 0 different, NaN where either side is empty."""
    l_arr = np.asarray(left, dtype=object)
    r_arr = np.asarray(right, dtype=object)
    present = (l_arr != "") & (r_arr != "")
    return np.where(present, (l_arr == r_arr).astype(np.float32), np.nan)


def _fuzzy(scorer: Callable[..., float], left: list[str], right: list[str]) -> np.ndarray:
    if not left:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(cpdist(left, right, scorer=scorer, workers=1), dtype=np.float32) / 100.0


def _row_max(rows: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """Per row, the largest weight among its non-zero columns (NaN for an empty row)."""
    weighted = sp.csr_matrix(rows.multiply(weights[np.newaxis, :]))
    weighted.eliminate_zeros()
    empty = np.diff(weighted.indptr) == 0
    if weighted.shape[1] == 0:
        return np.full(rows.shape[0], np.nan, dtype=np.float32)
    best = np.asarray(weighted.max(axis=1).todense()).ravel()
    return np.where(empty, np.nan, best)


def _first_word(title: str) -> str:
    found = words(title)
    return found[0] if found else ""


def _is_number(token: str) -> bool:
    return token.replace(".", "", 1).replace(",", "", 1).isdigit()
