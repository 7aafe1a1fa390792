"""The LLM provider (off by default): a model reads only the evidence we give it and must quote
it — asked the way the literature on LLM attribute extraction found best.

* **The schema as JSON schema**, one property per field, with the field's description and
  example values taken from the catalogue (its `sample_values`, then the values its labelled
  records hold most often), the field's type and enum (null when not stated).
* **Demonstrations chosen by similarity**: about ten of the catalogue's labelled records most
  similar to the items asked about (`enrichment.demonstrations`), each shown as a question
  and its correct answer in the same format, before the real question.
* **Several items per request** (`llm_batch_size`, 5 by default): each item is an `<item>`
  with its evidence — its own fields (`item1`) and the visible text of its candidate pages
  (`item1.page1`, …) —, answered under its own key.
* **Answers cached by content hash** (`llm.client`: the same question is never paid twice),
  and **tokens counted per item** (`ItemUsage`), so callers record them as credits.

For each item and field the answer gives the value, the evidence id and `quote`: the exact
span of that evidence stating it. A value is kept only if its quote occurs in that item's
evidence and the value occurs in its quote; anything else is dropped and the item flagged.
Malformed answers, timeouts and HTTP failures flag the request's items and add nothing.

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
from enrichment.providers.flags import ItemFlag, ItemUsage

PROVIDER = "llm"
RELIABILITY = 0.6
MAX_ITEM_CHARS = 6_000
"""Evidence of one item in a request (its fields and pages together)."""
MAX_DEMONSTRATION_CHARS = 600
EXAMPLE_VALUES = 5
ANSWER_TOKENS_PER_FIELD = 60

SYSTEM_PROMPT = (
    "You extract product or company attribute values. Use ONLY the evidence given for each "
    "item; never use outside knowledge and never guess. For each requested field of each item "
    "that its evidence states, give the value, the id of the evidence it is in, and `quote`: "
    "the exact, verbatim span of that evidence that states it. If the evidence does not state "
    "a field, set its value to null. Answer with JSON only, in the schema given."
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


def field_description(spec: OutputField, examples: Sequence[Any]) -> str:
    """`Brand of the product (string). Examples: "Acme", "Borton".`"""
    kind = spec.type + (f", unit {spec.effective_unit}" if spec.effective_unit else "")
    text = f"{spec.description or spec.name.replace('_', ' ')} ({kind})."
    if spec.enum:
        text += f" One of: {', '.join(spec.enum)}."
    shown = [json.dumps(e, ensure_ascii=False) for e in list(dict.fromkeys(examples))]
    if shown:
        text += f" Examples: {', '.join(shown[:EXAMPLE_VALUES])}."
    return text


def item_schema(
    fields: Sequence[OutputField], evidence_ids: Sequence[str], descriptions: dict[str, str]
) -> dict[str, Any]:
    """One item's answer: per field its typed value (null when not stated), the evidence id
    it is in and the verbatim quote."""
    properties = {
        f.name: {
            "type": "object",
            "description": descriptions[f.name],
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


def answer_schema(
    fields: Sequence[OutputField],
    evidence_ids: dict[str, list[str]],
    descriptions: dict[str, str],
) -> dict[str, Any]:
    """The whole request's answer: one `item_schema` per item key (`item1`, `item2`, …)."""
    properties = {
        key: item_schema(fields, ids, descriptions) for key, ids in evidence_ids.items()
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
) -> list[Evidence | ItemFlag | ItemUsage]:
    settings = options.llm
    if settings is None or not settings.configured:
        return []
    from llm.client import LLMClient

    asked = [i for i, names in sorted(wanted.items()) if names]
    if not asked:
        return []
    pages = _page_texts(items, options, wanted)
    size = max(1, int(getattr(options, "llm_batch_size", 1) or 1))
    out: list[Evidence | ItemFlag | ItemUsage] = []
    with LLMClient(settings) as client:
        for start in range(0, len(asked), size):
            batch = asked[start : start + size]
            out.extend(_ask(client, items, schema, options, wanted, batch, pages))
    return out


