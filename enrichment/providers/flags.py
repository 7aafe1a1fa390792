"""A provider's note about an item that is not a value (a page that failed, an LLM that did not
answer): it flags the item for a person, and contributes nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemFlag:
    item: int
    flag: str


@dataclass(frozen=True)
class ItemUsage:
    """Tokens a paid provider (the LLM) spent on an item: the caller records them as
    credits."""

    item: int
    tokens: int
