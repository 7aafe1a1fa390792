"""Product classification on MWPD2020 (web offers → GS1 GPC segment > family > class).

Prints, following the issue's Must-show list:
  1. trained on the train split (10,012), scored on the validation split (3,000): weighted F1
     per level and their average (the MWPD2020 challenge metric; the winner had 0.8862);
  2. 5-fold cross-validation over both splits together (13,012): the same, plus expected
     calibration error and the precision / share of what is auto-applied at the default
     threshold (0.9), all from held-out folds;
  3. training time on all 13,012 offers (in a fresh process), model size on disk, peak memory;
  4. inference throughput in records per CPU-second (= per core) and per wall second;
  5. zero-shot accuracy at levels 1 and 2 from category names alone (no labelled data), on
     MWPD2020 (GS1 names) and two flat ten-category taxonomies of real offer titles (OA-Mine,
     AE-110k: see FLAT_SETS): lexical, the default install's static embeddings, MiniLM when the
     `embeddings` extra is installed, and each after self-training on the same offers; records
     per CPU-second (per core) for each.

The machine may be shared: wall times are reported with the load average seen while they ran,
and throughput is measured in CPU time, which contention distorts far less.

    .venv/bin/python benchmarks/classify.py            # everything (~5 min on a quiet 2-core box)
    .venv/bin/python benchmarks/classify.py --quick    # 2 folds on a 4,000-offer sample
    .venv/bin/python benchmarks/classify.py --zero-shot-only   # [5] alone
    .venv/bin/python benchmarks/classify.py --zero-shot-only --backends static --sets mwpd2020
    .venv/bin/python benchmarks/classify.py --supervised-only  # [1]-[4] alone
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MWPD = ROOT.parent / "shared" / "data" / "products" / "mwpd2020" / "mwpd2020_train_validation.csv"
TEXT_COLUMNS = ["Name", "CategoryText", "Description", "URL"]
LEVEL_COLUMNS = ["lvl1", "lvl2", "lvl3"]
WINNER = 0.8862


def load() -> pd.DataFrame:
    from taxonomy.importers import label_path

    frame = pd.read_csv(MWPD, dtype=str, keep_default_na=False)
    frame["label"] = [label_path(levels) for levels in frame[LEVEL_COLUMNS].itertuples(False)]
    return frame


def texts_of(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return list(frame[TEXT_COLUMNS].itertuples(index=False, name=None))


def taxonomy_of(frame: pd.DataFrame):  # Taxonomy, imported lazily
    from taxonomy.importers import load_paths

    return load_paths(sorted(set(frame["label"])), name="gs1-mwpd2020")


def level_f1(gold: list[str], predicted: list[str | None]) -> list[float]:
    """Weighted F1 per level of ' > ' paths (a missing prediction counts as wrong)."""
    from sklearn.metrics import f1_score

    scores = []
    for level in range(3):
        truth = [g.split(" > ")[level] for g in gold]
        guess = [
            (p.split(" > ")[level] if p and len(p.split(" > ")) > level else "<none>")
            for p in predicted
        ]
        scores.append(float(f1_score(truth, guess, average="weighted", zero_division=0)))
    return scores


def predict_paths(model, taxonomy, texts) -> tuple[list[str | None], np.ndarray]:
    predictions = model.predict(texts)
    paths = [taxonomy[p.node_id].path_text if p.node_id else None for p in predictions]
    return paths, np.array([p.confidence for p in predictions])


def calibration_figures(confidence: np.ndarray, correct: np.ndarray, threshold: float) -> dict:
    from catalog.calibration import expected_calibration_error

    auto = confidence >= threshold
    return {
        "ece": expected_calibration_error(confidence, correct),
        "auto_share": float(auto.mean()),
        "auto_precision": float(correct[auto].mean()) if auto.any() else float("nan"),
    }


def split_benchmark(frame: pd.DataFrame, threshold: float) -> dict:
    from taxonomy.supervised import train_supervised

    taxonomy = taxonomy_of(frame)
    train, valid = frame[frame["split"] == "train"], frame[frame["split"] == "validation"]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    model = train_supervised(texts_of(train), train["label"].tolist(), taxonomy, seed=0)
    seconds = time.perf_counter() - started
    paths, confidence = predict_paths(model, taxonomy, texts_of(valid))
    gold = valid["label"].tolist()
    correct = np.array([p == g for p, g in zip(paths, gold, strict=True)])
    return {
        "train_texts": len(train),
        "scored_texts": len(valid),
        "f1": level_f1(gold, paths),
        "train_seconds": seconds,
        "load": max(load_before, os.getloadavg()[0]),
        **calibration_figures(confidence, correct, threshold),
    }


def cross_validation(frame: pd.DataFrame, folds: int, threshold: float) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from taxonomy.supervised import train_supervised

    taxonomy = taxonomy_of(frame)
    texts = texts_of(frame)
    labels = frame["label"].tolist()
    top = [label.split(" > ")[0] for label in labels]
    paths: list[str | None] = [None] * len(labels)
    confidence = np.zeros(len(labels))
    per_fold = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for number, (train, test) in enumerate(splitter.split(np.zeros(len(labels)), top), start=1):
        model = train_supervised(
            [texts[i] for i in train], [labels[i] for i in train], taxonomy, seed=0
        )
        fold_paths, fold_conf = predict_paths(model, taxonomy, [texts[i] for i in test])
        for i, path, conf in zip(test, fold_paths, fold_conf, strict=True):
            paths[i], confidence[i] = path, conf
        per_fold.append(float(np.mean(level_f1([labels[i] for i in test], fold_paths))))
        print(f"  fold {number}/{folds}: average weighted F1 {per_fold[-1]:.4f}", flush=True)
    correct = np.array([p == g for p, g in zip(paths, labels, strict=True)])
    return {
        "folds": folds,
        "texts": len(labels),
        "f1": level_f1(labels, paths),
        "fold_averages": per_fold,
        **calibration_figures(confidence, correct, threshold),
    }


def train_all_in_subprocess(frame_path: str, model_path: str) -> dict:
    """Train on every offer in a fresh process: its wall time and peak RSS (its own and its
    worker processes') are the training's alone."""
    script = (
        f"import json,sys,time,resource; sys.path.insert(0, {str(ROOT)!r})\n"
        "import pandas as pd\n"
        "from benchmarks.classify import texts_of, taxonomy_of\n"
        "from taxonomy.supervised import train_supervised\n"
        "from taxonomy.classifier import save_classifier\n"
        f"frame = pd.read_pickle({frame_path!r})\n"
        "texts, labels, taxonomy = texts_of(frame), frame['label'].tolist(), taxonomy_of(frame)\n"
        "cpu = time.process_time(); started = time.perf_counter()\n"
        "model = train_supervised(texts, labels, taxonomy, seed=0)\n"
        "seconds = time.perf_counter() - started; cpu = time.process_time() - cpu\n"
        f"save_classifier(model, {model_path!r})\n"
        "print(json.dumps({'seconds': seconds, 'main_cpu': cpu,"
        " 'cv_accuracy': model.cv_accuracy}))\n"
    )
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"training subprocess failed:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["peak_rss_mb"] = after.ru_maxrss / 1024
    figures["children_cpu"] = (after.ru_utime + after.ru_stime) - (
        before.ru_utime + before.ru_stime
    )
    figures["load"] = max(load_before, os.getloadavg()[0])
    figures["model_mb"] = Path(model_path).stat().st_size / 1e6
    return figures


def throughput(model_path: str, frame: pd.DataFrame) -> dict:
    from taxonomy.classifier import load_classifier

    model = load_classifier(model_path)
    texts = texts_of(frame)
    model.predict(texts[:500])  # warm-up: first-call allocations
    cpu, wall = time.process_time(), time.perf_counter()
    model.predict(texts)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "records": len(texts),
        "per_cpu_second": len(texts) / cpu,
        "per_second": len(texts) / wall,
    }


FLAT_SETS = {
    "oa_mine": ROOT.parent / "shared" / "data" / "attributes" / "oa_mine",
    "ae110k": ROOT.parent / "shared" / "data" / "attributes" / "ae110k",
}
"""Flat ten-category taxonomies of real offer titles: the attribute-extraction sets' own
categories (OA-Mine: Amazon titles, e.g. Coffee, Shoes, Sunscreen; AE-110k: AliExpress titles,
e.g. Guitar, Lure, Stove). The taxonomy is the ten category names, one per line; the offers are
every title of the train and validation splits (no label is used to build anything)."""


def zero_shot_sets(frame: pd.DataFrame) -> list[tuple[str, object, list, list[tuple[str, ...]]]]:
    """(name, taxonomy, texts, gold paths) for MWPD2020 and each flat set that is present."""
    from taxonomy.importers import load_paths

    sets = [
        (
            "MWPD2020 (GS1 names)",
            taxonomy_of(frame),
            texts_of(frame),
            [tuple(label.split(" > ")) for label in frame["label"]],
        )
    ]
    for name, folder in FLAT_SETS.items():
        if not folder.is_dir():
            continue
        offers = pd.concat(
            pd.read_csv(folder / f"{split}_offers.csv", dtype=str, keep_default_na=False)
            for split in ("train", "validation")
        )
        sets.append(
            (
                f"{name} (10 flat)",
                load_paths(sorted(set(offers["category"])), name=name),
                offers["title"].tolist(),
                [(c,) for c in offers["category"]],
            )
        )
    return sets


def zero_shot(taxonomy, texts, gold, backend: str, self_training: bool) -> dict:
    """A zero-shot matcher over the category names only: no offer label is used. `backend` is
    "lexical" (word overlap), "static" (the default install's static embeddings) or
    "embedding" (the optional MiniLM extra); with `self_training`, the matcher's student
    trained on the same offers' surest answers (`taxonomy.selftrain`)."""
    from taxonomy.embeddings import EmbeddingClassifier
    from taxonomy.lexical import LexicalClassifier
    from taxonomy.selftrain import SelfTrainedClassifier, self_train
    from taxonomy.static import StaticEmbeddingClassifier

    kinds = {
        "lexical": LexicalClassifier,
        "static": StaticEmbeddingClassifier,
        "embedding": EmbeddingClassifier,
    }
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    model = kinds[backend](taxonomy)
    if self_training:
        model = self_train(taxonomy, texts, model)
    predictions = model.predict(texts)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    guessed = [taxonomy[p.node_id].path if p.node_id else () for p in predictions]
    hits = [
        float(
            np.mean(
                [
                    len(g) >= lvl and p[:lvl] == tuple(g[:lvl])
                    for g, p in zip(gold, guessed, strict=True)
                ]
            )
        )
        for lvl in (1, 2)
    ]
    rounds = model.rounds if isinstance(model, SelfTrainedClassifier) else []
    return {
        "backend": backend + (" + self-training" if self_training else ""),
        "texts": len(texts),
        "level1": hits[0],
        "level2": hits[1],
        "per_second": len(texts) / seconds,
        "per_cpu_second": len(texts) / cpu,
        "seconds": seconds,
        "rounds": len([r for r in rounds if r.kept]),
        "max_confidence": max((p.confidence for p in predictions), default=0.0),
        "load": max(load_before, os.getloadavg()[0]),
    }


def zero_shot_table(
    frame: pd.DataFrame, only_backends: list[str] | None = None, only_sets: list[str] | None = None
) -> list[str]:
    """The zero-shot rows; `only_backends` / `only_sets` (names as in `--backends` /
    `--sets`) restrict them, e.g. to the static matcher on MWPD2020 while changing it."""
    from taxonomy.embeddings import embeddings_available

    backends = ["lexical", "static"] + (["embedding"] if embeddings_available() else [])
    if "embedding" not in backends:
        print("  embeddings extra not installed: no MiniLM rows", flush=True)
    if only_backends:
        backends = [b for b in backends if b in only_backends]
    lines = [
        "",
        "| zero-shot, names only | backend | L1 accuracy | L2 accuracy | records/s per core "
        "(CPU) | wall s | load | kept rounds | max confidence |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, taxonomy, texts, gold in zero_shot_sets(frame):
        if only_sets and name.split(" ")[0].lower() not in only_sets:
            continue
        for backend in backends:
            for self_training in (False, True):
                z = zero_shot(taxonomy, texts, gold, backend, self_training)
                row = (
                    f"| {name}, {z['texts']} offers | {z['backend']} | {z['level1']:.4f} | "
                    + (f"{z['level2']:.4f}" if len(gold[0]) > 1 else "(flat)")
                    + f" | {z['per_cpu_second']:,.0f} | {z['seconds']:.1f} | {z['load']:.1f} | "
                    f"{z['rounds']} | {z['max_confidence']:.2f} |"
                )
                print(row, flush=True)
                lines.append(row)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 folds on a 4,000-offer sample")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--zero-shot-only", action="store_true", help="only [5]: zero-shot and self-training"
    )
    parser.add_argument(
        "--supervised-only", action="store_true", help="only [1]-[4]: the supervised model"
    )
    parser.add_argument(
        "--backends",
        help="zero-shot backends to run, comma-separated: lexical,static,embedding (default all)",
    )
    parser.add_argument(
        "--sets",
        help="zero-shot sets to run, comma-separated: mwpd2020,oa_mine,ae110k (default all)",
    )
    args = parser.parse_args()
    only_backends = args.backends.split(",") if args.backends else None
    only_sets = [s.lower() for s in args.sets.split(",")] if args.sets else None

    from catalog.schema import Thresholds

    threshold = Thresholds().auto_apply
    frame = load()
    folds = args.folds
    if args.quick:
        frame = frame.sample(n=4000, random_state=0).sort_index()
        folds = 2
    print(
        f"MWPD2020: {len(frame)} offers, {frame['label'].nunique()} classes; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    if args.zero_shot_only:
        print("\n[5] zero-shot from category names", flush=True)
        print("\n".join(zero_shot_table(frame, only_backends, only_sets)))
        return
    print("\n[1] train split -> validation split", flush=True)
    split = split_benchmark(frame, threshold)
    print("\n[2] cross-validation on train + validation", flush=True)
    cv = cross_validation(frame, folds, threshold)
    with tempfile.TemporaryDirectory() as tmp:
        frame_path, model_path = str(Path(tmp) / "frame.pkl"), str(Path(tmp) / "model.joblib")
        frame.to_pickle(frame_path)
        print("\n[3] training on all offers (fresh process)", flush=True)
        full = train_all_in_subprocess(frame_path, model_path)
        print("\n[4] inference throughput", flush=True)
        speed = throughput(model_path, frame)
    zeros: list[str] = []
    if not args.supervised_only:
        print("\n[5] zero-shot from category names", flush=True)
        zeros = zero_shot_table(frame, only_backends, only_sets)

    def row(name: str, f1: list[float]) -> str:
        avg = float(np.mean(f1))
        return f"| {name} | {f1[0]:.4f} | {f1[1]:.4f} | {f1[2]:.4f} | **{avg:.4f}** |"

    lines = [
        "",
        "| weighted F1 | segment (L1) | family (L2) | class (L3) | average |",
        "|---|---|---|---|---|",
        row(f"train ({split['train_texts']}) -> validation ({split['scored_texts']})", split["f1"]),
        row(f"{cv['folds']}-fold CV on {cv['texts']}", cv["f1"]),
        f"| MWPD2020 winner (BERT ensemble, GPU) | | | | {WINNER:.4f} |",
        "",
        "| figure | value |",
        "|---|---|",
        f"| CV fold averages | {', '.join(f'{v:.4f}' for v in cv['fold_averages'])} |",
        f"| ECE (CV, held-out) | {cv['ece']:.4f} |",
        f"| auto-apply at {threshold}: precision / share (CV) | "
        f"{cv['auto_precision']:.4f} / {cv['auto_share']:.1%} |",
        f"| ECE (validation split) | {split['ece']:.4f} |",
        f"| auto-apply at {threshold}: precision / share (validation) | "
        f"{split['auto_precision']:.4f} / {split['auto_share']:.1%} |",
        f"| training on {len(frame)} offers, wall | {full['seconds']:.1f} s "
        f"(load average {full['load']:.1f} on {os.cpu_count()} CPUs) |",
        f"| training on {len(frame)} offers, CPU (all processes) | {full['children_cpu']:.1f} s |",
        f"| training on {split['train_texts']} (train split), wall | "
        f"{split['train_seconds']:.1f} s (load average {split['load']:.1f}) |",
        f"| model size on disk | {full['model_mb']:.1f} MB |",
        f"| peak memory while training | {full['peak_rss_mb']:.0f} MB |",
        f"| inference, records per CPU-second (per core) | {speed['per_cpu_second']:,.0f} |",
        f"| inference, records per wall second | {speed['per_second']:,.0f} |",
    ]
    lines += zeros
    print("\n".join(lines))


if __name__ == "__main__":
    main()
