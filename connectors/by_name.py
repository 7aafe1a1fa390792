"""Load a saved source or destination block by its Prefect name ("block-type-slug/name").

Flows take blocks by name so a deployment's parameters stay plain strings, and the UI's block
forms are where credentials live. A destination may carry its write mode after a colon
("skuflow-s3-dump/nightly:replace"); without one, whole-file targets are replaced and every
other destination is upserted by external id.
"""

from __future__ import annotations

from typing import Any, get_args

from catalog.rows import Destination, Source, WriteMode
from connectors import block_types
from connectors.base import TerminalConnectorError

WHOLE_SNAPSHOT_SLUGS = {
    "skuflow-file-export",
    "skuflow-s3-dump",
    "skuflow-marketplace-export",
    "skuflow-google-merchant-feed",
}
"""Destinations rewritten whole on every run: `replace` is their only mode."""


def load_block(reference: str) -> Any:
    """The saved block `slug/name`, with an error naming it if it is missing."""
    from prefect.blocks.core import Block

    slug, _, name = reference.partition("/")
    if not slug or not name:
        raise TerminalConnectorError(
            f"block reference '{reference}' must look like block-type-slug/block-name"
        )
    block_types()  # every connector class imported, so Prefect can find the slug's class
    try:
        return Block.load(reference)
    except (ValueError, KeyError) as exc:
        raise TerminalConnectorError(f"block '{reference}' cannot be loaded: {exc}") from None


def load_source(reference: str) -> Source:
    block = load_block(reference)
    if not callable(getattr(block, "read_batches", None)):
        raise TerminalConnectorError(f"block '{reference}' is not a source (no read_batches)")
    return block


def load_destination(reference: str) -> tuple[Destination, WriteMode]:
    """The destination block and the mode to write it in (see the module docstring)."""
    name, _, mode = reference.partition(":")
    block = load_block(name)
    if not callable(getattr(block, "open", None)):
        raise TerminalConnectorError(f"block '{name}' is not a destination (no open)")
    if not mode:
        mode = "replace" if name.split("/")[0] in WHOLE_SNAPSHOT_SLUGS else "upsert"
    if mode not in get_args(WriteMode):
        raise TerminalConnectorError(
            f"destination '{reference}': unknown mode '{mode}' (append, upsert or replace)"
        )
    return block, mode  # type: ignore[return-value]
