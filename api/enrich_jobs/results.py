"""One engine outcome as seed 003's result item: ``original_data``, ``after_data`` (with
``sources`` and, when asked, ``source_explanations``), ``all_sources``, category fields,
quality fields and ``review_info``."""

from __future__ import annotations

from typing import Any

from enrichment.engine import ItemEnrichment


def result_of(
    outcome: ItemEnrichment,
    *,
    include_explanations: bool,
    category: dict[str, Any] | None = None,
) -> dict[str, Any]:
    after = outcome.after_data(include_explanations=include_explanations)
    result: dict[str, Any] = {
        "original_data": dict(outcome.original),
        "after_data": after,
        "all_sources": outcome.all_sources,
        "review_info": outcome.review_info(),
    }
    if include_explanations:
        result["confidences"] = {k: round(v, 4) for k, v in outcome.confidence.items()}
    if outcome.error is not None:
        result["error"] = outcome.error
    if category is not None:
        result["category_id"] = category["category_id"]
        result["category_path"] = category["category_path"]
        attributes = {name: after.get(name) for name in category["attributes"]}
        result["taxonomy_attributes"] = attributes
        result["taxonomy_attribute_explanations"] = {
            name: (
                outcome.explanations.get(name)
                or ("from the item's own data" if name in outcome.original else "not found")
            )
            for name in attributes
        }
        if category["category_id"] is None:
            result["review_info"]["flags"].append("category_not_predicted")
            result["review_info"]["flag_record"] = True
        elif category["confidence"] < 0.9:
            result["review_info"]["flags"].append(
                f"category_low_confidence: {category['confidence']:.2f} ({category['method']})"
            )
            result["review_info"]["flag_record"] = True
    quality = outcome.quality
    if quality is not None:
        shown = quality.as_dict() if hasattr(quality, "as_dict") else dict(vars(quality))
        result["quality_result"] = shown
        result["quality_score"] = shown.get("score")
    return result
