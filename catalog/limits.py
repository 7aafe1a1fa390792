"""Bounds on what a parser may build from input a user (or an attacker) sends.

A catalogue row is flat: a few levels of nesting (a list of tags, a dimensions object) is all
real data ever needs. A file or request body nested thousands of levels deep is either broken
or hostile, and left to a general JSON parser it costs memory with the square of the depth
(ijson's prefixes) or a ``RecursionError`` (the standard library, pydantic). Every JSON reader
in skuflow — files, JSON lines, API bodies — goes through these functions, so there is one
limit, one error message and one place to change either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from catalog.errors import SkuflowError

MAX_NESTING = 32
"""Deepest nesting of arrays and objects accepted anywhere (a record counts as level 1)."""


class TooDeeplyNested(SkuflowError):
    """A JSON value is nested deeper than the limit; nothing of it was kept."""

    def __init__(self, limit: int = MAX_NESTING) -> None:
        self.limit = limit
        super().__init__(f"nested deeper than {limit} levels of arrays and objects")


class _ByteReader(Protocol):
    def read(self, size: int = -1) -> bytes: ...


def nesting_depth(value: Any, *, limit: int = MAX_NESTING) -> int:
    """How deeply ``value`` nests lists, tuples and dicts (a scalar is 0), without recursion.

    Raises:
        TooDeeplyNested: as soon as the depth passes ``limit`` (the rest is not walked).
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            raise TooDeeplyNested(limit)
        deepest = max(deepest, depth)
        pending.extend((child, depth) for child in children)
    return deepest


def loads(text: str | bytes, *, limit: int = MAX_NESTING) -> Any:
    """``json.loads`` that refuses values nested deeper than ``limit``.

    Raises:
        json.JSONDecodeError: the text is not JSON.
        TooDeeplyNested: it is, but too deeply nested (also when the standard parser would
            have run out of stack).
    """
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise TooDeeplyNested(limit) from exc
    nesting_depth(value, limit=limit)
    return value


def iter_array_items(reader: _ByteReader, *, limit: int = MAX_NESTING) -> Iterator[Any]:
    """Stream the elements of a top-level JSON array, building each one with bounded depth.

    Memory holds one element and a stack no deeper than ``limit`` + 1, whatever the input;
    numbers with a fraction come back as floats (as `use_float=True` does in ijson).

    Raises:
        ijson.JSONError: the bytes are not JSON (ijson's own error, with its position).
        TooDeeplyNested: an element nests deeper than ``limit``; the elements before it were
            already yielded, the caller decides whether that invalidates them (files: yes).
    """
    import ijson

    stack: list[Any] = []
    keys: list[Any] = []
    for event, value in ijson.basic_parse(reader, use_float=True):
        if event == "map_key":
            keys[-1] = value
            continue
        if event in ("start_map", "start_array"):
            if len(stack) > limit:
                raise TooDeeplyNested(limit)
            stack.append({} if event == "start_map" else [])
            keys.append(None)
            continue
        if event in ("end_map", "end_array"):
            value = stack.pop()
            keys.pop()
            if not stack:
                return
        if len(stack) == 1:
            yield value
            continue
        top = stack[-1]
        if isinstance(top, dict):
            top[keys[-1]] = value
        else:
            top.append(value)


MAX_ZIP_RATIO = 200
"""Largest expansion (uncompressed ÷ compressed) accepted for a part of a zipped file (XLSX)
bigger than `ZIP_RATIO_FROM_BYTES`. Spreadsheet XML compresses 5–50×; a "zip bomb" (one
repeated string) compresses 1000× and more."""
ZIP_RATIO_FROM_BYTES = 4 * 1024 * 1024
MAX_ZIP_UNCOMPRESSED = 1024**3
"""Largest total a zipped file may expand to (1 GiB)."""


class ZipBomb(SkuflowError):
    """A zipped file (XLSX) would expand far beyond what its data can be; nothing was read."""


def check_zip_expansion(
    path: str | Any,
    *,
    max_ratio: int = MAX_ZIP_RATIO,
    max_total: int = MAX_ZIP_UNCOMPRESSED,
) -> None:
    """Refuse a zip archive whose parts expand too much, from its directory alone.

    A parser (openpyxl keeps an XLSX file's shared strings in memory) must never be handed a
    66 KB file that holds a 60 MB string: the sizes recorded in the zip directory are checked
    before anything is decompressed. A file that is not a zip archive passes; the parser
    reports it as corrupt in its own words.

    Raises:
        ZipBomb: a part expands more than ``max_ratio`` times, or all parts more than
            ``max_total`` bytes.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > ZIP_RATIO_FROM_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > max_ratio:
                raise ZipBomb(
                    f"part {member.filename} expands {_size(member.compress_size)} to "
                    f"{_size(member.file_size)} ({ratio:,.0f}:1, more than the {max_ratio}:1 "
                    "real spreadsheets reach): refused unread as a zip bomb"
                )
    if total > max_total:
        raise ZipBomb(
            f"expands to {_size(total)} in all, more than the {_size(max_total)} limit: "
            "refused unread"
        )


def _size(count: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
