"""Facts a web page states in markup: schema.org (JSON-LD, microdata, RDFa), OpenGraph, and
HTML spec tables (`<table>` label/value rows, `<dl>` lists).

Markup is parsed by `extruct`; this module flattens what it returns into `PageFact`s — a property
path (`offers.price`, `brand.name`, or a spec-table label), its text, the markup kind and the
schema.org type of the entity it belongs to — which the web provider maps onto output fields.
A page's own software (generator meta, script and stylesheet hosts) is read as a tech stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ENTITY_TYPES = ("Product", "Organization", "Corporation", "LocalBusiness", "ProductModel")
_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/")
_SPEC_LABEL_MAX = 60
_SPEC_VALUE_MAX = 300


@dataclass(frozen=True)
class PageFact:
    """One property value a page states.

    Attributes:
        path: Dotted property path inside the entity (`offers.price`), an OpenGraph property
            without its prefix (`price:amount`), or a spec-table label as written.
        value: The value as text (numbers and booleans as written).
        method: `json-ld`, `microdata`, `rdfa`, `opengraph`, `spec-table`.
        entity: The schema.org type the fact belongs to (`Product`, `Organization`; `page` for
            OpenGraph and spec tables).
        unit: A unit the markup states next to the value (`unitText`/`unitCode`), if any.
    """

    path: str
    value: str
    method: str
    entity: str
    unit: str | None = None

    @property
    def quote(self) -> str:
        shown = f"{self.value} {self.unit}" if self.unit else self.value
        return f"{self.path}: {shown[:120]}"


@dataclass
class PageData:
    url: str
    facts: list[PageFact] = field(default_factory=list)
    tech: list[str] = field(default_factory=list)
    text: str = ""
    """The page's visible text (for the LLM provider, which may only quote evidence)."""


def extract_page(html: str, url: str, *, with_text: bool = False) -> PageData:
    """Every fact the page's markup states, in document order per markup kind."""
    import extruct
    from extruct.utils import parse_html
    from lxml.etree import ParserError

    page = PageData(url=url)
    if not html.strip():
        return page
    try:
        document = parse_html(html.encode("utf-8", "replace"), encoding="utf-8")
    except (ValueError, ParserError):
        return page
    tree = document
    data = extruct.extract(
        html,
        base_url=url,
        syntaxes=["json-ld", "microdata", "opengraph", "rdfa"],
        uniform=True,
        errors="ignore",
    )
    for method in ("json-ld", "microdata"):
        for entity in _entities(data.get(method) or []):
            page.facts.extend(_flatten(entity, method))
    for entity in _rdfa_entities(data.get("rdfa") or []):
        page.facts.extend(_flatten(entity, "rdfa"))
    for og in data.get("opengraph") or []:
        page.facts.extend(_opengraph(og))
    page.facts.extend(spec_rows(tree))
    page.tech = tech_stack(tree, html)
    if with_text:
        page.text = visible_text(tree)
    return page


def _local(name: str) -> str:
    for prefix in _SCHEMA_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _types(entity: dict[str, Any]) -> list[str]:
    kind = entity.get("@type") or []
    kinds = kind if isinstance(kind, list) else [kind]
    return [_local(str(k)) for k in kinds]


