"""records: index (catalog_id, id) for keyset pages; changes: drop two prefix indexes

Every stage pages through a catalogue as ``catalog_id = ? AND id > ? ORDER BY id LIMIT n``
(`catalog.records.record_pages`, `iter_current_values`) and plans its batches as
``catalog_id = ? AND id BETWEEN ? AND ?``. With only ``ix_records_catalog_updated`` to serve
``catalog_id``, SQLite's planner (which has no statistics) took that index, read every record
of the catalogue after ``id`` and sorted them for each page: a page cost time in the size of
the rest of the catalogue, so a full scan grew with its square (100k records: 0.72 s a scan,
0.19 s with this index, which returns the page in order). PostgreSQL uses it the same way
when a store holds several catalogues.

``ix_changes_catalog_status`` (catalog_id, status) is the first two columns of
``ix_changes_catalog_status_confidence`` and ``_operation``, and ``ix_changes_run_id`` the
first of ``ix_changes_run_status``: every query either one served is served as well by the
longer index, and each index is written for every change (100k changes re-inserted into a
store of 600k on SQLite: 17.0 → 15.1 µs a change without these two; issue 16).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_catalog_id", "records", ["catalog_id", "id"])
    op.drop_index("ix_changes_catalog_status", table_name="changes")
    op.drop_index("ix_changes_run_id", table_name="changes")


def downgrade() -> None:
    op.create_index("ix_changes_run_id", "changes", ["run_id"])
    op.create_index("ix_changes_catalog_status", "changes", ["catalog_id", "status"])
    op.drop_index("ix_records_catalog_id", table_name="records")
