"""The enrichment engine: fill the output schema's fields for a batch of items, citing evidence.

Providers run in the configured order (record → reference → web → llm by default; the LLM only
when configured). Each returns `Evidence`; a later provider is only asked for the fields still
unsettled (no value at or above `auto_apply` yet). Then, per item and field, the evidence is
coerced to the schema, combined into a confidence (`enrichment.trust`) and decided:

* no evidence → nothing written (a `required` field gets an error issue);
* item already has a value: equal → confirmed; `merge` array → new items appended;
  different → a conflict (the existing value stays);
* below `reject` → not used at all (no value, no conflict), noted;
* below `auto_apply` → written but flagged for review.

`enrich_items` is the public batch entry point; the API maps `ItemEnrichment` onto seed 003's
JSON (`after_data`, `sources`, `source_explanations`, `review_info`, `quality_result`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from catalog.collector import collector_paused
from catalog.schema import Thresholds
from enrichment.evidence import INPUT, Evidence
from enrichment.output_schema import FieldIssue, OutputField, OutputSchema
from enrichment.providers.flags import ItemFlag, ItemUsage
from enrichment.results import FieldConflict, ItemEnrichment
from enrichment.trust import Verdict, combine, value_key

if TYPE_CHECKING:
    from catalog.schema import CatalogSchema
    from enrichment.demonstrations import DemonstrationPool
    from enrichment.fetch import SafeFetcher
    from enrichment.firmographics import CompanyTable
    from enrichment.learned.extractor_set import ExtractorSet
    from enrichment.learned.model import LearnedExtractor
    from enrichment.providers.reference import ReferenceTable
    from enrichment.search import SearchClient
    from llm.client import LLMSettings

DEFAULT_ORDER = ("record", "learned", "reference", "web", "llm")


@dataclass
class EnrichOptions:
    """What to look at and how sure to be. Everything off-machine is opt-in: the web provider
    needs candidate URLs (item `url`s, `url_templates` or `urls`), the LLM needs `llm`."""

    providers: tuple[str, ...] = DEFAULT_ORDER
    thresholds: Thresholds = field(default_factory=Thresholds)
    references: list[ReferenceTable] = field(default_factory=list)
    companies: CompanyTable | None = None
    """Company reference table for firmographic fields (employee_range, revenue, …)."""
    web_search: bool = True
    urls: list[str] = field(default_factory=list)
    """Pages to read for every item (e.g. a manufacturer's catalogue page)."""
    url_templates: list[str] = field(default_factory=list)
    """`https://shop.example/p/{part_number}`: filled from each item's keys."""
    url_keys: tuple[str, ...] = ("url", "product_url", "source_url", "website", "domain")
    allowed_domains: list[str] = field(default_factory=list)
    fetcher: SafeFetcher | None = None
    llm: LLMSettings | None = None
    learned: ExtractorSet | LearnedExtractor | None = None
    """The catalogue's learned extractor (`enrichment.learned.store.prepare_learned_extractor`);
    the `learned` provider proposes nothing without one."""
    catalog: CatalogSchema | None = None
    """The catalogue the items are records of, when they are: the record provider reads its
    `text` attributes with its attributes' units, enums and synonyms, and the reference
    provider fills its `derive: firmographics.<field>` attributes, matching companies by its
    `supplier_name` / `supplier_website`."""
    search: SearchClient | None = None
    """A search backend (self-hosted SearxNG); with `web_search`, the web provider also reads
    the top results of a search for each item (`enrichment.search`)."""
    search_pages: int = 3
    """How many search results (within `allowed_domains`) are fetched per item."""
    demonstrations: DemonstrationPool | None = None
    """The catalogue's labelled records the LLM is shown, the most similar first
    (`enrichment.demonstrations`)."""
    llm_batch_size: int = 5
    """Items asked about in one LLM request."""
    llm_demonstrations: int = 10
    """Labelled records shown to the LLM per request, chosen by similarity."""
    check_existing: bool = True
    """Also look for fields the item already has: agreement confirms them, disagreement opens a
    conflict. Off, providers only look for missing fields (cheaper, no conflicts)."""
    prompt: str = ""
    quality_prompt: str | None = None
    validate_semantics: bool = False

    def close(self) -> None:
        """Release what the options hold open (the fetcher's and the search client's
        connections)."""
        if self.fetcher is not None:
            self.fetcher.close()
        if self.search is not None:
            self.search.close()


Provider = Callable[
    [Sequence[dict[str, Any]], OutputSchema, EnrichOptions, dict[int, frozenset[str]]],
    Sequence[Evidence | ItemFlag | ItemUsage],
]
"""(items, schema, options, fields each item still wants) → evidence and item flags."""


def _provider(name: str) -> Provider:
    if name == "record":
        from enrichment.providers.record import record_provider

        return record_provider
    if name == "learned":
        from enrichment.providers.learned import learned_provider

        return learned_provider
    if name == "reference":
        from enrichment.providers.reference import reference_provider

        return reference_provider
    if name == "web":
        from enrichment.providers.web import web_provider

        return web_provider
    if name == "llm":
        from enrichment.providers.llm import llm_provider

        return llm_provider
    raise ValueError(f"unknown provider {name!r} (record, learned, reference, web, llm)")


@collector_paused()
def enrich_items(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: EnrichOptions | None = None,
) -> list[ItemEnrichment]:
    """Enrich a batch of items; one `ItemEnrichment` per item, in order.

    Providers that fail for an item (a page that cannot be fetched, an LLM timeout) flag it and
    contribute nothing; they never raise for one item's trouble.
    """
    options = options or EnrichOptions()
    if options.fetcher is None and {"web", "llm"} & set(options.providers) and options.web_search:
        from enrichment.fetch import FetchPolicy, SafeFetcher

        policy = FetchPolicy(allowed_domains=tuple(options.allowed_domains))
        with SafeFetcher(policy=policy) as fetcher:
            return enrich_items(items, schema, replace(options, fetcher=fetcher))
    providers = [_provider(name) for name in options.providers]
    results = [ItemEnrichment(index=i, original=dict(item)) for i, item in enumerate(items)]
    cache: dict[tuple[str, type, Any], tuple[Any, FieldIssue | None]] = {}
    existing = [_existing(item, schema, cache) for item in items]
    wanted: dict[int, frozenset[str]]
    if options.check_existing:
        every = frozenset(schema.names)  # shared until `_settle` narrows an item's set
        wanted = dict.fromkeys(range(len(items)), every)
    else:
        wanted = {
            i: frozenset(f.name for f in schema.fields if f.name not in existing[i] or f.merge)
            for i in range(len(items))
        }
    coerced: dict[int, dict[str, list[tuple[Evidence, Any]]]] = {}
    verdicts: _Verdicts = {}
    fields = {f.name: f for f in schema.fields}
    for position, provider in enumerate(providers):
        if not any(wanted.values()):
            break
        taken = False
        for found in provider(items, schema, options, wanted):
            if isinstance(found, ItemFlag):
                if found.flag not in results[found.item].flags:
                    results[found.item].flags.append(found.flag)
                continue
            if isinstance(found, ItemUsage):
                results[found.item].tokens += found.tokens
                continue
            taken = _take(found, fields, coerced, results, cache) or taken
        if taken and position + 1 < len(providers):  # no new evidence, nothing newly settled
            _settle(coerced, wanted, options.thresholds, verdicts)
    for item, result in enumerate(results):
        _decide(
            result,
            schema,
            existing[item],
            coerced.get(item, {}),
            options.thresholds,
            verdicts.get(item, {}),
        )
    _judge(results, schema, options)
    return results


def _judge(results: list[ItemEnrichment], schema: OutputSchema, options: EnrichOptions) -> None:
    """`validate_semantics` and `quality_prompt`: by the LLM when one is configured for
    quality, else by the deterministic heuristics."""
    from enrichment.quality import check_semantics, score_quality, score_quality_llm

    if options.validate_semantics:
        for result in results:
            result.field_issues.extend(check_semantics(result, schema))
    if options.quality_prompt is None:
        return
    if options.llm is not None and options.llm.configured:
        from llm.client import LLMClient

        with LLMClient(options.llm) as client:
            score_quality_llm(results, schema, options.quality_prompt, client)
        return
    for result in results:
        result.quality = score_quality(result, schema, options.quality_prompt)


_KEYED_AS_IS = str | int | float
"""Raw values a coercion is cached under as they are (others by their repr); built once, not
per call."""


def _coerced(
    spec: OutputField, raw: Any, cache: dict[tuple[str, type, Any], tuple[Any, FieldIssue | None]]
) -> tuple[Any, FieldIssue | None]:
    """`spec.coerce(raw)`, once per distinct raw value in a batch."""
    # Keyed by type too: 1, 1.0 and True are equal keys but coerce differently.
    key = (spec.name, type(raw), raw if isinstance(raw, _KEYED_AS_IS) else repr(raw))
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = spec.coerce(raw)
    return hit


def _existing(
    item: dict[str, Any],
    schema: OutputSchema,
    cache: dict[tuple[str, type, Any], tuple[Any, FieldIssue | None]],
) -> dict[str, Any]:
    """The item's own non-empty values for schema fields, coerced (kept raw if they do not fit:
    an existing value is never dropped)."""
    out: dict[str, Any] = {}
    for f in schema.fields:
        if f.name not in item:
            continue
        value, issue = _coerced(f, item[f.name], cache)
        if value is not None:
            out[f.name] = value
        elif issue is not None:
            out[f.name] = item[f.name]
    return out


def _take(
    evidence: Evidence,
    fields: dict[str, OutputField],
    coerced: dict[int, dict[str, list[tuple[Evidence, Any]]]],
    results: list[ItemEnrichment],
    cache: dict[tuple[str, type, Any], tuple[Any, FieldIssue | None]],
) -> bool:
    """Add the evidence to its item's field, coerced; False when it is not taken (no such
    field, or a value that does not fit: noted as a warning)."""
    spec = fields.get(evidence.field)
    if spec is None:
        return False
    value, issue = _coerced(spec, evidence.value, cache)
    if value is None:
        if issue is not None:
            results[evidence.item].field_issues.append(
                FieldIssue(
                    spec.name,
                    "warning",
                    f"{evidence.provider} value from {evidence.source} rejected: {issue.message}",
                    issue.validator,
                )
            )
        return False
    coerced.setdefault(evidence.item, {}).setdefault(spec.name, []).append((evidence, value))
    return True


_Verdicts = dict[int, dict[str, tuple[int, Verdict]]]
"""Per item and field, the verdict last combined and how many pieces it was combined from."""


def _verdict(
    verdicts: dict[str, tuple[int, Verdict]], name: str, pieces: list[tuple[Evidence, Any]]
) -> Verdict:
    """`combine(pieces)`, once per field until new evidence arrives: pieces are only ever
    appended to, so an unchanged count is an unchanged list."""
    known = verdicts.get(name)
    if known is not None and known[0] == len(pieces):
        return known[1]
    verdict = combine(pieces)
    verdicts[name] = (len(pieces), verdict)
    return verdict


def _settle(
    coerced: dict[int, dict[str, list[tuple[Evidence, Any]]]],
    wanted: dict[int, frozenset[str]],
    thresholds: Thresholds,
    verdicts: _Verdicts,
) -> None:
    """Stop asking later providers for fields already found at or above auto_apply."""
    auto_apply = thresholds.auto_apply
    for item, by_field in coerced.items():
        still = wanted[item]
        if not still:
            continue
        known = verdicts.setdefault(item, {})
        settled = [
            name
            for name, pieces in by_field.items()
            if name in still and _verdict(known, name, pieces).confidence >= auto_apply
        ]
        for name in settled:  # one at a time, as the set was always narrowed
            still = still - {name}
        wanted[item] = still


def _decide(
    result: ItemEnrichment,
    schema: OutputSchema,
    existing: dict[str, Any],
    found: dict[str, list[tuple[Evidence, Any]]],
    thresholds: Thresholds,
    verdicts: dict[str, tuple[int, Verdict]],
) -> None:
    notes: list[str] = []
    issues = result.field_issues
    reject, auto_apply = thresholds.reject, thresholds.auto_apply
    for spec in schema.fields:
        name = spec.name
        pieces = found.get(name)
        if not pieces:
            if spec.required and name not in existing:
                issues.append(
                    FieldIssue(name, "error", "required field: no evidence found", "required")
                )
            continue
        verdict = _verdict(verdicts, name, pieces)
        explanation = _explain(verdict, pieces)
        confidence = verdict.confidence
        if verdict.alternatives:  # disputed
            shown = "; ".join(f"{v!r} ({', '.join(s)})" for v, _, s in verdict.alternatives[:3])
            issues.append(
                FieldIssue(name, "warning", f"sources disagree; other values: {shown}", "agreement")
            )
        if confidence < reject:
            result.decisions[name] = "rejected"
            issues.append(
                FieldIssue(
                    name,
                    "info",
                    f"{verdict.value!r} found ({explanation}) but confidence "
                    f"{confidence:.2f} is below {reject}; not used",
                    "confidence",
                )
            )
            continue
        if name in existing:
            _against_existing(result, spec, existing[name], verdict, explanation)
            continue
        decision = "applied" if confidence >= auto_apply else "review"
        _write(result, spec, verdict.value, verdict, explanation, decision)
        if decision == "review":
            issues.append(
                FieldIssue(
                    name,
                    "warning",
                    f"confidence {confidence:.2f} is below auto-apply {auto_apply}; review",
                    "confidence",
                )
            )
        notes.append(f"{name} from {explanation}")
    if result.conflicts:
        result.flags.append("conflicting_existing_values")
    if any(i.validator == "agreement" for i in result.field_issues):
        result.flags.append("sources_disagree")
    result.reasoning = "; ".join(notes) if notes else "no new values with evidence"


def _write(
    result: ItemEnrichment,
    spec: OutputField,
    value: Any,
    verdict: Verdict,
    explanation: str,
    decision: str,
) -> None:
    name = spec.name
    result.values[name] = spec.render(value)
    result.sources[name] = list(verdict.sources)
    result.explanations[name] = explanation
    result.confidence[name] = verdict.confidence
    result.decisions[name] = decision
    result.providers[name] = list(verdict.providers)
    result.methods[name] = list(verdict.methods)


def _against_existing(
    result: ItemEnrichment,
    spec: OutputField,
    current: Any,
    verdict: Verdict,
    explanation: str,
) -> None:
    if spec.type == "array" and spec.merge and isinstance(current, list):
        keys = {value_key(v) for v in current}
        added = [v for v in verdict.value if value_key(v) not in keys]
        if added:
            verdict_sources = list(verdict.sources)
            result.values[spec.name] = list(current) + added
            result.sources[spec.name] = [INPUT, *verdict_sources]
            result.explanations[spec.name] = f"merged {added!r} from {explanation}"
            result.confidence[spec.name] = verdict.confidence
            result.decisions[spec.name] = "merged"
            result.providers[spec.name] = list(verdict.providers)
            result.methods[spec.name] = list(verdict.methods)
        return
    if value_key(current) == value_key(verdict.value):
        result.sources[spec.name] = list(dict.fromkeys([INPUT, *verdict.sources]))
        result.explanations[spec.name] = f"existing value confirmed by {explanation}"
        result.confidence[spec.name] = verdict.confidence
        result.decisions[spec.name] = "confirmed"
        return
    result.decisions[spec.name] = "conflict"
    result.conflicts.append(
        FieldConflict(
            field=spec.name,
            existing=current,
            proposed=spec.render(verdict.value),
            confidence=verdict.confidence,
            sources=verdict.sources,
            explanation=explanation,
        )
    )
    result.field_issues.append(
        FieldIssue(
            spec.name,
            "warning",
            f"existing value {current!r} differs from found {spec.render(verdict.value)!r} "
            f"({explanation}); kept existing, conflict opened",
            "conflict",
        )
    )


def _explain(verdict: Verdict, pieces: list[tuple[Evidence, Any]]) -> str:
    """`json-ld on https://a/x; spec-table on https://b/y ("Weight: 1.2 kg")`."""
    if len(pieces) == 1:
        evidence = pieces[0][0]
        where = "item text" if evidence.source == INPUT else evidence.source
        quote = f" ({evidence.quote[:160]})" if evidence.quote else ""
        return f"{evidence.method} on {where}{quote}"
    parts: list[str] = []
    seen: set[tuple[str, str]] = set()
    chosen = value_key(verdict.value)
    for evidence, value in pieces:
        if value_key(value) != chosen or (evidence.source, evidence.method) in seen:
            continue
        seen.add((evidence.source, evidence.method))
        where = "item text" if evidence.source == INPUT else evidence.source
        text = f"{evidence.method} on {where}"
        if evidence.quote:
            text += f" ({evidence.quote[:160]})"
        parts.append(text)
    return "; ".join(parts)
