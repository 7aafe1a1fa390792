"""Product text as classifiers read it, and the TF-IDF features built from it.

A product is given as one string or as its text fields in order of importance, title first
(`("Cordless drill 18V", "Drills", "Compact drill driver with two batteries…")`). The title gets
word 1–2-grams and char_wb 2–5-grams (spelling variants, model codes, compounds); the other
fields together get word 1–2-grams. Keeping the title apart lets it weigh as much as a long
description instead of drowning in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from catalog.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from scipy.sparse import csr_matrix

    from catalog.schema import CatalogSchema

Text = str | Sequence[str]
"""One product: a string, or its text fields with the title first."""

_URL_NOISE = re.compile(r"https?://|www\.|[_/=?&.:#+-]+")


def record_texts(frame: pd.DataFrame, schema: CatalogSchema) -> list[Text]:
    """The text a classifier reads: the schema's text attributes as fields, in the schema's
    order (the first, usually the title, weighs as much as all the others)."""
    columns = [c for c in schema.text if c in frame.columns]
    if not columns:
        return [""] * len(frame)
    text = frame[columns].astype("object").where(frame[columns].notna(), "").astype(str)
    return list(text.itertuples(index=False, name=None))


def as_fields(text: Text | None) -> tuple[str, str]:
    """(title, the other fields joined), whitespace collapsed; None and blanks become ''."""
    if text is None:
        return "", ""
    if isinstance(text, str):
        return _clean(text), ""
    fields = [_clean(f) for f in text]
    return (fields[0] if fields else ""), " ".join(f for f in fields[1:] if f)


def join_text(text: Text | None) -> str:
    """All fields as one string, for matchers that do not tell fields apart."""
    title, rest = as_fields(text)
    return f"{title} {rest}".strip()


def _clean(value: object) -> str:
    """Collapse whitespace and split URL-ish punctuation (`Long_Sleeve-Tee.html`), so prefixes
    are spent on words and paths yield their words."""
    if value is None:
        return ""
    text = str(value)
    if "/" in text or "_" in text:
        text = _URL_NOISE.sub(" ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class FeatureParams:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    title_chars: int = 200
    field_chars: int = 1000
    """Characters of the other fields read: beyond that descriptions repeat themselves and
    only slow training down."""
    min_df: int = 2
    rest_weight: float = 1.4
    """Scale of the other-fields block against the title blocks (each block is unit length);
    with the SVM's C it sets how far the model leans on descriptions."""


class FieldFeatures:
    """Title word + title char + other-fields word TF-IDF blocks (sublinear tf), side by side."""

    def __init__(self, params: FeatureParams, n_texts: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from catalog.ngrams import WordwiseCharVectorizer

        # A term seen once cannot generalise, but tiny training sets need every term they have.
        min_df = params.min_df if n_texts >= 200 else 1
        self.params = params

        def words() -> Any:
            return TfidfVectorizer(
                ngram_range=params.word_ngrams, sublinear_tf=True, min_df=min_df, dtype=np.float32
            )

        self.title_words = words()
        self.title_chars = WordwiseCharVectorizer(
            ngram_range=params.char_ngrams,
            sublinear_tf=True,
            min_df=min_df,
            dtype=np.float32,
        )
        self.rest_words = words()

    @property
    def vectorizers(self) -> list[Any]:
        return [self.title_words, self.title_chars, self.rest_words]

    def fit_transform(self, texts: Sequence[Text]) -> csr_matrix:
        titles, rests = self._split(texts)
        try:
            blocks = [
                self.title_words.fit_transform(titles),
                self.title_chars.fit_transform(titles),
            ]
        except ValueError as exc:  # empty vocabulary
            raise InputError.single("texts", f"no usable words to learn from ({exc})") from None
        try:
            blocks.append(self.rest_words.fit_transform(rests))
        except ValueError:  # titles only: the block stays empty
            self.rest_words.set_params(min_df=1).fit(["__no_other_fields__"])
            blocks.append(self.rest_words.transform(rests))
        drop_stop_words(*self.vectorizers)
        return self._stack(blocks)

    def transform(self, texts: Sequence[Text]) -> csr_matrix:
        titles, rests = self._split(texts)
        fields = [titles, titles, rests]
        return self._stack([v.transform(f) for v, f in zip(self.vectorizers, fields, strict=True)])

    def _split(self, texts: Sequence[Text]) -> tuple[list[str], list[str]]:
        pairs = [as_fields(t) for t in texts]
        titles = [title[: self.params.title_chars] for title, _ in pairs]
        rests = [rest[: self.params.field_chars] for _, rest in pairs]
        return titles, rests

    def _stack(self, blocks: list[csr_matrix]) -> csr_matrix:
        return stack(blocks, weights=[1.0, 1.0, self.params.rest_weight])


def stack(blocks: list[csr_matrix], weights: Sequence[float]) -> csr_matrix:
    """Blocks side by side, each scaled by its weight."""
    from scipy.sparse import hstack

    scaled = [b * np.float32(w) for b, w in zip(blocks, weights, strict=True)]
    return hstack(scaled, format="csr", dtype=np.float32)


def drop_stop_words(*vectorizers: Any) -> None:
    """Drop what would make saved models differ byte for byte between runs: the set of pruned
    terms (a set pickles in hash order) and the memory address scikit-learn keeps to check its
    stop-word list. Neither is needed to predict."""
    for vectorizer in vectorizers:
        for attribute in ("stop_words_", "_stop_words_id"):
            if hasattr(vectorizer, attribute):
                delattr(vectorizer, attribute)
