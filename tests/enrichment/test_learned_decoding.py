"""The learned extractor's CRF decoding (numpy, over the group's labels): it agrees with
CRFsuite's own Viterbi and marginals, never tags a label the group cannot have, and proposes a
secondary span for an attribute the best labelling leaves out."""

from __future__ import annotations

import numpy as np
import pytest

from enrichment.learned.examples import prepare_training
from enrichment.learned.features import TokenFeatures
from enrichment.learned.gazetteer import Gazetteer
from enrichment.learned.tagger import CRFParams, CRFTagger, TaggedSpan, train_crf
from tests.enrichment.learned_data import records


@pytest.fixture(scope="module")
def crf() -> tuple[bytes, list[list[list[str]]]]:
    """A CRF trained with CRFsuite on the hand-made offers, and held-out feature sequences."""
    training = prepare_training(records(n=60, seed=3), folds=2)
    features, gazetteer = TokenFeatures(), Gazetteer()
    xseqs = [
        features.sequence(r.tokens, r.record.group, gazetteer.tags([t.text for t in r.tokens]))
        for r in training.records
    ]
    model = train_crf(
        xseqs[:40], [r.labels for r in training.records[:40]], CRFParams(max_iterations=40)
    )
    return model, xseqs[40:]


def test_decoding_agrees_with_crfsuite(crf: tuple[bytes, list[list[list[str]]]]) -> None:
    import pycrfsuite

    model, held_out = crf
    reference = pycrfsuite.Tagger()
    reference.open_inmemory(model)
    tagger = CRFTagger.from_json(CRFTagger.from_crfsuite(model).to_json())  # saved and reopened
    found = tagger.spans_batch(
        held_out, [None] * len(held_out), [()] * len(held_out), [0] * len(held_out)
    )
    for xseq, spans in zip(held_out, found, strict=True):
        reference.set(xseq)
        labels = reference.tag()
        expected = []
        i = 0
        while i < len(labels):
            j = i
            while j + 1 < len(labels) and labels[j + 1] == labels[i]:
                j += 1
            if labels[i] != "O":
                low = min(reference.marginal(labels[i], k) for k in range(i, j + 1))
                expected.append((labels[i], i, j, low))
            i = j + 1
        assert [(s.attribute, s.first, s.last) for s in spans] == [e[:3] for e in expected]
        assert np.allclose([s.score for s in spans], [e[3] for e in expected], atol=1e-4)


def _toy_tagger() -> CRFTagger:
    """Labels O, Brand, Color, Size; `w=acme` is a Brand, `w=red` leans Color but not enough
    for the best labelling, `w=9` is a Size."""
    labels = ["O", "Brand", "Color", "Size"]
    features = ["w=acme", "w=red", "w=9", "bias"]
    state = np.zeros((len(features) + 1, len(labels)))
    state[0] = [0.0, 4.0, 0.0, 0.0]
    state[1] = [0.4, 0.0, 0.0, 0.0]  # O just ahead of Color at "red"
    state[2] = [0.0, 0.0, 0.0, 4.0]
    state[3] = [2.0, 0.0, 0.0, 0.0]
    return CRFTagger(labels, features, state, np.zeros((len(labels), len(labels))))


def test_an_attribute_left_out_by_the_best_labelling_gets_a_secondary_span() -> None:
    tagger = _toy_tagger()
    xseq = [["w=acme"], ["w=red"], ["bias"]]
    (spans,) = tagger.spans_batch([xseq], [["Brand", "Color"]], [["Brand", "Color"]], [3])
    by_attribute = {s.attribute: s for s in spans}
    assert (by_attribute["Brand"].first, by_attribute["Brand"].secondary) == (0, False)
    color = by_attribute["Color"]
    assert (color.first, color.last, color.secondary) == (1, 1, True)
    assert color.score < 0.5 < by_attribute["Brand"].score
    (plain,) = tagger.spans_batch([xseq], [["Brand", "Color"]], [()], [3])
    assert [s.attribute for s in plain] == ["Brand"]


