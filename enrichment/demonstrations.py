"""Few-shot demonstrations for LLM extraction, chosen by similarity from the catalogue's own
labelled records.

What the literature on LLM attribute extraction found best (Brinkmann et al., "Product
Attribute Value Extraction using Large Language Models", 2023/24): the target schema given as
JSON with descriptions and example values, and about ten demonstrations picked per request as
the labelled offers most similar to the ones asked about — not a fixed or random handful.

The pool is the catalogue's records that have at least one of the attributes filled (the
learned extractor's training data, `enrichment.learned.store.store_examples`). Similarity is
cosine over TF-IDF of word unigrams/bigrams and character 3–5-grams of the records' text, so
"Borton Ground Coffee 500g" finds coffee offers, not shoes of the same brand. For a request of
several items, each item's nearest records are taken in turn (round robin, most similar
first) until the request has its demonstrations. Deterministic: ties go to the older record.

The pool is saved as JSON lines, named by the hash of its content, under
`models_dir/<catalogue>/`, and loaded once per process.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

MAX_POOL = 20_000
"""Labelled records kept in a pool (the first by record id): enough to find neighbours."""
MAX_TEXT_CHARS = 2_000
"""Text of one record the similarity reads (titles and the start of a description)."""
POOL_FORMAT = 1


@dataclass(frozen=True)
class Demonstration:
    """A labelled record as the LLM is shown it: its texts and, per attribute, its value."""

    id: str
    texts: Mapping[str, str]
    values: Mapping[str, str]

    @property
    def text(self) -> str:
        return " ".join(t for t in self.texts.values() if t)[:MAX_TEXT_CHARS]


@dataclass
class DemonstrationPool:
    """The labelled records to draw demonstrations from, indexed for similarity."""

    records: list[Demonstration]
    _vectorizer: Any = field(default=None, repr=False)
    _matrix: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.records:
            return
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        from catalog.ngrams import WordwiseCharVectorizer

        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
        chars = WordwiseCharVectorizer(ngram_range=(3, 5), sublinear_tf=True)
        texts = [r.text for r in self.records]
        self._vectorizer = (words, chars)
        matrix = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
        self._matrix = _normalised(matrix)

    def __len__(self) -> int:
        return len(self.records)

    def nearest(self, texts: Sequence[str], k: int) -> list[Demonstration]:
        """Up to `k` demonstrations for a request about `texts`: each text's most similar
        records in turn, never the same record twice (nor a record whose text is one of
        `texts` itself: an item is not its own example)."""
        if not self.records or k <= 0 or not texts:
            return []
        from scipy.sparse import hstack

        words, chars = self._vectorizer
        clipped = [t[:MAX_TEXT_CHARS] for t in texts]
        queries = _normalised(hstack([words.transform(clipped), chars.transform(clipped)]).tocsr())
        similarity = (queries @ self._matrix.T).toarray()
        own = {t.strip().casefold() for t in clipped}
        # stable: equal similarity keeps the older record first
        order = np.argsort(-similarity, axis=1, kind="stable")
        chosen: list[int] = []
        taken: set[int] = set()
        depth = 0
        while len(chosen) < k and depth < order.shape[1]:
            for row in range(order.shape[0]):
                index = int(order[row, depth])
                if index in taken or self.records[index].text.strip().casefold() in own:
                    continue
                taken.add(index)
                chosen.append(index)
                if len(chosen) == k:
                    break
            depth += 1
        return [self.records[i] for i in chosen]

    def examples(self, attribute: str, n: int = 5) -> list[str]:
        """The attribute's most frequent values in the pool (ties by first appearance)."""
        counts = Counter(r.values[attribute] for r in self.records if attribute in r.values)
        return [value for value, _ in counts.most_common(n)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        with temp.open("w", encoding="utf-8") as handle:
            for r in self.records:
                row = {"id": r.id, "texts": dict(r.texts), "values": dict(r.values)}
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        temp.replace(path)

    @classmethod
    def from_file(cls, path: str | Path) -> DemonstrationPool:
        records = []
        with Path(path).open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                records.append(Demonstration(row["id"], row["texts"], row["values"]))
        return cls(records)


def pool_from_labelled(records: Sequence[Any]) -> DemonstrationPool:
    """A pool from `LabelledRecord`s: records with a value for at least one attribute; each
    attribute's value is the first of its strings that occurs verbatim in the record's text
    (a demonstration must show a quotable answer), else the attribute is left out."""
    out: list[Demonstration] = []
    for record in records:
        text = " ".join(t for t in record.texts.values() if t)
        values = {}
        for attribute, strings in record.values.items():
            found = next((s for s in strings if s and s in text), None)
            if found is not None:
                values[attribute] = found
        if values:
            out.append(Demonstration(str(record.id), dict(record.texts), values))
        if len(out) >= MAX_POOL:
            break
    return DemonstrationPool(out)


@lru_cache(maxsize=8)
def load_pool(path: str) -> DemonstrationPool:
    """A saved pool, loaded (and indexed) once per process; its name is its content hash."""
    return DemonstrationPool.from_file(path)


def prepare_pool(
    session: Session, *, catalog_id: int, attributes: Sequence[str], models_dir: Path
) -> tuple[Path | None, str]:
    """The catalogue's demonstration pool file for `attributes` (written when its content is
    new), or None with the reason when no record has any of them filled."""
    from catalog.models import Catalog
    from catalog.repository import catalog_schema
    from enrichment.learned.store import store_examples

    catalog = session.get(Catalog, catalog_id)
    if catalog is None:
        return None, f"no catalogue with id {catalog_id}"
    name = catalog_schema(catalog).name
    pool = pool_from_labelled(
        store_examples(session, catalog_id=catalog_id, attributes=attributes)
    )
    if not pool.records:
        return None, (
            f"no record of catalogue {name!r} has a value for {', '.join(attributes)} in its "
            "text: the LLM gets no demonstrations"
        )
    digest = hashlib.sha256(str(POOL_FORMAT).encode())
    for r in pool.records:
        row = [r.id, dict(r.texts), dict(r.values)]
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
    path = models_dir / name / f"demonstrations-{digest.hexdigest()[:20]}.jsonl"
    if not path.exists():
        pool.save(path)
    return path, f"{len(pool)} labelled record(s) to choose demonstrations from"


def _normalised(matrix: Any) -> Any:
    from sklearn.preprocessing import normalize

    return normalize(matrix, norm="l2", axis=1, copy=False)
