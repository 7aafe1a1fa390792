"""Attribute extraction on the three public sets in ../shared/data/attributes (OA-Mine and
AE-110k: title only; WDC-PAVE: title + description), through the CLI's own functions.

For each set: the long gold file is turned into the wide CSV `skuflow extract train` reads
(one column per attribute, empty = not present; of several acceptable strings, the first that
occurs in the offer's text), the model is trained on the train split, `skuflow extract predict`
runs on the validation offers, and its long output is scored with the NN/NV/VN/VC/VW rule of
the data's README (`enrichment.learned.scoring`). Printed per set: precision, recall, micro-F1
(validation), training time, prediction throughput (offers per CPU-second = per core, the whole
CLI predict including CSV reading and writing, and the extractor alone), model size, and the
precision and share of values at or above 0.9; for WDC-PAVE also the normalisation subset and
the normalised gold.

    .venv/bin/python benchmarks/extract.py                 # all three sets
    .venv/bin/python benchmarks/extract.py --sets oa_mine  # one
    .venv/bin/python benchmarks/extract.py --keep DIR      # keep the CSVs and models in DIR
    .venv/bin/python benchmarks/extract.py --folds 5       # out-of-fold on train, no validation

`--folds K` is the figure to choose changes on: the train split cut into K folds (whole
title / cluster groups, balanced per category, deterministic), each fold predicted by a model
trained on the other K-1 through the same CLI train and predict, the counts pooled. The
validation split is not read.

With `--llm-base-url URL --llm-model M` the same sets are scored through the LLM provider
instead, against any OpenAI-compatible endpoint (a llama.cpp or vLLM server, a hosted API):
about ten demonstrations per request chosen by similarity from the train split, the attributes
as a JSON schema with example values, `--llm-batch-size` offers per request, only verbatim-
quoted values kept. `--llm-limit` caps the validation offers asked about (default 200); the
answers are cached under SKUFLOW_HOME, so a rerun costs nothing.

The official test splits are not here and never used. Any machine can rerun the same steps by
hand: the wide CSVs this writes (`--keep`) are plain `skuflow extract train` input.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "attributes"
SETS = {"oa_mine": ["title"], "ae110k": ["title"], "wdc_pave": ["title", "description"]}
TARGETS = {"oa_mine": 0.75, "ae110k": 0.75, "wdc_pave": 0.65}
THROUGHPUT_OFFERS = 5_000


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def wide_training_csv(
    folder: Path, texts: list[str], out: Path, only: set[str] | None = None
) -> list[str]:
    """The train split (its offers in `only`, if given) as `skuflow extract train` input;
    returns the attribute columns."""
    offers = {
        o["offer_id"]: o
        for o in read_csv(folder / "train_offers.csv")
        if only is None or o["offer_id"] in only
    }
    values: dict[str, dict[str, str]] = {oid: {} for oid in offers}
    attributes: dict[str, None] = {}
    for row in read_csv(folder / "train_gold.csv"):
        attributes.setdefault(row["attribute"], None)
        gold = [g for g in json.loads(row["gold_values"]) if g.strip()]
        if not gold or row["offer_id"] not in offers:
            continue
        offer = offers[row["offer_id"]]
        text = " ".join(offer[t] for t in texts)
        values[row["offer_id"]][row["attribute"]] = next(
            (g.strip() for g in gold if g.strip() in text), gold[0].strip()
        )
    columns = ["id", "category", *texts, *attributes]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for oid, offer in offers.items():
            writer.writerow(
                [oid, offer["category"], *(offer[t] for t in texts)]
                + [values[oid].get(a, "") for a in attributes]
            )
    return list(attributes)


def prediction_input(
    folder: Path,
    texts: list[str],
    out: Path,
    repeat: int = 1,
    offers: list[dict[str, str]] | None = None,
) -> int:
    """The validation offers (or `offers`), `repeat` times, as `skuflow extract predict`
    input; returns how many rows it wrote."""
    if offers is None:
        offers = read_csv(folder / "validation_offers.csv")
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "category", *texts])
        for k in range(repeat):
            for o in offers:
                oid = o["offer_id"] if k == 0 else f"{o['offer_id']}#{k}"
                writer.writerow([oid, o["category"], *(o[t] for t in texts)])
    return len(offers) * repeat


def cli_train(labelled: Path, texts: list[str], model: Path) -> None:
    """`skuflow extract train` on a wide labelled CSV (id, category, texts, one column per
    attribute), as a user runs it."""
    from cli import extract as extract_cli

    extract_cli.train(
        input_path=labelled,
        text=",".join(texts),
        model=model,
        group="category",
        attributes=None,
        id_column="id",
    )


def cli_predict(model: Path, offers: Path, texts: list[str], output: Path) -> None:
    """`skuflow extract predict` at the model's own threshold into a long CSV."""
    from cli import extract as extract_cli

    extract_cli.predict(
        model=model,
        input_path=offers,
        text=",".join(texts),
        id_column="id",
        output=output,
        group="category",
        min_confidence=None,
    )