def _ask(
    client: Any,
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: Any,
    wanted: dict[int, frozenset[str]],
    batch: list[int],
    pages: dict[int, list[tuple[str, str]]],
) -> list[Evidence | ItemFlag | ItemUsage]:
    """One request about the items of `batch`."""
    from llm.client import LLMError

    names = set().union(*(wanted[i] for i in batch))
    fields = [f for f in schema.fields if f.name in names]
    pool = getattr(options, "demonstrations", None)
    descriptions = {
        f.name: field_description(f, [*(f.sample_values or []), *_pool_examples(pool, f.name)])
        for f in fields
    }
    evidence: dict[str, dict[str, str]] = {}
    sources: dict[str, dict[str, str]] = {}
    keys: dict[str, int] = {}
    for n, i in enumerate(batch, start=1):
        key = f"item{n}"
        keys[key] = i
        evidence[key] = {key: json.dumps(items[i], ensure_ascii=False, default=str)}
        sources[key] = {key: INPUT}
        for m, (url, text) in enumerate(pages.get(i, []), start=1):
            evidence[key][f"{key}.page{m}"] = text
            sources[key][f"{key}.page{m}"] = url
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += _demonstrations(
        pool, fields, [_item_text(items[i], options) for i in batch], options
    )
    messages.append({"role": "user", "content": _user_prompt(evidence, options.prompt)})
    ids = {key: list(ev) for key, ev in evidence.items()}
    try:
        answer = _client_for(client, len(batch), len(fields)).ask_json(
            messages, answer_schema(fields, ids, descriptions), schema_name="enrichment"
        )
    except LLMError as exc:
        return [ItemFlag(i, f"llm_failed: {exc}") for i in batch]
    out: list[Evidence | ItemFlag | ItemUsage] = []
    out += _usage(batch, answer.usage.total_tokens)
    for key, i in keys.items():
        data = answer.data.get(key) or {}
        out += _accept(i, data, evidence[key], sources[key], wanted[i], answer.model)
    return out


def _client_for(client: Any, items: int, fields: int) -> Any:
    """The client, with room in the answer for every item's fields."""
    needed = ANSWER_TOKENS_PER_FIELD * items * max(1, fields)
    if client.settings.max_tokens >= needed:
        return client
    client.settings = client.settings.model_copy(update={"max_tokens": needed})
    return client


def _usage(batch: list[int], tokens: int) -> list[ItemUsage]:
    """A request's tokens shared by its items (the remainder to the first ones)."""
    if not tokens:
        return []
    share, extra = divmod(tokens, len(batch))
    return [ItemUsage(i, share + (1 if n < extra else 0)) for n, i in enumerate(batch)]


def _pool_examples(pool: Any, name: str) -> list[str]:
    return pool.examples(name, EXAMPLE_VALUES) if pool is not None else []


def _item_text(item: dict[str, Any], options: Any) -> str:
    """The text an item is compared to the demonstrations by: its descriptive fields."""
    catalog = getattr(options, "catalog", None)
    if catalog is not None:
        keys = list(catalog.text)
    else:
        from enrichment.providers.record import text_keys

        keys = text_keys([item], OutputSchema(fields=[]))
    return " ".join(str(item[k]) for k in keys if item.get(k) not in (None, ""))


def _demonstrations(
    pool: Any, fields: Sequence[OutputField], texts: list[str], options: Any
) -> list[dict[str, str]]:
    """Question/answer pairs of the labelled records most similar to the items asked about."""
    k = int(getattr(options, "llm_demonstrations", 0) or 0)
    if pool is None or k <= 0:
        return []
    messages: list[dict[str, str]] = []
    for demo in pool.nearest(texts, k):
        shown = {f: t[:MAX_DEMONSTRATION_CHARS] for f, t in demo.texts.items() if t}
        text = json.dumps(shown, ensure_ascii=False)
        answer = {}
        for spec in fields:
            value = demo.values.get(spec.name)
            if value is None or not _fits(value, spec) or value not in text:
                answer[spec.name] = {"value": None, "evidence": "item1", "quote": ""}
            else:
                answer[spec.name] = {"value": value, "evidence": "item1", "quote": value}
        messages.append({"role": "user", "content": _user_prompt({"item1": {"item1": text}}, "")})
        messages.append(
            {"role": "assistant", "content": json.dumps({"item1": answer}, ensure_ascii=False)}
        )
    return messages


def _fits(value: str, spec: OutputField) -> bool:
    """Whether a demonstration's (text) value can be shown as this field's answer."""
    if spec.enum:
        return value in spec.enum
    if spec.type in ("number", "integer") and not spec.effective_unit:
        return False  # a typed number cannot be shown as the text it was labelled with
    return spec.type in ("string", "number", "integer")


def _user_prompt(evidence: dict[str, dict[str, str]], prompt: str) -> str:
    lines = []
    if prompt:
        lines += [f"Task: {prompt}", ""]
    for key, pieces in evidence.items():
        lines.append(f'<item id="{key}">')
        budget = MAX_ITEM_CHARS
        for evidence_id, text in pieces.items():
            chunk = text[: max(0, budget)]
            budget -= len(chunk)
            lines += [f'<evidence id="{evidence_id}">', chunk, "</evidence>"]
        lines.append("</item>")
    return "\n".join(lines)


def _accept(
    item: int,
    data: dict[str, Any],
    evidence: dict[str, str],
    sources: dict[str, str],
    names: frozenset[str],
    model: str,
) -> list[Evidence | ItemFlag | ItemUsage]:
    out: list[Evidence | ItemFlag | ItemUsage] = []
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