def test_a_label_the_group_cannot_have_is_never_tagged() -> None:
    tagger = _toy_tagger()
    xseq = [["w=acme"], ["w=9"]]
    (everything,) = tagger.spans_batch([xseq], [None], [()], [0])
    assert {s.attribute for s in everything} == {"Brand", "Size"}
    (coffee,) = tagger.spans_batch([xseq], [["Brand", "Color"]], [["Brand", "Color"]], [2])
    assert "Size" not in {s.attribute for s in coffee}


def test_feature_rows_sum_to_the_feature_strings_emissions_bit_for_bit() -> None:
    """Prediction's `CompiledFeatures` (ids per token text, slots summed in order) gives the
    very emissions of the feature strings training builds: same floats, not just close."""
    from enrichment.learned.compiled import CompiledFeatures
    from enrichment.learned.model import _gazetteer_entries
    from enrichment.learned.tokens import columns_of

    training = prepare_training(records(n=80, seed=5), folds=2)
    gazetteer = Gazetteer.build(_gazetteer_entries(training), folds=2)
    strings = TokenFeatures()
    tokens = [r.tokens for r in training.records]
    groups = [r.record.group for r in training.records]
    known = [gazetteer.tags([t.text.casefold() for t in ts]) for ts in tokens]
    assert any(any(k) for k in known)  # the gazetteer features are exercised
    xseqs = [strings.sequence(ts, g, k) for ts, g, k in zip(tokens, groups, known, strict=True)]
    tagger = CRFTagger.from_crfsuite(
        train_crf(
            xseqs[:50], [r.labels for r in training.records[:50]], CRFParams(max_iterations=40)
        )
    )
    compiled = CompiledFeatures(tagger.feature_index, len(tagger.feature_names))
    for _ in range(2):  # a second batch reads the held per-text rows
        batch = compiled.batch(
            [columns_of(ts) for ts in tokens],
            groups,
            [{i: m for i, m in enumerate(k) if m} for k in known],
        )
        state = tagger._restricted_weights(tagger._label_set(None))[0]
        rows = list(range(len(tokens)))
        fast = batch.emissions(rows, state)
        reference = tagger._emissions(xseqs, state)
        assert fast.shape == reference.shape == (sum(map(len, tokens)), state.shape[1])
        assert np.array_equal(fast, reference)
        # Records that are not consecutive (a group's records among others'), in any order.
        some = rows[1::3][::-1] + rows[::6]
        assert np.array_equal(
            batch.emissions(some, state), tagger._emissions([xseqs[i] for i in some], state)
        )
    # And whole predictions: the same spans and marginals through either path.
    allowed = [None] * len(tokens)
    extra = [tuple(tagger.label_names)] * len(tokens)
    limits = [len(ts) for ts in tokens]
    assert tagger.spans_compiled(batch, allowed, extra, limits) == tagger.spans_batch(
        xseqs, allowed, extra, limits
    )