def load_predictions(path: Path) -> dict[str, dict[str, tuple[str, float]]]:
    out: dict[str, dict[str, tuple[str, float]]] = {}
    for row in read_csv(path):
        out.setdefault(row["id"], {})[row["attribute"]] = (row["value"], float(row["confidence"]))
    return out


def evaluate(gold_rows, predictions, *, at: float | None = None):
    from enrichment.learned.scoring import score

    chosen = {
        oid: {a: v for a, (v, c) in values.items() if at is None or c >= at}
        for oid, values in predictions.items()
    }
    return score(gold_rows, chosen)


def run_set(name: str, work: Path) -> dict[str, object]:
    from enrichment.learned.model import LearnedExtractor

    folder = DATA / name
    texts = SETS[name]
    train_csv = work / f"{name}_train.csv"
    wide_training_csv(folder, texts, train_csv)
    model_path = work / f"{name}.skx"
    started, cpu = time.perf_counter(), time.process_time()
    cli_train(train_csv, texts, model_path)
    train_wall, train_cpu = time.perf_counter() - started, time.process_time() - cpu

    valid_csv = work / f"{name}_validation.csv"
    prediction_input(folder, texts, valid_csv)
    output = work / f"{name}_predictions.csv"
    cli_predict(model_path, valid_csv, texts, output)
    predictions = load_predictions(output)
    gold = read_csv(folder / "validation_gold.csv")
    rows = [(g["offer_id"], g["attribute"], json.loads(g["gold_values"])) for g in gold]
    result: dict[str, object] = {
        "set": name,
        "texts": "+".join(texts),
        **figures(rows, predictions),
        "train_wall_s": train_wall,
        "train_cpu_s": train_cpu,
        "model_bytes": model_path.stat().st_size,
    }
    if name == "wdc_pave":
        subset = [r for g, r in zip(gold, rows, strict=True) if g["in_normalization_subset"] == "1"]
        result["f1_normalization_subset"] = evaluate(subset, predictions).f1
        normalized = [
            (g["offer_id"], g["attribute"], json.loads(g["gold_values_normalized"]))
            for g in gold
            if g["in_normalization_subset"] == "1"
        ]
        result["f1_normalized_gold_subset"] = evaluate(normalized, predictions).f1

    # Throughput: the whole CLI predict on a larger file, and the extractor alone.
    big = work / f"{name}_throughput.csv"
    repeat = max(1, THROUGHPUT_OFFERS // len(read_csv(folder / "validation_offers.csv")))
    offers = prediction_input(folder, texts, big, repeat=repeat)
    cpu = time.process_time()
    cli_predict(model_path, big, texts, work / f"{name}_throughput_out.csv")
    result["cli_offers_per_cpu_s"] = offers / (time.process_time() - cpu)
    model = LearnedExtractor.load(model_path)
    records = read_csv(big)
    batch = [{f: r[t] for f, t in zip(model.text_fields, texts, strict=True)} for r in records]
    groups = [r["category"] for r in records]
    cpu = time.process_time()
    model.predict(batch, groups)
    result["extractor_offers_per_cpu_s"] = len(batch) / (time.process_time() - cpu)
    return result


def fold_of(folder: Path, name: str, k: int) -> dict[str, int]:
    """Train offer id → its fold (0 … k-1) for `--folds`: whole groups as the validation
    split moves them (OA-Mine, AE-110k: the title lower-cased with whitespace collapsed;
    WDC-PAVE: the cluster), per category in sorted order, its sorted groups shuffled by
    `random.Random(0)` and dealt out in turn, so each fold has about 1/k of each category."""
    import random

    def group(o: dict[str, str]) -> str:
        return o["cluster_id"] if name == "wdc_pave" else " ".join(o["title"].lower().split())

    by_category: dict[str, dict[str, list[str]]] = {}
    for o in read_csv(folder / "train_offers.csv"):
        by_category.setdefault(o["category"], {}).setdefault(group(o), []).append(o["offer_id"])
    rng = random.Random(0)
    out: dict[str, int] = {}
    for category in sorted(by_category):
        groups = sorted(by_category[category])
        rng.shuffle(groups)
        for i, key in enumerate(groups):
            for oid in by_category[category][key]:
                out[oid] = i % k
    return out


def run_folds(name: str, work: Path, k: int) -> dict[str, object]:
    """Out-of-fold figures on the train split: per fold, train (the CLI's train) on the other
    k-1 folds, predict (the CLI's predict) the held-out one; the counts of all folds pooled."""

    folder = DATA / name
    texts = SETS[name]
    folds = fold_of(folder, name, k)
    offers = read_csv(folder / "train_offers.csv")
    gold = read_csv(folder / "train_gold.csv")
    predictions: dict[str, dict[str, tuple[str, float]]] = {}
    started = time.perf_counter()
    for fold in range(k):
        train_csv = work / f"{name}_fold{fold}_train.csv"
        wide_training_csv(folder, texts, train_csv, {o for o, f in folds.items() if f != fold})
        model_path = work / f"{name}_fold{fold}.skx"
        cli_train(train_csv, texts, model_path)
        held_csv = work / f"{name}_fold{fold}_held.csv"
        held = [o for o in offers if folds[o["offer_id"]] == fold]
        prediction_input(folder, texts, held_csv, offers=held)
        output = work / f"{name}_fold{fold}_predictions.csv"
        cli_predict(model_path, held_csv, texts, output)
        predictions.update(load_predictions(output))
    rows = [(g["offer_id"], g["attribute"], json.loads(g["gold_values"])) for g in gold]
    result: dict[str, object] = {
        "set": name,
        "folds": k,
        **figures(rows, predictions),
        "seconds": time.perf_counter() - started,
    }
    if name == "wdc_pave":
        subset = [r for g, r in zip(gold, rows, strict=True) if g["in_normalization_subset"] == "1"]
        result["f1_normalization_subset"] = evaluate(subset, predictions).f1
    return result


def print_folds(results: list[dict[str, object]]) -> None:
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (2 shared cores)")
    print(
        f"{'set':<9} {'folds':>5} {'P':>6} {'R':>6} {'F1':>6} {'P@.9':>6} {'@.9':>5} "
        f"{'s':>7}  counts"
    )
    for r in results:
        c = r["counts"]
        assert isinstance(c, dict)
        print(
            f"{r['set']:<9} {r['folds']:>5} {r['precision']:6.3f} {r['recall']:6.3f} "
            f"{r['f1']:6.3f} {r['precision_at_0.9']:6.3f} {r['share_at_0.9']:5.0%} "
            f"{r['seconds']:7.1f}  " + " ".join(f"{k.upper()} {v}" for k, v in c.items())
        )
    for r in results:
        if "f1_normalization_subset" in r:
            print(f"wdc_pave normalisation subset: F1 {r['f1_normalization_subset']:.3f}")
    print(
        "P/R/F1: out-of-fold on the TRAIN split (validation untouched), micro, NN/NV/VN/VC/VW "
        "rule, all folds' counts pooled. P@.9: precision of values at ≥ 0.9 confidence; "
        "@.9: their share of the values emitted."
    )


def figures(gold_rows, predictions) -> dict[str, object]:
    """The printed figures of predictions against gold: P/R/F1 and counts, and the precision
    and share of the values at or above 0.9."""
    counts = evaluate(gold_rows, predictions)
    sure = evaluate(gold_rows, predictions, at=0.9)
    emitted = sum(len(v) for v in predictions.values())
    emitted_sure = sum(1 for v in predictions.values() for _, c in v.values() if c >= 0.9)
    return {
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
        "counts": vars(counts),
        "precision_at_0.9": sure.precision,
        "share_at_0.9": emitted_sure / emitted if emitted else 0.0,
    }


def labelled_train(folder: Path, texts: list[str]):  # list[LabelledRecord]
    """The train split as labelled records (each value: the first gold string in the text)."""
    from enrichment.learned.examples import LabelledRecord

    offers = {o["offer_id"]: o for o in read_csv(folder / "train_offers.csv")}
    values: dict[str, dict[str, list[str]]] = {oid: {} for oid in offers}
    for row in read_csv(folder / "train_gold.csv"):
        gold = [g.strip() for g in json.loads(row["gold_values"]) if g.strip()]
        if gold:
            values[row["offer_id"]][row["attribute"]] = gold
    return [
        LabelledRecord(oid, {t: o[t] for t in texts}, o["category"], values[oid])
        for oid, o in offers.items()
    ]


def run_llm_set(name: str, args: argparse.Namespace) -> dict[str, object]:
    """The validation offers (the first `--llm-limit`) through the LLM provider."""
    from enrichment.demonstrations import pool_from_labelled
    from enrichment.engine import EnrichOptions, enrich_items
    from enrichment.output_schema import OutputSchema
    from llm.client import LLMSettings

    folder = DATA / name
    texts = SETS[name]
    started = time.perf_counter()
    pool = pool_from_labelled(labelled_train(folder, texts))
    pool_s = time.perf_counter() - started
    offers = read_csv(folder / "validation_offers.csv")[: args.llm_limit]
    asked = {o["offer_id"] for o in offers}
    gold = [g for g in read_csv(folder / "validation_gold.csv") if g["offer_id"] in asked]
    attributes = list(dict.fromkeys(g["attribute"] for g in gold))
    schema = OutputSchema.parse([{"name": a, "description": a} for a in attributes])
    settings = LLMSettings(
        base_url=args.llm_base_url,
        model=args.llm_model,
        timeout=args.llm_timeout,
        response_format=args.llm_response_format,
    )
    options = EnrichOptions(
        providers=("llm",),
        llm=settings,
        web_search=False,
        check_existing=False,
        demonstrations=pool,
        llm_batch_size=args.llm_batch_size,
        llm_demonstrations=args.llm_demonstrations,
    )
    items = [{**{t: o[t] for t in texts}, "category": o["category"]} for o in offers]
    started = time.perf_counter()
    results = enrich_items(items, schema, options)
    seconds = time.perf_counter() - started
    predictions = {
        o["offer_id"]: {a: (str(v), r.confidence[a]) for a, v in r.values.items()}
        for o, r in zip(offers, results, strict=True)
    }
    rows = [(g["offer_id"], g["attribute"], json.loads(g["gold_values"])) for g in gold]
    counts = evaluate(rows, predictions)
    failed = sum(1 for r in results if any(f.startswith("llm_failed") for f in r.flags))
    unquoted = sum(sum(f.startswith("llm_unquoted") for f in r.flags) for r in results)
    return {
        "set": name,
        "texts": "+".join(texts),
        "offers": len(offers),
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
        "counts": vars(counts),
        "tokens": sum(r.tokens for r in results),
        "seconds": seconds,
        "pool_records": len(pool),
        "pool_seconds": pool_s,
        "offers_failed": failed,
        "values_unquoted": unquoted,
    }


def print_llm(results: list[dict[str, object]], args: argparse.Namespace) -> None:
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(
        f"LLM {args.llm_model} at {args.llm_base_url}, {args.llm_batch_size} offers per "
        f"request, {args.llm_demonstrations} demonstrations"
    )
    print(
        f"{'set':<9} {'offers':>6} {'P':>6} {'R':>6} {'F1':>6} {'tokens':>9} {'s':>7} "
        f"{'failed':>6} {'unquoted':>8}"
    )
    for r in results:
        print(
            f"{r['set']:<9} {r['offers']:>6} {r['precision']:6.3f} {r['recall']:6.3f} "
            f"{r['f1']:6.3f} {r['tokens']:>9} {r['seconds']:7.1f} {r['offers_failed']:>6} "
            f"{r['values_unquoted']:>8}"
        )
    print(
        "P/R/F1: the first --llm-limit validation offers, micro, NN/NV/VN/VC/VW rule; "
        "failed: offers whose request failed; unquoted: values dropped by the quote check."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    parser.add_argument("--keep", type=Path, help="keep CSVs and models in this folder")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--folds",
        type=int,
        help="instead of validation: K-fold out-of-fold figures on the train split (K ≥ 2)",
    )
    parser.add_argument("--llm-base-url", help="score the LLM provider at this endpoint instead")
    parser.add_argument("--llm-model", help="model name sent to --llm-base-url")
    parser.add_argument("--llm-limit", type=int, default=200, help="validation offers to ask")
    parser.add_argument("--llm-batch-size", type=int, default=5, help="offers per request")
    parser.add_argument("--llm-demonstrations", type=int, default=10, help="per request")
    parser.add_argument("--llm-timeout", type=float, default=120.0, help="seconds per answer")
    parser.add_argument(
        "--llm-response-format",
        choices=["json_schema", "json_object"],
        default="json_schema",
        help="json_object for llama.cpp's server",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"needs {DATA} (the shared attribute-extraction data)")
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    if args.llm_base_url:
        if not args.llm_model:
            sys.exit("--llm-base-url needs --llm-model")
        results = [run_llm_set(name, args) for name in names]
        print_llm(results, args)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return
    if args.folds is not None:
        if args.folds < 2:
            sys.exit("--folds needs K ≥ 2")
        with tempfile.TemporaryDirectory(prefix="skuflow-extract-folds-") as scratch:
            work = args.keep or Path(scratch)
            work.mkdir(parents=True, exist_ok=True)
            results = [run_folds(name, work, args.folds) for name in names]
        print_folds(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="skuflow-extract-bench-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        results = [run_set(name, work) for name in names]
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (2 shared cores)")
    header = (
        f"{'set':<9} {'text':<17} {'P':>6} {'R':>6} {'F1':>6} {'target':>6} "
        f"{'P@.9':>6} {'@.9':>5} {'train s':>8} {'offers/s':>9} {'alone/s':>8} {'model':>8}"
    )
    print(header)
    for r in results:
        print(
            f"{r['set']:<9} {r['texts']:<17} {r['precision']:6.3f} {r['recall']:6.3f} "
            f"{r['f1']:6.3f} {TARGETS[str(r['set'])]:6.2f} {r['precision_at_0.9']:6.3f} "
            f"{r['share_at_0.9']:5.0%} {r['train_wall_s']:8.1f} "
            f"{r['cli_offers_per_cpu_s']:9.0f} {r['extractor_offers_per_cpu_s']:8.0f} "
            f"{int(r['model_bytes']) / 1e6:7.2f}M"
        )
    for r in results:
        if "f1_normalization_subset" in r:
            print(
                f"wdc_pave normalisation subset: F1 {r['f1_normalization_subset']:.3f} on "
                f"gold_values, {r['f1_normalized_gold_subset']:.3f} on gold_values_normalized "
                "(values are verbatim spans, not normalised)"
            )
    print(
        "P/R/F1: validation split, micro, NN/NV/VN/VC/VW rule. P@.9: precision of values at "
        "≥ 0.9 confidence; @.9: their share of the values emitted. offers/s: CLI predict "
        "(CSV in and out) per CPU-second; alone/s: the extractor's predict only."
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
