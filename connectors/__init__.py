"""Connectors: every inbound and outbound system as a Prefect block (see `connectors.base`).

The block classes are exposed here lazily, so `prefect block register -m connectors` finds
every one of them (Prefect lists the package's members), while `import connectors.base` stays
cheap. A module whose optional dependency is missing is left out rather than failing the rest.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from typing import Any


@cache
def block_types() -> dict[str, type]:
    """Every Block subclass defined in a module of this package, by class name."""
    return scan_block_types()[0]


def scan_block_types() -> tuple[dict[str, type], dict[str, str]]:
    """The Block subclasses by class name, and the modules skipped because an optional
    dependency (an extra not installed) is missing, with the reason."""
    from prefect.blocks.core import Block

    found: dict[str, type] = {}
    skipped: dict[str, str] = {}
    for info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        try:
            module = importlib.import_module(info.name)
        except ImportError as exc:
            skipped[info.name] = str(exc)
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Block) and cls is not Block and cls.__module__ == module.__name__:
                found[name] = cls
    return found, skipped


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return block_types()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *block_types()})
