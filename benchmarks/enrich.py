"""Enrichment throughput: record-only enrichment of generated items, and markup extraction.

Prints records/s for `enrich_items` with the record provider alone (the item's own text) over
generated supplier rows (the same generator as `benchmarks/generate.py`), and pages/s for
`extract_page` (JSON-LD, microdata, RDFa, OpenGraph, spec tables, tech fingerprints) over the
stored pages in the shared data set: the extruct samples and every schema.org example, each
markup variant as its own page. Item generation and imports happen before the clock starts.
Both wall-clock and CPU-time rates are printed: on a shared machine the CPU-time rate is the
one that does not depend on what else is running.

    .venv/bin/python benchmarks/enrich.py [--records 100000] [--batch 10000] [--page-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED_HTML = Path(os.environ.get("SKUFLOW_SHARED_DATA", ROOT.parent / "shared" / "data")) / "html"

OUTPUT_SCHEMA = [
    {"name": "voltage", "type": "number", "unit": "V", "description": "Rated voltage"},
    {"name": "power", "type": "number", "unit": "W", "description": "Power"},
    {"name": "length_mm", "type": "number", "unit": "mm", "description": "Length"},
    {"name": "pack_size", "type": "integer", "description": "Pieces per pack"},
    {"name": "weight_kg", "type": "number", "unit": "kg", "description": "Weight"},
    {
        "name": "colour",
        "type": "string",
        "enum": ["Black", "Blue", "Red", "Yellow", "Green", "White", "Silver", "Orange", "Grey"],
        "description": "Colour",
    },
]


def generated_items(n: int) -> list[dict[str, str]]:
    from generate import columns, iter_records

    keys = [c.casefold().replace(" ", "_").replace("#", "id") for c in columns()]
    return [dict(zip(keys, row, strict=True)) for row in iter_records(n, seed=1)]


def bench_records(n: int, batch: int) -> None:
    from enrichment.engine import EnrichOptions, enrich_items
    from enrichment.output_schema import OutputSchema

    items = generated_items(n)
    schema = OutputSchema.parse(OUTPUT_SCHEMA)
    options = EnrichOptions(providers=("record",))
    enrich_items(items[:200], schema, options)  # warm caches and lazy imports
    started, cpu = time.perf_counter(), time.process_time()
    filled = conflicts = 0
    for start in range(0, n, batch):
        for result in enrich_items(items[start : start + batch], schema, options):
            filled += len(result.values)
            conflicts += len(result.conflicts)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"record-only enrichment: {n:,} records in {elapsed:.2f}s = {n / elapsed:,.0f} records/s "
        f"wall, {n / cpu:,.0f} records/s of CPU time "
        f"(batches of {batch:,}; {filled:,} values written, {conflicts:,} conflicts)"
    )


def stored_pages() -> list[tuple[str, str]]:
    pages = [
        (f"https://pages.example/{p.name}", p.read_text(encoding="utf-8"))
        for p in sorted((SHARED_HTML / "extruct_samples").glob("*.html"))
    ]
    examples = SHARED_HTML / "schemaorg_examples" / "schemaorg_product_examples.jsonl"
    for line in examples.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for kind in ("jsonld", "microdata", "rdfa"):
            if row.get(kind):
                body = f"<html><head></head><body>{row[kind]}</body></html>"
                pages.append((f"https://pages.example/{row.get('example_id')}/{kind}", body))
    return pages


def bench_pages(rounds: int) -> None:
    from enrichment.structured import extract_page

    pages = stored_pages()
    extract_page(pages[0][1], pages[0][0])
    started, cpu = time.perf_counter(), time.process_time()
    facts = 0
    size = 0
    for _ in range(rounds):
        for url, html in pages:
            facts += len(extract_page(html, url).facts)
            size += len(html)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    count = len(pages) * rounds
    print(
        f"page extraction: {count:,} pages ({size / 1e6:.1f} MB) in {elapsed:.2f}s = "
        f"{count / elapsed:,.1f} pages/s wall, {count / cpu:,.1f} pages/s of CPU time, "
        f"{size / 1e6 / elapsed:.2f} MB/s ({facts:,} facts)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--page-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    bench_records(args.records, args.batch)
    bench_pages(args.page_rounds)


if __name__ == "__main__":
    main()
