"""workbench: indexes for the review queue, the catalogue tabs and the Analyse page's cache key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = [
    # the queue ordered by confidence (most / least confident first) without a sort of the queue
    ("ix_changes_catalog_status_confidence", "changes", ["catalog_id", "status", "confidence"]),
    # the stages present in the queue (its filter), match proposals (operation dedupe) counted
    # on every catalogue page, from the index alone
    ("ix_changes_catalog_status_operation", "changes", ["catalog_id", "status", "operation"]),
    # a run's changes by status (the run page) from the index alone
    ("ix_changes_run_status", "changes", ["run_id", "status"]),
    # newest change and newest decision of a catalogue: what says the Analyse cache is stale
    ("ix_changes_catalog_id", "changes", ["catalog_id", "id"]),
    ("ix_changes_catalog_decided", "changes", ["catalog_id", "decided_at"]),
    ("ix_records_catalog_updated", "records", ["catalog_id", "updated_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
