"""Matching figures: pair models on the public product-matching sets, and dedupe at scale.

1. For each set in `../shared/data/matching/`: train on `train.csv` → score `validation.csv`
   (the same functions `skuflow match train|score` call); precision / recall / F1 of the match
   class at the model's own threshold (chosen on out-of-fold training predictions, never on
   validation), training time, pairs scored per second.
2. Clustering a multi-merchant offer file from titles alone (no labels) with the model trained
   on the WDC Products (multi-shop) train pairs, through `skuflow dedupe`: pairwise precision /
   recall / F1 of the clusters against the offers' product ids, on two offer files —
   (a) the validation split's offers (893 offers, 493 products, at most two offers per product,
   every product with look-alikes: the corner-case split), and (b) the train and validation
   offers of half of the products (drawn by a hash of the product id) with a model trained only
   on the train pairs of the other half, so every product is unseen and has ~4 offers.
3. Dedupe of a generated catalogue with known duplicates (`benchmarks/generate.py --truth`)
   through the `skuflow dedupe` command in a child process: pairwise precision / recall / F1
   against the truth, wall time, the child's peak memory, candidate pairs per record.

    .venv/bin/python benchmarks/match.py                 # all three parts, 100k records
    .venv/bin/python benchmarks/match.py --sets none --records 1000000 --no-offers
    .venv/bin/python benchmarks/match.py --sets none --records 0   # clustering only
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "matching"
SETS = ("abt_buy", "amazon_google", "walmart_amazon", "wdc_products")
GENERATED_TEXT = "Product Name,Brand,MFR Part No,UPC,Unit Price"


def pair_sets(names: list[str], folder: Path) -> None:
    from matching.files import score_pairs, train_from_pairs
    from matching.model import load_model

    print(f"## Pair models: train → validation ({folder})")
    print("| set | train pairs | threshold | P | R | F1 | train s | pairs scored/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model_path = Path(tmp) / f"{name}.joblib"
            trained = train_from_pairs(
                pairs_path=folder / name / "train.csv", model_path=model_path
            )
            scored = score_pairs(
                model=load_model(model_path),
                pairs_path=folder / name / "validation.csv",
                output_path=Path(tmp) / f"{name}.csv",
            )
            print(
                f"| {name} | {trained.pairs:,} | {trained.threshold:.3f} | "
                f"{scored.precision:.3f} | {scored.recall:.3f} | **{scored.f1:.3f}** | "
                f"{trained.seconds:.1f} | {scored.pairs / scored.seconds:,.0f} |",
                flush=True,
            )


WDC = "wdc_products"


def _offers(frame: pd.DataFrame) -> pd.DataFrame:
    """Each distinct offer of a pair file once: id, title, product."""
    sides = [
        frame[[f"id_{s}", f"title_{s}", f"cluster_id_{s}"]].set_axis(
            ["id", "title", "product"], axis=1
        )
        for s in ("left", "right")
    ]
    return pd.concat(sides, ignore_index=True).drop_duplicates("id").reset_index(drop=True)


def _half(product: pd.Series) -> pd.Series:
    return product.map(lambda c: zlib.crc32(str(c).encode()) % 2)


def cluster_offer_files(folder: Path, work: Path) -> None:
    """Clustering figures (2. in the module docstring) through `skuflow dedupe`."""
    from matching.files import train_from_pairs

    train = pd.read_csv(folder / WDC / "train.csv", dtype=str, keep_default_na=False)
    valid = pd.read_csv(folder / WDC / "validation.csv", dtype=str, keep_default_na=False)
    full_model = work / "wdc_train.joblib"
    train_from_pairs(pairs_path=folder / WDC / "train.csv", model_path=full_model)

    half_l, half_r = _half(train["cluster_id_left"]), _half(train["cluster_id_right"])
    half_pairs = work / "wdc_train_half0.csv"
    train[(half_l == 0) & (half_r == 0)].to_csv(half_pairs, index=False)
    half_model = work / "wdc_train_half0.joblib"
    train_from_pairs(pairs_path=half_pairs, model_path=half_model)
    unseen = _offers(pd.concat([train, valid], ignore_index=True))
    unseen = unseen[_half(unseen["product"]) == 1]

    print("## Clustering multi-shop offers from titles alone (WDC Products, no labels)")
    print("| offer file | model trained on | offers | products | P | R | F1 | candidates/offer |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, offers, model, trained_on in (
        ("validation offers (corner-case split)", _offers(valid), full_model, "all train pairs"),
        (
            "train+validation offers, unseen half of the products",
            unseen,
            half_model,
            "train pairs of the other half",
        ),
    ):
        path = work / f"offers_{len(offers)}.csv"
        offers[["id", "title"]].to_csv(path, index=False)
        out = work / f"offer_clusters_{len(offers)}.csv"
        done = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "skuflow"),
                "dedupe",
                "--input",
                str(path),
                "--text",
                "title",
                "--id",
                "id",
                "--model",
                str(model),
                "--output",
                str(out),
            ],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        if done.returncode != 0:
            raise SystemExit(f"dedupe failed:\n{done.stdout}\n{done.stderr}")
        per_record = re.search(r"\(([\d.]+) per offer\)", " ".join(done.stdout.split()))
        precision, recall, f1 = pairwise_scores(
            pd.read_csv(out, dtype=str, keep_default_na=False),
            offers.rename(columns={"id": "sku"}),
        )
        print(
            f"| {name} | {trained_on} | {len(offers):,} | {offers['product'].nunique():,} | "
            f"{precision:.3f} | {recall:.3f} | **{f1:.3f}** | "
            f"{per_record.group(1) if per_record else '?'} |",
            flush=True,
        )


def pairwise_scores(clusters: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float, float]:
    """Pairwise precision / recall / F1 of predicted clusters against true groups: a pair of
    records counts once, as in both, predicted only or true only."""
    truth = truth.assign(sku=truth["sku"].str.strip())  # `skuflow dedupe` strips ids too
    merged = clusters.merge(truth, left_on="id", right_on="sku", how="inner")
    if len(merged) != len(clusters):
        raise SystemExit(f"{len(clusters) - len(merged)} clustered ids are not in the truth file")

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    predicted = pairs(merged.groupby("cluster_id").size())
    actual = pairs(merged.groupby("product").size())
    both = pairs(merged.groupby(["cluster_id", "product"]).size())
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def dedupe_generated(records: int, folder: Path, model: Path | None) -> None:
    from benchmarks.generate import generate_catalog

    offers, truth_path = folder / f"catalog_{records}.csv", folder / f"truth_{records}.csv"
    if not offers.exists() or not truth_path.exists():
        generate_catalog(offers, records, seed=0, truth=truth_path)
    out = folder / f"clusters_{records}.csv"
    command = [
        str(ROOT / ".venv" / "bin" / "skuflow"),
        "dedupe",
        "--input",
        str(offers),
        "--text",
        GENERATED_TEXT,
        "--id",
        "Item #",
        "--output",
        str(out),
    ]
    if model is not None:
        command += ["--model", str(model)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"dedupe failed:\n{done.stdout}\n{done.stderr}")
    summary = " ".join(done.stdout.split())
    per_record = re.search(r"\(([\d.]+) per offer\)", summary)
    precision, recall, f1 = pairwise_scores(
        pd.read_csv(out, dtype=str, keep_default_na=False),
        pd.read_csv(truth_path, dtype=str, keep_default_na=False),
    )
    print(f"## Dedupe of a generated catalogue ({records:,} records, {model or 'unsupervised'})")
    print("| records | P | R | F1 | wall s | CPU s | peak MB | candidates/record |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"| {records:,} | {precision:.3f} | {recall:.3f} | **{f1:.3f}** | {elapsed:.1f} | "
        f"{cpu:.1f} | {after.ru_maxrss / 1024:,.0f} | "
        f"{per_record.group(1) if per_record else '?'} |"
    )
    print(f"skuflow dedupe said: {summary}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma list of pair sets, or 'none'")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the pair sets")
    parser.add_argument(
        "--records", type=int, default=100_000, help="generated catalogue size (0: skip)"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep generated files here")
    parser.add_argument("--model", type=Path, default=None, help="pair model for the dedupe")
    parser.add_argument(
        "--offers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="cluster WDC offer files from titles (part 2)",
    )
    args = parser.parse_args(argv)
    print(f"load average before: {open('/proc/loadavg').read().strip()}")
    names = [] if args.sets == "none" else [s for s in args.sets.split(",") if s]
    if names:
        if not args.data.is_dir():
            print(f"skipping the pair sets: {args.data} is missing")
        else:
            pair_sets(names, args.data)
    if args.offers:
        if not (args.data / WDC).is_dir():
            print(f"skipping the offer clustering: {args.data / WDC} is missing")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                cluster_offer_files(args.data, Path(tmp))
    if args.records:
        if args.work:
            args.work.mkdir(parents=True, exist_ok=True)
            dedupe_generated(args.records, args.work, args.model)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                dedupe_generated(args.records, Path(tmp), args.model)
    print(f"load average after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
