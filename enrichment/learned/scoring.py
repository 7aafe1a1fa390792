"""Micro-F1 of attribute extraction as the Mannheim papers score it (ExtractGPT, WDC-PAVE).

Every gold row (one offer, one target attribute) falls in exactly one class:

| class | gold | prediction |
|---|---|---|
| NN | not present (`[]`) | no value |
| NV | not present | a value |
| VN | a value | no value |
| VC | a value | equal to one of the gold strings |
| VW | a value | any other value |

"No value" is a missing key, `None`, `"n/a"` or `"None"`. Equality: each gold string stripped
of surrounding whitespace, the prediction as it is, case-sensitive, and a non-string never
matches. P = VC / (NV + VC + VW), R = VC / (VN + VC + VW), F1 = 2PR / (P + R), with the counts
summed over all rows first. Predicted attributes without a gold row are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NO_VALUE = ("n/a", "None")


@dataclass
class Counts:
    nn: int = 0
    nv: int = 0
    vn: int = 0
    vc: int = 0
    vw: int = 0

    def add(self, kind: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)

    @property
    def precision(self) -> float:
        emitted = self.nv + self.vc + self.vw
        return self.vc / emitted if emitted else 0.0

    @property
    def recall(self) -> float:
        present = self.vn + self.vc + self.vw
        return self.vc / present if present else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def is_no_value(predicted: Any) -> bool:
    return predicted is None or (isinstance(predicted, str) and predicted in NO_VALUE)


def classify(gold: Sequence[str], predicted: Any) -> str:
    """The class (`nn`, `nv`, `vn`, `vc`, `vw`) of one gold row given the prediction."""
    if not gold:
        return "nn" if is_no_value(predicted) else "nv"
    if is_no_value(predicted):
        return "vn"
    if isinstance(predicted, str) and predicted in {g.strip() for g in gold}:
        return "vc"
    return "vw"


def score(
    gold_rows: Iterable[tuple[str, str, Sequence[str]]],
    predictions: Mapping[str, Mapping[str, Any]],
) -> Counts:
    """Counts over `(offer id, attribute, gold strings)` rows against per-offer predictions."""
    counts = Counts()
    for offer, attribute, gold in gold_rows:
        counts.add(classify(gold, predictions.get(offer, {}).get(attribute)))
    return counts
