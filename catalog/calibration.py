"""Turn a classifier's raw scores into probabilities of being right.

The pipeline applies a change on its own only when its confidence clears `auto_apply` (0.9 by
default), so a confidence must mean what it says: of the predictions scored 0.9, about nine in
ten are right. Raw model scores (SVM margins, softmax maxima) do not mean that; an isotonic map
from out-of-fold scores to observed correctness does, without assuming any shape beyond
"a higher score is never less likely to be right".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIOR_STRENGTH = 2.0
"""How many pseudo-observations at the overall accuracy each isotonic step borrows. Isotonic
regression alone says 1.0 for a top step of, say, 40 predictions that were all right; one more
wrong one would prove that too sure. Shrinking each step toward the overall accuracy keeps
small steps modest and leaves well-populated steps as observed."""


@dataclass(frozen=True, eq=False)
class Calibrator:
    """A monotone map from raw score to P(correct): piecewise linear between the `x` knots,
    flat beyond them. Plain arrays, so predicting needs no scikit-learn and pickles small."""

    x: np.ndarray
    y: np.ndarray
    n_samples: int
    base_rate: float
    """Share of the calibration samples that were correct."""

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(scores, dtype=np.float64), self.x, self.y)


def fit_calibrator(
    scores: np.ndarray, correct: np.ndarray, *, prior_strength: float = PRIOR_STRENGTH
) -> Calibrator:
    """Fit score → P(correct) on held-out (out-of-fold) predictions.

    Args:
        scores: raw top-1 scores, higher meaning surer.
        correct: whether each top-1 prediction was right.
        prior_strength: pseudo-observations at the base rate added to each isotonic step.

    Raises:
        ValueError: empty or mismatched inputs, or non-finite scores.
    """
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(correct, dtype=np.float64).ravel()
    if x.size == 0 or x.size != y.size:
        raise ValueError(f"need as many scores as outcomes, got {x.size} and {y.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores must be finite")
    base_rate = float(y.mean())
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]

    first = IsotonicRegression(out_of_bounds="clip", increasing=True, y_min=0.0, y_max=1.0)
    fitted = first.fit_transform(x, y)
    # Each run of equal fitted values is one isotonic step; shrink it by its own size.
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    sizes = np.diff(np.r_[starts, fitted.size])
    step_means = fitted[starts]
    shrunk = (step_means * sizes + prior_strength * base_rate) / (sizes + prior_strength)
    # Shrinking by size can break monotonicity between a small step and a big one; refit.
    second = IsotonicRegression(out_of_bounds="clip", increasing=True, y_min=0.0, y_max=1.0)
    second.fit(x, np.repeat(shrunk, sizes))
    return Calibrator(
        x=np.asarray(second.X_thresholds_, dtype=np.float64),
        y=np.asarray(second.y_thresholds_, dtype=np.float64),
        n_samples=int(x.size),
        base_rate=base_rate,
    )


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, bins: int = 10
) -> float:
    """Mean gap between stated confidence and observed accuracy, over equal-width confidence
    bins, weighted by how many predictions fall in each bin (0 is perfect).

    Raises:
        ValueError: empty or mismatched inputs, or fewer than one bin.
    """
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    ok = np.asarray(correct, dtype=np.float64).ravel()
    if conf.size == 0 or conf.size != ok.size:
        raise ValueError(f"need as many confidences as outcomes, got {conf.size} and {ok.size}")
    if bins < 1:
        raise ValueError("bins must be at least 1")
    which = np.minimum((np.clip(conf, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
    counts = np.bincount(which, minlength=bins)
    gap = np.abs(
        np.bincount(which, weights=ok, minlength=bins)
        - np.bincount(which, weights=conf, minlength=bins)
    )
    return float(gap.sum() / counts.sum())
