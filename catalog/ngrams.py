"""Character n-grams within words (scikit-learn's ``char_wb``) counted a word at a time.

`TfidfVectorizer(analyzer="char_wb")` cuts every text into n-grams in Python, one string per
n-gram: ~90 per product title at 3–5 characters, nine million for 100k titles, each looked up
in a dict, and the vocabulary and index lists of a million titles held as Python objects
while it counts. But ``char_wb`` never crosses a space: a text's n-grams are its words'
n-grams, and a catalogue repeats its words. So each distinct word is cut once, and a text's
counts are its word counts times the words' n-gram counts (one sparse product).

The counts are scikit-learn's, entry for entry and in the same column order (the n-grams
sorted, ``max_df`` and ``max_features`` pruned as `CountVectorizer` prunes them), so
`TfidfTransformer` turns them into the very matrix `TfidfVectorizer` would have made
(`tests/catalog/test_ngrams.py` checks both against it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.utils.validation import check_is_fitted


def word_ngrams(word: str, low: int, high: int) -> list[str]:
    """`char_wb`'s n-grams of one word (lower-cased already): the word padded with a space
    each side, every n from `low` to `high`; a word shorter than n counts once, whole."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if size <= n:  # the padded word itself, once, and no longer n
            grams.append(padded[:n])
            break
        grams += [padded[i : i + n] for i in range(size - n + 1)]
    return grams


def char_wb_counts(
    texts: Sequence[str],
    ngram_range: tuple[int, int],
    *,
    min_df: float | int = 1,
    max_df: float | int = 1.0,
    max_features: int | None = None,
    vocabulary: Mapping[str, int] | None = None,
    dtype: type = np.float32,
) -> tuple[sparse.csr_matrix, list[str]]:
    """Counts of each text's ``char_wb`` n-grams, texts × n-grams (CSR of `dtype`), with the
    n-grams of its columns.

    Fitting (no `vocabulary`): the columns are every n-gram seen, sorted, then pruned by
    `min_df` and `max_df` (documents, or shares of them) and `max_features` (the most
    frequent), as `CountVectorizer.fit_transform` does, with its errors (`ValueError`: no
    n-gram at all, or none left). With a fitted `vocabulary` (n-gram → column, as a
    vectorizer's ``vocabulary_``), only its n-grams are counted, in its columns, as
    `CountVectorizer.transform` does; the n-grams returned are then empty."""
    low, high = ngram_range
    n_texts = len(texts)
    split = [text.lower().split() for text in texts]
    lengths = np.fromiter(map(len, split), dtype=np.int64, count=n_texts)
    tokens = [word for words in split for word in words]
    del split  # (a million titles' word lists: let them go before the next copy is made)
    word_of_token, unique_words = pd.factorize(pd.Series(tokens, dtype=object), sort=False)
    n_tokens = len(tokens)
    del tokens
    words: list[str] = unique_words.tolist()
    text_words = sparse.csr_matrix(
        (
            np.ones(n_tokens, dtype=dtype),
            word_of_token.astype(np.int64),
            np.concatenate([[0], np.cumsum(lengths)]),
        ),
        shape=(n_texts, len(words)),
    )
    grams_of_word = [word_ngrams(word, low, high) for word in words]
    all_grams = [gram for grams in grams_of_word for gram in grams]
    word_bounds = np.concatenate([[0], np.cumsum([len(g) for g in grams_of_word])]).astype(np.int64)
    if vocabulary is not None:
        columns = np.fromiter(
            (vocabulary.get(g, -1) for g in all_grams), dtype=np.int64, count=len(all_grams)
        )
        return _counts(text_words, word_bounds, columns, len(vocabulary), dtype), []
    # Columns first in order of first sight (a repeated word brings no new n-gram, so the
    # distinct words' n-grams in order are the corpus's in order), as CountVectorizer numbers
    # them before sorting: its rows keep that storage order, and so must these.
    codes, unique_grams = pd.factorize(pd.Series(all_grams, dtype=object), sort=False)
    seen: list[str] = unique_grams.tolist()
    if not seen:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    low_count = min_df if isinstance(min_df, Integral) else min_df * n_texts
    high_count = max_df if isinstance(max_df, Integral) else max_df * n_texts
    if high_count < low_count:
        raise ValueError("max_df corresponds to < documents than min_df")
    counts = _counts(text_words, word_bounds, codes.astype(np.int64), len(seen), dtype)
    return _fitted(counts, seen, low=low_count, high=high_count, max_features=max_features)


def _counts(
    text_words: sparse.csr_matrix,
    word_bounds: np.ndarray,
    columns: np.ndarray,
    width: int,
    dtype: type,
) -> sparse.csr_matrix:
    """Texts × n-grams: the texts' word counts times each word's n-gram counts (`columns`:
    per n-gram of every word in turn, its column, -1 for one not counted), with each row's
    columns in increasing order, as `CountVectorizer._count_vocab` leaves them."""
    kept = columns >= 0
    word_grams = sparse.csr_matrix(
        (np.ones(int(kept.sum()), dtype=dtype), columns[kept], _kept_bounds(word_bounds, kept)),
        shape=(text_words.shape[1], width),
    )
    # In the counts' own dtype, so the product is the result, not a copy made of it (a
    # million titles have ~90M n-gram entries); counts are small whole numbers, exact there.
    counts = sparse.csr_matrix(text_words @ word_grams)
    counts.has_canonical_format = False  # a product's rows come out in no particular order
    counts.sum_duplicates()
    return counts


