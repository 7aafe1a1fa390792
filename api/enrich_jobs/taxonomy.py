"""Category prediction for enrichment jobs: the request's ``taxonomy`` object, read into a
`taxonomy.model.Taxonomy`, and the zero-shot classifier over each item's text.

The ``taxonomy`` object lists categories, each a path string ("Bearings > Ball Bearings") or
an object ``{"id": ..., "path": ..., "attributes": [...]}``; ``attributes`` name the
category-specific fields reported as ``taxonomy_attributes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from catalog.errors import InputError, InputProblem
from taxonomy.classifier import LexicalClassifier
from taxonomy.importers import load_paths
from taxonomy.model import Taxonomy, normalize_path_text

_TEXT_KEYS = ("title", "name", "product_name", "description", "category", "brand")


@dataclass(frozen=True)
class JobTaxonomy:
    taxonomy: Taxonomy
    ids: dict[str, str]
    """Node id (its normalised path) -> the id the client gave."""
    attributes: dict[str, list[str]]
    """Node id -> category-specific attribute names."""


def read_taxonomy(spec: dict[str, Any] | list[Any]) -> JobTaxonomy:
    """Parse the request's taxonomy.

    Raises:
        InputError: no categories, or a category without a path, naming its position.
    """
    categories = spec.get("categories", spec.get("nodes")) if isinstance(spec, dict) else spec
    if not isinstance(categories, list) or not categories:
        raise InputError.single("taxonomy", "needs a non-empty 'categories' list")
    paths: list[str] = []
    ids: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    problems: list[InputProblem] = []
    for i, entry in enumerate(categories, start=1):
        if isinstance(entry, str):
            path, given, attrs = entry, None, []
        elif isinstance(entry, dict) and isinstance(entry.get("path") or entry.get("name"), str):
            path = entry.get("path") or entry["name"]
            given = entry.get("id")
            attrs = [
                a["name"] if isinstance(a, dict) else str(a) for a in entry.get("attributes") or []
            ]
        else:
            problems.append(
                InputProblem("taxonomy", "a category is a path string or {id, path}", row=i)
            )
            continue
        paths.append(path)
        key = normalize_path_text(path)
        if given is not None:
            ids[key] = str(given)
        if attrs:
            attributes[key] = attrs
    if problems:
        raise InputError(problems)
    taxonomy = load_paths(paths, name="request")
    by_key = {normalize_path_text(n.path_text): n.id for n in taxonomy}
    return JobTaxonomy(
        taxonomy=taxonomy,
        ids={by_key[k]: v for k, v in ids.items() if k in by_key},
        attributes={by_key[k]: v for k, v in attributes.items() if k in by_key},
    )


def item_text(item: dict[str, Any]) -> str:
    preferred = [str(item[k]) for k in _TEXT_KEYS if isinstance(item.get(k), str)]
    rest = [str(v) for k, v in item.items() if k not in _TEXT_KEYS and isinstance(v, str)]
    return " ".join(preferred + rest)


def predict(job_taxonomy: JobTaxonomy, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per item: category_id, category_path, confidence and the classifier's method."""
    classifier = LexicalClassifier(job_taxonomy.taxonomy)
    predictions = classifier.predict([item_text(item) for item in items])
    out: list[dict[str, Any]] = []
    for prediction in predictions:
        node = job_taxonomy.taxonomy.get(prediction.node_id) if prediction.node_id else None
        if node is None:
            out.append(
                {
                    "category_id": None,
                    "category_path": None,
                    "confidence": 0.0,
                    "method": prediction.method,
                    "attributes": [],
                }
            )
            continue
        out.append(
            {
                "category_id": job_taxonomy.ids.get(node.id, node.id),
                "category_path": node.path_text,
                "confidence": round(float(prediction.confidence), 4),
                "method": prediction.method,
                "attributes": _inherited(job_taxonomy, node.id),
            }
        )
    return out


def _inherited(job_taxonomy: JobTaxonomy, node_id: str) -> list[str]:
    """A category's attributes and those of its ancestors."""
    names: list[str] = []
    chain = [*job_taxonomy.taxonomy.ancestors(node_id), job_taxonomy.taxonomy[node_id]]
    for node in chain:
        for name in job_taxonomy.attributes.get(node.id, []):
            if name not in names:
                names.append(name)
    return names
