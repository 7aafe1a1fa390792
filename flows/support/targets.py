"""Where a flow writes the catalogue when it is given plain paths rather than saved blocks:
file exports under a folder, one per format, and an optional `URL#table` (onboard, export).
"""

from __future__ import annotations

from pathlib import Path

from catalog.rows import Destination, WriteMode
from catalog.settings import normalize_database_url
from connectors.file_export import FileExport
from connectors.sql_table import SqlTable


def build_targets(
    *, catalog_name: str, out: str | None, formats: list[str], table: str | None
) -> list[tuple[Destination, WriteMode]]:
    """File exports under ``out`` (one per format, each replaced whole) and an optional
    ``URL#table`` upserted by external id."""
    targets: list[tuple[Destination, WriteMode]] = []
    if out:
        for fmt in formats:
            export = FileExport(path=str(Path(out) / f"{catalog_name}.{fmt}"))
            targets.append((export, "replace"))
    if table:
        url, _, name = table.rpartition("#")
        if not url or not name:
            raise ValueError(f"table must look like URL#table_name, not '{table}'")
        targets.append((SqlTable(url=normalize_database_url(url), table=name), "upsert"))
    return targets
