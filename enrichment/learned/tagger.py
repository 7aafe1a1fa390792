"""The sequence tagger: a linear-chain CRF over token features, one label per token (an
attribute name, or `O`), and the spans it tags with their marginal probabilities.

CRFsuite trains it (L-BFGS, deterministic for the same sequences in the same order). Decoding
is done here, in numpy, from CRFsuite's weights: a record is decoded over the labels its group
can have (a coffee is never tagged with a shoe size), records of one group in one batch, so
Viterbi and the forward-backward marginals cost (labels of the group)² per token instead of
(all labels)², and every marginal is at hand for secondary spans.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from enrichment.learned.blas import single_threaded_blas
from enrichment.learned.compiled import CompiledBatch
from enrichment.learned.examples import OUTSIDE


@dataclass(frozen=True)
class CRFParams:
    """Training settings; part of a model's cache key."""

    c1: float = 0.2
    """L1 penalty: drops features that do not help (small models). 0.2 with `c2` 0.5 keeps
    about as many features as 0.05 did with `c2` 0.05 (0.05 with 0.5 kept 40-60 % more,
    and prediction was 3-5 % slower on the title sets for the same out-of-fold F1)."""
    c2: float = 0.5
    """L2 penalty. 0.5 rather than 0.05: out-of-fold micro-F1 (5 folds of the train splits,
    `benchmarks/extract.py --folds 5`) rose on OA-Mine and AE-110k; the small sets'
    (category, attribute) pairs have ~100 labelled titles each, and the stronger penalty
    keeps rare words' weights from deciding a span alone."""
    max_iterations: int = 150

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class TaggedSpan(NamedTuple):
    """A run of tokens `first..last` (inclusive) tagged with one attribute, with the lowest
    and the mean marginal probability of that label over the run, and `spill`: the larger
    probability that the token just before or just after has the label too (an unsure
    boundary, "Oxford" or "Wing-Tip Oxford"). A named tuple (immutable, as a frozen
    dataclass, but made three times faster: a batch makes ten a record)."""

    attribute: str
    first: int
    last: int
    score: float
    mean: float
    spill: float
    secondary: bool = False
    """Not on the most likely labelling: the best run of an attribute the labelling left
    out, read from the marginals (a value the tagger was unsure of, scored as such)."""


def _require_crfsuite():  # the pycrfsuite module
    try:
        import pycrfsuite
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise ImportError(
            "the learned extractor needs python-crfsuite: pip install python-crfsuite"
        ) from exc
    return pycrfsuite


def train_crf(
    xseqs: Sequence[list[list[str]]], yseqs: Sequence[list[str]], params: CRFParams
) -> bytes:
    """Train on feature sequences and label sequences; the model as bytes."""
    pycrfsuite = _require_crfsuite()
    trainer = pycrfsuite.Trainer(verbose=False)
    for xseq, yseq in zip(xseqs, yseqs, strict=True):
        trainer.append(xseq, yseq)
    trainer.set_params({"c1": params.c1, "c2": params.c2, "max_iterations": params.max_iterations})
    with tempfile.TemporaryDirectory(prefix="skuflow-crf-") as folder:
        path = Path(folder) / "model.crfsuite"
        trainer.train(os.fspath(path))
        return path.read_bytes()


SECONDARY_FLOOR = 0.1
"""Lowest peak marginal that makes a secondary span (below it the label is noise)."""
SECONDARY_EXTEND = 0.5
"""A secondary span grows over neighbours whose marginal is at least this share of its peak."""
_BATCH_RECORDS = 2_000
"""Records decoded in one numpy batch (bounds memory: their tokens × labels floats, a few
times over)."""


