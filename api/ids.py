"""The one way a route takes an id or an offset from a client: bounded, so a value the store
cannot hold (``99999999999999999999`` overflows SQLite's and PostgreSQL's 64-bit integers and
raised `OverflowError` → 500) is a client error, never a server one.

- Integer ids in a path, query or body: `BoundedId`, `IdQuery`, `IdField` (1 … 2**63-1),
  answered 422 when out of range.
- Ids a contract types as strings (``"job_id": "123"``): `as_key`, which maps anything that is
  not such an integer to ``None`` so the route answers its usual 404.
- Offsets: `Offset` (0 … 10,000,000; past that no page holds anything anyway).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**63 - 1
"""The largest id a 64-bit integer column holds."""
MAX_OFFSET = 10_000_000

BoundedId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive 64-bit id.")]
"""A path id: a positive 64-bit integer (larger ones answer 422, never a database error)."""
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="A positive 64-bit id.")]
IdField = Annotated[int, Field(ge=1, le=MAX_ID, description="A positive 64-bit id.")]
"""A body id (``job_id``): a positive 64-bit integer."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


def as_key(text: object) -> int | None:
    """A store key from a path or body id typed as text: digits within the 64-bit range, else
    None (an id that cannot exist is simply not found — no overflow reaches the database)."""
    value = str(text).strip()
    if not value.isascii() or not value.isdigit():
        return None
    key = int(value)
    return key if 0 < key <= MAX_ID else None
