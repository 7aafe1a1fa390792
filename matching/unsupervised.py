"""Matching with no labels: the Fellegi–Sunter model fitted by expectation–maximisation.

Each comparison (title similarity, shared model code, GTIN, brand, quantities, price) is cut
into a few agreement levels; among true matches (m) and non-matches (u) each level has its own
frequency, learned by EM from the candidate pairs alone, assuming the comparisons independent
given the match status. That is Splink's model; it is written out here (≈100 lines over the
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


BLOCKED_ON = frozenset({"title_cosine_chars", "title_jaccard", "code_best_similarity"})
"""Comparisons the candidates were selected by (title neighbours): every candidate agrees on
them, so they cannot tell matches apart *among candidates* during EM (Splink leaves a blocking
rule's own columns out of the EM session for the same reason). Their m and u are still
estimated — u among the candidates' non-matches, not among random pairs, so the similarity that
made a pair a candidate is not counted twice."""


FIXED_M: dict[str, tuple[float, ...]] = {
    "code_value_equal": (0.9, 0.1),
    "gtin_equal": (0.95, 0.05),
}
"""m-probabilities set, not learned, for identifiers (as Splink lets one fix them): where both
records have a GTIN / MPN, a true duplicate carries the same one nearly always (typos aside).
Learned, EM lets "same spec, same price, same brand" — lookalike products — outvote the one
comparison that tells them apart."""


def _levels(features: np.ndarray) -> list[np.ndarray]:
    """Level per pair and comparison: 0 = most agreeing, -1 = missing."""
    out = []
    for name, cuts in LEVELS:
        column = features[:, FEATURES.index(name)].astype(np.float64)
        if name == "quantity_unit_conflict":
            column = -column  # 0 conflicts is agreement
        level = np.full(column.size, len(cuts), dtype=np.int64)
        for index in range(len(cuts) - 1, -1, -1):
            level[column >= cuts[index]] = index
        level[np.isnan(column)] = -1
        out.append(level)
    return out


@dataclass
class FellegiSunter:
    """m and u probabilities per comparison level, and the prior share of matches."""

    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    iterations: int

    def weights(self, features: np.ndarray) -> np.ndarray:
        """log2 Bayes factors per pair and comparison (0 where missing): the evidence."""
        levels = _levels(features)
        out = np.zeros((features.shape[0], len(LEVELS)))
        for c, level in enumerate(levels):
            present = level >= 0
            ratio = np.log2(self.m[c] / self.u[c])
            out[present, c] = ratio[level[present]]
        return out

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(match), capped at `UNSUPERVISED_CAP`."""
        log_odds = np.log2(self.prior / (1 - self.prior)) + self.weights(features).sum(axis=1)
        p = 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -60, 60)))
        return np.minimum(p, UNSUPERVISED_CAP)


