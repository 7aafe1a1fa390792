"""Tokens with character offsets, so every tagged span can be cited as `record:title[12:19]`
and its value sliced verbatim from the text it was read from.

Tokens are fine-grained on purpose: numbers apart from their units (`55` `mm`), camel-case
runs apart (`Black` `ALTERNATE` in `BlackALTERNATE`), punctuation alone. A labelled value then
lines up with token boundaries far more often; `glued` (no space before the token) lets the
tagger learn to keep `55mm` or `YA24a` together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import accumulate, chain, repeat
from operator import itemgetter, not_
from typing import NamedTuple

MAX_FIELD_CHARS = 5_000
"""Each text field is cut to this many characters before tokenising: a 1 MB description
costs what 5,000 characters cost, and values sit near the start of real descriptions."""

_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)*"  # 12, 3.5, 1,000
    r"|[A-Z]+(?=[A-Z][a-z])"  # USB in USBCable
    r"|[A-Z]?[a-z]+(?:['’][a-z]+)*"  # Women's, shoes
    r"|[A-Z]+(?:['’][A-Za-z]+)?"  # XL, WOMEN'S
    r"|[^\W\d_]+"  # other letters (accents, scripts without case)
    r"|[^\w\s]|_"  # punctuation, one character each
)


class Token(NamedTuple):
    """One token of one text field (a named tuple: thousands are made per second).

    Attributes:
        text: The characters as written.
        field: The text field it comes from (`title`, `description`).
        start: Offset of its first character in that field.
        end: Offset just past its last character.
        glued: No whitespace between it and the previous token of the same field.
    """

    text: str
    field: str
    start: int
    end: int
    glued: bool


def tokenize(texts: Mapping[str, str], *, max_chars: int = MAX_FIELD_CHARS) -> list[Token]:
    """Tokens of every field, in field order (title first, as given).

    Args:
        texts: Field name → text; empty or missing text gives no tokens.
        max_chars: Each field is read up to this many characters.
    """
    columns = tokenize_columns(texts, max_chars=max_chars)
    fields = chain.from_iterable(repeat(field, count) for field, count in columns.runs)
    return list(
        map(
            _NEW,
            repeat(Token),
            zip(columns.texts, fields, columns.starts, columns.ends, columns.glued, strict=True),
        )
    )


class TokenColumns(NamedTuple):
    """One record's tokens as parallel lists, what prediction reads (column by column, with
    no object per token): `tokenize`'s tokens, field by field.

    Attributes:
        texts: Each token's characters as written.
        starts: Each token's offset in its field.
        ends: Offset just past each token.
        glued: No whitespace between each token and the previous one of its field.
        runs: Per field that has tokens, in order: its name and how many tokens it has (each
            field's tokens are one run).
    """

    texts: list[str]
    starts: list[int]
    ends: list[int]
    glued: list[bool]
    runs: list[tuple[str, int]]


def tokenize_columns(texts: Mapping[str, str], *, max_chars: int = MAX_FIELD_CHARS) -> TokenColumns:
    """`tokenize`'s tokens as columns (the same texts, offsets and flags)."""
    token_texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    glued: list[bool] = []
    runs: list[tuple[str, int]] = []
    for field, text in texts.items():
        if not text:
            continue
        pairs = _SPACED.findall(text[:max_chars])
        if not pairs:
            continue
        offsets = list(accumulate(map(len, chain.from_iterable(pairs))))
        starts += offsets[0::2]
        ends += offsets[1::2]
        spaces, found = zip(*pairs, strict=True)
        flags = list(map(not_, spaces))
        flags[0] = False
        glued += flags
        token_texts += found
        runs.append((field, len(pairs)))
    return TokenColumns(token_texts, starts, ends, glued, runs)


def columns_of(tokens: Sequence[Token]) -> TokenColumns:
    """Tokens (as `tokenize` gives them) as columns."""
    runs: list[tuple[str, int]] = []
    for token in tokens:
        if runs and runs[-1][0] == token.field:
            runs[-1] = (token.field, runs[-1][1] + 1)
        else:
            runs.append((token.field, 1))
    return TokenColumns(
        [t.text for t in tokens],
        [t.start for t in tokens],
        [t.end for t in tokens],
        [t.glued for t in tokens],
        runs,
    )


_SPACED = re.compile(r"(\s*)(" + _TOKEN.pattern + ")")
"""`_TOKEN` with the whitespace before it. Every character that is not whitespace starts a
`_TOKEN` match (digits, letters, `_` and any other symbol each have an alternative), so the
text between two tokens is whitespace only and `findall` gives `finditer`'s tokens, with
their offsets in C instead of two method calls per match."""
_NEW = tuple.__new__  # Token(...) without the named tuple's Python-level __new__
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)


def words(text: str) -> tuple[str, ...]:
    """Lower-cased token texts of a value, the gazetteer's key for it."""
    return tuple(m.group().casefold() for m in _TOKEN.finditer(text))
