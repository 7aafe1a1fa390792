"""Semantic zero-shot in the default install: a static embedding model, numpy only.

The model (`taxonomy/static_model/`, built by `scripts/build_static_model.py`) is a
model2vec-style distillation of all-MiniLM-L6-v2: one vector per word piece. A text is
tokenised by MiniLM's own tokenizer (`tokenizers`, no torch) and scored against each leaf
category in two ways that are added up:

* the cosine between the mean of its pieces' vectors and the category's vector (what the text
  is about overall);
* a soft maximum over its pieces of each piece's cosine with the category (log-sum-exp with
  sharpness `beta`): the one word that names the kind of thing. A title like "Miami Hurricanes
  Long Sleeve T-Shirt" is mostly team name, so its mean drifts toward sports; its best piece,
  "shirt", does not. On MWPD2020 the soft maximum took level-1 accuracy from 0.38 to 0.50.

Both are sparse-times-dense products over a batch, so scoring runs at well over 5,000 records
per CPU-second. Confidence is a capped index, as for every zero-shot matcher: without labels
nothing can be calibrated, so it never reaches the auto-apply threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from catalog.errors import InputError
from taxonomy.describe import node_documents
from taxonomy.lexical import LEXICAL_MAX_CONFIDENCE
from taxonomy.model import Taxonomy
from taxonomy.prediction import BATCH_SIZE, Candidates, Prediction, params_json, top_k_lists
from taxonomy.text import Text, as_fields

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

MODEL_DIR = Path(__file__).resolve().parent / "static_model"
ZERO_SHOT_MAX_CONFIDENCE = LEXICAL_MAX_CONFIDENCE
"""0.85: zero-shot confidences stay below the default auto-apply threshold (0.9)."""


class StaticEncoder:
    """The packaged static model: MiniLM's tokenizer and one float vector per word piece."""

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        files = [folder / name for name in ("tokenizer.json", "model.safetensors", "config.json")]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise InputError.single(
                str(folder),
                f"static embedding model incomplete (missing {', '.join(missing)}); rebuild it "
                "with scripts/build_static_model.py",
            )
        self.tokenizer = Tokenizer.from_file(str(files[0]))
        vectors = load_file(str(files[1]))["embeddings"].astype(np.float32)
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.unit = vectors / np.maximum(norms, 1e-9)
        self.importance = (norms[:, 0] / max(float(norms.max()), 1e-9)).astype(np.float32)
        """Each piece's vector norm relative to the largest: the distillation's frequency
        weighting (rare, specific pieces long; "the", "-", "products" short)."""
        config = json.loads(files[2].read_text(encoding="utf-8"))
        self.digest = str(config.get("skuflow", {}).get("vectors_sha256", "unknown"))

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def pieces(self, texts: Sequence[str]) -> csr_matrix:
        """Texts × word pieces, 1 where the piece occurs (the counts do not matter here)."""
        from scipy.sparse import csr_matrix

        encoded = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(encoded))
        ids = np.fromiter((i for e in encoded for i in e.ids), dtype=np.int64)
        indptr = np.r_[0, np.cumsum(lengths)]
        matrix = csr_matrix(
            (np.ones(ids.size, dtype=np.float32), ids, indptr),
            shape=(len(texts), self.vectors.shape[0]),
        )
        matrix.sum_duplicates()
        return matrix

    def mean(self, pieces: csr_matrix) -> np.ndarray:
        """Unit-length mean piece vector per text (zeros for a text without pieces)."""
        summed = np.asarray(pieces @ self.vectors, dtype=np.float32)
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        return summed / np.maximum(norms, 1e-9)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.mean(self.pieces(texts))

    def soft_max_cosine(
        self, pieces: csr_matrix, targets: np.ndarray, beta: float, importance: float = 0.0
    ) -> np.ndarray:
        """Per text and target, log-sum-exp over the text's pieces of their cosine with the
        target, sharpness `beta` (large → the single best piece), each piece's term weighted
        by its importance (vector norm relative to the largest) to the power `importance`."""
        columns = np.unique(pieces.indices)
        present = pieces[:, columns]
        present.data[:] = 1.0
        # Shifted by the maximum possible cosine (1) so exp never overflows.
        weights = np.exp(beta * (self.unit[columns] @ targets.T - 1.0))
        if importance:
            weights *= (self.importance[columns] ** importance)[:, None]
        pooled = np.asarray(present @ weights)
        return np.log(np.maximum(pooled, 1e-30)) / beta + 1.0


@lru_cache(maxsize=1)
def static_encoder() -> StaticEncoder:
    """The packaged model, loaded once per process."""
    return StaticEncoder()


@dataclass(frozen=True)
class StaticParams:
    """Settings of the static-embedding matcher; part of its version hash."""

    text_chars: int = 200
    """Characters of an offer read: the title and the start of the rest carry the kind of
    thing; more dilutes the mean."""
    beta: float = 20.0
    """Sharpness of the soft maximum over pieces (chosen on MWPD2020 train + validation and
    the two ten-category sets, among 5, 10, 20 and 50; 20 and 50 were within 0.2 points)."""
    piece_weight: float = 1.0
    """Weight of the best-piece score against the mean's cosine (0.5, 1 and 2 tried)."""
    piece_importance: float = 2.0
    """Power of a piece's importance (its relative vector norm) weighting its term in the soft
    maximum, so a generic piece ("products" in "All Products") cannot win on its own the way
    a specific one ("shirt") does; the mean already weighs pieces by norm. 0 treats all pieces
    alike. On MWPD2020 (train split) 2 took level 1 from 0.480 to 0.490 (1: 0.486), the
    ten-category sets unchanged."""
    title_weight: float = 2.0
    """How many times the title's pieces count in the mean against the other fields' (as the
    supervised features keep the title apart): 0.480 → 0.496 with the importance above on
    MWPD2020's train split; the title-only sets are unaffected."""


