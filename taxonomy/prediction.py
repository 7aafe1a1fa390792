"""What every classifier returns, and the protocol they share.

A prediction is a taxonomy node id, so the predicted category implies all its ancestors and the
levels of one prediction never contradict each other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from taxonomy.text import Text

BATCH_SIZE = 4096
"""Texts scored per matrix product; bounds the dense texts × classes score block."""


@dataclass(frozen=True)
class Prediction:
    """A predicted node (None when the text gave nothing to go on), how sure, and by what."""

    node_id: str | None
    confidence: float
    method: str


Candidates = list[list[tuple[str, float]]]
"""Per text, (node id, ranking score) best first. Scores rank; only `predict` confidences are
probabilities."""


@runtime_checkable
class Classifier(Protocol):
    name: str
    version: str

    def predict(self, texts: Sequence[Text]) -> list[Prediction]: ...

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates: ...


def top_k_lists(scores: np.ndarray, empty: np.ndarray, k: int, ids: Sequence[str]) -> Candidates:
    """Best `k` columns per row (ties by position, as argmax breaks them), -inf left out."""
    if k < 1:
        raise ValueError("k must be at least 1")
    k = min(k, scores.shape[1])
    rows = np.arange(scores.shape[0])[:, None]
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    values = scores[rows, top]
    order = np.lexsort((top, -values), axis=1)
    top, values = top[rows, order], values[rows, order]
    return [
        []
        if is_empty
        else [(ids[i], float(v)) for i, v in zip(idx, val, strict=True) if math.isfinite(v)]
        for idx, val, is_empty in zip(top.tolist(), values.tolist(), empty.tolist(), strict=True)
    ]


def params_json(params: Any, **extra: Any) -> str:
    """Settings as canonical JSON, for version hashes."""
    return json.dumps({**asdict(params), **extra}, sort_keys=True)
