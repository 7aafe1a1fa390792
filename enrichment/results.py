"""What enrichment produces for one item: the values written, their sources, explanations and
confidence, the decisions taken, conflicts, issues and the quality score — and its seed 003
JSON shape. Kept apart from the engine so readers of results (the API, quality scoring,
conflicts) need not import the engine that makes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from enrichment.output_schema import FieldIssue


@dataclass
class QualityResult:
    score: int
    explanation: str
    issues: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "explanation": self.explanation,
            "issues": list(self.issues),
            "suggestions": list(self.suggestions),
        }


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """A found value that disagrees with the item's non-empty existing value."""

    field: str
    existing: Any
    proposed: Any
    confidence: float
    sources: tuple[str, ...]
    explanation: str


@dataclass(slots=True)
class ItemEnrichment:
    """The outcome for one item: what was found, from where, how sure, and what needs a person."""

    index: int
    original: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    """Values written (new, merged or confirmed), as shown in `after_data`."""
    sources: dict[str, list[str]] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    """Per field: `applied`, `review`, `confirmed`, `merged`, `conflict`, `rejected`."""
    providers: dict[str, list[str]] = field(default_factory=dict)
    """Per field written: the providers whose evidence carries the value (`record`,
    `learned`, …)."""
    methods: dict[str, list[str]] = field(default_factory=dict)
    """Per field written: how the evidence was found (`title-unit-match`, `learned-crf`)."""
    tokens: int = 0
    """LLM tokens spent on the item (0 without the LLM or from its cache)."""
    field_issues: list[FieldIssue] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    reasoning: str = ""
    conflicts: list[FieldConflict] = field(default_factory=list)
    quality: QualityResult | None = None
    error: str | None = None

    @property
    def flag_record(self) -> bool:
        """A person should look: something to review, a conflict, an error-level issue."""
        return (
            self.error is not None
            or bool(self.conflicts)
            or any(d == "review" for d in self.decisions.values())
            or any(i.severity == "error" for i in self.field_issues)
            or any(not f.startswith("info:") for f in self.flags)
        )

    @property
    def all_sources(self) -> list[str]:
        return list(dict.fromkeys(s for urls in self.sources.values() for s in urls))

    def after_data(self, *, include_explanations: bool = True) -> dict[str, Any]:
        """Seed 003's `after_data`: the original fields, the values written, `sources`, and
        (optionally) `source_explanations`."""
        after = dict(self.original)
        after.update(self.values)
        after["sources"] = {k: list(v) for k, v in self.sources.items()}
        if include_explanations:
            after["source_explanations"] = dict(self.explanations)
        return after

    def as_result(self, *, include_explanations: bool = False) -> dict[str, Any]:
        """Seed 003's result item: original_data, after_data, all_sources, review_info,
        quality (when scored), error (when failed) — plain JSON types only."""
        result: dict[str, Any] = {
            "original_data": dict(self.original),
            "after_data": self.after_data(include_explanations=include_explanations),
            "all_sources": self.all_sources,
            "review_info": self.review_info(),
            "confidence": dict(self.confidence),
            "conflicts": [
                {
                    "field": c.field,
                    "existing_value": c.existing,
                    "proposed_value": c.proposed,
                    "confidence": c.confidence,
                    "sources": list(c.sources),
                    "explanation": c.explanation,
                }
                for c in self.conflicts
            ],
        }
        if self.quality is not None:
            result["quality_score"] = self.quality.score
            result["quality_result"] = self.quality.as_dict()
        if self.error is not None:
            result["error"] = self.error
        return result

    def review_info(self) -> dict[str, Any]:
        return {
            "reasoning": self.reasoning,
            "flags": list(self.flags),
            "field_issues": [i.as_dict() for i in self.field_issues],
            "flag_record": self.flag_record,
        }
