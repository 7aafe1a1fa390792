"""Register skuflow's block types with the Prefect server, so the UI offers them as forms
(file sources, exports, SQL tables, S3, …) and `Block.load("slug/name")` finds their schema.

Every module of `connectors/` is imported and each Block subclass defined there registered;
a module whose optional dependency is missing (an extra not installed) is skipped and named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors import scan_block_types


@dataclass
class Registration:
    registered: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def register_blocks() -> Registration:
    """Register every block type of connectors/ with the server in PREFECT_API_URL."""
    classes, skipped = scan_block_types()
    result = Registration(skipped=skipped)
    for cls in classes.values():
        cls.register_type_and_schema()
        result.registered.append(cls.get_block_type_slug())
    return result
