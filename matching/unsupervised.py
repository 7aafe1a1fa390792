"""Matching with no labels: the Fellegi–Sunter model fitted by expectation–maximisation.

Each comparison (title similarity, shared model code, GTIN, brand, quantities, price) is cut
into a few agreement levels; among true matches (m) and non-matches (u) each level has its own
frequency, learned by EM from the candidate pairs alone, assuming the comparisons independent
given the match status. That is Splink's model; it is written out here (≈150 lines over the
feature matrix we already compute) rather than pulled in with DuckDB, Splink and their
dependencies. A missing comparison (no brand on one side) contributes nothing, as in Splink.

The independence assumption makes the probabilities overconfident where comparisons are
correlated, and there was no label to calibrate them with, so they are capped at
`UNSUPERVISED_CAP`: below the default auto-merge threshold, every unsupervised match waits for
a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.features import FEATURES

UNSUPERVISED_CAP = 0.85
ITERATIONS = 200
TOLERANCE = 1e-6

# (feature, cut points from the most to the least agreeing level)
LEVELS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("title_cosine_chars", (0.9, 0.75, 0.6, 0.45)),
    ("title_jaccard", (0.8, 0.6, 0.4, 0.2)),
    ("code_best_similarity", (1.0, 0.8)),
    ("code_value_equal", (1.0,)),
    ("gtin_equal", (1.0,)),
    ("brand_equal", (1.0,)),
    ("quantity_unit_conflict", (-0.5,)),
    ("number_jaccard", (0.99, 0.5)),
    ("price_ratio", (0.9, 0.7)),
)


FIXED_M: dict[str, tuple[float, ...]] = {
    "code_value_equal": (0.995, 0.005),
    "gtin_equal": (0.998, 0.002),
}
"""m-probabilities set, not learned, for identifiers (as Splink lets one fix them): where both
records have a GTIN / MPN, a true duplicate carries the same one nearly always (typos aside).
Learned, EM lets "same spec, same price, same brand" — lookalike products — outvote the one
comparison that tells them apart. A disagreement weighs about −7.6 bits (MPN) and −9 (GTIN):
identical titles alone add ~10 correlated bits (character cosine, word Jaccard, numbers,
codes), so at the earlier 0.1 / 0.05 two lookalikes with different part numbers — the
bundled example's three "Hard Hat Type I Class E 4-Point Ratchet, Blue", each its own MPN —
were proposed as one product. Chosen on data with truth, none of it validation: pairwise F1
on the bundled example 0.571 → 0.857, on a generated 100k catalogue 0.972 → 0.975, and
match-class F1 on Walmart–Amazon's *train* pairs (the public set with model numbers, fitted
without its labels) 0.560 → 0.600; the other sets have no identifier and do not move."""


def comparison_levels(features: np.ndarray) -> np.ndarray:
    """Agreement level per pair and comparison (pairs × `LEVELS`, int8): 0 = most agreeing,
    -1 = missing. Nine bytes a pair is all Fellegi–Sunter needs of a 45-float feature row, so
    a dedupe keeps these, not the features (`matching.model.score_candidates`)."""
    out = np.empty((features.shape[0], len(LEVELS)), dtype=np.int8)
    for c, (name, cuts) in enumerate(LEVELS):
        column = features[:, FEATURES.index(name)].astype(np.float64)
        if name == "quantity_unit_conflict":
            column = -column  # 0 conflicts is agreement
        level = np.full(column.size, len(cuts), dtype=np.int8)
        for index in range(len(cuts) - 1, -1, -1):
            level[column >= cuts[index]] = index
        level[np.isnan(column)] = -1
        out[:, c] = level
    return out


@dataclass
class FellegiSunter:
    """m and u probabilities per comparison level, and the prior share of matches."""

    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int

    def weights(self, levels: np.ndarray) -> np.ndarray:
        """log2 Bayes factors per pair and comparison (0 where missing): the evidence.
        `levels`: `comparison_levels` of the pairs' features."""
        out = np.zeros((levels.shape[0], len(LEVELS)))
        for c in range(len(LEVELS)):
            level = levels[:, c]
            present = level >= 0
            ratio = np.log2(self.m[c] / self.u[c])
            out[present, c] = ratio[level[present]]
        return out

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(match) of pairs given their features, capped at `UNSUPERVISED_CAP`."""
        return self.probability_of_levels(comparison_levels(features))

    def probability_of_levels(self, levels: np.ndarray) -> np.ndarray:
        """P(match) of pairs given their `comparison_levels`, capped at `UNSUPERVISED_CAP`."""
        log_odds = np.log2(self.prior / (1 - self.prior)) + self.weights(levels).sum(axis=1)
        p = 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -60, 60)))
        return np.minimum(p, UNSUPERVISED_CAP)


def fit_fellegi_sunter_levels(levels: np.ndarray, seeds: np.ndarray) -> FellegiSunter:
    """Fit m and u by EM on candidate pairs, the prior held at the deterministic rule's share.

    `levels`: the pairs' `comparison_levels`; `seeds`: the pairs `rule_matches` calls matches.

    Candidates are what blocking found similar, so u (how often non-matches agree) is
    estimated among them, not among random pairs: the similarity that made a pair a candidate
    is not counted twice. Three things keep EM from deciding that "same product family" is
    the match class, which it otherwise does on catalogues of lookalike products: the prior is
    fixed (`deterministic_prior`), m starts where the identifier rule points, and m for GTIN
    and MPN agreement is set, not learned (`FIXED_M`). Deterministic: EM draws nothing.
    """
    columns = [levels[:, c] for c in range(len(LEVELS))]
    n = levels.shape[0]
    sizes = [len(cuts) + 1 for _, cuts in LEVELS]
    m = [_start(size, agree=True) for size in sizes]
    if seeds.sum() >= 5:
        m = [
            _normalise(np.bincount(level[seeds & (level >= 0)], minlength=size).astype(float))
            for level, size in zip(columns, sizes, strict=True)
        ]
    m = [_fixed_or(name, x) for (name, _), x in zip(LEVELS, m, strict=True)]
    u = [_start(size, agree=False) for size in sizes]
    prior = deterministic_prior(seeds)
    # EM sees each distinct comparison vector once, weighted by how many pairs share it (as
    # Splink does): a few thousand patterns instead of millions of pairs per iteration.
    patterns, weights = _patterns(columns, sizes)
    iterations = 0
    for iterations in range(1, ITERATIONS + 1 if n else 1):  # noqa: B007 - reported below
        log_m = np.full(len(weights), np.log(prior))
        log_u = np.full(len(weights), np.log(1 - prior))
        for c, level in enumerate(patterns):
            present = level >= 0
            log_m[present] += np.log(m[c][level[present]])
            log_u[present] += np.log(u[c][level[present]])
        posterior = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -60, 60)))
        on_m, on_u = posterior * weights, (1 - posterior) * weights
        new_m, new_u = [], []
        for c, level in enumerate(patterns):
            present = level >= 0
            w_m = np.bincount(level[present], weights=on_m[present], minlength=sizes[c])
            w_u = np.bincount(level[present], weights=on_u[present], minlength=sizes[c])
            new_m.append(_fixed_or(LEVELS[c][0], _normalise(w_m)))
            new_u.append(_normalise(w_u))
        change = max(float(np.abs(a - b).max()) for a, b in zip(new_m + new_u, m + u, strict=True))
        m, u = new_m, new_u
        if change < TOLERANCE:
            break
    return FellegiSunter(m=m, u=u, prior=prior, iterations=iterations)


def _patterns(levels: list[np.ndarray], sizes: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct comparison vectors (a level array per comparison) and their pair counts."""
    if not levels or levels[0].size == 0:
        return [np.zeros(0, dtype=np.int64) for _ in levels], np.zeros(0)
    key = np.zeros(levels[0].size, dtype=np.int64)
    for level, size in zip(levels, sizes, strict=True):
        key = key * (size + 1) + (level + 1)  # -1 (missing) becomes 0
    unique, counts = np.unique(key, return_counts=True)
    patterns: list[np.ndarray] = []
    rest = unique.copy()
    for size in reversed(sizes):
        patterns.append(rest % (size + 1) - 1)
        rest //= size + 1
    return patterns[::-1], counts.astype(np.float64)


