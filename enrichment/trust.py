"""How sure we are of a field's value: agreement between sources, their reliability, the method.

Independent sources that agree make a value more credible: two sources at 0.85 give
1 − 0.15² ≈ 0.98, one gives 0.85. Evidence from one source counts once (its best piece), so a
page repeating a value in JSON-LD and in its spec table is not two witnesses. When sources
disagree, the best-supported value is kept but capped at `DISAGREEMENT_CAP`, so a person decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from enrichment.evidence import INPUT, Evidence

MAX_CONFIDENCE = 0.99
DISAGREEMENT_CAP = 0.6


@dataclass(frozen=True, slots=True)
class Verdict:
    """The value chosen for one field of one item, with everything that supports it."""

    value: Any
    confidence: float
    sources: tuple[str, ...]
    methods: tuple[str, ...]
    providers: tuple[str, ...]
    quotes: tuple[str, ...]
    alternatives: tuple[tuple[Any, float, tuple[str, ...]], ...]
    """Other values found, with their combined confidence and sources (disagreement)."""

    @property
    def disputed(self) -> bool:
        return bool(self.alternatives)


_NUMBER = int | float
"""Built once: `int | float` inside a function builds the union on every call."""


def value_key(value: Any) -> Any:
    """A hashable identity for a coerced value (1.0 == 1, case-insensitive text, lists by
    content)."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, _NUMBER):
        # 3 significant digits: 0.44 lb (0.1996 kg) and "200 g" state the same weight.
        return float(f"{float(value):.3g}")
    return json.dumps(value, sort_keys=True, default=str)


def combine(pieces: list[tuple[Evidence, Any]]) -> Verdict:
    """One verdict from the coerced evidence for one field of one item (non-empty list)."""
    if len(pieces) == 1:  # the common case, kept cheap (positional: a frozen dataclass)
        evidence, value = pieces[0]
        return Verdict(
            value,
            round(min(MAX_CONFIDENCE, max(evidence.reliability, 0.0)), 3),
            (evidence.source,),
            (evidence.method,),
            (evidence.provider,),
            (evidence.quote,) if evidence.quote else (),
            (),
        )
    groups: dict[str, list[tuple[Evidence, Any]]] = {}
    for piece in pieces:
        groups.setdefault(value_key(piece[1]), []).append(piece)
    scored = []
    for members in groups.values():
        best_by_source: dict[str, float] = {}
        for evidence, _ in members:
            witness = _witness(evidence.source)
            best_by_source[witness] = max(best_by_source.get(witness, 0.0), evidence.reliability)
        doubt = 1.0
        for reliability in best_by_source.values():
            doubt *= 1.0 - min(max(reliability, 0.0), 1.0)
        confidence = min(MAX_CONFIDENCE, 1.0 - doubt)
        scored.append((confidence, len(best_by_source), members))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    confidence, _, members = scored[0]
    alternatives = tuple(
        (m[0][1], round(c, 3), _unique(e.source for e, _ in m)) for c, _, m in scored[1:]
    )
    if alternatives:
        confidence = min(confidence, DISAGREEMENT_CAP)
    return Verdict(
        value=members[0][1],
        confidence=round(confidence, 3),
        sources=_unique(e.source for e, _ in members),
        methods=_unique(e.method for e, _ in members),
        providers=_unique(e.provider for e, _ in members),
        quotes=_unique(e.quote for e, _ in members if e.quote),
        alternatives=alternatives,
    )


def _witness(source: str) -> str:
    """The item's own text is one witness however it is cited (`input`, a span
    `record:title[0:4]`): two providers reading it do not make it twice as credible."""
    return INPUT if source == INPUT or source.startswith("record:") else source


def _unique(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
