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

Close calls then follow the catalogue's own mix of categories, estimated from the texts being
classified (`StaticEmbeddingClassifier._prior_shift`): on MWPD2020, 44% clothing, level 1 went
from 0.506 to 0.571 (train split) and 0.563 on the validation split.

Both scores are sparse-times-dense products over a batch, so scoring runs at well over 5,000
records per CPU-second. Confidence is a capped index, as for every zero-shot matcher: without labels
nothing can be calibrated, so it never reaches the auto-apply threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
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
PRIOR_ROWS = 4096
"""Texts the catalogue's category shares are estimated from (an evenly spread sample beyond
that: the shares of a few thousand offers are those of the catalogue, and the estimate's cost
stays a small part of scoring)."""
PRIOR_CELLS = 4_000_000
"""Bound on texts × leaves held for the estimate (a 5,000-leaf taxonomy reads 800 texts)."""
PRIOR_ITERATIONS = 100
WORD_CACHE = 200_000
"""Distinct words whose pieces the encoder remembers (tens of MB); past that it starts over."""
KEPT_CELLS = 40_000_000
"""Texts × leaves scores kept in memory (160 MB) to apply the prior in one pass; beyond, the
sample is scored first and every text again after."""


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
        self._word_pieces: dict[str, list[int]] = {}

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def pieces(self, texts: Sequence[str]) -> csr_matrix:
        """Texts × word pieces, each piece's count in the text.

        MiniLM's tokenizer (BERT normaliser and pre-tokeniser, WordPiece) splits at whitespace
        before anything else and treats each word on its own, so a text's pieces are its
        words' pieces in order: each distinct word is tokenised once and remembered
        (`WORD_CACHE` words), which halves the tokenising time on product titles, whose
        words repeat (the same matrix as tokenising each text whole; checked on every
        benchmark text and the Google and Shopify category paths)."""
        from scipy.sparse import csr_matrix

        split = [text.split() for text in texts]
        cache = self._word_pieces
        new = list({word for words in split for word in words} - cache.keys())
        if new:
            if len(cache) + len(new) > WORD_CACHE:
                cache.clear()
                new = list({word for words in split for word in words})
            encoded = self.tokenizer.encode_batch(new, add_special_tokens=False)
            cache.update(zip(new, (e.ids for e in encoded), strict=True))
        get = cache.__getitem__
        per_text = [list(chain.from_iterable(map(get, words))) for words in split]
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        ids = np.fromiter(chain.from_iterable(per_text), dtype=np.int64, count=int(lengths.sum()))
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
    name_weight: float = 0.5
    """Weight of a leaf's own name as a second document beside its path, so the words that
    name the category itself ("Upper Body Wear/Tops") count more than the ancestors' they
    share with their siblings; nothing changes for a flat taxonomy (path = name). MWPD2020
    train split, level 1: 0.496 → 0.506 (0.25 and 1 tried: 0.504, 0.492)."""
    prior_temperature: float = 0.1
    """Scale of the scores turned into probabilities for estimating the catalogue's own
    category shares (`_prior_shift`); 0 switches the estimate off. Chosen on MWPD2020's train
    split among 0.05, 0.07, 0.1 and 0.15 with the power below."""
    prior_power: float = 0.5
    """The estimated shares are raised to this power (shrunk toward uniform) at each step, so
    a category the catalogue is full of pulls the doubtful offers its way without swallowing
    the others: 0.5 converges; 1, the plain EM estimate, collapsed onto the largest category
    at the higher temperatures."""


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
        documents = node_documents(taxonomy, self.node_ids, name_weight=self.params.name_weight)
        self._nodes = _document_vectors(encoder, documents)
        key = params_json(self.params, kind="static", model=encoder.digest)
        key += json.dumps(documents, sort_keys=True)
        self.version = "static-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def predict(self, texts: Sequence[Text]) -> list[Prediction]:
        out: list[Prediction] = []
        for scores, raw, empty in self._score_batches(texts):
            best, confidence = _confidence(scores, raw)
            confidence[empty] = 0.0
            out.extend(
                Prediction(None if e else self.node_ids[b], float(c), self.method)
                for b, c, e in zip(best.tolist(), confidence.tolist(), empty.tolist(), strict=True)
            )
        return out

    def top_k(self, texts: Sequence[Text], k: int = 5) -> Candidates:
        """Best `k` leaves per text with their scores (mean cosine + best-piece score)."""
        out: Candidates = []
        for scores, _, empty in self._score_batches(texts):
            out.extend(top_k_lists(scores, empty, k, self.node_ids))
        return out

    def scores(self, texts: Sequence[Text]) -> np.ndarray:
        """Texts × leaves scores (columns in `node_ids` order), for self-training."""
        blocks = [scores for scores, _, _ in self._score_batches(texts)]
        if not blocks:
            return np.zeros((0, len(self.node_ids)), dtype=np.float32)
        return np.vstack(blocks)

    def _score_batches(self, texts: Sequence[Text]) -> Any:
        """(scores with the catalogue's prior, raw scores, empty rows) per batch of texts.

        The prior is estimated from the texts themselves (`_prior_shift`) on an evenly spread
        sample of their scores; when texts × leaves is too large to keep, the sample is scored
        in a first pass."""
        texts = list(texts)
        if not self.params.prior_temperature or not texts:
            for raw, empty in self._raw_batches(texts):
                yield raw, raw, empty
            return
        rows = max(1, min(PRIOR_ROWS, PRIOR_CELLS // len(self.node_ids)))
        if len(texts) * len(self.node_ids) <= KEPT_CELLS:
            blocks = list(self._raw_batches(texts))
            scored = np.vstack([raw[~empty] for raw, empty in blocks])
            sample = np.linspace(0, len(scored) - 1, min(rows, len(scored))).round()
            shift = self._prior_shift(scored[sample.astype(int)] if len(scored) else scored)
            for raw, empty in blocks:
                yield raw + shift, raw, empty
            return
        sample = np.linspace(0, len(texts) - 1, rows).round().astype(int)
        kept = [raw[~empty] for raw, empty in self._raw_batches([texts[i] for i in sample])]
        shift = self._prior_shift(np.vstack(kept))
        for raw, empty in self._raw_batches(texts):
            yield raw + shift, raw, empty

    def _prior_shift(self, scores: np.ndarray) -> np.ndarray:
        """Per leaf, what to add to its scores for the catalogue's own category shares.

        A catalogue is rarely spread evenly: MWPD2020's offers are 44% clothing, a shoe shop's
        nearly all footwear. Offers whose best and second-best leaves are close go to the one
        the catalogue has more of. The shares are estimated as in Saerens et al. (2002):
        scores → probabilities (softmax at `prior_temperature`), then repeatedly each offer's
        posterior under the current shares, their mean (one pseudo-offer per leaf added, so a
        handful of texts cannot move it far) raised to `prior_power`. The shift is
        temperature × log(shares × leaves) where a leaf has more than an even share, zero
        elsewhere: a leaf the catalogue seems to have few of may only be one its name
        describes badly (WDC-PAVE's "Home And Garden": 16 of 265 found), and pushing it down
        would compound that (with the push: OA-Mine 0.870, WDC-PAVE 0.427; without: 0.879,
        0.435; MWPD2020 train 0.570 either way). One text is never moved off its best leaf
        (its own answer gains the most share)."""
        k = len(self.node_ids)
        if scores.shape[0] == 0 or k < 2:
            return np.zeros(k, dtype=np.float32)
        t = self.params.prior_temperature
        likelihood = np.exp((scores - scores.max(axis=1, keepdims=True)) / t)
        likelihood /= likelihood.sum(axis=1, keepdims=True)
        shares = np.full(k, 1.0 / k, dtype=np.float32)
        for _ in range(PRIOR_ITERATIONS):
            posterior = likelihood * shares
            posterior /= posterior.sum(axis=1, keepdims=True)
            mass = (posterior.sum(axis=0) + 1.0) / (scores.shape[0] + k)
            updated = mass**self.params.prior_power
            updated /= updated.sum()
            change = float(np.abs(updated - shares).max())
            shares = updated.astype(np.float32)
            if change < 1e-4 / k:
                break
        return (t * np.maximum(np.log(shares * k), 0.0)).astype(np.float32)

    def _raw_batches(self, texts: list[Text]) -> Any:
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


def _confidence(scores: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best column by `scores`, capped confidence index): half its raw score (it spans 0–2)
    times ½ + ½ × its relative raw lead over the best other leaf (none when the catalogue's
    prior, not the text, chose it)."""
    best = scores.argmax(axis=1)
    rows = np.arange(scores.shape[0])
    s1 = raw[rows, best]
    if raw.shape[1] > 1:
        others = raw.copy()
        others[rows, best] = -np.inf
        s2 = others.max(axis=1)
    else:
        s2 = np.zeros_like(s1)
    lead = np.clip((s1 - s2) / np.maximum(s1, 1e-6), 0.0, 1.0)
    confidence = np.clip(s1 / 2.0, 0.0, 1.0) * (0.5 + 0.5 * lead)
    return best, np.clip(confidence, 0.0, ZERO_SHOT_MAX_CONFIDENCE).astype(np.float64)
