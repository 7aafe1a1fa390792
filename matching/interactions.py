"""Which words matter when two listings agree or differ, learned from labelled pairs.

Similarity scores treat every word alike, but "upgrade" on one side only, or "2007" against
"2008", is what separates two software boxes; "free shipping" on one side means nothing. A
sparse logistic regression over two indicators per vocabulary word — *in both titles* and *in
exactly one* — learns those weights; its out-of-fold score is one more feature for the tree
model (stacking), so the tree decides how far to trust it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from matching.records import RecordTable

TOKEN_PATTERN = r"(?u)\b\w[\w.]*\b"


def _texts(table: RecordTable) -> list[str]:
    return [f"{t} {b}" for t, b in zip(table.title, table.brand, strict=True)]


@dataclass
class InteractionModel:
    """Vocabulary plus logistic weights over (shared word, one-sided word) indicators."""

    vocabulary: CountVectorizer | None
    regression: LogisticRegression | None
    constant: float
    """Score used when the training labels had one class only, or no word was seen twice."""

    def matrix(self, table: RecordTable, left: np.ndarray, right: np.ndarray) -> sp.csr_matrix:
        """The indicator matrix of pairs: [words in both | words in exactly one]."""
        assert self.vocabulary is not None
        words = self.vocabulary.transform(_texts(table)).astype(np.float32).tocsr()
        a, b = words[left], words[right]
        return sp.hstack([a.multiply(b), abs(a - b)]).tocsr()

    def score(self, table: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """P(match) from the words alone, for each pair."""
        if self.regression is None:
            return np.full(len(left), self.constant)
        return self.regression.predict_proba(self.matrix(table, left, right))[:, 1]

    def score_matrix(self, matrix: sp.csr_matrix) -> np.ndarray:
        if self.regression is None:
            return np.full(matrix.shape[0], self.constant)
        return self.regression.predict_proba(matrix)[:, 1]


def fit_vocabulary(table: RecordTable) -> CountVectorizer | None:
    """Words seen in at least two records of the training table (rarer ones cannot generalise)."""
    vectorizer = CountVectorizer(binary=True, token_pattern=TOKEN_PATTERN, min_df=2)
    try:
        vectorizer.fit(_texts(table))
    except ValueError:  # no word occurs twice
        return None
    return vectorizer


def fit_interactions(
    vocabulary: CountVectorizer | None, matrix: sp.csr_matrix | None, labels: np.ndarray
) -> InteractionModel:
    """Fit the logistic weights on labelled pairs' indicator matrix (liblinear: deterministic)."""
    base = float(np.mean(labels)) if labels.size else 0.0
    if vocabulary is None or matrix is None or len(np.unique(labels)) < 2:
        return InteractionModel(vocabulary=vocabulary, regression=None, constant=base)
    regression = LogisticRegression(C=1.0, solver="liblinear", max_iter=2000)
    regression.fit(matrix, labels)
    return InteractionModel(vocabulary=vocabulary, regression=regression, constant=base)
