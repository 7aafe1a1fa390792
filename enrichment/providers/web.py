"""The web provider: candidate pages per item, fetched safely, their markup mapped onto fields.

Candidate pages, in order: `options.urls` (for every item), the item's own URL keys (`url`,
`product_url`, `website`, …), `options.url_templates` filled from the item's keys
(`https://shop.example/p/{part_number}`), pages the `allowed_domains` sitemaps list for the
item's identifiers (`enrichment.discover`), and — with a search backend (`options.search`,
SearxNG) — the top `search_pages` results of a search for the item's name, brand and part
number. With `allowed_domains`, pages (and search results) elsewhere are skipped before
anything is fetched; every page goes through `SafeFetcher`. Each distinct page is fetched once
per batch (and once per cache TTL overall) and parsed once.

Reliability per method (× how well the label names the field, `enrichment.matching`):
JSON-LD / microdata / RDFa 0.85, OpenGraph and spec tables 0.75, tech fingerprints 0.8; a page
found by search counts `SEARCH_DISCOUNT` of that (it may be another product), so a value from
one searched page alone waits for review.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from enrichment.evidence import Evidence
from enrichment.fetch import FetchError, Page, SafeFetcher, domain_allowed
from enrichment.firmographics import EMPLOYEE_BUCKETS, employee_bucket
from enrichment.matching import field_key, label_quality
from enrichment.output_schema import OutputField, OutputSchema
from enrichment.providers.flags import ItemFlag
from enrichment.search import SearchError, SearchResult
from enrichment.structured import PageData, PageFact, extract_page

PROVIDER = "web"
RELIABILITY = {
    "json-ld": 0.85,
    "microdata": 0.85,
    "rdfa": 0.85,
    "opengraph": 0.75,
    "spec-table": 0.75,
    "fingerprint": 0.8,
}
_UN_CEFACT = {
    "KGM": "kg",
    "GRM": "g",
    "MGM": "mg",
    "LBR": "lb",
    "ONZ": "oz",
    "MMT": "mm",
    "CMT": "cm",
    "MTR": "m",
    "INH": "in",
    "FOT": "ft",
    "WTT": "W",
    "KWT": "kW",
    "VLT": "V",
    "AMP": "A",
    "LTR": "l",
    "MLT": "ml",
    "HTZ": "Hz",
    "CEL": "°C",
}
SEARCH_DISCOUNT = 0.9
_QUERY_KEYS = (
    ("name", "title", "product_name", "product_title", "company_name", "supplier"),
    ("brand", "manufacturer"),
    ("mpn", "part_number", "manufacturer_part_number", "model", "model_number"),
    ("gtin", "ean", "upc"),
)
_SCHEMA_VALUE = re.compile(r"^https?://schema\.org/(\w+)$")
_YEAR = re.compile(r"^\s*(\d{4})\b")


def page_plan(
    items: Sequence[dict[str, Any]],
    options: Any,
    wanted: dict[int, frozenset[str]],
    hits: dict[int, list[SearchResult]] | None = None,
) -> dict[int, list[str]]:
    """Candidate pages for every item that still wants a field: given, templated, the item's
    own, (with `allowed_domains`) pages the allowed sites' sitemaps list for it, and (with a
    search backend) its search results (`hits`, searched here when not given)."""
    plans = {i: candidate_urls(items[i], options) for i, names in wanted.items() if names}
    if options.allowed_domains and plans:
        from enrichment.discover import discover_pages

        found = discover_pages(
            options.fetcher, options.allowed_domains, {i: items[i] for i in plans}
        )
        for i, pages in found.items():
            plans[i] = list(dict.fromkeys(plans[i] + pages))
    if hits is None:
        hits, _ = search_hits(items, options, wanted)
    for i, results in hits.items():
        plans[i] = list(dict.fromkeys(plans.get(i, []) + [r.url for r in results]))
    return {i: urls for i, urls in plans.items() if urls}


def search_query(item: dict[str, Any]) -> str:
    """What to search for an item: its name, brand, part number and GTIN, as given."""
    lowered = {str(k).casefold(): v for k, v in item.items()}
    parts: list[str] = []
    for keys in _QUERY_KEYS:
        value = next((lowered[k] for k in keys if _text(lowered.get(k))), None)
        if value is not None and str(value).strip() not in parts:
            parts.append(str(value).strip())
    return " ".join(parts)


def search_hits(
    items: Sequence[dict[str, Any]], options: Any, wanted: dict[int, frozenset[str]]
) -> tuple[dict[int, list[SearchResult]], list[ItemFlag]]:
    """Per item still wanting a field, the first `search_pages` search results within
    `allowed_domains` (results elsewhere are ignored, never fetched), and flags for
    searches that failed."""
    search = getattr(options, "search", None)
    if search is None or not options.web_search or options.search_pages <= 0:
        return {}, []
    hits: dict[int, list[SearchResult]] = {}
    flags: list[ItemFlag] = []
    for i, names in wanted.items():
        query = search_query(items[i]) if names else ""
        if not query:
            continue
        try:
            results = search.search(query)
        except SearchError as exc:
            flags.append(ItemFlag(i, f"search_failed: {exc}"))
            continue
        kept = [
            r
            for r in results
            if not options.allowed_domains
            or domain_allowed(urlsplit(r.url).hostname or "", options.allowed_domains)
        ]
        if kept:
            hits[i] = kept[: options.search_pages]
    return hits, flags


def _text(value: Any) -> bool:
    return value is not None and bool(str(value).strip())


def candidate_urls(item: dict[str, Any], options: Any) -> list[str]:
    urls: list[str] = list(options.urls)
    for key in options.url_keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            urls.append(value if "://" in value else f"https://{value}/")
    for template in options.url_templates:
        filled = _fill(template, item)
        if filled:
            urls.append(filled)
    if options.allowed_domains:
        allowed = options.allowed_domains
        urls = [u for u in urls if domain_allowed(urlsplit(u).hostname or "", allowed)]
    return list(dict.fromkeys(urls))


def _fill(template: str, item: dict[str, Any]) -> str | None:
    names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
    values = {}
    for name in names:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        values[name] = quote(str(value).strip(), safe="")
    return template.format(**values)


def web_provider(
    items: Sequence[dict[str, Any]],
    schema: OutputSchema,
    options: Any,
    wanted: dict[int, frozenset[str]],
) -> list[Evidence | ItemFlag]:
    if not options.web_search:
        return []
    hits, flags = search_hits(items, options, wanted)
    plans = page_plan(items, options, wanted, hits)
    out: list[Evidence | ItemFlag] = list(flags)
    if not plans:
        return out
    searched = {(i, r.url): r for i, results in hits.items() for r in results}
    fetcher: SafeFetcher = options.fetcher  # the engine always provides one
    fetched = fetcher.fetch_many(u for urls in plans.values() for u in urls)
    parsed: dict[str, PageData] = {}
    for i, urls in plans.items():
        fields = [f for f in schema.fields if f.name in wanted[i]]
        for url in urls:
            result = fetched[url]
            if isinstance(result, FetchError):
                out.append(ItemFlag(i, f"fetch_failed: {result}"))
                continue
            page = _parse(result, parsed)
            hit = searched.get((i, url))
            for evidence in page_evidence(i, page, fields):
                out.append(evidence if hit is None else _searched(evidence, hit))
    return out


def _searched(evidence: Evidence, hit: SearchResult) -> Evidence:
    """Evidence from a page a search found: discounted, and saying which search found it."""
    engine = f" via {hit.engine}" if hit.engine else ""
    return replace(
        evidence,
        method=f"{evidence.method} (searched{engine})",
        reliability=round(evidence.reliability * SEARCH_DISCOUNT, 3),
        quote=f'{evidence.quote} [search "{hit.query}"]'.strip(),
    )


def _parse(page: Page, parsed: dict[str, PageData]) -> PageData:
    data = parsed.get(page.sha256 + page.final_url)
    if data is None:
        data = parsed[page.sha256 + page.final_url] = extract_page(page.text, page.final_url)
    return data


def page_evidence(item: int, page: PageData, fields: Sequence[OutputField]) -> Iterator[Evidence]:
    """Evidence for `fields` from one parsed page, cited by the page's URL."""
    for spec in fields:
        if field_key(spec.name) == "tech stack" and page.tech:
            yield Evidence(
                item=item,
                field=spec.name,
                value=list(page.tech),
                source=page.url,
                provider=PROVIDER,
                method="fingerprint",
                reliability=RELIABILITY["fingerprint"],
                quote="page scripts/meta: " + ", ".join(page.tech),
            )
            continue
        for fact in page.facts:
            quality = label_quality(fact.path, spec, entity=fact.entity)
            if quality <= 0:
                continue
            value = adapt(fact, spec)
            if value is None:
                continue
            yield Evidence(
                item=item,
                field=spec.name,
                value=value,
                source=page.url,
                provider=PROVIDER,
                method=fact.method,
                reliability=round(RELIABILITY[fact.method] * quality, 3),
                quote=fact.quote,
            )


def adapt(fact: PageFact, spec: OutputField) -> Any:
    """The fact's value as the field expects it before coercion: units attached, schema.org
    enumeration URLs shortened, dates to years, head counts to ranges."""
    value: Any = fact.value
    found = _SCHEMA_VALUE.match(value)
    if found:
        value = found.group(1)
    if fact.unit:
        value = f"{value} {_UN_CEFACT.get(fact.unit.upper(), fact.unit)}"
    key = field_key(spec.name)
    if key == "founding year":
        year = _YEAR.match(value)
        return int(year.group(1)) if year else None
    if key in ("employee range", "employees") and spec.type == "string":
        digits = value.replace(",", "").strip()
        if digits.isdigit():
            return employee_bucket(int(digits))
        return value if value in EMPLOYEE_BUCKETS else None
    return value
