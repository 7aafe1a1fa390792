"""Old → new as a word-level diff a reviewer can read at a glance."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

_TOKENS = re.compile(r"\s+|[^\s\w]|\w+")


@dataclass(frozen=True)
class Segment:
    kind: str
    """``same``, ``del`` or ``ins``."""
    text: str


def shown(value: Any) -> str:
    """A value as a reviewer reads it (numbers without a trailing .0, lists joined)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "; ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def inline_diff(old: Any, new: Any) -> list[Segment]:
    """Segments turning ``old`` into ``new``: whole values for short or non-text values,
    word by word for text, so a one-word fix in a long title stands out."""
    before, after = shown(old), shown(new)
    if not before:
        return [Segment("ins", after)] if after else []
    if not after:
        return [Segment("del", before)]
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    if len(a) < 3 or len(b) < 3:
        return [Segment("del", before), Segment("same", " → "), Segment("ins", after)]
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(Segment("ins", "".join(b[j1:j2])))
    return out


def marked(text: str, spans: list[tuple[int, int]]) -> list[Segment]:
    """``text`` cut into plain and ``mark`` segments at ``spans`` (escaped by the template)."""
    out: list[Segment] = []
    at = 0
    for start, end in spans:
        if start > at:
            out.append(Segment("same", text[at:start]))
        out.append(Segment("mark", text[start:end]))
        at = end
    if at < len(text):
        out.append(Segment("same", text[at:]))
    return out
