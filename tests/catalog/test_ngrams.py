"""`catalog.ngrams` counts `char_wb` n-grams a word at a time: its matrices must be
scikit-learn's own, stored the same way, for every setting the matcher and the classifier use."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from catalog.ngrams import WordwiseCharVectorizer, word_ngrams

EDGES = [
    "",
    "a",
    "ab",
    "   ",
    "aaaa aaaa AAAA",
    "  Ünïcode  Straße\tİstanbul\n x ",
    "x\xa0y ﬁne ½ ² ١٢٣",
    "KX-TG1032S 24\" 2400g 27.5",
]


def titles(n: int, seed: int) -> list[str]:
    """Product-like titles: a few hundred words, repeated as a catalogue repeats them."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzéü0123456789-."
    words = ["".join(rng.choices(letters, k=rng.randint(1, 9))) for _ in range(400)]
    words += ["Cable", "USB-C", "2m", "Black", "black", "Pack", "of", "10"]
    return [" ".join(rng.choices(words, k=rng.randint(0, 14))) for _ in range(n)] + EDGES


def identical(a: sparse.spmatrix, b: sparse.spmatrix) -> bool:
    """Same shape, same entries stored in the same order, same dtype: not only equal."""
    a, b = sparse.csr_matrix(a), sparse.csr_matrix(b)
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


SETTINGS = [
    {"ngram_range": (3, 5), "sublinear_tf": True, "dtype": np.float32, "max_features": 2_000_000},
    {"ngram_range": (3, 5), "sublinear_tf": True, "dtype": np.float32, "max_features": 700},
    {"ngram_range": (3, 3), "sublinear_tf": True, "dtype": np.float32, "max_df": 40},
    {"ngram_range": (2, 5), "sublinear_tf": True, "dtype": np.float32, "min_df": 2},
    {"ngram_range": (2, 4), "sublinear_tf": True, "use_idf": False, "dtype": np.float32},
    {"ngram_range": (3, 5), "sublinear_tf": True, "max_df": 0.05, "min_df": 0.001},
    {"ngram_range": (1, 1)},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: str(sorted(s.items())))
def test_the_matrix_vocabulary_and_idf_are_scikit_learns_stored_the_same_way(
    settings: dict,
) -> None:
    train, other = titles(3000, seed=1), titles(800, seed=2)
    reference = TfidfVectorizer(analyzer="char_wb", **settings)
    mine = WordwiseCharVectorizer(**settings)

    assert identical(mine.fit_transform(train), reference.fit_transform(train))
    assert mine.vocabulary_ == reference.vocabulary_
    if settings.get("use_idf", True):
        assert np.array_equal(mine.idf_, reference.idf_)
    # predicting: only the fitted n-grams, in their columns (texts with none are empty rows)
    assert identical(mine.transform(other), reference.transform(other))
    assert identical(pickle.loads(pickle.dumps(mine)).transform(other), mine.transform(other))


def test_fit_then_transform_is_fit_transform() -> None:
    """The same matrix; stored in another order, as scikit-learn's own two are (a fitted
    row keeps the order its n-grams were first seen in, a transformed one is sorted)."""
    texts = titles(500, seed=3)
    vectorizer = WordwiseCharVectorizer(ngram_range=(3, 5), sublinear_tf=True)
    fitted = vectorizer.fit_transform(texts)
    again = vectorizer.fit(texts).transform(texts)
    assert fitted.shape == again.shape
    assert np.allclose(fitted.toarray(), again.toarray(), rtol=0, atol=1e-12)
    assert (fitted != 0).toarray().tolist() == (again != 0).toarray().tolist()


def test_a_word_is_cut_as_char_wb_cuts_it() -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    for word in ["a", "ab", "abc", "abcd", "aaaa", "İx", "１２"]:
        assert word_ngrams(word.lower(), 2, 5) == analyzer(word)


@pytest.mark.parametrize(
    ("texts", "settings", "message"),
    [
        (["", "   "], {}, "empty vocabulary"),
        (["abc abc", "abc"], {"max_df": 1}, "no terms remain"),
        (["abc", "xyz", "klm"], {"min_df": 2}, "no terms remain"),
        (["abc", "abd"], {"min_df": 2, "max_df": 1}, "max_df corresponds to < documents"),
    ],
)
def test_what_scikit_learn_refuses_it_refuses_with_the_same_error(
    texts: list[str], settings: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), **settings).fit_transform(texts)
    with pytest.raises(ValueError, match=message):
        WordwiseCharVectorizer(ngram_range=(3, 3), **settings).fit_transform(texts)
    with pytest.raises(ValueError, match="string object received"):
        WordwiseCharVectorizer().fit_transform("one text, not a list")