class StaticEmbeddingClassifier:
    """Zero-shot over the leaves of a taxonomy with the packaged static embedding model.

    Each leaf is described by its path ("Segment > Family > Class") and whatever else the
    taxonomy knows about it (`taxonomy.describe.node_documents`: synonyms, the user's
    descriptions, Shopify attribute names and values). Only leaves compete, and a prediction is
    a leaf, so levels always agree.

    Confidence. Without labels there is nothing to calibrate against: it is an index (the best
    score scaled by its relative lead over the runner-up), capped at
    `ZERO_SHOT_MAX_CONFIDENCE` (0.85) so zero-shot answers never auto-apply.
    """

    name = "static-embedding"
    method = "static-embedding"

    def __init__(self, taxonomy: Taxonomy, *, params: StaticParams | None = None) -> None:
        self.taxonomy = taxonomy
        self.params = params or StaticParams()
        leaves = taxonomy.leaves()
        if not leaves:
            raise InputError.single(taxonomy.name, "taxonomy has no categories to match")
        self.node_ids = [n.id for n in leaves]
        encoder = static_encoder()
        documents = node_documents(taxonomy, self.node_ids)
        self._nodes = _document_vectors(encoder, documents)
        key = params_json(self.params, kind="static", model=encoder.digest)
        key += json.dumps(documents, sort_keys=True)
        self.version = "static-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        out: list[Prediction] = []
        for scores, empty in self._score_batches(texts):
            best, confidence = _confidence(scores)
            confidence[empty] = 0.0
            out.extend(
                Prediction(None if e else self.node_ids[b], float(c), self.method)
                for b, c, e in zip(best.tolist(), confidence.tolist(), empty.tolist(), strict=True)
            )
        return out

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        """Best `k` leaves per text with their scores (mean cosine + best-piece score)."""
        out: Candidates = []
        for scores, empty in self._score_batches(texts):
            out.extend(top_k_lists(scores, empty, k, self.node_ids))
        return out

    def scores(self, texts: Sequence[Text]) -> np.ndarray:
        """Texts × leaves scores (columns in `node_ids` order), for self-training."""
        blocks = [scores for scores, _ in self._score_batches(texts)]
        if not blocks:
            return np.zeros((0, len(self.node_ids)), dtype=np.float32)
        return np.vstack(blocks)

    def _score_batches(self, texts: Sequence[Text]) -> Any:
        texts = list(texts)
        encoder = static_encoder()
        chars = self.params.text_chars
        for start in range(0, len(texts), BATCH_SIZE):
            fields = [as_fields(t) for t in texts[start : start + BATCH_SIZE]]
            titles = [title[:chars] for title, _ in fields]
            # The rest fills what the title leaves of `text_chars`, as one joined string would.
            rests = [
                rest[: max(0, chars - len(title) - 1)]
                for title, (_, rest) in zip(titles, fields, strict=True)
            ]
            title_pieces = encoder.pieces(titles)
            pieces = title_pieces + encoder.pieces(rests)
            empty = np.diff(pieces.indptr) == 0
            weighted = pieces + (self.params.title_weight - 1.0) * title_pieces
            scores = encoder.mean(weighted) @ self._nodes.T
            if self.params.piece_weight:
                scores += self.params.piece_weight * encoder.soft_max_cosine(
                    pieces, self._nodes, self.params.beta, self.params.piece_importance
                )
            yield scores.astype(np.float32), empty


def _document_vectors(
    encoder: StaticEncoder, documents: list[list[tuple[str, float]]]
) -> np.ndarray:
    """One unit vector per node: the weighted mean of its documents' embeddings."""
    flat = [text for parts in documents for text, _ in parts]
    weights = np.array([w for parts in documents for _, w in parts], dtype=np.float32)
    owner = np.repeat(np.arange(len(documents)), [len(parts) for parts in documents])
    embedded = encoder.embed(flat) * weights[:, None]
    vectors = np.zeros((len(documents), encoder.dims), dtype=np.float32)
    np.add.at(vectors, owner, embedded)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)


def _confidence(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best column, capped confidence index): half the best score (it spans 0–2) times
    ½ + ½ × its relative lead over the runner-up."""
    best = scores.argmax(axis=1)
    rows = np.arange(scores.shape[0])
    s1 = scores[rows, best]
    if scores.shape[1] > 1:
        s2 = np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2]
    else:
        s2 = np.zeros_like(s1)
    lead = np.clip((s1 - s2) / np.maximum(s1, 1e-6), 0.0, 1.0)
    confidence = np.clip(s1 / 2.0, 0.0, 1.0) * (0.5 + 0.5 * lead)
    return best, np.clip(confidence, 0.0, ZERO_SHOT_MAX_CONFIDENCE).astype(np.float64)
