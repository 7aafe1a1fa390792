"""The LLM provider (off by default): a model reads only the evidence we give it and must quote it.

The prompt carries the item's own fields and the visible text of its candidate pages, each
labelled with an id (`input`, `page1`, …) — nothing else, and the model is told to use nothing
else. The answer is structured JSON against a schema built from the output fields (each field's
type and enum, null when not stated) giving, per field, the value, the evidence id and the
exact quote. A value is kept only if its quote occurs
in that evidence and the value occurs in its quote; anything else is dropped and the item
flagged. Malformed answers, timeouts and HTTP failures flag the item and add nothing.

Reliability 0.6: below auto-apply on its own, so an LLM-only value always goes to review unless
another source agrees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from enrichment.evidence import INPUT, Evidence
from enrichment.fetch import FetchError, SafeFetcher
from enrichment.output_schema import OutputField, OutputSchema
from enrichment.providers.flags import ItemFlag

PROVIDER = "llm"
RELIABILITY = 0.6
MAX_EVIDENCE_CHARS = 12_000

SYSTEM_PROMPT = (
    "You extract product or company data. Use ONLY the evidence given by the user; never use "
    "outside knowledge and never guess. For each requested field stated in the evidence, give "
    "the value, the id of the evidence it is in, and `quote`: the exact, verbatim span of that "
    "evidence that states it. If the evidence does not state a field, set value to null."
)


def _value_schema(spec: OutputField) -> dict[str, Any]:
    """The JSON schema of one field's value. Text and quantities with a unit are asked as
    written in the evidence (the quote check needs the words, the schema converts units)."""
    if spec.enum:
        return {"enum": [*spec.enum, None]}
    if spec.type == "array":
        items = {"enum": list(spec.items_enum)} if spec.items_enum else {"type": "string"}
        return {"type": ["array", "null"], "items": items}
    if spec.type == "boolean":
        return {"type": ["boolean", "null"]}
    if spec.type in ("number", "integer") and not spec.effective_unit:
        return {"type": [spec.type, "null"]}
    return {"type": ["string", "null"]}


def answer_schema(fields: Sequence[OutputField], evidence_ids: Sequence[str]) -> dict[str, Any]:
    """Structured output against the output schema: per field its typed value (null when the
    evidence does not state it), the evidence id it is in, and the verbatim quote."""
    properties = {
        f.name: {
            "type": "object",
            "properties": {
                "value": _value_schema(f),
                "evidence": {"type": "string", "enum": list(evidence_ids)},
                "quote": {"type": "string"},
            },
            "required": ["value", "evidence", "quote"],
            "additionalProperties": False,
        }
        for f in fields
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _squash(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _value_in_quote(value: Any, quote: str) -> bool:
    if isinstance(value, list):
        return all(_value_in_quote(v, quote) for v in value)
    if isinstance(value, bool):
        return True  # yes/no answers are judged by the quote existing in the evidence
    if isinstance(value, int | float):
        number = f"{value:g}"
        digits = re.sub(r"[,\s]", "", quote)
        return number in digits or number.replace(".", ",") in digits
    return _squash(value) in _squash(quote)


def llm_provider(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: Any,
    wanted: dict[int, frozenset[str]],
) -> list[Evidence | ItemFlag]:
    settings = options.llm
    if settings is None or not settings.configured:
        return []
    from llm.client import LLMClient, LLMError

    out: list[Evidence | ItemFlag] = []
    pages = _page_texts(items, options, wanted)
    with LLMClient(settings) as client:
        for i, names in wanted.items():
            if not names:
                continue
            fields = [f for f in schema.fields if f.name in names]
            evidence = {INPUT: json.dumps(items[i], ensure_ascii=False, default=str)}
            sources = {INPUT: INPUT}
            for n, (url, text) in enumerate(pages.get(i, []), start=1):
                evidence[f"page{n}"], sources[f"page{n}"] = text, url
            messages = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": _user_prompt(fields, evidence, options.prompt)},
            ]
            try:
                answer = client.ask_json(
                    messages, answer_schema(fields, list(evidence)), schema_name="enrichment"
                )
            except LLMError as exc:
                out.append(ItemFlag(i, f"llm_failed: {exc}"))
                continue
            out.extend(_accept(i, answer.data, evidence, sources, names, answer.model))
    return out


def _user_prompt(fields: Sequence[Any], evidence: dict[str, str], prompt: str) -> str:
    lines = []
    if prompt:
        lines += [f"Task: {prompt}", ""]
    lines.append("Fields:")
    for f in fields:
        detail = f"- {f.name} ({f.type}{', unit ' + f.effective_unit if f.effective_unit else ''})"
        if f.description:
            detail += f": {f.description}"
        if f.enum:
            detail += f" One of: {', '.join(f.enum)}."
        lines.append(detail)
    lines.append("")
    budget = MAX_EVIDENCE_CHARS
    for key, text in evidence.items():
        chunk = text[: max(0, budget)]
        budget -= len(chunk)
        lines += [f'<evidence id="{key}">', chunk, "</evidence>"]
    return "\n".join(lines)


def _accept(
    item: int,
    data: dict[str, Any],
    evidence: dict[str, str],
    sources: dict[str, str],
    names: set[str],
    model: str,
) -> list[Evidence | ItemFlag]:
    out: list[Evidence | ItemFlag] = []
    for name, entry in data.items():
        value = entry.get("value")
        if (
            name not in names
            or value is None
            or value == []
            or (isinstance(value, str) and not value.strip())
        ):
            continue
        key, quote = str(entry.get("evidence", "")), str(entry.get("quote", ""))
        text = evidence.get(key)
        if text is None or not quote.strip() or _squash(quote) not in _squash(text):
            out.append(ItemFlag(item, f"llm_unquoted: {name} = {value!r} not found in evidence"))
            continue
        if not _value_in_quote(value, quote):
            out.append(ItemFlag(item, f"llm_unquoted: {name} = {value!r} not in its quote"))
            continue
        out.append(
            Evidence(
                item=item,
                field=name,
                value=value,
                source=sources[key],
                provider=PROVIDER,
                method=f"llm-quoted ({model})",
                reliability=RELIABILITY,
                quote=f'"{quote[:160]}"',
            )
        )
    return out


def _page_texts(
    items: Sequence[dict[str, Any]], options: Any, wanted: dict[int, frozenset[str]]
) -> dict[int, list[tuple[str, str]]]:
    """Visible text of each item's candidate pages (from the fetch cache when fresh)."""
    if not options.web_search:
        return {}
    from enrichment.providers.web import page_plan
    from enrichment.structured import extract_page

    plans = page_plan(items, options, wanted)
    urls = [u for us in plans.values() for u in us]
    if not urls:
        return {}
    fetcher: SafeFetcher = options.fetcher  # the engine always provides one
    fetched = fetcher.fetch_many(urls)
    texts: dict[str, str] = {}
    for url, page in fetched.items():
        if not isinstance(page, FetchError):
            texts[url] = extract_page(page.text, page.final_url, with_text=True).text
    return {i: [(u, texts[u]) for u in us if u in texts] for i, us in plans.items()}
