"""Where a flow writes the catalogue when it is given plain paths rather than saved blocks:
file exports under a folder, one per format, and an optional `URL#table` (onboard, export).
"""

from __future__ import annotations

from pathlib import Path

from catalog.rows import Destination, WriteMode
from catalog.settings import normalize_database_url
from connectors.file_export import FileExport
from connectors.sql_table import SqlTable
from flows.support.credentials import split_table, with_password


def build_targets(
    *,
    catalog_name: str,
    out: str | None,
    formats: list[str],
    table: str | None,
    table_password_block: str | None = None,
) -> list[tuple[Destination, WriteMode]]:
    """File exports under ``out`` (one per format, each replaced whole) and an optional
    ``URL#table`` upserted by external id, its password read from ``table_password_block``
    when the door kept it out of the flow's parameters (`flows.support.credentials`)."""
    targets: list[tuple[Destination, WriteMode]] = []
    if out:
        for fmt in formats:
            export = FileExport(path=str(Path(out) / f"{catalog_name}.{fmt}"))
            targets.append((export, "replace"))
    if table:
        url, name = split_table(with_password(table, table_password_block) or table)
        targets.append((SqlTable(url=normalize_database_url(url), table=name), "upsert"))
    return targets
