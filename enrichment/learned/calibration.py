"""From raw span scores to confidences that mean what they say, and where to stop emitting.

The tagger's marginal probabilities are sure of themselves on text like its training text and
wrong about how often they are right elsewhere. As for the classifier (`catalog.calibration`,
reused here), an isotonic map is fitted to out-of-fold outcomes: each value the fold models
proposed for records they did not see, right or wrong against the label. The map is monotone,
so a higher score never gives a lower confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from catalog.calibration import Calibrator, expected_calibration_error, fit_calibrator

__all__ = ["CrossValidation", "Calibrator", "fit_calibrator", "cross_validation", "AUTO_APPLY"]

AUTO_APPLY = 0.9
THRESHOLD_GRID = tuple(round(0.05 * k, 2) for k in range(2, 19))
"""Emission thresholds tried on the out-of-fold predictions (0.10 … 0.90)."""


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold figures on the training data: what to expect on records like it."""

    predictions: int
    gold_values: int
    min_confidence: float
    """The emission threshold with the best out-of-fold micro-F1."""
    precision: float
    recall: float
    f1: float
    ece: float
    precision_at_auto: float
    """Precision of the values at or above 0.9."""
    share_at_auto: float
    """Share of the emitted values at or above 0.9."""

    def as_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def cross_validation(
    confidences: Sequence[float], correct: Sequence[bool], gold_values: int
) -> CrossValidation:
    """Pick the emission threshold that maximises micro-F1 and report the figures there.

    Args:
        confidences: Calibrated confidence of each out-of-fold value (one per record and
            attribute).
        correct: Whether each was one of the labelled values.
        gold_values: How many (record, attribute) pairs have a labelled value: the recall
            denominator, counting values no span could reach.
    """
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    best = (0.0, THRESHOLD_GRID[0])
    for threshold in THRESHOLD_GRID:
        keep = conf >= threshold
        hits = int(ok[keep].sum())
        f1 = 2 * hits / (int(keep.sum()) + gold_values) if gold_values else 0.0
        if f1 > best[0] + 1e-12:
            best = (f1, threshold)
    threshold = best[1]
    keep = conf >= threshold
    hits = int(ok[keep].sum())
    emitted = int(keep.sum())
    precision = hits / emitted if emitted else 0.0
    recall = hits / gold_values if gold_values else 0.0
    sure = conf >= AUTO_APPLY
    return CrossValidation(
        predictions=emitted,
        gold_values=gold_values,
        min_confidence=threshold,
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(2 * precision * recall / (precision + recall), 4) if hits else 0.0,
        ece=round(expected_calibration_error(conf, ok), 4) if conf.size else 0.0,
        precision_at_auto=round(float(ok[sure].mean()), 4) if sure.any() else 0.0,
        share_at_auto=round(float(sure[keep].mean()), 4) if emitted else 0.0,
    )


def calibrator_to_json(calibrator: Calibrator) -> dict[str, object]:
    return {
        "x": [float(v) for v in calibrator.x],
        "y": [float(v) for v in calibrator.y],
        "n_samples": calibrator.n_samples,
        "base_rate": calibrator.base_rate,
    }


def calibrator_from_json(data: dict[str, object]) -> Calibrator:
    return Calibrator(
        x=np.asarray(data["x"], dtype=np.float64),
        y=np.asarray(data["y"], dtype=np.float64),
        n_samples=int(data["n_samples"]),  # type: ignore[call-overload]
        base_rate=float(data["base_rate"]),  # type: ignore[arg-type]
    )