class CRFTagger:
    """A trained CRF as weight matrices: one row of label weights per feature string, and the
    label-to-label transitions. Built from CRFsuite's model bytes, saved as JSON."""

    def __init__(
        self,
        labels: Sequence[str],
        features: Sequence[str],
        state: np.ndarray,
        transitions: np.ndarray,
    ) -> None:
        self.label_names = list(labels)
        self.labels = frozenset(self.label_names)
        self._label_index = {label: i for i, label in enumerate(self.label_names)}
        self.feature_names = list(features)
        self._feature_index = {f: i for i, f in enumerate(self.feature_names)}
        self._state = np.asarray(state, dtype=np.float64)
        """(features + 1) × labels; the last row is zeros (unknown features land there)."""
        self._transitions = np.asarray(transitions, dtype=np.float64)
        self._restricted: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def from_crfsuite(cls, model: bytes) -> CRFTagger:
        """Read the weights of a model `train_crf` returned (via CRFsuite's text dump)."""
        pycrfsuite = _require_crfsuite()
        tagger = pycrfsuite.Tagger()
        tagger.open_inmemory(model)
        labels = list(tagger.labels())
        with tempfile.TemporaryDirectory(prefix="skuflow-crf-") as folder:
            path = Path(folder) / "dump.txt"
            tagger.dump(os.fspath(path))
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        tagger.close()
        index = {label: i for i, label in enumerate(labels)}
        transitions = np.zeros((len(labels), len(labels)))
        features: dict[str, int] = {}
        rows: list[tuple[int, int, float]] = []
        section = ""
        for line in text.splitlines():
            if line.endswith(" = {"):
                section = line[: -len(" = {")]
                continue
            if section not in ("TRANSITIONS", "STATE_FEATURES") or not line.startswith("  ("):
                continue
            body, weight = line.split(") ", 1)[1].rsplit(": ", 1)
            source, label = body.rsplit(" --> ", 1)
            if section == "TRANSITIONS":
                transitions[index[source], index[label]] = float(weight)
            else:
                feature = features.setdefault(source, len(features))
                rows.append((feature, index[label], float(weight)))
        state = np.zeros((len(features) + 1, len(labels)))
        for feature_id, label_id, feature_weight in rows:
            state[feature_id, label_id] = feature_weight
        return cls(labels, list(features), state, transitions)

    def to_json(self) -> dict[str, object]:
        nonzero = np.argwhere(self._state[:-1] != 0.0)
        return {
            "labels": self.label_names,
            "features": self.feature_names,
            "state": [[int(f), int(k), float(self._state[f, k])] for f, k in nonzero],
            "transitions": self._transitions.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CRFTagger:
        labels = list(data["labels"])  # type: ignore[call-overload]
        features = list(data["features"])  # type: ignore[call-overload]
        state = np.zeros((len(features) + 1, len(labels)))
        triples = np.asarray(data["state"], dtype=np.float64).reshape(-1, 3)
        state[triples[:, 0].astype(int), triples[:, 1].astype(int)] = triples[:, 2]
        return cls(labels, features, state, np.asarray(data["transitions"], dtype=np.float64))

    def spans(
        self, xseq: list[list[str]], extra: Sequence[str] = (), extra_limit: int = 0
    ) -> list[TaggedSpan]:
        """`spans_batch` for one sequence over every label."""
        return self.spans_batch([xseq], [None], [extra], [extra_limit])[0]

    def spans_batch(
        self,
        xseqs: Sequence[list[list[str]]],
        allowed: Sequence[Sequence[str] | None],
        extra: Sequence[Sequence[str]],
        extra_limits: Sequence[int],
    ) -> list[list[TaggedSpan]]:
        """Per sequence, the most likely labelling over `O` and its `allowed` labels (None:
        every label) as spans of equal non-`O` labels; then, for each label in its `extra`
        that the labelling does not use, its most probable run among the first
        `extra_limits` tokens (a secondary span), when its peak marginal reaches
        `SECONDARY_FLOOR`. Secondary spans recover values the single best labelling drops
        (two attributes competing for one title); their low marginals say so."""
        return self._spans_of(
            [len(x) for x in xseqs],
            lambda rows, state: self._emissions([xseqs[i] for i in rows], state),
            allowed,
            extra,
            extra_limits,
        )

    def spans_compiled(
        self,
        batch: CompiledBatch,
        allowed: Sequence[Sequence[str] | None],
        extra: Sequence[Sequence[str]],
        extra_limits: Sequence[int],
    ) -> list[list[TaggedSpan]]:
        """`spans_batch` on feature rows (`CompiledFeatures.batch` of this tagger's
        `feature_index`): the same spans, without building feature strings."""
        lengths = np.diff(batch.bounds).tolist()
        return self._spans_of(lengths, batch.emissions, allowed, extra, extra_limits)

    def decoding_order(self, allowed: Sequence[Sequence[str] | None]) -> list[int]:
        """The records (given their `allowed` labels) grouped as `spans_compiled` decodes
        them: by the label set they are decoded over, in order of first appearance, each
        group in the given order. Compiled in this order, the records of every decoded
        batch are consecutive, so `CompiledBatch.emissions` reads a slice; the batches,
        and so every float, are those of the given order."""
        by_labels: dict[tuple[int, ...], list[int]] = {}
        for i, labels in enumerate(allowed):
            by_labels.setdefault(self._label_set(labels), []).append(i)
        return [i for members in by_labels.values() for i in members]

    @property
    def feature_index(self) -> dict[str, int]:
        """Feature string → its row in the weights; unknown features: `len(feature_names)`."""
        return self._feature_index

    def _spans_of(
        self,
        lengths: Sequence[int],
        emissions: Callable[[list[int], np.ndarray], np.ndarray],
        allowed: Sequence[Sequence[str] | None],
        extra: Sequence[Sequence[str]],
        extra_limits: Sequence[int],
    ) -> list[list[TaggedSpan]]:
        out: list[list[TaggedSpan]] = [[] for _ in lengths]
        by_labels: dict[tuple[int, ...], list[int]] = {}
        for i, (length, labels) in enumerate(zip(lengths, allowed, strict=True)):
            if length:
                by_labels.setdefault(self._label_set(labels), []).append(i)
        with single_threaded_blas():
            for key, members in by_labels.items():
                state, transitions = self._restricted_weights(key)
                names = [self.label_names[k] for k in key]
                for start in range(0, len(members), _BATCH_RECORDS):
                    chosen = members[start : start + _BATCH_RECORDS]
                    chosen_lengths = np.asarray([lengths[i] for i in chosen], dtype=np.intp)
                    paths, marginals = _decode(
                        emissions(chosen, state), chosen_lengths, transitions
                    )
                    found = _spans(
                        paths,
                        marginals,
                        chosen_lengths,
                        names,
                        [extra[i] for i in chosen],
                        [extra_limits[i] for i in chosen],
                    )
                    for i, spans in zip(chosen, found, strict=True):
                        out[i] = spans
        return out

    def _label_set(self, labels: Sequence[str] | None) -> tuple[int, ...]:
        if labels is None:
            return tuple(range(len(self.label_names)))
        wanted = {self._label_index[x] for x in labels if x in self._label_index}
        outside = self._label_index.get(OUTSIDE)
        if outside is not None:
            wanted.add(outside)
        return tuple(sorted(wanted))

    def _restricted_weights(self, key: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        held = self._restricted.get(key)
        if held is None:
            columns = np.asarray(key, dtype=np.intp)
            held = (
                np.ascontiguousarray(self._state[:, columns]),
                np.ascontiguousarray(self._transitions[np.ix_(columns, columns)]),
            )
            self._restricted[key] = held
        return held

    def _emissions(self, xseqs: Sequence[list[list[str]]], state: np.ndarray) -> np.ndarray:
        """The sequences' tokens, one after another, × labels: the summed weights of each
        token's features (a feature the model does not know weighs nothing). One gather and
        one sum for the whole batch."""
        get = self._feature_index.get
        unknown = len(self.feature_names)
        flat = [f for xseq in xseqs for feats in xseq for f in feats]
        widths = [len(feats) for xseq in xseqs for feats in xseq]
        ids = np.fromiter(map(get, flat, repeat(unknown)), dtype=np.intp, count=len(flat))
        indptr = np.zeros(len(widths) + 1, dtype=np.intp)
        np.cumsum(widths, out=indptr[1:])
        tokens = sparse.csr_matrix(
            (np.ones(len(flat)), ids, indptr), shape=(len(widths), state.shape[0])
        )
        return np.asarray(tokens @ state)


VITERBI_LOOP = 48
"""From this many sequences at a step on, Viterbi's maximum over the previous label is a loop
of elementwise maxima over it (two numpy calls a label, each over all sequences × labels);
below, one reduction over a sequences × labels × labels array costs fewer calls."""


def _decode(
    emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi labels and forward-backward marginals of a batch of sequences, given and
    returned one after another (`lengths` tokens each): tokens, and tokens × labels.

    The sequences are ordered longest first and laid out time-major, so step t works on
    the prefix of sequences still running: every numpy call covers the whole batch, and no
    step is spent on padding.

    Viterbi keeps only each step's best scores, as maxima (exact, whatever the order they
    are taken in); the back pointer of a step is taken while backtracking, for the label
    chosen there only: the first maximum over the previous labels of the same sums, which
    is what a pointer kept for every label would hold.
    """
    b, n = len(lengths), transitions.shape[0]
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    t_max = int(sorted_lengths[0])
    # active[t]: how many sequences have a token at step t (a prefix, longest first).
    active = np.searchsorted(-sorted_lengths, -np.arange(t_max), side="left")
    begin = np.zeros(t_max + 1, dtype=np.intp)
    np.cumsum(active, out=begin[1:])
    starts = np.zeros(b + 1, dtype=np.intp)
    np.cumsum(lengths, out=starts[1:])
    # Row of (sequence j in sorted order, step t) in the time-major layout: begin[t] + j;
    # `given[row]` is its row in the given layout.
    seq_of_row = np.concatenate([np.arange(k) for k in active])
    step_of_row = np.repeat(np.arange(t_max), active)
    given = starts[order][seq_of_row] + step_of_row
    emit = emissions[given]
    rows = emit.shape[0]

    # Viterbi, log space: the best score of each label at each step, a step's scores held
    # label-major in a block of its own (labels × the step's sequences, contiguous), so a
    # numpy call's inner loop runs over the step's sequences, not over the few labels. The
    # sums and maxima are those of the row-major layout, element for element.
    flat = np.empty(rows * n)

    def block(t: int) -> np.ndarray:
        return flat[n * begin[t] : n * begin[t + 1]].reshape(n, -1)

    block(0)[:] = emit[: active[0]].T
    moves = [transitions[f][:, None] for f in range(n)]  # from label f to each label
    scratch = np.empty(n * int(active[0]))
    previous = block(0)
    for t in range(1, t_max):
        k = active[t]
        here = block(t)
        if k >= VITERBI_LOOP:
            np.add(previous[0, :k], moves[0], out=here)
            step = scratch[: n * k].reshape(n, k)
            for f in range(1, n):
                np.add(previous[f, :k], moves[f], out=step)
                np.maximum(here, step, out=here)
        else:
            np.maximum.reduce(previous[:, None, :k] + transitions[:, :, None], axis=0, out=here)
        here += emit[begin[t] : begin[t + 1]].T
        previous = here
    labels = np.empty(rows, dtype=np.intp)
    current = np.zeros(b, dtype=np.intp)
    for t in range(t_max - 1, -1, -1):
        k = active[t]
        ending = active[t + 1] if t + 1 < t_max else 0
        current[ending:k] = block(t)[:, ending:k].argmax(axis=0)
        labels[begin[t] : begin[t + 1]] = current[:k]
        if t:
            came = block(t - 1)[:, :k] + transitions[:, current[:k]]
            current[:k] = came.argmax(axis=0)

    # Forward-backward, scaled, probability space.
    expt = np.exp(transitions)
    pot = np.exp(emit - emit.max(axis=1, keepdims=True))
    alpha = np.empty((rows, n))
    a = pot[: active[0]]
    alpha[: active[0]] = a / a.sum(axis=1, keepdims=True)
    # Each step's products, row sums and quotients are written into buffers held for the
    # whole batch (`out=`): the same BLAS product, the same reductions and divisions of
    # the same floats, without an allocation and a copy per step.
    product = np.empty((int(active[0]), n))
    sums = np.empty((int(active[0]), 1))
    for t in range(1, t_max):
        k = active[t]
        a = np.matmul(alpha[begin[t - 1] : begin[t - 1] + k], expt, out=product[:k])
        np.multiply(a, pot[begin[t] : begin[t + 1]], out=a)
        np.divide(
            a, np.sum(a, axis=1, keepdims=True, out=sums[:k]), out=alpha[begin[t] : begin[t + 1]]
        )
    beta = np.ones((rows, n))
    into_t = expt.T
    following = np.empty((int(active[0]), n))
    for t in range(t_max - 2, -1, -1):
        k = active[t + 1]
        nxt = np.multiply(
            pot[begin[t + 1] : begin[t + 2]], beta[begin[t + 1] : begin[t + 2]], out=product[:k]
        )
        nxt = np.matmul(nxt, into_t, out=following[:k])
        np.divide(
            nxt, np.sum(nxt, axis=1, keepdims=True, out=sums[:k]), out=beta[begin[t] : begin[t] + k]
        )
    marginal = np.multiply(alpha, beta, out=alpha)
    marginal /= marginal.sum(axis=1, keepdims=True)

    paths = np.empty(rows, dtype=np.intp)
    paths[given] = labels
    marginals = np.empty((rows, n))
    marginals[given] = marginal
    return paths, marginals


SHORT_RUN = 8
"""Runs shorter than this have their mean summed left to right, as numpy's `add.reduce` sums
fewer than 8 floats; longer runs are summed by `add.reduce` itself (its pairwise order)."""


def _spans(
    paths: np.ndarray,
    marginals: np.ndarray,
    lengths: np.ndarray,
    names: list[str],
    extra: Sequence[Sequence[str]],
    extra_limits: Sequence[int],
) -> list[list[TaggedSpan]]:
    """Per sequence of a decoded batch (given one after another, `lengths` tokens each): the
    runs of equal non-`O` labels of its path, each with the lowest and the mean marginal of
    its label over the run and the larger marginal of that label just outside it (`spill`),
    then its secondary spans. The runs and their figures are found for the whole batch at
    once; the mean of a run is the float `_mean` gives."""
    b = len(lengths)
    out: list[list[TaggedSpan]] = [[] for _ in range(b)]
    rows = len(paths)
    if not rows:
        return out
    cut = np.zeros(b + 1, dtype=np.intp)
    np.cumsum(lengths, out=cut[1:])
    record_of = np.repeat(np.arange(b), lengths)
    new_run = np.ones(rows, dtype=bool)
    new_run[1:] = (paths[1:] != paths[:-1]) | (record_of[1:] != record_of[:-1])
    run_first = np.flatnonzero(new_run)
    run_last = np.append(run_first[1:], rows) - 1
    own = marginals[np.arange(rows), paths]  # each token's marginal of its own label
    lowest = np.minimum.reduceat(own, run_first)
    outside = names.index(OUTSIDE) if OUTSIDE in names else -1
    keep = paths[run_first] != outside
    first, last, lowest = run_first[keep], run_last[keep], lowest[keep]
    label = paths[first]
    record = record_of[first]
    size = last - first + 1
    total = own[first].copy()
    for k in range(1, SHORT_RUN - 1):
        inside = k < size
        total[inside] += own[first[inside] + k]
    means = total / size
    for r in np.flatnonzero(size >= SHORT_RUN).tolist():
        means[r] = _mean(own[first[r] : last[r] + 1])
    before = np.zeros(len(first))
    has_before = first > cut[record]
    before[has_before] = marginals[first[has_before] - 1, label[has_before]]
    after = np.zeros(len(first))
    has_after = last + 1 < cut[record + 1]
    after[has_after] = marginals[last[has_after] + 1, label[has_after]]
    spill = np.maximum(before, after)
    base = cut[record]
    for rec, lab, i, j, low, mean, sp in zip(
        record.tolist(),
        label.tolist(),
        (first - base).tolist(),
        (last - base).tolist(),
        lowest.tolist(),
        means.tolist(),
        spill.tolist(),
        strict=True,
    ):
        out[rec].append(_NEW_SPAN(TaggedSpan, (names[lab], i, j, low, mean, sp, False)))
    _add_secondary(out, paths, marginals, cut, record_of, names, extra, extra_limits)
    return out


_NEW_SPAN = tuple.__new__
"""`TaggedSpan(...)` from all its fields, without the named tuple's Python-level `__new__`."""


def _add_secondary(
    out: list[list[TaggedSpan]],
    paths: np.ndarray,
    marginals: np.ndarray,
    cut: np.ndarray,
    record_of: np.ndarray,
    names: list[str],
    extra: Sequence[Sequence[str]],
    extra_limits: Sequence[int],
) -> None:
    """For each sequence and each of its `extra` labels its path does not use, the most
    probable run of that label among its first `extra_limits` tokens, when the label's peak
    marginal there reaches `SECONDARY_FLOOR` (peaks of all sequences at once)."""
    b = len(out)
    lengths = np.diff(cut)
    limits = np.minimum(np.asarray(extra_limits, dtype=np.intp), lengths)
    wanted = np.asarray([bool(e) for e in extra], dtype=bool) & (limits > 0)
    if not wanted.any():
        return
    used = np.zeros((b, len(names)), dtype=bool)
    used[record_of, paths] = True
    chosen = np.flatnonzero(wanted)
    starts = cut[chosen]
    heads = np.arange(int(limits[chosen].sum()), dtype=np.intp)
    offsets = np.cumsum(limits[chosen]) - limits[chosen]
    heads += np.repeat(starts - offsets, limits[chosen])
    peaks = np.maximum.reduceat(marginals[heads], offsets, axis=0)
    position = {name: k for k, name in enumerate(names)}
    peak_rows = peaks.tolist()
    used_rows = used[chosen].tolist()
    for r, (k_record, peak, in_use) in enumerate(
        zip(chosen.tolist(), peak_rows, used_rows, strict=True)
    ):
        a, limit = int(starts[r]), int(limits[k_record])
        for name in extra[k_record]:
            k = position.get(name)
            if k is None or in_use[k] or peak[k] < SECONDARY_FLOOR:
                continue  # (below the floor `_secondary` finds nothing)
            span = _secondary(name, marginals[a : a + limit, k])
            if span is not None:
                out[k_record].append(span)


def _secondary(label: str, marginals: np.ndarray) -> TaggedSpan | None:
    """The run around the highest marginal of `label`, or None when that is below the floor."""
    top = int(marginals.argmax())
    peak = float(marginals[top])
    if peak < SECONDARY_FLOOR:
        return None
    floor = peak * SECONDARY_EXTEND
    first = last = top
    while first > 0 and marginals[first - 1] >= floor:
        first -= 1
    while last + 1 < len(marginals) and marginals[last + 1] >= floor:
        last += 1
    run = marginals[first : last + 1]
    spill = max(
        float(marginals[first - 1]) if first > 0 else 0.0,
        float(marginals[last + 1]) if last + 1 < len(marginals) else 0.0,
    )
    return TaggedSpan(label, first, last, float(run.min()), _mean(run), spill, True)


def _mean(values: np.ndarray) -> float:
    """`float(values.mean())` without `mean`'s per-call bookkeeping: numpy's mean of a 1-d
    float64 array is its `add.reduce` divided by its length, so the value is the same."""
    return float(np.add.reduce(values)) / len(values)
