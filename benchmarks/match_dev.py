"""Development harness for title-only clustering, on WDC Products *train* pairs only.

Choosing a feature, a training set-up or a clustering parameter on the validation files that
`benchmarks/match.py` reports would tune to them. This harness uses only the train pairs of the
products `match.py`'s unseen-products file does *not* use (`crc32(product id) % 2 == 0`): for
four hashes it splits those products in two, fits a model on one part's train pairs (through
`train_from_pairs`, as `skuflow match train` does) and clusters the other part's train offers
from their titles alone (blocking, scoring and clustering as `skuflow dedupe` does), both ways.

Printed, summed over the 8 fits: pairwise precision / recall / F1 of the clusters at the
model's own merge threshold and at fixed cuts, connected components of likely pairs for
comparison, the share of true pairs blocking proposes, the clustering F1 with the *true* labels
on the candidates (what blocking allows), and the mean product-grouped CV pair F1.

    .venv/bin/python benchmarks/match_dev.py
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "matching" / "wdc_products" / "train.csv"
SALTS = ("d", "e", "f", "g")
CUTS = (0.4, 0.5, 0.6, 0.7)
COMPONENT_CUTS = (0.7, 0.8, 0.9)


def _half(values: pd.Series, salt: str = "") -> pd.Series:
    return values.map(lambda c: zlib.crc32((salt + str(c)).encode()) % 2)


def _f1(counts: np.ndarray) -> str:
    both, predicted, actual = counts
    p = both / predicted if predicted else 1.0
    r = both / actual if actual else 1.0
    return f"P {p:.3f} R {r:.3f} F1 {2 * p * r / (p + r) if p + r else 0.0:.3f}"


def main() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from matching.blocking import candidate_pairs
    from matching.clustering import cluster_pairs
    from matching.files import train_from_pairs
    from matching.model import _pair_counts, load_model
    from matching.records import assign_roles, prepare

    train = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    dev = train[(_half(train["cluster_id_left"]) == 0) & (_half(train["cluster_id_right"]) == 0)]
    sides = [
        dev[[f"id_{s}", f"title_{s}", f"cluster_id_{s}"]].set_axis(
            ["id", "title", "product"], axis=1
        )
        for s in ("left", "right")
    ]
    offers_all = pd.concat(sides).drop_duplicates("id")
    own, cuts = np.zeros(3), np.zeros((len(CUTS), 3))
    components, oracle = np.zeros((len(COMPONENT_CUTS), 3)), np.zeros(3)
    found = actual = 0
    cv_f1 = []
    with tempfile.TemporaryDirectory() as tmp:
        for salt in SALTS:
            left_part = _half(dev["cluster_id_left"], salt)
            right_part = _half(dev["cluster_id_right"], salt)
            for part in (0, 1):
                pairs_path = Path(tmp) / f"fit_{salt}{part}.csv"
                dev[(left_part == part) & (right_part == part)].to_csv(pairs_path, index=False)
                trained = train_from_pairs(
                    pairs_path=pairs_path, model_path=Path(tmp) / f"m_{salt}{part}.joblib"
                )
                cv_f1.append(trained.cv_f1)
                model = load_model(trained.path)
                offers = offers_all[_half(offers_all["product"], salt) == 1 - part]
                product = pd.factorize(offers["product"])[0]
                table = prepare({"title": offers["title"].tolist()}, assign_roles(["title"]))
                n = len(table)
                a, b = candidate_pairs(table)
                same = product[a] == product[b]
                sizes = np.bincount(product)
                found += int(same.sum())
                actual += int((sizes * (sizes - 1) // 2).sum())
                space = model.feature_space(table)
                p = model.score_features(space, a, b)[0]

                def missing(x: np.ndarray, y: np.ndarray, m=model, s=space) -> np.ndarray:
                    return m.score_features(s, x, y)[0]

                def clustered(cut: float, p=p, a=a, b=b, n=n, missing=missing) -> np.ndarray:
                    return cluster_pairs(n, a, b, p, threshold=cut, score_missing=missing).labels

                own += _pair_counts(clustered(model.merge_threshold), product)
                for i, cut in enumerate(CUTS):
                    cuts[i] += _pair_counts(clustered(cut), product)
                for i, cut in enumerate(COMPONENT_CUTS):
                    keep = p >= cut
                    graph = coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(n, n))
                    labels = connected_components(graph, directed=False)[1]
                    components[i] += _pair_counts(labels, product)
                graph = coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
                oracle += _pair_counts(connected_components(graph, directed=False)[1], product)
    print(f"clusters at the model's merge threshold: {_f1(own)}")
    for cut, counts in zip(CUTS, cuts, strict=True):
        print(f"  average linkage at {cut}: {_f1(counts)}")
    for cut, counts in zip(COMPONENT_CUTS, components, strict=True):
        print(f"  connected components of pairs >= {cut}: {_f1(counts)}")
    print(f"blocking recall {found / actual:.3f}; true labels on the candidates: {_f1(oracle)}")
    print(f"product-grouped CV pair F1 (mean of {len(cv_f1)}): {np.mean(cv_f1):.3f}")


if __name__ == "__main__":
    main()
