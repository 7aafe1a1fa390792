"""Sync jobs: a job's records (or inline rows) written to the destination configured for
``erp`` / ``procurement`` / ``warehouse`` / ``crm`` / ``custom``.

A destination is configured in ``SKUFLOW_API_SYNC_TARGETS`` (JSON: destination → target) as a
directory, which receives one ``sync-<id>.<format>`` file per sync (written atomically), or as
``SQLALCHEMY_URL#table``, which is upserted by ``id`` through the `SqlTable` connector. With no
target configured a destination is the directory ``<sync_dir>/<destination>``.
"""

from __future__ import annotations

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
from catalog.models import Run

_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def target_for(settings: ApiSettings, destination: str) -> str:
    return settings.sync_targets.get(destination) or str(settings.resolved_sync_dir / destination)


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def render(rows: list[dict[str, Any]], fmt: str) -> bytes:
    """The rows as a JSON array, a CSV with a header, or ``<records><record>…`` XML."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, default=str, indent=1).encode()
    if fmt == "csv":
        import pandas as pd

        frame = pd.DataFrame([{k: _cell(v) for k, v in r.items()} for r in rows])
        frame = frame.reindex(columns=columns_of(rows))
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        return buffer.getvalue().encode()
    root = ET.Element("records")
    for row in rows:
        record = ET.SubElement(root, "record")
        for key, value in row.items():
            if _XML_NAME.match(key) and not key.lower().startswith("xml"):
                element = ET.SubElement(record, key)
            else:
                element = ET.SubElement(record, "field", name=key)
            if value is not None:
                element.text = str(_cell(value))
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


def write_table(target: str, rows: list[dict[str, Any]]) -> str:
    from connectors.sql_table import SqlTable

    url, _, table = target.rpartition("#")
    block = SqlTable(url=url, table=table)
    keyed = all(r.get("id") not in (None, "") for r in rows)
    with block.open(
        columns=columns_of(rows) or ["id"], key="id", mode="upsert" if keyed else "append"
    ) as writer:
        writer.write([{k: _cell(v) for k, v in r.items()} for r in rows])
        writer.commit()
    return f"{block.describe()}"


def sync_work(settings: ApiSettings):  # noqa: ANN201
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
            write_table(target, rows)
            location = f"{destination}: table {target.rpartition('#')[2]}"
        else:  # the file's name under the destination, not the server's path
            fmt = params["format"]
            name = write_file(Path(target), f"sync-{ctx.run_id}.{fmt}", render(rows, fmt)).name
            location = f"{destination}/{name}"
        ctx.progress(completed=len(rows))
        ctx.charge([str(r.get("id", i)) for i, r in enumerate(rows)], operation="sync")
        return {"location": location, "rows": len(rows), "format": params["format"]}

    return work
