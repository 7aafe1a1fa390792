"""The one nesting guard every JSON reader uses: bounded depth, no recursion, clear errors."""

from __future__ import annotations

import io
import json

import pytest

from catalog.limits import MAX_NESTING, TooDeeplyNested, iter_array_items, loads, nesting_depth


def _nested(depth: int) -> object:
    value: object = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_depth_counts_containers_and_stops_at_the_limit() -> None:
    assert nesting_depth(1) == 0
    assert nesting_depth({"a": [1, {"b": 2}]}) == 3
    assert nesting_depth(_nested(MAX_NESTING)) == MAX_NESTING
    with pytest.raises(TooDeeplyNested, match=f"deeper than {MAX_NESTING} levels"):
        nesting_depth(_nested(MAX_NESTING + 1))


def test_loads_refuses_what_the_standard_parser_cannot_even_build() -> None:
    with pytest.raises(TooDeeplyNested):
        loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TooDeeplyNested):
        loads(json.dumps(_nested(MAX_NESTING + 1)))
    assert loads('{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    with pytest.raises(json.JSONDecodeError):
        loads("{not json")


def test_array_items_stream_with_their_values_and_stop_at_a_too_deep_element() -> None:
    rows = [{"id": "A", "price": 1.5, "tags": ["x", "y"], "dims": {"w": 2}}, {"id": "B"}, 3]
    assert list(iter_array_items(io.BytesIO(json.dumps(rows).encode()))) == rows

    hostile = b'[{"id": "ok"}, ' + b"[" * 100_000 + b"]" * 100_000 + b"]"
    items = iter_array_items(io.BytesIO(hostile))
    assert next(items) == {"id": "ok"}
    with pytest.raises(TooDeeplyNested):
        next(items)
