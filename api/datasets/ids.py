"""Reading ids and text that come from clients, so odd input is a 4xx and never a 500."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from api.ids import as_key  # noqa: F401 - the one bounded id reader, used by datasets too


def has_nul(value: Any) -> bool:
    """Whether a JSON value holds a NUL character anywhere (PostgreSQL text and JSONB cannot
    store one), in strings or in object keys."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class NulFreeModel(BaseModel):
    """A request body whose text, anywhere in it, has no NUL character: refused with a 422
    naming the cause instead of failing in the database."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text must not contain NUL (\\u0000) characters")
        return data
