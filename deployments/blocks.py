"""Register skuflow's block types with the Prefect server, so the UI offers them as forms
(file sources, exports, SQL tables, S3, …) and `Block.load("slug/name")` finds their schema.

Every module of `connectors/` is imported and each Block subclass defined there registered;
a module whose optional dependency is missing (an extra not installed) is skipped and named.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field

from prefect.blocks.core import Block

import connectors


@dataclass
class Registration:
    registered: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def block_classes() -> tuple[list[type[Block]], dict[str, str]]:
    """The Block subclasses defined in connectors/, and modules skipped (with the reason)."""
    found: list[type[Block]] = []
    skipped: dict[str, str] = {}
    for info in pkgutil.iter_modules(connectors.__path__, prefix="connectors."):
        try:
            module = importlib.import_module(info.name)
        except ImportError as exc:
            skipped[info.name] = str(exc)
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Block) and cls.__module__ == module.__name__ and cls is not Block:
                found.append(cls)
    return found, skipped


def register_blocks() -> Registration:
    """Register every block type of connectors/ with the server in PREFECT_API_URL."""
    classes, skipped = block_classes()
    result = Registration(skipped=skipped)
    for cls in classes:
        cls.register_type_and_schema()
        result.registered.append(cls.get_block_type_slug())
    return result
