"""Evidence: one value one provider found for one field of one item, and where.

Every provider returns `Evidence`; nothing else reaches the engine. A value is only ever written
because some evidence carries it, so "no evidence, no value" holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INPUT = "input"
"""Source of a value read from the item itself (its name, description, spec text)."""


def reference_source(table: str, row: int | None = None) -> str:
    """`reference:<table>` (with `#row=N`, 1-based as a spreadsheet shows it, when known)."""
    return f"reference:{table}" + (f"#row={row}" if row is not None else "")


@dataclass(frozen=True, slots=True)
class Evidence:
    """A raw value for `field` of item `item`, as found.

    Attributes:
        item: Position of the item in the batch.
        field: Output-schema field name.
        value: The value as found (text or number); the schema coerces it later.
        source: A URL, `input`, or `reference:<table>[#row=N]`.
        provider: `record`, `reference`, `web`, `llm`.
        method: How it was found (`json-ld`, `spec-table`, `gtin-match`, `title-unit-match`…).
        reliability: 0–1, how much this one piece of evidence alone is worth.
        quote: The text the value was read from, for a reviewer.
    """

    item: int
    field: str
    value: Any
    source: str
    provider: str
    method: str
    reliability: float
    quote: str = ""
