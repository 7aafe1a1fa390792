"""The sequence tagger: a linear-chain CRF (CRFsuite) over token features, one label per token
(an attribute name, or `O`), and the spans it tags with their marginal probabilities.

CRFsuite's L-BFGS training is deterministic for the same sequences in the same order, and the
trained model is a byte string: it is stored inside the extractor's file and opened in memory.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from enrichment.learned.examples import OUTSIDE


@dataclass(frozen=True)
class CRFParams:
    """Training settings; part of a model's cache key."""

    c1: float = 0.05
    """L1 penalty: drops features that do not help (small models)."""
    c2: float = 0.05
    """L2 penalty."""
    max_iterations: int = 150

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TaggedSpan:
    """A run of tokens `first..last` (inclusive) tagged with one attribute, with the lowest
    and the mean marginal probability of that label over the run, and `spill`: the larger
    probability that the token just before or just after has the label too (an unsure
    boundary, "Oxford" or "Wing-Tip Oxford")."""

    attribute: str
    first: int
    last: int
    score: float
    mean: float
    spill: float


def _require_crfsuite():  # the pycrfsuite module
    try:
        import pycrfsuite
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise ImportError(
            "the learned extractor needs python-crfsuite: pip install python-crfsuite"
        ) from exc
    return pycrfsuite


def train_crf(
    xseqs: Sequence[list[list[str]]], yseqs: Sequence[list[str]], params: CRFParams
) -> bytes:
    """Train on feature sequences and label sequences; the model as bytes."""
    pycrfsuite = _require_crfsuite()
    trainer = pycrfsuite.Trainer(verbose=False)
    for xseq, yseq in zip(xseqs, yseqs, strict=True):
        trainer.append(xseq, yseq)
    trainer.set_params({"c1": params.c1, "c2": params.c2, "max_iterations": params.max_iterations})
    with tempfile.TemporaryDirectory(prefix="skuflow-crf-") as folder:
        path = Path(folder) / "model.crfsuite"
        trainer.train(os.fspath(path))
        return path.read_bytes()


class CRFTagger:
    """A trained CRF, opened from its bytes. CRFsuite taggers are not thread-safe, so calls
    are serialised; it pickles as its bytes."""

    def __init__(self, model: bytes) -> None:
        self.model = model
        self._open()

    def _open(self) -> None:
        pycrfsuite = _require_crfsuite()
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self.model)
        self._lock = threading.Lock()
        self.labels = frozenset(self._tagger.labels())

    def __getstate__(self) -> dict[str, bytes]:
        return {"model": self.model}

    def __setstate__(self, state: dict[str, bytes]) -> None:
        self.model = state["model"]
        self._open()

    def spans(self, xseq: list[list[str]]) -> list[TaggedSpan]:
        """The most likely labelling, as spans of equal non-`O` labels."""
        if not xseq:
            return []
        with self._lock:
            tagger = self._tagger
            tagger.set(xseq)
            labels = tagger.tag()
            out: list[TaggedSpan] = []
            i, n = 0, len(labels)
            while i < n:
                label = labels[i]
                if label == OUTSIDE:
                    i += 1
                    continue
                j = i
                while j + 1 < n and labels[j + 1] == label:
                    j += 1
                marginals = [tagger.marginal(label, k) for k in range(i, j + 1)]
                spill = max(
                    tagger.marginal(label, i - 1) if i > 0 else 0.0,
                    tagger.marginal(label, j + 1) if j + 1 < n else 0.0,
                )
                mean = sum(marginals) / len(marginals)
                out.append(TaggedSpan(label, i, j, min(marginals), mean, spill))
                i = j + 1
        return out
