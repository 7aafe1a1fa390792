"""The learned provider: values the catalogue's own extractor (`enrichment.learned`) tags in
an item's text, each citing its span (`record:title[12:19]`) with a calibrated confidence.

It is in the engine's default order and proposes nothing until a model is attached
(`EnrichOptions.learned`, from `enrichment.learned.store.prepare_learned_extractor`): on by
default exactly when the catalogue has labelled values. Values are the verbatim span; the
engine coerces them to the field's type, unit and enum like every provider's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from enrichment.evidence import Evidence
from enrichment.learned.model import METHOD
from enrichment.output_schema import OutputSchema

PROVIDER = "learned"


def learned_provider(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: Any,
    wanted: dict[int, frozenset[str]],
) -> list[Evidence]:
    """Engine hook: evidence for the fields each item still wants, from the attached model."""
    extractor = getattr(options, "learned", None)
    if extractor is None or not items:
        return []
    names = [f.name for f in schema.fields if f.name in set(extractor.attributes)]
    asked = set().union(*wanted.values()) if wanted else set()
    names = [n for n in names if n in asked]
    if not names:
        return []
    group_field = extractor.group_field
    texts = [{f: _text(item.get(f)) for f in extractor.text_fields} for item in items]
    groups = [_text(item.get(group_field)) if group_field else None for item in items]
    # The engine's `reject` threshold decides what is kept; the provider only drops noise.
    floor = min(extractor.min_confidence, options.thresholds.reject)
    found = extractor.predict(texts, groups, attributes=names, min_confidence=floor)
    out: list[Evidence] = []
    for index, values in enumerate(found):
        for value in values:
            if value.attribute not in wanted.get(index, ()):
                continue
            out.append(
                Evidence(
                    item=index,
                    field=value.attribute,
                    value=value.value,
                    source=value.source,
                    provider=PROVIDER,
                    method=METHOD,
                    reliability=value.confidence,
                    quote=value.explanation,
                )
            )
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)
