"""How likely a tagged span is right, from more than the tagger's own marginal: whether the
value is a known one, which attribute it is for (a Brand is easier than a Model name), how long
it is, where it sits. A logistic regression over those reads the out-of-fold outcomes; its
output is then calibrated (isotonic, monotone) into the confidence that is shown.

The regression's scores used for calibration are themselves cross-fitted (each fold's rows
scored by a regression trained on the other folds), so the calibrator sees scores as unseen
data will get them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

DENSE = (
    "logit_min",
    "logit_mean",
    "logit_spill",
    "known",
    "log_known",
    "tokens",
    "not_title",
    "position",
    "secondary",
)
_EPS = 1e-6
REGULARISATION = 1.0


class SpanEvidence(NamedTuple):
    """What the confidence model reads of one candidate value (a named tuple: immutable, and
    made four times faster than a frozen dataclass, one per candidate value)."""

    attribute: str
    min_marginal: float
    mean_marginal: float
    spill: float
    known: int
    tokens: int
    field_index: int
    position: int
    secondary: bool = False
    """Read from the marginals, not on the tagger's most likely labelling."""

    def dense(self) -> list[float]:
        return [
            _logit(self.min_marginal),
            _logit(self.mean_marginal),
            _logit(self.spill),
            1.0 if self.known else 0.0,
            math.log1p(self.known),
            min(self.tokens, 8) / 8.0,
            1.0 if self.field_index else 0.0,
            min(self.position, 20) / 20.0,
            1.0 if self.secondary else 0.0,
        ]


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def dense_matrix(rows: Sequence[SpanEvidence]) -> np.ndarray:
    """`[r.dense() for r in rows]` as an array, column by column: the clipping, ratios and
    scalings in numpy (the same IEEE operations on the same floats), the logarithms by
    `math.log` / `math.log1p` as `dense` takes them, so every entry is the same float."""
    columns = list(zip(*rows, strict=True))
    out = np.empty((len(rows), len(DENSE)))
    for k, column in enumerate(columns[1:4]):  # min_marginal, mean_marginal, spill
        p = np.minimum(np.maximum(np.asarray(column, dtype=np.float64), _EPS), 1.0 - _EPS)
        out[:, k] = list(map(math.log, (p / (1.0 - p)).tolist()))
    known = columns[4]
    out[:, 3] = np.asarray(known, dtype=bool)
    out[:, 4] = list(map(math.log1p, known))
    out[:, 5] = np.minimum(np.asarray(columns[5], dtype=np.float64), 8) / 8.0
    out[:, 6] = np.asarray(columns[6], dtype=bool)
    out[:, 7] = np.minimum(np.asarray(columns[7], dtype=np.float64), 20) / 20.0
    out[:, 8] = np.asarray(columns[8], dtype=bool)
    return out


@dataclass(frozen=True)
class ConfidenceModel:
    """Logistic regression weights: dense features plus one weight per attribute, and per
    attribute × known (a known Color is surer than a known Model name)."""

    dense_weights: tuple[float, ...]
    attribute_weights: dict[str, float]
    known_weights: dict[str, float]
    intercept: float

    def score(self, rows: Sequence[SpanEvidence]) -> np.ndarray:
        """Log-odds of being right, one per row."""
        if not rows:
            return np.zeros(0)
        out = dense_matrix(rows) @ np.asarray(self.dense_weights) + self.intercept
        attributes = [r.attribute for r in rows]
        out += np.asarray(list(map(self.attribute_weights.get, attributes, repeat(0.0))))
        known = np.asarray(list(map(self.known_weights.get, attributes, repeat(0.0))))
        known[[not r.known for r in rows]] = 0.0
        out += known
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "dense": dict(zip(DENSE, self.dense_weights, strict=True)),
            "attribute": dict(sorted(self.attribute_weights.items())),
            "known": dict(sorted(self.known_weights.items())),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConfidenceModel:
        dense = data["dense"]
        assert isinstance(dense, dict)
        return cls(
            dense_weights=tuple(float(dense[k]) for k in DENSE),
            attribute_weights={k: float(v) for k, v in data["attribute"].items()},
            known_weights={k: float(v) for k, v in data["known"].items()},
            intercept=float(data["intercept"]),
        )


def fit_confidence(rows: Sequence[SpanEvidence], correct: Sequence[bool]) -> ConfidenceModel:
    """Fit on out-of-fold candidates; a constant model when outcomes are all one kind."""
    y = np.asarray(correct, dtype=bool)
    if len(rows) == 0 or y.all() or not y.any():
        # Nothing to tell right from wrong: the marginal alone (the calibrator maps it).
        return ConfidenceModel((1.0,) + (0.0,) * (len(DENSE) - 1), {}, {}, 0.0)
    from sklearn.linear_model import LogisticRegression

    attributes = sorted({r.attribute for r in rows})
    index = {a: i for i, a in enumerate(attributes)}
    a = len(attributes)
    x = np.zeros((len(rows), len(DENSE) + 2 * a))
    for i, r in enumerate(rows):
        x[i, : len(DENSE)] = r.dense()
        x[i, len(DENSE) + index[r.attribute]] = 1.0
        if r.known:
            x[i, len(DENSE) + a + index[r.attribute]] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=2000)
    model.fit(x, y)
    coef = model.coef_[0]
    return ConfidenceModel(
        dense_weights=tuple(float(w) for w in coef[: len(DENSE)]),
        attribute_weights={t: float(coef[len(DENSE) + i]) for t, i in index.items()},
        known_weights={t: float(coef[len(DENSE) + a + i]) for t, i in index.items()},
        intercept=float(model.intercept_[0]),
    )


def cross_fitted_scores(
    rows: Sequence[SpanEvidence], correct: Sequence[bool], folds: Sequence[int]
) -> np.ndarray:
    """Each row scored by a confidence model fitted on the other folds' rows."""
    out = np.zeros(len(rows))
    fold_array = np.asarray(folds)
    for fold in sorted(set(folds)):
        test = np.flatnonzero(fold_array == fold)
        train = np.flatnonzero(fold_array != fold)
        model = fit_confidence(
            [rows[i] for i in train.tolist()], [correct[i] for i in train.tolist()]
        )
        out[test] = model.score([rows[i] for i in test.tolist()])
    return out
