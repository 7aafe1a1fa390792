"""Quality scoring (seed 003's `quality_prompt`) and `validate_semantics`.

The default scorer needs no model: it rates an enriched item 1–5 by how many asked-for fields
have a value, how sure those values are, and what needs a person (conflicts, errors). With an
LLM configured (`EnrichOptions.llm`), `score_quality_llm` asks it instead, with the user's
`quality_prompt` and the enriched item; if the model fails or answers out of shape, the
heuristic score is used and the item is flagged. The semantic check tests each written value
against what its field's description implies (a unit means a quantity of that kind, "URL" a
link, "year" a plausible year, "email" an address); it is a heuristic and says so.
"""

from __future__ import annotations

import re
from typing import Any

from catalog.units import UnitError, dimension_of
from enrichment.output_schema import FieldIssue, OutputSchema
from enrichment.results import ItemEnrichment, QualityResult

_URL = re.compile(r"^https?://\S+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_DESCRIBES = {
    "url": re.compile(r"\b(url|link|website|homepage)\b", re.IGNORECASE),
    "email": re.compile(r"\be-?mail\b", re.IGNORECASE),
    "year": re.compile(r"\byear\b", re.IGNORECASE),
    "percent": re.compile(r"\b(percent|percentage|%)", re.IGNORECASE),
}


def score_quality(result: ItemEnrichment, schema: OutputSchema, prompt: str) -> QualityResult:
    """1–5: 5 = every field filled with confident, uncontested values; each missing required
    field, conflict or error-level issue costs a point; low confidence costs half."""
    filled = {
        f.name
        for f in schema.fields
        if f.name in result.values or _present(result.original.get(f.name))
    }
    total = len(schema.fields) or 1
    completeness = len(filled) / total
    issues: list[str] = []
    suggestions: list[str] = []
    missing_required = [f.name for f in schema.fields if f.required and f.name not in filled]
    if missing_required:
        issues.append(f"required field(s) without a value: {', '.join(missing_required)}")
        suggestions.append("add a source that states them (a product page URL or a reference)")
    missing = [f.name for f in schema.fields if f.name not in filled and not f.required]
    if missing:
        issues.append(f"no value found for: {', '.join(missing[:8])}")
    if result.conflicts:
        issues.append(
            f"{len(result.conflicts)} value(s) disagree with existing data: "
            + ", ".join(c.field for c in result.conflicts)
        )
        suggestions.append("resolve the conflicts (keep existing, accept new, or correct)")
    low = [n for n, c in result.confidence.items() if c < 0.9]
    if low:
        issues.append(f"low-confidence value(s): {', '.join(low)}")
        suggestions.append("confirm them against a second source")
    errors = [i for i in result.field_issues if i.severity == "error"]
    score = 1 + 4 * completeness
    score -= len(missing_required) + len(result.conflicts) + len(errors) + 0.5 * bool(low)
    score_int = max(1, min(5, round(score)))
    explanation = (
        f"heuristic: {len(filled)}/{total} fields have a value"
        f"{f', {len(result.conflicts)} conflict(s)' if result.conflicts else ''}"
        f"{f', {len(errors)} error(s)' if errors else ''}"
        + (f"; asked: {prompt[:120]}" if prompt else "")
    )
    return QualityResult(score_int, explanation, issues, suggestions)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def check_semantics(result: ItemEnrichment, schema: OutputSchema) -> list[FieldIssue]:
    """Issues for written values that do not match what their field's description implies."""
    issues: list[FieldIssue] = []
    for spec in schema.fields:
        if spec.name not in result.values:
            continue
        value = result.values[spec.name]
        text = f"{spec.name.replace('_', ' ')} {spec.description}"
        problem = None
        if _DESCRIBES["url"].search(text) and isinstance(value, str) and not _URL.match(value):
            problem = f"{value!r} is not a URL but the field describes one"
        elif _DESCRIBES["email"].search(text) and isinstance(value, str):
            if not _EMAIL.match(value):
                problem = f"{value!r} is not an e-mail address"
        elif _DESCRIBES["year"].search(text) and isinstance(value, int | float):
            if not 1700 <= value <= 2100:
                problem = f"{value} is not a plausible year"
        elif _DESCRIBES["percent"].search(text) and isinstance(value, int | float):
            if not 0 <= value <= 100:
                problem = f"{value} is not a percentage"
        elif spec.effective_unit and isinstance(value, int | float) and value < 0:
            try:
                if dimension_of(spec.effective_unit) in ("length", "mass", "volume", "area"):
                    problem = f"{value} {spec.effective_unit} is negative"
            except UnitError:
                pass
        if problem:
            issues.append(FieldIssue(spec.name, "warning", problem, "semantics"))
    return issues


QUALITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "explanation": {"type": "string"},
        "issues": {"type": "array", "items": {"type": "string"}},
        "suggestions": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["score", "explanation", "issues", "suggestions"],
    "additionalProperties": False,
}


def score_quality_llm(
    results: list[ItemEnrichment], schema: OutputSchema, prompt: str, client: Any
) -> None:
    """Set each result's `quality` from the LLM (`client`: a `llm.client.LLMClient`); on any
    LLM error fall back to `score_quality` and flag the item `quality_llm_failed`."""
    import json

    from llm.client import LLMError

    fields = [{"name": f.name, "type": f.type, "description": f.description} for f in schema]
    for result in results:
        after = result.after_data(include_explanations=False)
        messages = [
            {
                "role": "system",
                "content": "You rate how well a catalogue record meets the user's quality "
                "criteria, 1 (poor) to 5 (excellent). Judge only the record given.",
            },
            {
                "role": "user",
                "content": f"Criteria: {prompt}\nFields: {json.dumps(fields)}\n"
                f"Record: {json.dumps(after, ensure_ascii=False, default=str)}",
            },
        ]
        try:
            data = client.ask_json(messages, QUALITY_SCHEMA, schema_name="quality").data
        except LLMError as exc:
            result.quality = score_quality(result, schema, prompt)
            result.flags.append(f"quality_llm_failed: {exc}")
            continue
        result.quality = QualityResult(
            score=int(data["score"]),
            explanation=str(data["explanation"]),
            issues=[str(i) for i in data["issues"]],
            suggestions=[str(i) for i in data["suggestions"]],
        )
