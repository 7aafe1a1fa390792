"""Shared by the connector tests: a tiny catalogue schema and the rows it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.schema import CatalogSchema

SCHEMA_YAML = """
name: connector-test
kind: products
id: sku
text: [title]
unknown_columns: ignore
attributes:
  - {name: sku, type: text, required: true, source: ["sku"]}
  - {name: title, type: text, required: true, source: ["title"]}
  - {name: price, type: number, min: 0, source: ["price"]}
"""


def small_schema(tmp_path: Path) -> tuple[Path, CatalogSchema]:
    path = tmp_path / "catalog.yaml"
    path.write_text(SCHEMA_YAML, encoding="utf-8")
    return path, CatalogSchema.from_yaml(path)


def product_rows(count: int, *, start: int = 0, title: str = "Hex bolt") -> list[dict[str, Any]]:
    return [
        {"sku": f"SKU-{i:06d}", "title": f"{title} {i}", "price": round(1 + i * 0.01, 2)}
        for i in range(start, start + count)
    ]


def prepare_store(store_url: str, schema: CatalogSchema) -> tuple[int, int]:
    """A catalogue and a run in the store, as the onboard flow makes them: (catalog id, run id)."""
    from catalog.db import session_scope
    from catalog.repository import get_or_create_organization, start_run, upsert_catalog

    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="test")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        run = start_run(session, organization=org, catalog=catalog, operation="onboard")
        return catalog.id, run.id


def ingest_once(store_url: str, schema: CatalogSchema, source: Any) -> dict[str, int]:
    """The ingest task's function (no Prefect run needed) over `source`, in a new run."""
    from tasks.ingest import ingest

    catalog_id, run_id = prepare_store(store_url, schema)
    return ingest.fn(
        store_url=store_url,
        run_id=run_id,
        catalog_id=catalog_id,
        schema=schema,
        source=source,
        batch_size=100,
    )


def stored_titles(store_url: str) -> dict[str, str]:
    import sqlalchemy as sa

    from catalog.db import session_scope
    from catalog.models import Record

    with session_scope(store_url) as session:
        rows = session.execute(sa.select(Record.external_id, Record.values)).all()
        return {external_id: values.get("title") for external_id, values in rows}
