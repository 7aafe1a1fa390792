"""Which value survives a merge, attribute by attribute, as the schema's `matching:` says.

- `most_complete`: the longer non-empty value (a fuller title, a description where the survivor
  has none); an empty survivor field takes the duplicate's value.
- `most_recent`: the duplicate's value when it was updated later (a new supplier file's price).
- `trusted_source`: the value from the source earlier in `trusted_sources`; between sources
  not on the list, `most_complete`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog.records import MERGED_INTO
from catalog.schema import CatalogSchema, Survivorship


@dataclass(frozen=True)
class Side:
    """One record as survivorship sees it."""

    values: dict[str, Any]
    updated_at: datetime | None
    source: str | None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _complete(survivor: Any, duplicate: Any) -> bool:
    """Whether the duplicate's value is more complete than the survivor's."""
    if _empty(duplicate):
        return False
    if _empty(survivor):
        return True
    if isinstance(survivor, str) and isinstance(duplicate, str):
        return len(duplicate.strip()) > len(survivor.strip())
    return False


def _rank(source: str | None, trusted: list[str]) -> int:
    if source is None:
        return len(trusted)
    for index, name in enumerate(trusted):
        if name and (source == name or source.endswith("/" + name) or name in source):
            return index
    return len(trusted)


def rule_for(schema: CatalogSchema, attribute: str) -> Survivorship:
    return schema.matching.attributes.get(attribute, schema.matching.survivorship)


def merged_values(schema: CatalogSchema, survivor: Side, duplicate: Side) -> dict[str, Any]:
    """The survivor's fields that change when `duplicate` is merged into it (field → value).

    The id attribute never changes (the survivor keeps its identity), nor does a reserved key.
    """
    changes: dict[str, Any] = {}
    trusted = schema.matching.trusted_sources
    for attribute in schema.attributes:
        name = attribute.name
        if name == schema.id or name == MERGED_INTO:
            continue
        mine, theirs = survivor.values.get(name), duplicate.values.get(name)
        if _empty(theirs) or mine == theirs:
            continue
        rule = rule_for(schema, name)
        take = False
        if rule == "most_recent":
            newer = (
                duplicate.updated_at is not None
                and survivor.updated_at is not None
                and duplicate.updated_at > survivor.updated_at
            )
            take = _empty(mine) or newer
        elif rule == "trusted_source":
            mine_rank = _rank(survivor.source, trusted)
            their_rank = _rank(duplicate.source, trusted)
            take = their_rank < mine_rank or (their_rank == mine_rank and _complete(mine, theirs))
        else:
            take = _complete(mine, theirs)
        if take:
            changes[name] = theirs
    return changes