def _reference_decode(
    emissions: list[np.ndarray], transitions: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The decoding before `tagger._decode` kept only maxima: a back pointer for every label
    at every step (argmax over a sequences × labels × labels array), then the same
    forward-backward. Kept here as the reference the faster one must match bit for bit."""
    b, n = len(emissions), transitions.shape[0]
    lengths = np.asarray([e.shape[0] for e in emissions])
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    t_max = int(sorted_lengths[0])
    active = np.searchsorted(-sorted_lengths, -np.arange(t_max), side="left")
    begin = np.zeros(t_max + 1, dtype=np.intp)
    np.cumsum(active, out=begin[1:])
    offsets = np.zeros(b + 1, dtype=np.intp)
    np.cumsum(sorted_lengths, out=offsets[1:])
    stacked = np.concatenate([emissions[k] for k in order])
    seq_of_row = np.concatenate([np.arange(k) for k in active])
    step_of_row = np.repeat(np.arange(t_max), active)
    emit = stacked[offsets[seq_of_row] + step_of_row]
    rows = emit.shape[0]
    back = np.zeros((rows, n), dtype=np.intp)
    score = emit[: active[0]].copy()
    final = np.empty((b, n))
    into = np.ascontiguousarray(transitions.T)[None]
    for t in range(1, t_max):
        k = active[t]
        final[k : active[t - 1]] = score[k:]
        cand = score[:k, None, :] + into
        best = cand.argmax(axis=2)
        back[begin[t] : begin[t + 1]] = best
        score = np.take_along_axis(cand, best[:, :, None], axis=2)[:, :, 0]
        score += emit[begin[t] : begin[t + 1]]
    final[: active[t_max - 1]] = score
    labels = np.empty(rows, dtype=np.intp)
    current = np.zeros(b, dtype=np.intp)
    for t in range(t_max - 1, -1, -1):
        k = active[t]
        ending = active[t + 1] if t + 1 < t_max else 0
        current[ending:k] = final[ending:k].argmax(axis=1)
        labels[begin[t] : begin[t + 1]] = current[:k]
        if t:
            current[:k] = back[begin[t] + np.arange(k), current[:k]]
    expt = np.exp(transitions)
    pot = np.exp(emit - emit.max(axis=1, keepdims=True))
    alpha = np.empty((rows, n))
    a = pot[: active[0]]
    alpha[: active[0]] = a / a.sum(axis=1, keepdims=True)
    for t in range(1, t_max):
        k = active[t]
        a = (alpha[begin[t - 1] : begin[t - 1] + k] @ expt) * pot[begin[t] : begin[t + 1]]
        alpha[begin[t] : begin[t + 1]] = a / a.sum(axis=1, keepdims=True)
    beta = np.ones((rows, n))
    for t in range(t_max - 2, -1, -1):
        k = active[t + 1]
        nxt = (pot[begin[t + 1] : begin[t + 2]] * beta[begin[t + 1] : begin[t + 2]]) @ expt.T
        beta[begin[t] : begin[t] + k] = nxt / nxt.sum(axis=1, keepdims=True)
    marginal = alpha * beta
    marginal /= marginal.sum(axis=1, keepdims=True)
    paths: list[np.ndarray] = [np.empty(0, dtype=np.intp)] * b
    marginals: list[np.ndarray] = [np.empty((0, n))] * b
    for j in range(b):
        where = begin[: sorted_lengths[j]] + j
        paths[order[j]] = labels[where]
        marginals[order[j]] = marginal[where]
    return paths, marginals


@pytest.mark.parametrize("labels", [2, 9, 21])
def test_decoding_matches_the_previous_decoding_bit_for_bit(labels: int) -> None:
    """Maxima kept per step and pointers taken while backtracking give the labels of pointers
    kept for every label, and the marginals are the same floats: on batches with many
    sequences at a step (the loop over labels) and few (the one reduction), on ties (weights
    on a coarse grid, so equal sums are common) and on one-token sequences."""
    from enrichment.learned.tagger import VITERBI_LOOP, _decode

    rng = np.random.default_rng(labels)
    for coarse in (False, True):
        lengths = np.concatenate(
            [rng.integers(1, 40, size=3 * VITERBI_LOOP), [1, 1, 120, 75], rng.integers(1, 5, 9)]
        )
        emissions = [rng.normal(0, 2, size=(int(t), labels)) for t in lengths]
        transitions = rng.normal(0, 1, size=(labels, labels))
        if coarse:
            emissions = [np.round(e) for e in emissions]
            transitions = np.round(transitions)
        paths, marginals = _decode(np.concatenate(emissions), lengths, transitions)
        expected_paths, expected_marginals = _reference_decode(emissions, transitions)
        cut = np.cumsum([0, *lengths.tolist()])
        for k in range(len(lengths)):
            assert np.array_equal(paths[cut[k] : cut[k + 1]], expected_paths[k])
            assert np.array_equal(marginals[cut[k] : cut[k + 1]], expected_marginals[k])


def test_gazetteer_tags_are_those_of_trying_every_length() -> None:
    """`Gazetteer.tags` tries only the lengths some listed value has after the first two
    words; the tags, their order and the left-out fold's effect are those of trying every
    length from the longest down at every token."""
    import random
    from collections import Counter

    rng = random.Random(11)
    vocabulary = ["red", "dark", "blue", "acme", "pro", "x", "1", "2", "kg"]
    entries = [
        (rng.randrange(3), rng.choice(["Brand", "Color", "Size"]), key)
        for _ in range(300)
        for key in [tuple(rng.choice(vocabulary) for _ in range(rng.randint(1, 4)))]
    ]
    gazetteer = Gazetteer.build(entries, folds=3)

    def every_length(lowered: list[str], leave_out: int | None) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in lowered]
        for i in range(len(lowered)):
            for length in range(gazetteer.longest, 0, -1):
                hit = gazetteer.counts.get(tuple(lowered[i : i + length]))
                if i + length > len(lowered) or hit is None:
                    continue
                gone = gazetteer.fold_counts[leave_out] if leave_out is not None else {}
                for attribute, count in hit.items():
                    if count - gone.get(tuple(lowered[i : i + length]), Counter())[attribute] <= 0:
                        continue
                    out[i].append(f"{attribute}:B")
                    for j in range(i + 1, i + length):
                        out[j].append(f"{attribute}:I")
        return out

    tagged = 0
    for _ in range(200):
        lowered = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
        for leave_out in (None, 0, 2):
            tags = gazetteer.tags(lowered, leave_out=leave_out)
            assert tags == every_length(lowered, leave_out)
            tagged += sum(1 for t in tags if t)
    assert tagged  # the comparison covered matches


def _reference_spans(
    path: np.ndarray, marginal: np.ndarray, names: list[str], extra: list[str], extra_limit: int
) -> list[TaggedSpan]:
    """Spans of one sequence as they were read before `tagger._spans` read a whole batch at
    once: a walk over the path, then each left-out label's secondary run."""
    from enrichment.learned.tagger import SECONDARY_FLOOR, _mean, _secondary

    out: list[TaggedSpan] = []
    labels = path.tolist()
    n = len(labels)
    outside = names.index("O") if "O" in names else -1
    i = 0
    while i < n:
        label = labels[i]
        if label == outside:
            i += 1
            continue
        j = i
        while j + 1 < n and labels[j + 1] == label:
            j += 1
        run = marginal[i : j + 1, label]
        spill = max(
            float(marginal[i - 1, label]) if i > 0 else 0.0,
            float(marginal[j + 1, label]) if j + 1 < n else 0.0,
        )
        out.append(TaggedSpan(names[label], i, j, float(run.min()), _mean(run), spill))
        i = j + 1
    limit = min(extra_limit, n)
    if limit and extra:
        used = set(labels)
        position = {name: k for k, name in enumerate(names)}
        peaks = marginal[:limit].max(axis=0).tolist()
        for name in extra:
            k = position.get(name)
            if k is None or k in used or peaks[k] < SECONDARY_FLOOR:
                continue
            span = _secondary(name, marginal[:limit, k])
            if span is not None:
                out.append(span)
    return out


def test_spans_of_a_batch_are_those_read_one_sequence_at_a_time() -> None:
    """Runs (short, and 8 tokens or more, whose means numpy sums pairwise), their lowest and
    mean marginals and spills, and secondary spans: the same floats as the walk over one
    path at a time, including at the edges between sequences."""
    from enrichment.learned.tagger import _spans

    rng = np.random.default_rng(4)
    names = ["Brand", "Color", "O", "Size"]
    lengths = rng.integers(0, 30, size=200)
    lengths[:3] = [12, 1, 0]
    rows = int(lengths.sum())
    # Long runs of one label, with switches, so runs of every length occur.
    paths = np.repeat(rng.integers(0, 4, size=rows), rng.integers(1, 12, size=rows))[:rows]
    marginals = rng.random((rows, 4)) ** 3
    marginals /= marginals.sum(axis=1, keepdims=True)
    extra = [[] if k % 5 == 0 else ["Size", "Brand", "Color", "Weight"] for k in range(200)]
    limits = rng.integers(0, 12, size=200).tolist()
    found = _spans(paths, marginals, lengths, names, extra, limits)
    cut = np.cumsum([0, *lengths.tolist()])
    sizes = set()
    for k in range(200):
        a, z = cut[k], cut[k + 1]
        expected = _reference_spans(paths[a:z], marginals[a:z], names, extra[k], limits[k])
        assert found[k] == expected
        sizes.update(s.last - s.first + 1 for s in expected if not s.secondary)
    assert max(sizes) >= 8 and any(s.secondary for spans in found for s in spans)


def test_tokens_are_those_of_matching_one_token_at_a_time() -> None:
    """`tokenize` reads each token with the whitespace before it (`findall`); its tokens,
    offsets and `glued` flags are those of `finditer` over the token pattern, on texts with
    every kind of character (leading, trailing and non-breaking whitespace, accents, scripts
    without case, symbols, digits with separators) and when the text is cut."""
    import random
    import sys

    from enrichment.learned.tokens import _TOKEN, Token, columns_of, tokenize, tokenize_columns

    def one_at_a_time(texts: dict[str, str], max_chars: int) -> list[Token]:
        out = []
        for field, text in texts.items():
            previous_end = -1
            for match in _TOKEN.finditer(text[:max_chars]):
                start, end = match.span()
                out.append(Token(match.group(), field, start, end, start == previous_end))
                previous_end = end
        return out

    rng = random.Random(2)
    alphabet = [chr(c) for c in rng.sample(range(sys.maxunicode + 1), 3000)]
    alphabet += list(" \t\n\u00a0\u3000aZ09_.,'’-/") * 40
    texts = [
        {
            "title": "  USBCable 55mm YA24a Women's WOMEN'S 1,000.5 ",
            "description": "\u00e9t\u00e9 x",
        },
        {"title": "", "description": "   "},
    ]
    texts += [
        {
            "title": "".join(rng.choices(alphabet, k=rng.randint(0, 60))),
            "d": "".join(rng.choices(alphabet, k=30)),
        }
        for _ in range(400)
    ]
    for record in texts:
        for max_chars in (5000, 9):
            expected = one_at_a_time(record, max_chars)
            assert tokenize(record, max_chars=max_chars) == expected
            # Prediction's columns: the same tokens, field by field.
            assert tokenize_columns(record, max_chars=max_chars) == columns_of(expected)


def test_token_shapes_follow_the_per_character_rule() -> None:
    """`_shape` (a translate table filled as characters come) gives, for every character,
    `d` for a digit, `X`/`x` for an upper/other letter and the character itself otherwise."""
    import random
    import sys

    from enrichment.learned.features import _shape

    def by_hand(text: str) -> str:
        return "".join(
            "d" if ch.isdigit() else ("X" if ch.isupper() else "x") if ch.isalpha() else ch
            for ch in text
        )

    rng = random.Random(5)
    texts = ["Ab12-½²Ⅻ日本ǅ_ß", "", "55mm", "YA24a"]
    texts += [
        "".join(chr(rng.randrange(sys.maxunicode + 1)) for _ in range(rng.randint(1, 12)))
        for _ in range(2000)
    ]
    for text in texts:
        assert _shape(text) == by_hand(text)


def test_token_text_features_are_those_built_per_text() -> None:
    """`text_features` holds the shape features per shape and the length strings once; the
    strings are those built from scratch for each text (the run-collapsing regex per text),
    for texts of every kind, each asked twice (the second from what is held)."""
    import random
    import re

    from enrichment.learned.features import _shape, text_features

    runs = re.compile(r"(.)\1+")

    def from_scratch(text: str):  # the features as built before shapes were held
        lower, shape = text.casefold(), _shape(text)
        short = runs.sub(r"\1", shape)
        own = ["w=" + lower, "sh=" + short, "p2=" + lower[:2], "p3=" + lower[:3]]
        own += ["s2=" + lower[-2:], "s3=" + lower[-3:], f"len={min(len(text), 8)}"]
        if len(shape) <= 6:
            own.append("shl=" + shape)
        if text.isdigit():
            own.append("num")
        return (
            tuple(own),
            ("w-1=" + lower, "sh-1=" + short),
            ("w+1=" + lower, "sh+1=" + short),
            ("w-2=" + lower, "w+2=" + lower),
        )

    rng = random.Random(9)
    alphabet = list("aAbZz0912.,'’-_/|ß½日") + ["\u00e9", "\u0130"]
    texts = ["USB", "Cable", "55", "mm", "YA24a", "1,000.5", "|", "Women's", "xxXX99"]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 14))) for _ in range(3000)]
    for text in texts + texts:
        assert text_features(text) == from_scratch(text)