def fit_fellegi_sunter(
    features: np.ndarray, random_features: np.ndarray | None = None, *, seed: int = 0
) -> FellegiSunter:
    """Fit m, u and the prior.

    u (how often non-matches agree) is counted on random record pairs, which are nearly all
    non-matches — Splink's `estimate_u_using_random_sampling` — and then held fixed while EM
    fits m and the prior on the candidate pairs. Left free, EM on candidates alone happily
    decides that "same product family" is the match class. Without random pairs, u is fitted
    by EM too. Deterministic.

    Args:
        features: Candidate pairs' feature matrix.
        random_features: Random pairs' feature matrix (for u).
        seed: Unused (EM draws nothing); kept for a uniform signature.
    """
    del seed
    levels = _levels(features)
    n = features.shape[0]
    sizes = [len(cuts) + 1 for _, cuts in LEVELS]
    m = [_start(size, agree=True) for size in sizes]
    seeds = _rule_matches(features)
    if seeds.sum() >= 5:
        # start m where the identifier rule points, so EM climbs toward "same product", not
        # toward "same product family"
        m = [
            _normalise(np.bincount(level[seeds & (level >= 0)], minlength=size).astype(float))
            for level, size in zip(levels, sizes, strict=True)
        ]
    m = [
        np.asarray(FIXED_M[name]) if name in FIXED_M else x
        for (name, _), x in zip(LEVELS, m, strict=True)
    ]
    fixed_u = False
    if fixed_u:
        assert random_features is not None
        u = [
            _normalise(np.bincount(level[level >= 0], minlength=size).astype(np.float64))
            for level, size in zip(_levels(random_features), sizes, strict=True)
        ]
    else:
        u = [_start(size, agree=False) for size in sizes]
    prior = deterministic_prior(features)
    iterations = 0
    if n == 0:
        return FellegiSunter(m=m, u=u, prior=prior, iterations=0)
    blocked = [name in BLOCKED_ON for name, _ in LEVELS]
    if fixed_u:
        u = [
            _start(size, agree=False) if b else x
            for x, b, size in zip(u, blocked, sizes, strict=True)
        ]
    for iterations in range(1, ITERATIONS + 1):  # noqa: B007 - reported below
        log_m = np.full(n, np.log(prior))
        log_u = np.full(n, np.log(1 - prior))
        for c, level in enumerate(levels):
            if blocked[c]:
                continue
            present = level >= 0
            log_m[present] += np.log(m[c][level[present]])
            log_u[present] += np.log(u[c][level[present]])
        posterior = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -60, 60)))
        new_prior = prior  # fixed: EM's own prior drifts to "every candidate matches"
        new_m, new_u = [], []
        for c, level in enumerate(levels):
            present = level >= 0
            w_m = np.bincount(level[present], weights=posterior[present], minlength=sizes[c])
            name = LEVELS[c][0]
            new_m.append(np.asarray(FIXED_M[name]) if name in FIXED_M else _normalise(w_m))
            if fixed_u and not blocked[c]:
                new_u.append(u[c])
            else:
                w_u = np.bincount(
                    level[present], weights=1 - posterior[present], minlength=sizes[c]
                )
                new_u.append(_normalise(w_u))
        change = abs(new_prior - prior) + max(
            float(np.abs(a - b).max()) for a, b in zip(new_m + new_u, m + u, strict=True)
        )
        m, u, prior = new_m, new_u, new_prior
        if change < TOLERANCE:
            break
    return FellegiSunter(m=m, u=u, prior=prior, iterations=iterations)


def deterministic_prior(features: np.ndarray) -> float:
    """Share of candidates that are matches, estimated as Splink does from a deterministic
    rule (`_rule_matches`), plus one in a thousand candidates for matches it cannot see (never
    0, never above one in two)."""
    if features.shape[0] == 0:
        return 0.01
    share = float(_rule_matches(features).mean()) + 1e-3
    return float(np.clip(share, 1e-4, 0.5))


def _rule_matches(features: np.ndarray) -> np.ndarray:
    """Pairs a person would call the same without a model: one GTIN, one MPN value, or the
    same title where no identifier can be compared and no brand or code says otherwise."""

    def column(name: str) -> np.ndarray:
        return features[:, FEATURES.index(name)]

    gtin = column("gtin_equal") == 1
    code = column("code_value_equal") == 1
    no_objection = (
        np.isnan(column("gtin_equal"))
        & np.isnan(column("code_value_equal"))
        & (column("brand_equal") != 0)
        & (column("code_conflict") != 1)
    )
    same_title = (column("title_ratio") >= 0.999) & no_objection
    return np.asarray(gtin | code | same_title)


def random_pairs(n: int, count: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` random distinct-record pairs among n records (for u), reproducibly."""
    if n < 2 or count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size=count)
    b = rng.integers(0, n - 1, size=count)
    b = np.where(b >= a, b + 1, b)
    return a.astype(np.int64), b.astype(np.int64)


def _start(size: int, *, agree: bool) -> np.ndarray:
    ramp = np.linspace(1.0, 0.1, size) if agree else np.linspace(0.1, 1.0, size)
    return ramp / ramp.sum()


def _normalise(weights: np.ndarray) -> np.ndarray:
    smoothed = weights + 1e-3  # no level is impossible: keeps log-ratios finite
    return smoothed / smoothed.sum()
