"""Sync jobs: a job's records (or inline rows) written to the destination configured for
``erp`` / ``procurement`` / ``warehouse`` / ``crm`` / ``custom``.

A destination is configured in ``SKUFLOW_API_SYNC_TARGETS`` (JSON: destination → target) as a
directory, which receives one ``organization-<org id>/sync-<id>.<format>`` file per sync
(written atomically), or as ``SQLALCHEMY_URL#table``, which is upserted by organization and
``id`` (key column ``sync_key``, plus ``organization_id``) through the `SqlTable` connector.
With no target configured a destination is the directory ``<sync_dir>/<destination>``.
Targets are shared by every organization of the installation, hence the scoping.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from api.jobs import JobContext
from api.pipeline.service import job_rows, wait_for_job
from api.settings import ApiSettings
from catalog.export_cells import spreadsheet_text, xml_text
from catalog.models import Run

SYNC_KEY = "sync_key"
"""The key column of a SQL sync target: ``<organization id>:<row id>``."""
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def target_for(settings: ApiSettings, destination: str) -> str:
    return settings.sync_targets.get(destination) or str(settings.resolved_sync_dir / destination)


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet opens as text, never as a formula (`catalog.export_cells`)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return spreadsheet_text(str(_cell(value)))


def render(rows: list[dict[str, Any]], fmt: str) -> bytes:
    """The rows as a JSON array, a CSV with a header, or ``<records><record>…`` XML; CSV and
    XML cells pass through the one export sanitiser (no live formulas, no characters XML 1.0
    cannot hold)."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, default=str, indent=1).encode()
    if fmt == "csv":
        columns = columns_of(rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # RFC 4180 line ends: a CR inside a value is quoted
        writer.writerow([spreadsheet_text(c) for c in columns])
        writer.writerows([_csv_cell(row.get(c)) for c in columns] for row in rows)
        return buffer.getvalue().encode()
    root = ET.Element("records")
    for row in rows:
        record = ET.SubElement(root, "record")
        for key, value in row.items():
            if _XML_NAME.match(key) and not key.lower().startswith("xml"):
                element = ET.SubElement(record, key)
            else:
                element = ET.SubElement(record, "field", name=xml_text(key))
            if value is not None:
                element.text = xml_text(str(_cell(value)))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_file(directory: Path, name: str, content: bytes) -> Path:
    """Write atomically: a reader sees the whole file or none."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    os.replace(temporary, final)
    return final


def write_table(
    target: str, rows: list[dict[str, Any]], *, organization_id: int, sync_id: int
) -> None:
    """Upsert the rows into the target table, keyed by organization and id.

    Every organization of the installation syncs into the same configured table, so a row's
    own ``id`` is not a key there: two organizations both have a product ``A-1``. Each row is
    written with its ``organization_id`` and the key ``sync_key`` (``<organization id>:<id>``),
    so one organization's sync never overwrites another's row. Inline rows without an ``id``
    get ``<organization id>:sync-<sync id>-<n>`` (a re-run of that sync rewrites them).
    """
    from connectors.sql_table import SqlTable

    url, _, table = target.rpartition("#")
    block = SqlTable(url=url, table=table)
    own = (SYNC_KEY, "organization_id")
    scoped = [
        {
            SYNC_KEY: f"{organization_id}:"
            + (str(r["id"]) if r.get("id") not in (None, "") else f"sync-{sync_id}-{n}"),
            "organization_id": organization_id,
            **{k: _cell(v) for k, v in r.items() if k not in own},
        }
        for n, r in enumerate(rows)
    ]
    columns = [*own, *(c for c in columns_of(rows) if c not in own)]
    with block.open(columns=columns, key=SYNC_KEY, mode="upsert") as writer:
        writer.write(scoped)
        writer.commit()


def organization_folder(target: str, organization_id: int) -> Path:
    """Where a file target puts one organization's sync files: its own folder under the
    configured one, so no organization reads or overwrites another's files."""
    return Path(target) / f"organization-{organization_id}"


def sync_work(settings: ApiSettings):
    def work(ctx: JobContext) -> dict[str, Any]:
        params = ctx.params
        rows = params.get("data")
        if rows is None:
            wait_for_job(ctx, params["job_id"])
            with ctx.session() as session:
                rows = job_rows(session, job=session.get(Run, params["job_id"]))
        ctx.progress(total=len(rows))
        destination = params["destination"]
        target = target_for(settings, destination)
        if "://" in target and "#" in target:
            write_table(target, rows, organization_id=ctx.organization_id, sync_id=ctx.run_id)
            location = f"{destination}: table {target.rpartition('#')[2]}"
        else:  # the file's place under the destination, not the server's path
            fmt = params["format"]
            folder = organization_folder(target, ctx.organization_id)
            name = write_file(folder, f"sync-{ctx.run_id}.{fmt}", render(rows, fmt)).name
            location = f"{destination}/{folder.name}/{name}"
        ctx.progress(completed=len(rows))
        ctx.charge([str(r.get("id", i)) for i, r in enumerate(rows)], operation="sync")
        return {"location": location, "rows": len(rows), "format": params["format"]}

    return work
