"""One engine outcome as seed 003's result item: the engine's own mapping
(`ItemEnrichment.as_result`: original_data, after_data with sources and source_explanations,
all_sources, review_info, quality) plus what the job adds: the predicted category, its
category-specific attributes and how each was derived."""

from __future__ import annotations

from typing import Any

from enrichment.results import ItemEnrichment


def result_of(
    outcome: ItemEnrichment,
    *,
    include_explanations: bool,
    category: dict[str, Any] | None = None,
) -> dict[str, Any]:
    result = outcome.as_result(include_explanations=include_explanations)
    after = result["after_data"]
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
    return result