def _fixed_or(name: str, learned: np.ndarray) -> np.ndarray:
    return np.asarray(FIXED_M[name], dtype=np.float64) if name in FIXED_M else learned


def deterministic_prior(seeds: np.ndarray) -> float:
    """Share of candidates that are matches, estimated as Splink does from a deterministic
    rule (`seeds`: the pairs `rule_matches` calls matches), plus one in a thousand candidates
    for matches it cannot see (never 0, never above one in two)."""
    if seeds.shape[0] == 0:
        return 0.01
    share = float(seeds.mean()) + 1e-3
    return float(np.clip(share, 1e-4, 0.5))


def rule_matches(features: np.ndarray) -> np.ndarray:
    """Pairs a person would call the same without a model: one GTIN or one MPN value on two
    similar titles (one code on two different things is a clash, not a match), or the same
    title where no identifier can be compared and no brand or code says otherwise."""

    def column(name: str) -> np.ndarray:
        return features[:, FEATURES.index(name)]

    similar = column("title_cosine_chars") >= 0.6
    gtin = (column("gtin_equal") == 1) & similar
    code = (column("code_value_equal") == 1) & similar
    no_objection = (
        np.isnan(column("gtin_equal"))
        & np.isnan(column("code_value_equal"))
        & (column("brand_equal") != 0)
        & (column("code_conflict") != 1)
    )
    same_title = (column("title_ratio") >= 0.999) & no_objection
    return np.asarray(gtin | code | same_title)


def _start(size: int, *, agree: bool) -> np.ndarray:
    ramp = np.linspace(1.0, 0.1, size) if agree else np.linspace(0.1, 1.0, size)
    return ramp / ramp.sum()


def _normalise(weights: np.ndarray) -> np.ndarray:
    smoothed = weights + 1e-3  # no level is impossible: keeps log-ratios finite
    return smoothed / smoothed.sum()