def _fitted(
    counts: sparse.csr_matrix,
    seen: list[str],
    *,
    low: float,
    high: float,
    max_features: int | None,
) -> tuple[sparse.csr_matrix, list[str]]:
    """`CountVectorizer.fit_transform`'s steps after counting, on columns numbered by first
    sight: with `max_features`, sort the columns by n-gram and then prune; without, prune and
    then sort. Sorting renumbers the columns but leaves each row's entries where they are."""
    order = sorted(range(len(seen)), key=seen.__getitem__)
    if max_features is not None:
        counts = _renumbered(counts, order)
        names = [seen[i] for i in order]
        counts, kept = _pruned(counts, low=low, high=high, max_features=max_features)
        return counts, names if kept is None else [names[i] for i in kept]
    counts, kept = _pruned(counts, low=low, high=high, max_features=None)
    if kept is not None:
        seen = [seen[i] for i in kept]
        order = sorted(range(len(seen)), key=seen.__getitem__)
    return _renumbered(counts, order), [seen[i] for i in order]


def _renumbered(counts: sparse.csr_matrix, order: list[int]) -> sparse.csr_matrix:
    """Column `order[k]` becomes column k (`CountVectorizer._sort_features`)."""
    new_index = np.empty(len(order), dtype=counts.indices.dtype)
    new_index[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=new_index.dtype)
    counts.indices = new_index.take(counts.indices, mode="clip")
    counts.has_sorted_indices = False
    return counts


def _kept_bounds(bounds: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Row bounds after dropping the entries not `kept` (CSR's indptr of the kept ones)."""
    before = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
    return before[bounds]


def _pruned(
    counts: sparse.csr_matrix, *, low: float, high: float, max_features: int | None
) -> tuple[sparse.csr_matrix, np.ndarray | None]:
    """`CountVectorizer._limit_features`: n-grams in fewer documents than `low` or more than
    `high` go, then all but the `max_features` most frequent (ties broken as its sort breaks
    them). Returns the matrix and the columns kept (None: all of them)."""
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    mask = (document_frequency <= high) & (document_frequency >= low)
    if max_features is not None and mask.sum() > max_features:
        totals = np.asarray(counts.sum(axis=0)).ravel()
        chosen = (-totals[mask]).argsort()[:max_features]
        limited = np.zeros(len(mask), dtype=bool)
        limited[np.where(mask)[0][chosen]] = True
        mask = limited
    if mask.all():
        return counts, None
    kept = np.where(mask)[0]
    if not len(kept):
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return sparse.csr_matrix(counts[:, kept]), kept


class WordwiseCharVectorizer(TfidfVectorizer):
    """`TfidfVectorizer(analyzer="char_wb")` whose counting goes a distinct word at a time
    (`char_wb_counts`): the same matrix, vocabulary and errors, at about a quarter of the CPU
    on product titles. It pickles and predicts like the vectorizer it stands for."""

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 1),
        min_df: float | int = 1,
        max_df: float | int = 1.0,
        max_features: int | None = None,
        norm: str | None = "l2",
        use_idf: bool = True,
        smooth_idf: bool = True,
        sublinear_tf: bool = False,
        dtype: type = np.float64,
    ) -> None:
        super().__init__(
            analyzer="char_wb",
            ngram_range=ngram_range,
            min_df=min_df,
            max_df=max_df,
            max_features=max_features,
            norm=norm,
            use_idf=use_idf,
            smooth_idf=smooth_idf,
            sublinear_tf=sublinear_tf,
            dtype=dtype,
        )

    def fit(self, raw_documents: Iterable[str], y: object = None) -> WordwiseCharVectorizer:
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[str], y: object = None) -> sparse.csr_matrix:
        counts, names = char_wb_counts(
            _texts(raw_documents),
            self.ngram_range,
            min_df=self.min_df,
            max_df=self.max_df,
            max_features=self.max_features,
            dtype=self.dtype,
        )
        self.vocabulary_ = {name: index for index, name in enumerate(names)}
        self.fixed_vocabulary_ = False
        self._tfidf = TfidfTransformer(
            norm=self.norm,
            use_idf=self.use_idf,
            smooth_idf=self.smooth_idf,
            sublinear_tf=self.sublinear_tf,
        )
        self._tfidf.fit(counts)
        return self._tfidf.transform(counts, copy=False)

    def transform(self, raw_documents: Iterable[str]) -> sparse.csr_matrix:
        check_is_fitted(self, "vocabulary_", msg="The TF-IDF vectorizer is not fitted")
        counts, _ = char_wb_counts(
            _texts(raw_documents), self.ngram_range, vocabulary=self.vocabulary_, dtype=self.dtype
        )
        return self._tfidf.transform(counts, copy=False)


def _texts(raw_documents: Iterable[str]) -> list[str]:
    if isinstance(raw_documents, str):
        raise ValueError("Iterable over raw text documents expected, string object received.")
    return list(raw_documents)