def _entities(items: list[Any]) -> list[dict[str, Any]]:
    """Product/Organization entities, also inside `@graph` and as nested values."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            if "@graph" in node:
                walk(node["@graph"])
            if any(t in ENTITY_TYPES for t in _types(node)):
                found.append(node)
                return
            for key, value in node.items():
                if not key.startswith("@"):
                    walk(value)

    walk(items)
    return found


def _flatten(entity: dict[str, Any], method: str) -> list[PageFact]:
    kinds = _types(entity)
    kind = next((t for t in kinds if t in ENTITY_TYPES), kinds[0] if kinds else "Thing")
    facts: list[PageFact] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if depth > 4 or value is None:
            return
        if isinstance(value, list):
            for v in value:
                walk(prefix, v, depth)
            return
        if isinstance(value, dict):
            if "@value" in value:
                walk(prefix, value["@value"], depth)
                return
            if _is_property_value(value):
                label = str(value.get("name") or value.get("propertyID"))
                unit = value.get("unitText") or value.get("unitCode")
                facts.append(
                    PageFact(label, _text(value.get("value")), method, kind, _str_or_none(unit))
                )
                return
            if "value" in value and (
                "unitText" in value or "unitCode" in value or "QuantitativeValue" in _types(value)
            ):
                unit = value.get("unitText") or value.get("unitCode")
                facts.append(
                    PageFact(prefix, _text(value["value"]), method, kind, _str_or_none(unit))
                )
                return
            for key, sub in value.items():
                if key.startswith("@"):
                    continue
                walk(f"{prefix}.{_local(key)}" if prefix else _local(key), sub, depth + 1)
            return
        text = _text(value)
        if text:
            facts.append(PageFact(prefix, text, method, kind))

    for key, value in entity.items():
        if not key.startswith("@"):
            walk(_local(key), value, 0)
    return facts


def _is_property_value(value: dict[str, Any]) -> bool:
    return "PropertyValue" in _types(value) and bool(value.get("name") or value.get("propertyID"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(str(value).split())[:_SPEC_VALUE_MAX] if value is not None else ""


def _str_or_none(value: Any) -> str | None:
    return str(value) if value else None


def _rdfa_entities(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """extruct's RDFa comes as expanded JSON-LD (full IRIs, node references): rebuild nested
    entities for the schema.org types we read."""
    by_id = {n.get("@id"): n for n in nodes if isinstance(n, dict) and n.get("@id")}

    def build(node: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": [_local(t) for t in node.get("@type", [])]}
        for key, values in node.items():
            if key.startswith("@") or not key.startswith(_SCHEMA_PREFIXES):
                continue
            items = []
            for v in values if isinstance(values, list) else [values]:
                if isinstance(v, dict) and "@value" in v:
                    items.append(v["@value"])
                elif isinstance(v, dict) and "@id" in v:
                    ref = by_id.get(v["@id"])
                    if ref is not None and depth < 4 and len(ref) > 1:
                        items.append(build(ref, depth + 1))
                    else:
                        items.append(_local(v["@id"]))
            out[_local(key)] = items[0] if len(items) == 1 else items
        return out

    return [
        build(n, 0)
        for n in nodes
        if isinstance(n, dict) and any(_local(t) in ENTITY_TYPES for t in n.get("@type", []))
    ]


def _opengraph(og: dict[str, Any]) -> list[PageFact]:
    facts = []
    for key, value in og.items():
        if key.startswith("@"):
            continue
        name = key.split(":", 1)[1] if ":" in key else key
        for v in value if isinstance(value, list) else [value]:
            text = _text(v)
            if text:
                facts.append(PageFact(name, text, "opengraph", "page"))
    return facts


def spec_rows(tree: Any) -> list[PageFact]:
    """Label/value pairs from two-cell table rows and definition lists."""
    facts: list[PageFact] = []
    for row in tree.iter("tr"):
        cells = [c for c in row if isinstance(c.tag, str) and c.tag in ("th", "td")]
        if len(cells) != 2:
            continue
        label, value = (_cell_text(c) for c in cells)
        if _plausible(label, value):
            facts.append(PageFact(label.rstrip(":"), value, "spec-table", "page"))
    for dl in tree.iter("dl"):
        term: str | None = None
        for child in dl:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "dt":
                term = _cell_text(child)
            elif child.tag == "dd" and term:
                value = _cell_text(child)
                if _plausible(term, value):
                    facts.append(PageFact(term.rstrip(":"), value, "spec-table", "page"))
                term = None
    return facts


def _cell_text(element: Any) -> str:
    return " ".join(" ".join(element.itertext()).split())


def _plausible(label: str, value: str) -> bool:
    return (
        0 < len(label) <= _SPEC_LABEL_MAX
        and 0 < len(value) <= _SPEC_VALUE_MAX
        and any(ch.isalpha() for ch in label)
    )


def visible_text(tree: Any, limit: int = 20_000) -> str:
    """The page's readable text (scripts, styles and templates dropped), whitespace-collapsed."""
    parts: list[str] = []
    size = 0
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "template"):
            continue
        for piece in (element.text, element.tail):
            if piece and piece.strip():
                text = " ".join(piece.split())
                parts.append(text)
                size += len(text) + 1
        if size >= limit:
            break
    return " ".join(parts)[:limit]


# -- tech stack ----------------------------------------------------------------------------

_FINGERPRINTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("Shopify", r"cdn\.shopify\.com|Shopify\.theme"),
        ("WordPress", r"/wp-content/|/wp-includes/"),
        ("WooCommerce", r"woocommerce"),
        ("Magento", r"Magento_|/static/version\d+/frontend/|mage/cookies"),
        ("BigCommerce", r"cdn\d*\.bigcommerce\.com"),
        ("Salesforce Commerce Cloud", r"demandware\.(?:static|store)|/on/demandware"),
        ("Squarespace", r"static\d*\.squarespace\.com"),
        ("Wix", r"static\.wixstatic\.com|wix-bolt"),
        ("Drupal", r"/sites/default/files/|Drupal\.settings"),
        ("Google Tag Manager", r"googletagmanager\.com/gtm\.js|GTM-[A-Z0-9]{4,}"),
        ("Google Analytics", r"google-analytics\.com/|gtag/js\?id=(?:G|UA)-"),
        ("Facebook Pixel", r"connect\.facebook\.net/[^\"']*/fbevents\.js"),
        ("Hotjar", r"static\.hotjar\.com"),
        ("HubSpot", r"js\.hs-scripts\.com|js\.hsforms\.net"),
        ("Segment", r"cdn\.segment\.com"),
        ("Klaviyo", r"static\.klaviyo\.com"),
        ("Stripe", r"js\.stripe\.com"),
        ("jQuery", r"jquery(?:\.min)?(?:-[\d.]+)?\.js"),
        ("React", r"react(?:-dom)?(?:\.production)?(?:\.min)?\.js|data-reactroot"),
        ("Next.js", r"/_next/static/"),
        ("Vue.js", r"vue(?:\.runtime)?(?:\.min)?\.js|data-v-[0-9a-f]{8}"),
        ("Angular", r"ng-version="),
        ("Bootstrap", r"bootstrap(?:\.bundle)?(?:\.min)?\.(?:js|css)"),
        ("Cloudflare", r"cdnjs\.cloudflare\.com|/cdn-cgi/"),
        ("Optimizely", r"cdn\.optimizely\.com"),
        ("Adobe Analytics", r"assets\.adobedtm\.com|s_code\.js"),
    )
)


def tech_stack(tree: Any, html: str) -> list[str]:
    """Software a page shows it runs on: the generator meta tag and known script/link/markup
    fingerprints. Each name once, in fingerprint order."""
    found: dict[str, None] = {}
    for meta in tree.iter("meta"):
        if (meta.get("name") or "").casefold() == "generator" and meta.get("content"):
            generator = re.split(r"\s+\d", meta.get("content").strip())[0]
            found.setdefault(generator, None)
    for name, pattern in _FINGERPRINTS:
        if pattern.search(html):
            found.setdefault(name, None)
    return list(found)
