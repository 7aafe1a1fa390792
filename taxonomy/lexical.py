"""Zero-shot classification: match product text against category names and paths, no labels.

Used when a catalogue has too few labelled records to train on. Nothing here loops over texts
in Python beyond light string cleanup; scores are sparse matrix products.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from catalog.errors import InputError
from taxonomy.model import Taxonomy
from taxonomy.prediction import Candidates, Prediction, params_json, top_k_lists
from taxonomy.text import Text, drop_stop_words, join_text, stack

LEXICAL_MAX_CONFIDENCE = 0.85
"""Zero-shot confidences stay below the default auto-apply threshold (0.9): without labels
nobody has measured how often they are right, so a person must look first."""

_LEXICAL_CELLS = 2**23
"""Texts × nodes similarities held at once."""

_TOKEN = re.compile(r"[^\W_]+")
_NAME_PARTS = re.compile(r"&|,|/|\band\b", re.IGNORECASE)
_HALF = float(np.sqrt(0.5))


@dataclass(frozen=True)
class LexicalParams:
    """Settings of the zero-shot matcher; part of its version hash."""

    text_chars: int = 200
    name_repeats: int = 2
    char_ngrams: tuple[int, int] = (3, 5)
    head_miss_factor: float = 0.4
    candidates: int = 20


class LexicalClassifier:
    """Zero-shot: match a text against every node's name and ancestors, no labels needed.

    A node's document is its own name (repeated, so it outweighs the ancestors) plus its
    ancestors' names; text and documents become word (lightly stemmed) and char_wb n-gram
    vectors and are compared by cosine. Category names in English put the kind of thing last
    ("Drill Bits" are bits, "Office Chair Accessories" are accessories), so a node whose head
    word is missing from the text is scored down by `head_miss_factor`; on hand-written
    products against Google's taxonomy that took the obvious category from under half to
    about three in four.

    Confidence. Without labels there is nothing to calibrate against, so the number cannot
    promise a hit rate. It is a conservative index instead: a best match with its head word
    present sits in the review band and rises with its lead over the best *unrelated* node
    (ancestors and descendants of the winner are not competitors), a match without its head
    word stays low, and nothing exceeds `LEXICAL_MAX_CONFIDENCE` (0.85), so zero-shot results
    never auto-apply at the default 0.9 threshold and a person reviews them.
    """

    name = "tfidf-lexical"
    method = "lexical"

    def __init__(self, taxonomy: Taxonomy, *, params: LexicalParams | None = None) -> None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        from catalog.ngrams import WordwiseCharVectorizer

        self.taxonomy = taxonomy
        self.params = params or LexicalParams()
        nodes = list(taxonomy.nodes.values())
        if not nodes:
            raise InputError.single(taxonomy.name, "taxonomy has no categories to match")
        self.node_ids = [n.id for n in nodes]
        docs = [" ".join([n.name] * self.params.name_repeats + list(n.path[:-1])) for n in nodes]
        self._words = TfidfVectorizer(
            analyzer=_stemmed_words, sublinear_tf=True, use_idf=False, dtype=np.float32
        ).fit(docs)
        self._chars = WordwiseCharVectorizer(
            ngram_range=self.params.char_ngrams,
            sublinear_tf=True,
            use_idf=False,
            dtype=np.float32,
        ).fit(docs)
        drop_stop_words(self._words, self._chars)
        self._nodes_t = stack(
            [self._words.transform(docs), self._chars.transform(docs)], [_HALF, _HALF]
        ).T.tocsr()
        heads = CountVectorizer(
            analyzer=_identity, binary=True, vocabulary=self._words.vocabulary_, dtype=np.float32
        )
        self._heads_t = heads.transform([_head_words(n.name) for n in nodes]).T.tocsr()
        self._ancestry = _ancestry_table(taxonomy, self.node_ids)
        self.version = (
            "lex-"
            + hashlib.sha256(
                (params_json(self.params, kind="lexical") + taxonomy.content_hash).encode()
            ).hexdigest()[:16]
        )

    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        texts = list(texts)
        out: list[Prediction] = []
        step = max(1, _LEXICAL_CELLS // len(self.node_ids))
        for start in range(0, len(texts), step):
            scores, hit, empty = self._scores(texts[start : start + step])
            best, confidence = self._confidence(scores, hit)
            confidence[empty] = 0.0
            out.extend(
                Prediction(None if e else self.node_ids[b], float(c), self.method)
                for b, c, e in zip(best.tolist(), confidence.tolist(), empty.tolist(), strict=True)
            )
        return out

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        """Best `k` nodes per text with their match scores (cosine, head-word adjusted)."""
        texts = list(texts)
        out: Candidates = []
        step = max(1, _LEXICAL_CELLS // len(self.node_ids))
        for start in range(0, len(texts), step):
            scores, _, empty = self._scores(texts[start : start + step])
            out.extend(top_k_lists(scores, empty, k, self.node_ids))
        return out

    @property
    def vectorizers(self) -> list[Any]:
        return [self._words, self._chars]

    def _scores(self, texts: Sequence[Text]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        clean = [join_text(t)[: self.params.text_chars] for t in texts]
        words = self._words.transform(clean)
        x = stack([words, self._chars.transform(clean)], [_HALF, _HALF])
        cosine = np.asarray((x @ self._nodes_t).todense())
        words.data[:] = 1.0
        hit = np.asarray((words @ self._heads_t).todense()) > 0
        scores = cosine * np.where(hit, 1.0, self.params.head_miss_factor)
        empty = (np.diff(x.indptr) == 0) | (scores.max(axis=1, initial=0.0) <= 0)
        return scores, hit, empty

    def _confidence(self, scores: np.ndarray, hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(scores.shape[0])
        best = scores.argmax(axis=1)
        s1 = scores[rows, best]
        k = min(self.params.candidates, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = scores[rows[:, None], top]
        related = _related(self._ancestry, best[:, None], top)
        # Best unrelated rival among the candidates; if every candidate is related, the
        # weakest candidate bounds the rival from above, which keeps the lead modest.
        rival = np.where(related, -np.inf, top_scores).max(axis=1)
        rival = np.where(np.isfinite(rival), rival, top_scores.min(axis=1) if k > 1 else 0.0)
        lead = np.clip((s1 - rival) / np.maximum(s1, 1e-12), 0.0, 1.0)
        cap = LEXICAL_MAX_CONFIDENCE
        confidence = np.where(
            hit[rows, best], 0.5 + (cap - 0.5) * lead, 0.5 * lead * np.minimum(s1, 1.0)
        )
        return best, np.clip(confidence, 0.0, cap)


def _ancestry_table(taxonomy: Taxonomy, node_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ancestor index at each depth, padded with -1; depth) for every node, so relatedness of
    many node pairs is one fancy-indexing step."""
    position = {node_id: i for i, node_id in enumerate(node_ids)}
    depth = np.array([taxonomy.nodes[n].level for n in node_ids], dtype=np.int64)
    table = np.full((len(node_ids), int(depth.max())), -1, dtype=np.int64)
    for i, node_id in enumerate(node_ids):
        chain = [a.id for a in taxonomy.ancestors(node_id)] + [node_id]
        table[i, : len(chain)] = [position[a] for a in chain]
    return table, depth


def _related(ancestry: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether node a is b, an ancestor of b, or a descendant of b (broadcasting)."""
    table, depth = ancestry
    a, b = np.broadcast_arrays(a, b)
    a_above_b = table[b, np.minimum(depth[a], depth[b]) - 1] == a
    b_above_a = table[a, np.minimum(depth[a], depth[b]) - 1] == b
    return a_above_b | b_above_a


def _stem(word: str) -> str:
    """Fold common English plurals so 'drill' meets 'Drills' and 'knife' meets 'Knives'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ves"):
        return word[:-3] + "f"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if len(word) > 3 and word.endswith("fe"):
        return word[:-1]
    return word


def _stemmed_words(text: str) -> list[str]:
    return [_stem(w) for w in _TOKEN.findall(text.lower())]


def _head_words(name: str) -> list[str]:
    """Last word of each '&'/','/'and' part: 'Shirts & Tops' → shirt, top."""
    heads = []
    for part in _NAME_PARTS.split(name):
        words = _stemmed_words(part)
        if words:
            heads.append(words[-1])
    return heads


def _identity(tokens: list[str]) -> list[str]:
    return tokens