def test_predictions_do_not_depend_on_how_groups_are_interleaved() -> None:
    """`predict` compiles and tags records in decoding order (grouped by label set) and gives
    each record its own spans back: records of two groups interleaved get the values, the
    confidences and the order those of each group predicted alone."""
    from enrichment.learned.model import train_extractor
    from tests.enrichment.learned_data import FAST

    model, _ = train_extractor(records(n=60, seed=4), text_fields=["title"], params=FAST)
    held_out = records(n=40, seed=21)
    texts = [dict(r.texts) for r in held_out]
    groups = [r.group for r in held_out]
    assert len(set(groups)) == 2 and groups[0] != groups[1]
    together = model.predict(texts, groups)
    for group in set(groups):
        mine = [i for i, g in enumerate(groups) if g == group]
        alone = model.predict([texts[i] for i in mine], [group] * len(mine))
        assert alone == [together[i] for i in mine]
    assert any(together)


def test_values_and_confidence_rows_are_those_built_field_by_field() -> None:
    """`_value` (one dict update) makes the value `ExtractedValue(...)` makes: equal, same
    hash, repr and fields, still frozen; `dense_matrix` (column by column) holds the very
    floats of each row's `dense()`, at the clipping edges too."""
    import dataclasses
    import random

    from enrichment.learned.confidence import SpanEvidence, dense_matrix
    from enrichment.learned.model import ExtractedValue, _Candidate, _value

    rng = random.Random(3)
    edges = [0.0, 1.0, 1e-6, 1 - 1e-6, 1e-7, 0.5, 1e-300]
    rows = [
        SpanEvidence(
            rng.choice(["Brand", "Color"]),
            rng.choice(edges + [rng.random()]),
            rng.choice(edges + [rng.random()]),
            rng.choice(edges + [rng.random()]),
            rng.choice([0, 1, 7, 250]),
            rng.randint(1, 12),
            rng.randint(0, 2),
            rng.randint(0, 40),
            rng.random() < 0.3,
        )
        for _ in range(500)
    ]
    assert np.array_equal(dense_matrix(rows), np.asarray([r.dense() for r in rows]))
    for row in rows[:50]:
        candidate = _Candidate(
            row.attribute,
            "title",
            3,
            9,
            "Acme X",
            row.min_marginal,
            row.known,
            rng.choice(["", "by"]),
            rng.choice(["", "shoe"]),
            row,
        )
        confidence = round(rng.random(), 4)
        made = _value(candidate, confidence)
        where = f"title[{candidate.start}:{candidate.end}]"
        if candidate.known:
            why = f"a known {row.attribute} (labelled {row.known}× in training)"
        else:
            context = " … ".join(w for w in (candidate.left, candidate.right) if w)
            why = "a new value, recognised from its place in the text" + (
                f" ({context})" if context else ""
            )
        expected = ExtractedValue(
            attribute=row.attribute,
            value="Acme X",
            field="title",
            start=3,
            end=9,
            confidence=confidence,
            known=row.known,
            explanation=f"'Acme X' in {where} tagged as {row.attribute}: {why}.",
        )
        assert made == expected and hash(made) == hash(expected)
        assert repr(made) == repr(expected) and vars(made) == vars(expected)
        assert dataclasses.asdict(made) == dataclasses.asdict(expected)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.value = "other"  # type: ignore[misc]
