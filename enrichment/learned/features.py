"""What the tagger sees of each token: the word and its shape, its neighbours, where it sits,
whether a known value covers it, and the record's group (category), alone and combined with
the word, the known-value match and the position, so "Red" can be a Color for shoes and a
Flavor for tea.

Everything that depends on a token's text alone is computed once per distinct text (a small
cache), which is what keeps prediction at thousands of offers a second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from enrichment.learned.tokens import Token

FEATURE_FORMAT = 1
"""Bump when features change: it is part of a model's cache key."""

_CACHE_LIMIT = 200_000
_SHAPE_RUNS = re.compile(r"(.)\1+")


def _shape(text: str) -> str:
    chars = []
    for ch in text:
        if ch.isdigit():
            chars.append("d")
        elif ch.isalpha():
            chars.append("X" if ch.isupper() else "x")
        else:
            chars.append(ch)
    return "".join(chars)


class TokenFeatures:
    """Feature strings for token sequences; one instance holds the per-text caches."""

    def __init__(self) -> None:
        self._own: dict[str, tuple[str, ...]] = {}
        self._left: dict[str, tuple[str, ...]] = {}
        self._right: dict[str, tuple[str, ...]] = {}

    def _text_features(self, text: str) -> None:
        lower = text.casefold()
        shape = _shape(text)
        short = _SHAPE_RUNS.sub(r"\1", shape)
        own = [
            "w=" + lower,
            "sh=" + short,
            "p2=" + lower[:2],
            "p3=" + lower[:3],
            "s2=" + lower[-2:],
            "s3=" + lower[-3:],
            f"len={min(len(text), 8)}",
        ]
        if len(shape) <= 6:
            own.append("shl=" + shape)
        if text.isdigit():
            own.append("num")
        self._own[text] = tuple(own)
        self._left[text] = ("w-1=" + lower, "sh-1=" + short)
        self._right[text] = ("w+1=" + lower, "sh+1=" + short)

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
        texts = [t.text for t in tokens]
        for text in texts:
            if text not in self._own:
                self._text_features(text)
        lowered = [t.casefold() for t in texts]
        n = len(tokens)
        c = "c=" + group
        out: list[list[str]] = []
        field_start = 0
        for i, token in enumerate(tokens):
            if i == 0 or tokens[i - 1].field != token.field:
                field_start = i
            index = i - field_start
            feats = [c, "f=" + token.field, f"i={min(index, 6)}", *self._own[texts[i]]]
            word = lowered[i]
            feats.append(f"{c}|w={word}")
            feats.append(f"{c}|i={min(index, 4)}")
            if token.glued:
                feats.append("gl")
            if i > 0 and tokens[i - 1].field == token.field:
                feats.extend(self._left[texts[i - 1]])
                feats.append(f"b-={lowered[i - 1]}|{word}")
                if i > 1 and tokens[i - 2].field == token.field:
                    feats.append("w-2=" + lowered[i - 2])
            else:
                feats.append("bof")
            if i + 1 < n and tokens[i + 1].field == token.field:
                feats.extend(self._right[texts[i + 1]])
                feats.append(f"b+={word}|{lowered[i + 1]}")
                if tokens[i + 1].glued:
                    feats.append("gr")
                if i + 2 < n and tokens[i + 2].field == token.field:
                    feats.append("w+2=" + lowered[i + 2])
            else:
                feats.append("eof")
            for match in known[i]:
                feats.append("g=" + match)
                feats.append(f"{c}|g={match}")
            if i > 0 and known[i - 1]:
                feats.extend("g-1=" + m for m in known[i - 1])
            if i + 1 < n and known[i + 1]:
                feats.extend("g+1=" + m for m in known[i + 1])
            out.append(feats)
        return out
