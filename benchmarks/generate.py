"""Write synthetic supplier catalogues of any size (10k, 100k, 1M rows) for benchmarks.

Rows read like the bundled example, `examples/acme_supplier_catalog.csv`: same columns, same
families, brands, suppliers and mess, because the vocabulary and rendering are the example
generator's own (`examples/make_example.py`, loaded by path since `examples/` is not a package).
Rows are written one at a time from a generator, so memory stays flat whatever `n` is; the only
state kept is a bounded ring of recent products that are now and then listed again, so dedupe has
something to find.

    python benchmarks/generate.py --n 100000 --out /tmp/catalog_100k.csv
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from types import ModuleType

EXAMPLE_GENERATOR = Path(__file__).resolve().parents[1] / "examples" / "make_example.py"
FORMATS = ("csv", "jsonl")
RELIST_SHARE = 0.015
"""Share of rows that list a recent product again under a new SKU."""
_RECENT = 1024
"""Products remembered for relisting; bounded so memory does not grow with n."""


@lru_cache(maxsize=1)
def example_module() -> ModuleType:
    """The example generator, imported from its file once."""
    name = "skuflow_example_generator"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE_GENERATOR)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the example generator from {EXAMPLE_GENERATOR}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while classes are built
    spec.loader.exec_module(module)
    return module


def columns() -> list[str]:
    """The header every generated catalogue has (the example's)."""
    return list(example_module().COLUMNS)


def iter_records(n: int, *, seed: int = 0) -> Iterator[list[str]]:
    """Yield n catalogue rows in column order; SKUs increase, so they are unique for any n."""
    for row, _ in iter_listings(n, seed=seed):
        yield row


def iter_listings(n: int, *, seed: int = 0) -> Iterator[tuple[list[str], int]]:
    """Yield (row, product number): a relisted product repeats the number of its first
    listing, so rows sharing a number are the known duplicates (the dedupe benchmark's truth).
    Same draws as `iter_records`, so the rows are the same bytes."""
    example = example_module()
    r = random.Random(seed)
    families = example.FAMILIES
    cum_weights = list(accumulate(f.share for f in families))
    recent: list[tuple[object, int]] = []
    for index in range(n):
        number = example.sku_number(r, index)
        labelled = r.random() < example.LABELLED_SHARE
        if recent and r.random() < RELIST_SHARE:
            product, key = r.choice(recent)
            row = example.render_row(r, product, number=number, labelled=labelled, relisted=True)
            yield row, key
            continue
        product = example.make_product(r, r.choices(families, cum_weights=cum_weights)[0])
        if len(recent) < _RECENT:
            recent.append((product, index))
        else:
            recent[index % _RECENT] = (product, index)
        yield example.render_row(r, product, number=number, labelled=labelled), index


def generate_catalog(
    path: Path, n: int, *, seed: int = 0, fmt: str = "csv", truth: Path | None = None
) -> Path:
    """Stream n synthetic supplier records to `path`.

    Args:
        path: File to write; its folder is created if missing.
        n: Number of records.
        seed: Same seed, same bytes.
        fmt: `csv` (the example's header) or `jsonl` (one object per line, same keys).
        truth: Also write `sku,product` here: rows with the same product are one product
            listed again (the duplicates dedupe should find).

    Returns:
        The path written.

    Raises:
        ValueError: n is negative or fmt is not one of `FORMATS`.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = columns()
    truth_handle = truth.open("w", encoding="utf-8", newline="") if truth else None
    truth_writer = csv.writer(truth_handle, lineterminator="\n") if truth_handle else None
    if truth_writer:
        truth_writer.writerow(["sku", "product"])

    def rows_with_truth() -> Iterator[list[str]]:
        for row, key in iter_listings(n, seed=seed):
            if truth_writer:
                truth_writer.writerow([row[0], key])
            yield row

    rows = rows_with_truth()
    with path.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        else:
            for row in rows:
                handle.write(json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False))
                handle.write("\n")
    if truth_handle:
        truth_handle.close()
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic supplier catalogue.")
    parser.add_argument("--n", type=int, required=True, help="number of records")
    parser.add_argument("--out", type=Path, required=True, help="file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truth", type=Path, default=None, help="also write sku,product here")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default=None,
        help="default: from the file suffix (.jsonl), else csv",
    )
    args = parser.parse_args(argv)
    fmt = args.fmt or ("jsonl" if args.out.suffix == ".jsonl" else "csv")
    started = time.perf_counter()
    generate_catalog(args.out, args.n, seed=args.seed, fmt=fmt, truth=args.truth)
    elapsed = time.perf_counter() - started
    size_mb = args.out.stat().st_size / 1e6
    print(
        f"wrote {args.n:,} records ({size_mb:,.1f} MB) to {args.out} in {elapsed:.1f} s "
        f"({args.n / max(elapsed, 1e-9):,.0f} records/s)"
    )


if __name__ == "__main__":
    main()
