"""What the tagger sees of each token: the word and its shape, its neighbours, where it sits,
whether a known value covers it, and the record's group (category), alone and combined with
the word, the known-value match and the position, so "Red" can be a Color for shoes and a
Flavor for tea.

Everything that depends on a token's text alone is computed once per distinct text (a small
cache). Prediction does not build these strings: `compiled` turns the same features into rows
of the tagger's weights, slot by slot in this order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from enrichment.learned.tokens import Token

FEATURE_FORMAT = 2
"""Bump when features change: it is part of a model's cache key."""

_CACHE_LIMIT = 200_000
_SHAPE_RUNS = re.compile(r"(.)\1+")


def _shape(text: str) -> str:
    """Digits as `d`, letters as `X` or `x` (upper or not), anything else as itself."""
    return text.translate(_SHAPES)


class _ShapeTable(dict[int, str]):
    """`str.translate`'s table for `_shape`, filled a character at a time as texts bring
    them (a character's shape is computed once, then looked up in C)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch.isdigit():
            shape = "d"
        elif ch.isalpha():
            shape = "X" if ch.isupper() else "x"
        else:
            shape = ch
        self[code] = shape
        return shape


_SHAPES = _ShapeTable()


def text_features(
    text: str,
) -> tuple[tuple[str, ...], tuple[str, str], tuple[str, str], tuple[str, str]]:
    """The features that depend on one token's text alone: its own (`w`, `sh`, `p2`, `p3`,
    `s2`, `s3`, `len`, and `shl`, `num` when they apply), as its left neighbour's (`w-1`,
    `sh-1`), as its right neighbour's (`w+1`, `sh+1`), and two tokens away (`w-2`, `w+2`).
    Shared by training's strings and prediction's feature rows (`compiled`)."""
    lower = text.casefold()
    shape = _shape(text)
    by_shape = _BY_SHAPE.get(shape)
    if by_shape is None:
        by_shape = _shape_features(shape)
    own = [
        "w=" + lower,
        by_shape[0],
        "p2=" + lower[:2],
        "p3=" + lower[:3],
        "s2=" + lower[-2:],
        "s3=" + lower[-3:],
        _LENGTHS[min(len(text), 8)],
    ]
    if by_shape[1]:
        own.append(by_shape[1])
    if text.isdigit():
        own.append("num")
    return (
        tuple(own),
        ("w-1=" + lower, by_shape[2]),
        ("w+1=" + lower, by_shape[3]),
        ("w-2=" + lower, "w+2=" + lower),
    )


_LENGTHS = tuple(f"len={k}" for k in range(9))
_BY_SHAPE: dict[str, tuple[str, str, str, str]] = {}
"""Per shape, its features (`sh`, `shl` or "", `sh-1`, `sh+1`): a few hundred shapes cover
the texts, so the run-collapsing regex runs once per shape instead of once per text."""


def _shape_features(shape: str) -> tuple[str, str, str, str]:
    short = _SHAPE_RUNS.sub(r"\1", shape)
    held = (
        "sh=" + short,
        "shl=" + shape if len(shape) <= 6 else "",
        "sh-1=" + short,
        "sh+1=" + short,
    )
    if len(_BY_SHAPE) < _CACHE_LIMIT:
        _BY_SHAPE[shape] = held
    return held


class TokenFeatures:
    """Feature strings for token sequences; one instance holds the per-text caches (every
    string that depends on one token's text, or on it and the group, is built once)."""

    def __init__(self) -> None:
        self._own: dict[str, tuple[str, ...]] = {}
        self._left: dict[str, tuple[str, ...]] = {}
        self._right: dict[str, tuple[str, ...]] = {}
        self._far: dict[str, tuple[str, str]] = {}
        self._grouped: dict[str, dict[str, str]] = {}

    def _text_features(self, text: str) -> None:
        own, left, right, far = text_features(text)
        self._own[text] = own
        self._left[text] = left
        self._right[text] = right
        self._far[text] = far

    def sequence(
        self, tokens: Sequence[Token], group: str, known: Sequence[Sequence[str]]
    ) -> list[list[str]]:
        """One feature list per token.

        Args:
            tokens: The record's tokens, all fields in order.
            group: The record's group (category); "" when there is none.
            known: Per token, gazetteer matches covering it (`Brand:B`, `Brand:I`).
        """
        if len(self._own) > _CACHE_LIMIT:
            self._own.clear()
            self._left.clear()
            self._right.clear()
            self._far.clear()
            self._grouped.clear()
        texts = [t.text for t in tokens]
        own_of, left_of, right_of, far_of = self._own, self._left, self._right, self._far
        for text in texts:
            if text not in own_of:
                self._text_features(text)
        fields = [t.field for t in tokens]
        lowered = [own_of[t][0][2:] for t in texts]
        c = "c=" + group
        grouped = self._grouped.setdefault(c, {})
        positions = _positions(c)
        n = len(tokens)
        out: list[list[str]] = []
        field_start = 0
        for i, token in enumerate(tokens):
            field = fields[i]
            same_left = i > 0 and fields[i - 1] == field
            if not same_left:
                field_start = i
            index = i - field_start
            text = texts[i]
            word = lowered[i]
            at_group = grouped.get(text)
            if at_group is None:
                at_group = grouped[text] = f"{c}|w={word}"
            feats = [c, "f=" + field, *positions[min(index, 6)], *own_of[text], at_group]
            if token.glued:
                feats.append("gl")
            if same_left:
                feats.extend(left_of[texts[i - 1]])
                feats.append("b-=" + lowered[i - 1] + "|" + word)
                if i > 1 and fields[i - 2] == field:
                    feats.append(far_of[texts[i - 2]][0])
            else:
                feats.append("bof")
            if i + 1 < n and fields[i + 1] == field:
                feats.extend(right_of[texts[i + 1]])
                feats.append("b+=" + word + "|" + lowered[i + 1])
                if tokens[i + 1].glued:
                    feats.append("gr")
                if i + 2 < n and fields[i + 2] == field:
                    feats.append(far_of[texts[i + 2]][1])
            else:
                feats.append("eof")
            matches = known[i]
            if matches:
                for match in matches:
                    feats.append("g=" + match)
                    feats.append(f"{c}|g={match}")
            if i > 0 and known[i - 1]:
                feats.extend("g-1=" + m for m in known[i - 1])
            if i + 1 < n and known[i + 1]:
                feats.extend("g+1=" + m for m in known[i + 1])
            out.append(feats)
        return out


_POSITIONS: dict[str, list[tuple[str, str]]] = {}


def _positions(c: str) -> list[tuple[str, str]]:
    """`i=` (position in its field, capped at 6) and the group's `c|i=` (capped at 4)."""
    held = _POSITIONS.get(c)
    if held is None:
        held = _POSITIONS[c] = [(f"i={k}", f"{c}|i={min(k, 4)}") for k in range(7)]
    return held
