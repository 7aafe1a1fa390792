"""Pages under `allowed_domains` that are about an item, found through the sites' sitemaps.

When the user names the sites to trust but not the pages, each site's `sitemap.xml` (and the
sitemaps its robots.txt lists, and one level of sitemap index) is read once per batch, and a page
is a candidate for an item when its URL path contains one of the item's identifiers (part number,
MPN, SKU, GTIN, model; at least 4 characters, compared without punctuation). At most
`MAX_PAGES_PER_ITEM` pages per item, so a short code cannot pull in a whole catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from enrichment.fetch import FetchError, SafeFetcher

MAX_PAGES_PER_ITEM = 3
MAX_SITEMAP_URLS = 50_000
MAX_CHILD_SITEMAPS = 10
IDENTIFIER_KEYS = (
    "part_number",
    "mpn",
    "manufacturer_part_number",
    "mfr_part_no",
    "sku",
    "model",
    "model_number",
    "gtin",
    "ean",
    "upc",
)
_LOC = re.compile(r"<loc>\s*([^<\s]+)\s*</loc>", re.IGNORECASE)
_MIN_IDENTIFIER = 4


def site_origin(entry: str) -> str:
    """`example.com` → `https://example.com`; an entry with a scheme keeps it (and its port)."""
    if "://" in entry:
        parts = urlsplit(entry.strip())
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{entry.strip().strip('/')}"


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def sitemap_pages(fetcher: SafeFetcher, origin: str) -> list[str]:
    """Page URLs a site's sitemaps list (empty when it has none or they cannot be read)."""
    queue = [origin + "/sitemap.xml"]
    try:
        robots = fetcher.fetch(origin + "/robots.txt").text
        queue += re.findall(r"(?im)^\s*sitemap:\s*(\S+)", robots)
    except FetchError:
        pass
    pages: list[str] = []
    seen: set[str] = set()
    children = 0
    while queue and len(pages) < MAX_SITEMAP_URLS:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            text = fetcher.fetch(url).text
        except FetchError:
            continue
        for loc in _LOC.findall(text):
            if loc.endswith(".xml") or "sitemap" in urlsplit(loc).path.casefold():
                if children < MAX_CHILD_SITEMAPS:
                    children += 1
                    queue.append(loc)
            else:
                pages.append(loc)
    return pages[:MAX_SITEMAP_URLS]


def item_identifiers(item: dict[str, Any]) -> list[str]:
    lowered = {str(k).casefold(): v for k, v in item.items()}
    found = []
    for key in IDENTIFIER_KEYS:
        value = lowered.get(key)
        if value is not None and len(_squash(str(value))) >= _MIN_IDENTIFIER:
            found.append(_squash(str(value)))
    return list(dict.fromkeys(found))


def discover_pages(
    fetcher: SafeFetcher, allowed_domains: Sequence[str], items: dict[int, dict[str, Any]]
) -> dict[int, list[str]]:
    """Candidate pages per item position, from the allowed sites' sitemaps."""
    wanted = {i: item_identifiers(item) for i, item in items.items()}
    wanted = {i: ids for i, ids in wanted.items() if ids}
    if not wanted or not allowed_domains:
        return {}
    pages = [p for entry in allowed_domains for p in sitemap_pages(fetcher, site_origin(entry))]
    paths = [(page, _squash(urlsplit(page).path)) for page in pages]
    found: dict[int, list[str]] = {}
    for i, identifiers in wanted.items():
        hits = [page for page, path in paths if any(code in path for code in identifiers)]
        if hits:
            found[i] = hits[:MAX_PAGES_PER_ITEM]
    return found
